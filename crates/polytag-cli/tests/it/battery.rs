//! The bad-input battery (issue 13): every kind of input `train` and `validate` must refuse,
//! each through both commands. A case passes when the command exits 1, does not panic, names
//! the file and line (or the config path) of the problem, and `train` leaves no run directory.
//! The tally (cases, clear errors, panics, silent accepts) is printed and must be all-clear.

use std::path::{Path, PathBuf};

use crate::*;

/// The quickstart experiment on a private copy of the sample corpora, so a case may damage
/// one file: `(exp.json, data root)`.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    for lang in ["nld", "eng"] {
        std::fs::create_dir_all(data.join(lang)).expect("temp dir");
        for split in ["train", "dev", "test"] {
            let name = format!("{lang}/{split}.conll");
            std::fs::copy(root().join("datasets/sample").join(&name), data.join(&name))
                .expect("sample corpus");
        }
    }
    let text = std::fs::read_to_string(root().join("configs/quickstart.json"))
        .expect("quickstart")
        .replace("../datasets/sample", &data.display().to_string());
    (write(dir, "exp.json", text), data)
}

/// Sets the label (last column) of the `n`-th token line (0-based) of `path` to `label`;
/// returns its 1-based line number.
fn set_label(path: &Path, n: usize, label: &str) -> usize {
    edit_token_line(path, n, |cols| {
        let last = cols.len() - 1;
        cols[last] = label.to_string();
    })
}

/// Applies `edit` to the columns of the `n`-th token line of `path`; returns its line number.
fn edit_token_line(path: &Path, n: usize, edit: impl FnOnce(&mut Vec<String>)) -> usize {
    let text = std::fs::read_to_string(path).expect("corpus");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let (i, _) = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with("-DOCSTART-"))
        .nth(n)
        .expect("enough token lines");
    let mut cols: Vec<String> = lines[i].split_whitespace().map(str::to_string).collect();
    edit(&mut cols);
    lines[i] = cols.join(" ");
    std::fs::write(path, lines.join("\n") + "\n").expect("corpus");
    i + 1
}

