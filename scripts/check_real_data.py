#!/usr/bin/env python3
"""Real-data checks for polytag (called by scripts/check-real-data; stdlib only).

usage: check_real_data.py POLYTAG_BIN SHARED_DIR
Exits non-zero listing every mismatch; prints one line per check.
"""
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
binary, shared = sys.argv[1], sys.argv[2]
failures = []


def run(args, expect_ok=True):
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        failures.append(f"polytag {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def check(name, got, want):
    if got != want:
        failures.append(f"{name}: got {got!r}, want {want!r}")
        print(f"FAIL {name}: got {got!r}, want {want!r}")


def verdict(label, failures_before):
    """`ok` only when no check since `failures_before` failed; otherwise `FAIL`."""
    status = "ok  " if len(failures) == failures_before else "FAIL"
    print(f"{status} {label}")


# 1. corpus statistics against ../shared/datasets/README.md
expected = json.load(open(os.path.join(here, "real-data-expected.json")))
datasets = os.path.join(shared, "datasets")
for corpus, spec in expected.items():
    if corpus.startswith("_"):
        continue
    folder = os.path.join(datasets, corpus)
    for split, want in spec["splits"].items():
        files = [f for f in os.listdir(folder) if f.split(".")[0] == split]
        if len(files) != 1:
            failures.append(f"{corpus}/{split}: expected one file, found {files}")
            continue
        path = os.path.join(folder, files[0])
        before = len(failures)
        args = ["data", "stats", path, "--format", "json"]
        if "label_col" in spec:
            args += ["--label-col", str(spec["label_col"])]
        if "token_col" in spec:
            args += ["--token-col", str(spec["token_col"])]
        t0 = time.time()
        p = run(args)
        dt = time.time() - t0
        name = f"{corpus}/{files[0]}"
        if p.returncode != 0:
            verdict(f"data stats {name}: exit {p.returncode}", before)
            continue
        got = json.loads(p.stdout.strip().splitlines()[0])
        for key in ("sentences", "tokens", "documents"):
            if key in want:
                check(f"{name} {key}", got[key], want[key])
        if "entities" in want:
            check(f"{name} entities", got.get("entities"), want["entities"])
        if "entity_total" in want:
            check(f"{name} entity total", sum(got.get("entities", {}).values()), want["entity_total"])
        verdict(f"data stats {name}: {got['sentences']} sentences, {got['tokens']} tokens ({dt:.2f} s)", before)

# 2. conlleval test vectors: text byte for byte, JSON figures
vectors = os.path.join(shared, "testvectors", "conlleval")
exp = json.load(open(os.path.join(vectors, "expected.json")))
for case, want in sorted(exp.items()):
    txt = os.path.join(vectors, want["file"])
    ref = open(os.path.join(vectors, case + ".conlleval.out"), encoding="utf-8").read()
    before = len(failures)
    t0 = time.time()
    p = run(["score", txt])
    dt = time.time() - t0
    check(f"score {case} text", p.stdout, ref)
    p = run(["score", txt, "--format", "json"])
    if p.returncode == 0:
        got = json.loads(p.stdout)
        c = want["conlleval"]
        g = got["conlleval"]
        for key in ("tokens", "gold_phrases", "found_phrases", "correct_phrases"):
            check(f"score {case} {key}", g[key], c[key])
        for key in ("accuracy", "precision", "recall", "f1"):
            check(f"score {case} {key}", round(g[key], 2), c[key])
    verdict(f"score {case} ({dt:.2f} s)", before)

# 3. configs
before = len(failures)
p = run(["validate", os.path.join(shared, "docs", "paper-example-config.json")], expect_ok=False)
lines = [l for l in p.stderr.splitlines() if l.strip()]
problems = [l for l in lines if "/PATH/TO/" not in l and not l.startswith("polytag: ") and "caused by" not in l]
check("validate paper-example-config exit code", p.returncode != 0, True)
check("validate paper-example-config: only placeholder files missing", problems, [])
check("validate paper-example-config: 14 placeholder files reported",
      sum(1 for l in lines if "/PATH/TO/" in l), 14)
verdict("validate paper-example-config.json (placeholders only)", before)
# ${POLYTAG_MODELS} for the transformer configs (seed001, seed004, transformer/, bench): unless
# set, a folder of stand-ins — all-MiniLM-L6-v2 is the real model when check-real-data has
# fetched it (target/all-MiniLM-L6-v2), every other name (and MiniLM otherwise) a copy of the
# tiny BERT fixture, so the configs' data, tokenisation and model build are checked on the real
# corpora; the checkpoints themselves are the user's to drop in.
if "POLYTAG_MODELS" not in os.environ:
    import shutil
    models = os.path.join(root, "target", "real-data-models")
    tiny = os.path.join(root, "crates", "polytag-model", "tests", "fixtures", "tiny-bert")
    minilm = os.path.join(root, "target", "all-MiniLM-L6-v2")
    shutil.rmtree(models, ignore_errors=True)
    os.makedirs(models)
    for name in ["bert-base-multilingual-cased", "bert-base-cased", "all-MiniLM-L6-v2"]:
        if name == "all-MiniLM-L6-v2" and os.path.isfile(os.path.join(minilm, "model.safetensors")):
            os.symlink(minilm, os.path.join(models, name))
        else:
            shutil.copytree(tiny, os.path.join(models, name))
    os.environ["POLYTAG_MODELS"] = models
for dirpath, _, names in os.walk(os.path.join(root, "configs")):
    for n in sorted(names):
        if n.endswith(".json"):
            cfg = os.path.join(dirpath, n)
            rel = os.path.relpath(cfg, root)
            if rel.startswith("configs/seed000-pretrained/") and "POLYTAG_VECTORS" not in os.environ:
                print(f"skip {rel}: reads the tables scripts/seed000-tables builds (set POLYTAG_VECTORS)")
                continue
            before = len(failures)
            run(["validate", cfg])
            verdict(f"validate {rel}", before)

if failures:
    print(f"\n{len(failures)} real-data check(s) failed:")
    for f in failures:
        print("  " + f)
    sys.exit(1)
print("real-data checks: all passed")
