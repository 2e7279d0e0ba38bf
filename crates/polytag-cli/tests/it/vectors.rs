//! `polytag vectors …` (issue 14): train → file that `validate` uses; neighbours, stats,
//! concat, pos-embed; bad input named by file and line.

use crate::{assert_fails_with, polytag, root, stderr, stdout, write};

/// Two word groups that share their contexts ("x a y", "x b y" vs "p c q", "p d q").
fn planted_text() -> String {
    let mut text = String::new();
    for i in 0..600 {
        let line = match i % 4 {
            0 => "x a y",
            1 => "x b y",
            2 => "p c q",
            _ => "p d q",
        };
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[test]
fn train_then_neighbors_stats_and_validate_use_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write(dir.path(), "text.txt", planted_text());
    for format in ["text", "binary"] {
        let out = dir.path().join(format!("v.{format}"));
        let o = polytag(
            dir.path(),
            &[
                "vectors",
                "train",
                corpus.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--format",
                format,
                "--dim",
                "8",
                "--epochs",
                "20",
                "--window",
                "2",
                "--sample",
                "0",
                "--min-count",
                "1",
                "--seed",
                "3",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("wrote 8 vectors of 8"),
            "{}",
            stderr(&o)
        );
        let o = polytag(
            dir.path(),
            &[
                "vectors",
                "neighbors",
                out.to_str().unwrap(),
                "a",
                "-k",
                "1",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        // The only other word between x and y.
        let text = stdout(&o);
        assert!(
            text.starts_with("a:\n") && text.lines().nth(1).unwrap().ends_with(" b"),
            "{text}"
        );
        let o = polytag(
            dir.path(),
            &[
                "vectors",
                "stats",
                out.to_str().unwrap(),
                "--corpus",
                corpus.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("8 vectors, dimension 8"),
            "{}",
            stdout(&o)
        );
        assert!(
            stdout(&o).contains("tokens: 1800 — exact 1800 (100.0%)"),
            "{}",
            stdout(&o)
        );
    }

    // The quickstart's English table from a file trained on the shipped sample (train, dev
    // and test text), so that validate reports dev/test words added from the file.
    let sample = root().join("datasets/sample/eng");
    let vec = dir.path().join("eng.vec");
    let files: Vec<String> = ["train", "dev", "test"]
        .iter()
        .map(|s| sample.join(format!("{s}.conll")).display().to_string())
        .collect();
    let mut args = vec!["vectors", "train"];
    args.extend(files.iter().map(String::as_str));
    args.extend([
        "--out",
        vec.to_str().unwrap(),
        "--dim",
        "32",
        "--epochs",
        "1",
        "--min-count",
        "1",
    ]);
    let o = polytag(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let set = format!("components.eng_word_embed.file=\"{}\"", vec.display());
    let config = root().join("configs/quickstart.json");
    let o = polytag(
        dir.path(),
        &["validate", config.to_str().unwrap(), "--set", &set],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("dev/test words found in the file (extend_vocab)"),
        "{text}"
    );
    assert!(
        text.contains("eng_ner dev   tokens: 1185 exact (100.0%)"),
        "{text}"
    );
    let off = "components.eng_word_embed.extend_vocab=false";
    let o = polytag(
        dir.path(),
        &[
            "validate",
            config.to_str().unwrap(),
            "--set",
            &set,
            "--set",
            off,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("extend_vocab"), "{}", stdout(&o));
}

#[test]
fn concat_and_pos_embed_make_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "2 2\nx 1 2\ny 3 4\n");
    let b = write(dir.path(), "b.txt", "y 5\nx 6\nz 7\n");
    let out = dir.path().join("ab.txt");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "concat",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "2 3\nx 1.0 2.0 6.0\ny 3.0 4.0 5.0\n"
    );
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "concat",
            b.to_str().unwrap(),
            a.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_fails_with(
        &o,
        &format!(
            "{}: has no vector for \"z\", which the first table has",
            a.display()
        ),
    );

    let tagged = write(
        dir.path(),
        "pos.conll",
        "dogs NOUN\nrun VERB\n\ncats NOUN\nrun VERB\n",
    );
    let pos = dir.path().join("pos.txt");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "pos-embed",
            tagged.to_str().unwrap(),
            "--out",
            pos.to_str().unwrap(),
            "--dim",
            "4",
            "--epochs",
            "5",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("3 word types"), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&pos)
        .unwrap()
        .starts_with("3 4\ndogs "));
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.txt", "\n");
    let out = dir.path().join("v.txt");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "train",
            empty.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_fails_with(
        &o,
        &format!(
            "{}: no word occurs at least 5 times (0 tokens read)",
            empty.display()
        ),
    );
    let text = write(dir.path(), "t.txt", "a b\n");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "train",
            text.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--dim",
            "0",
        ],
    );
    assert_fails_with(&o, "polytag: --dim: must be at least 1");
    let bad = write(dir.path(), "bad.txt", b"a b\nc \xff d\n");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "train",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_fails_with(&o, &format!("{}:2: not valid UTF-8", bad.display()));
    assert!(!out.exists());
    let vec = write(dir.path(), "v.vec", "2 2\na 1 2\nb 1\n");
    let o = polytag(
        dir.path(),
        &["vectors", "neighbors", vec.to_str().unwrap(), "a"],
    );
    assert_fails_with(
        &o,
        &format!("{}:3: expected 2 values, found 1", vec.display()),
    );
}

#[test]
fn char_regress_gives_every_word_a_vector_of_the_table_width() {
    let dir = tempfile::tempdir().unwrap();
    // "abcdefghijklmnopq" is longer than --max-len 15: not trained on, but still computed.
    let table = write(
        dir.path(),
        "w.txt",
        "3 4\nab 1 0 0 1\nba 0 1 1 0\nabcdefghijklmnopq 1 1 1 1\n",
    );
    let out = dir.path().join("c.txt");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "char-regress",
            table.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "30",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--char-dim",
            "3",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let mse = |epoch: &str| -> f64 {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("epoch {epoch}:")))
            .unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(mse("30") < mse("1"), "{err}");
    let c = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = c.lines().collect();
    assert_eq!(lines[0], "3 4");
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("abcdefghijklmnopq ") && lines[3].split(' ').count() == 5);
    let odd = write(dir.path(), "odd.txt", "a 1 2 3\n");
    let o = polytag(
        dir.path(),
        &[
            "vectors",
            "char-regress",
            odd.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_fails_with(&o, "dimension 3 is odd");
}