/// Replaces every NER label (column 2) of `path` with `O`.
fn all_outside(path: &Path) {
    let text = std::fs::read_to_string(path).expect("corpus");
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() == 3 && cols[0] != "-DOCSTART-" {
                format!("{} {} O", cols[0], cols[1])
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(path, out.join("\n") + "\n").expect("corpus");
}

/// One case: damages the copy under `data` (or the config `exp`), returns extra `--set`s and
/// the texts stderr must hold (the file:line or config path among them).
type Case = fn(exp: &Path, data: &Path) -> (Vec<String>, Vec<String>);

fn p(data: &Path, name: &str) -> PathBuf {
    data.join(name)
}

fn cases() -> Vec<(&'static str, Case)> {
    vec![
        ("empty dev split", |_, d| {
            std::fs::write(p(d, "nld/dev.conll"), "").unwrap();
            let f = p(d, "nld/dev.conll").display().to_string();
            (
                vec![],
                vec!["datasets[0].files.dev".into(), f, "no sentence".into()],
            )
        }),
        ("empty test split", |_, d| {
            std::fs::write(p(d, "eng/test.conll"), "").unwrap();
            let f = p(d, "eng/test.conll").display().to_string();
            (vec![], vec!["datasets[2].files.test".into(), f])
        }),
        ("label-less dev split", |_, d| {
            all_outside(&p(d, "nld/dev.conll"));
            (
                vec![],
                vec!["datasets[0].files.dev".into(), "no entity".into()],
            )
        }),
        ("empty train split", |_, d| {
            std::fs::write(p(d, "eng/train.conll"), "\n\n").unwrap();
            (vec![], vec!["datasets[2].files.train".into()])
        }),
        ("tag with empty type B-", |_, d| {
            let l = set_label(&p(d, "nld/train.conll"), 5, "B-");
            (
                vec![],
                vec![format!(
                    "nld/train.conll:{l}: a chunk tag (B-, I-, E- or S-) has an empty entity type"
                )],
            )
        }),
        ("tag with empty type I- in dev", |_, d| {
            let l = set_label(&p(d, "eng/dev.conll"), 7, "I-");
            (vec![], vec![format!("eng/dev.conll:{l}:"), "\"I-\"".into()])
        }),
        ("tag without prefix -PER", |_, d| {
            let l = set_label(&p(d, "nld/test.conll"), 3, "-PER");
            (
                vec![],
                vec![format!("nld/test.conll:{l}:"), "\"-PER\"".into()],
            )
        }),
        ("tag without hyphen BPER", |_, d| {
            let l = set_label(&p(d, "nld/train.conll"), 40, "BPER");
            (vec![], vec![format!("nld/train.conll:{l}: tag \"BPER\"")])
        }),
        ("lower-case tag b-per", |_, d| {
            let l = set_label(&p(d, "eng/train.conll"), 11, "b-per");
            (vec![], vec![format!("eng/train.conll:{l}: tag \"b-per\"")])
        }),
        ("NUL byte in a token", |_, d| {
            let l = edit_token_line(&p(d, "eng/train.conll"), 20, |c| c[0] = "a\0b".into());
            (vec![], vec![format!("eng/train.conll:{l}: a NUL byte")])
        }),
        ("line that is not UTF-8", |_, d| {
            let path = p(d, "nld/dev.conll");
            let l = edit_token_line(&path, 2, |c| c[0] = "\u{1}MARK".into());
            let bytes = std::fs::read(&path)
                .unwrap()
                .iter()
                .map(|&b| if b == 1 { 0xe9 } else { b })
                .collect::<Vec<u8>>();
            std::fs::write(&path, bytes).unwrap();
            (vec![], vec![format!("nld/dev.conll:{l}: not valid UTF-8")])
        }),
        ("token line with one column", |_, d| {
            let l = edit_token_line(&p(d, "nld/train.conll"), 9, |c| c.truncate(1));
            (vec![], vec![format!("nld/train.conll:{l}")])
        }),
        ("token line with an extra column", |_, d| {
            let l = edit_token_line(&p(d, "eng/test.conll"), 9, |c| c.push("X".into()));
            (vec![], vec![format!("eng/test.conll:{l}")])
        }),
        ("CoNLL-U with a skipped ID", |_, d| {
            let row = |id: &str, w: &str| format!("{id}\t{w}\t{w}\tNOUN\t_\t_\t0\troot\t_\t_\n");
            let good = format!("{}{}\n", row("1", "a"), row("2", "b"));
            let bad = format!("{}{}{}\n", row("1", "a"), row("2", "b"), row("4", "c"));
            write(d, "good.conllu", &good);
            write(d, "bad.conllu", format!("{good}{bad}"));
            let files = format!(
                "datasets.1.files={{\"train\":\"{}\",\"dev\":\"{}\",\"test\":\"{}\"}}",
                p(d, "bad.conllu").display(),
                p(d, "good.conllu").display(),
                p(d, "good.conllu").display()
            );
            (
                vec![files, "datasets.1.parser={\"format\":\"conllu\"}".into()],
                vec![format!("bad.conllu:6: CoNLL-U ID \"4\"")],
            )
        }),
        ("CoNLL-U with a backwards range", |_, d| {
            let row = |id: &str, w: &str| format!("{id}\t{w}\t{w}\tNOUN\t_\t_\t0\troot\t_\t_\n");
            let good = format!("{}{}\n", row("1", "a"), row("2", "b"));
            write(d, "good.conllu", &good);
            write(
                d,
                "bad.conllu",
                format!("{}{}{}\n", row("1", "a"), row("2-1", "ab"), row("2", "b")),
            );
            (
                conllu_sets(d, "bad.conllu", "good.conllu"),
                vec!["bad.conllu:2: CoNLL-U ID \"2-1\"".to_string()],
            )
        }),
        ("NUL byte in a CoNLL-U file", |_, d| {
            let row = |id: &str, w: &str| format!("{id}\t{w}\t{w}\tNOUN\t_\t_\t0\troot\t_\t_\n");
            let good = format!("{}{}\n", row("1", "a"), row("2", "b"));
            write(d, "good.conllu", &good);
            write(
                d,
                "bad.conllu",
                format!("{good}{}{}\n", row("1", "x\0y"), row("2", "b")),
            );
            (
                conllu_sets(d, "bad.conllu", "good.conllu"),
                vec!["bad.conllu:4: a NUL byte".to_string()],
            )
        }),
        ("JSONL line that is not JSON", |_, d| {
            write(
                d,
                "good.jsonl",
                "{\"tokens\":[\"a\",\"b\"],\"tags\":[\"NOUN\",\"VERB\"]}\n",
            );
            write(
                d,
                "bad.jsonl",
                "{\"tokens\":[\"a\"],\"tags\":[\"NOUN\"]}\n{\"tokens\": [\n",
            );
            (jsonl_sets(d), vec!["bad.jsonl:2".to_string()])
        }),
        ("JSONL with more tags than tokens", |_, d| {
            write(
                d,
                "good.jsonl",
                "{\"tokens\":[\"a\",\"b\"],\"tags\":[\"NOUN\",\"VERB\"]}\n",
            );
            write(
                d,
                "bad.jsonl",
                "{\"tokens\":[\"a\"],\"tags\":[\"NOUN\",\"VERB\"]}\n",
            );
            (jsonl_sets(d), vec!["bad.jsonl:1".to_string()])
        }),
        ("gzip file that is not gzip inside", |_, d| {
            let mut bytes = vec![0x1f, 0x8b, 8, 0];
            bytes.extend_from_slice(b"definitely not deflate data");
            write(d, "nld/dev.conll.gz", bytes);
            let f = p(d, "nld/dev.conll.gz").display().to_string();
            (vec![format!("datasets.0.files.dev={f}")], vec![f])
        }),
        ("corpus path that is a directory", |_, d| {
            let f = p(d, "nld").display().to_string();
            (
                vec![format!("datasets.0.files.test={f}")],
                vec!["datasets[0].files.test".into(), f],
            )
        }),
        ("missing corpus file", |_, d| {
            std::fs::remove_file(p(d, "eng/dev.conll")).unwrap();
            (
                vec![],
                vec!["datasets[2].files.dev".into(), "eng/dev.conll".into()],
            )
        }),
        ("label column out of range", |_, _| {
            (
                vec!["datasets.0.parser.label_col=7".into()],
                vec!["nld/train.conll:".into(), "label_col".into()],
            )
        }),
        ("invalid config value", |_, _| {
            (
                vec!["training.max_step=0".into()],
                vec!["training.max_step".into()],
            )
        }),
        ("unknown config key", |_, _| {
            (
                vec!["training.max_stpe=10".into()],
                vec!["training.max_stpe".into()],
            )
        }),
        ("config that is not JSON", |e, _| {
            let text = std::fs::read_to_string(e).unwrap();
            std::fs::write(e, text.replacen("\"seed\": 1,", "\"seed\": 1,,", 1)).unwrap();
            (vec![], vec!["exp.json:3:".into()])
        }),
    ]
}

/// `--set`s that make dataset 1 read CoNLL-U: `bad` for training, `good` for dev and test.
fn conllu_sets(d: &Path, bad: &str, good: &str) -> Vec<String> {
    vec![
        format!(
            "datasets.1.files={{\"train\":\"{}\",\"dev\":\"{}\",\"test\":\"{}\"}}",
            p(d, bad).display(),
            p(d, good).display(),
            p(d, good).display()
        ),
        "datasets.1.parser={\"format\":\"conllu\"}".into(),
    ]
}

/// `--set`s that make dataset 1 read JSONL (`tokens`, `tags`): bad.jsonl for training.
fn jsonl_sets(d: &Path) -> Vec<String> {
    vec![
        format!(
            "datasets.1.files={{\"train\":\"{}\",\"dev\":\"{}\",\"test\":\"{}\"}}",
            p(d, "bad.jsonl").display(),
            p(d, "good.jsonl").display(),
            p(d, "good.jsonl").display()
        ),
        "datasets.1.parser={\"format\":\"jsonl\",\"tokens_field\":\"tokens\",\"labels_field\":\"tags\"}"
            .into(),
    ]
}

/// How one command took one case.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Clear,
    Unclear(String),
    Panic(String),
    SilentAccept,
}

