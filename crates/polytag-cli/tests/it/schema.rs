//! `polytag schema`: prints the library's schema; a config that names it with `$schema`
//! validates as before.

use crate::*;

#[test]
fn prints_the_experiment_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = polytag(dir.path(), &["schema"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, polytag_config::schema());
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn a_config_naming_its_schema_validates() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("configs/quickstart.json")).unwrap();
    let text = text.replacen('{', "{\n  \"$schema\": \"../polytag.schema.json\",", 1);
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    write(&configs, "quickstart.json", text);
    std::fs::create_dir_all(dir.path().join("datasets")).unwrap();
    let sample = root().join("datasets/sample");
    let link = dir.path().join("datasets/sample");
    std::os::unix::fs::symlink(&sample, &link).unwrap();
    let out = polytag(dir.path(), &["validate", "configs/quickstart.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
