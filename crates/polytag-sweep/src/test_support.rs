//! A stand-in for `polytag train` (a shell script), so the runner's tests need no model.

use std::path::{Path, PathBuf};

use crate::{Axis, Plan, PlanSpec};

/// Writes `root/fake-polytag`: it records its arguments (and `$FAKE_MARK`) in
/// `RUN_DIR/args.txt`; with `--set x=fail` it prints a polytag-style error and exits 1; with
/// `--set x=die` it writes `config.json` and exits 137 as if killed; otherwise (and always
/// when resumed) it writes `config.json` and `report.json` and exits 0.
pub fn fake_trainer(root: &Path) -> PathBuf {
    let path = root.join("fake-polytag");
    let script = r#"#!/bin/bash
set -u
dir=""; fail=0; die=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --run-dir|--resume) dir="${args[$((i + 1))]}" ;;
    x=fail) fail=1 ;;
    x=die) die=1 ;;
  esac
done
mkdir -p "$dir"
echo "$* ${FAKE_MARK:-}" > "$dir/args.txt"
echo "polytag: training fake in $dir" >&2
if [ "$fail" = 1 ]; then
  echo "polytag: tasks.0: no such thing" >&2
  echo "  caused by: bad value fail" >&2
  exit 1
fi
echo '{}' > "$dir/config.json"
if [ "$die" = 1 ]; then exit 137; fi
echo '{}' > "$dir/report.json"
"#;
    std::fs::write(&path, script).expect("fake trainer");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A saved plan over `/fake/exp.json` with these grid axes and seeds.
pub fn plan_in(sweep: &Path, axes: &[&str], seeds: &[u64]) -> Plan {
    let plan = Plan::new(PlanSpec {
        configs: vec!["/fake/exp.json".into()],
        sets: Vec::new(),
        axes: axes.iter().map(|a| Axis::parse(a).expect("axis")).collect(),
        seeds: seeds.to_vec(),
    })
    .expect("plan");
    plan.save(sweep).expect("save");
    plan
}