fn judge(o: &std::process::Output, needles: &[String]) -> Verdict {
    let err = stderr(o);
    if err.contains("panicked") || o.status.code() == Some(101) {
        return Verdict::Panic(err);
    }
    match o.status.code() {
        Some(0) => Verdict::SilentAccept,
        Some(1) => match needles.iter().find(|n| !err.contains(n.as_str())) {
            None => Verdict::Clear,
            Some(n) => Verdict::Unclear(format!("no {n:?} in: {err}")),
        },
        code => Verdict::Unclear(format!("exit {code:?}: {err}")),
    }
}

#[test]
#[allow(clippy::print_stderr)] // the tally is the test's report
fn every_bad_input_is_a_clear_error_in_validate_and_train() {
    let mut tally = [0usize; 4]; // clear, unclear, panics, silent accepts
    let mut failures = Vec::new();
    let cases = cases();
    for (name, case) in &cases {
        let tmp = tempfile::tempdir().expect("temp dir");
        let (exp, data) = setup(tmp.path());
        let (sets, needles) = case(&exp, &data);
        let mut set_args = Vec::new();
        for s in &sets {
            set_args.extend(["--set", s.as_str()]);
        }
        let e = exp.display().to_string();
        let mut validate = vec!["validate", e.as_str()];
        validate.extend(&set_args);
        let mut train = vec!["train", e.as_str(), "--run-dir", "run"];
        train.extend(&set_args);
        for (cmd, args) in [("validate", validate), ("train", train)] {
            let o = polytag(tmp.path(), &args);
            let mut verdict = judge(&o, &needles);
            if cmd == "train" && verdict == Verdict::Clear && tmp.path().join("run").exists() {
                verdict = Verdict::Unclear("a run directory was left behind".into());
            }
            let slot = match &verdict {
                Verdict::Clear => 0,
                Verdict::Unclear(_) => 1,
                Verdict::Panic(_) => 2,
                Verdict::SilentAccept => 3,
            };
            tally[slot] += 1;
            if verdict != Verdict::Clear {
                failures.push(format!("{name} ({cmd}): {verdict:?}"));
            }
        }
    }
    eprintln!(
        "bad-input battery: {} cases × 2 commands = {} runs: {} clear errors, {} unclear, {} panics, {} silent accepts",
        cases.len(),
        2 * cases.len(),
        tally[0],
        tally[1],
        tally[2],
        tally[3]
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
