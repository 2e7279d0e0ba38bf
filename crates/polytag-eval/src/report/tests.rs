//! The six hand-made edge vectors of `shared/testvectors/conlleval` (input, conlleval.pl's
//! output byte for byte, seqeval figures from expected.json), embedded so that CI checks them
//! without the shared folder, plus the `--scheme` semantics.

use std::io::Cursor;

use super::*;
use crate::input::read_columns;

struct Edge {
    name: &'static str,
    input: &'static str,
    output: &'static str,
    /// seqeval 1.2 `default` (precision, recall, f1), from expected.json.
    default: (f64, f64, f64),
    /// seqeval 1.2 `strict_IOB2`, from expected.json.
    strict: (f64, f64, f64),
}

/// Hand derivations (gold chunks / predicted chunks):
/// - adjacent-same-type: gold B-PER | B-PER I-PER = 2 chunks; pred B-PER I-PER I-PER = 1
///   chunk 0..3, matching neither → 0 correct; tags equal on b and c → 2/3 = 66.67%.
/// - all-o: no chunk; 2/2 tags equal → 100.00%; p = r = F = 0 by convention.
/// - entity-at-end: LOC 1..3 in both, closed by the end of the sentence → 1/1/1.
/// - hyphen-type: GPE-ORG 0..2 in both (prefix before the first hyphen), pred adds GPE 2..3
///   → p 1/2, r 1/1, F 2/3; types sorted byte-wise: GPE < GPE-ORG.
/// - i-after-o-pred: pred I-PER after O opens PER 1..3 like gold's B-PER → correct; tags
///   differ on b only → 3/4 = 75.00%. Strict IOB2 drops the I- opened chunk → 0.
/// - type-change-inside: see conlleval.rs `type_change_inside_splits_chunks`.
const EDGES: [Edge; 6] = [
    Edge {
        name: "edge-adjacent-same-type",
        input: "a B-PER B-PER\nb B-PER I-PER\nc I-PER I-PER\n\n",
        output: "processed 3 tokens with 2 phrases; found: 1 phrases; correct: 0.\naccuracy:  66.67%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n",
        default: (0.0, 0.0, 0.0),
        strict: (0.0, 0.0, 0.0),
    },
    Edge {
        name: "edge-all-o",
        input: "a O O\nb O O\n\n",
        output: "processed 2 tokens with 0 phrases; found: 0 phrases; correct: 0.\naccuracy: 100.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n",
        default: (0.0, 0.0, 0.0),
        strict: (0.0, 0.0, 0.0),
    },
    Edge {
        name: "edge-entity-at-end",
        input: "x O O\nNew B-LOC B-LOC\nYork I-LOC I-LOC\n\n",
        output: "processed 3 tokens with 1 phrases; found: 1 phrases; correct: 1.\naccuracy: 100.00%; precision: 100.00%; recall: 100.00%; FB1: 100.00\n              LOC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n",
        default: (1.0, 1.0, 1.0),
        strict: (1.0, 1.0, 1.0),
    },
    Edge {
        name: "edge-hyphen-type",
        input: "a B-GPE-ORG B-GPE-ORG\nb I-GPE-ORG I-GPE-ORG\nc O B-GPE\n\n",
        output: "processed 3 tokens with 1 phrases; found: 2 phrases; correct: 1.\naccuracy:  66.67%; precision:  50.00%; recall: 100.00%; FB1:  66.67\n              GPE: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n          GPE-ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n",
        default: (0.5, 1.0, 0.6666666666666666),
        strict: (0.5, 1.0, 0.6666666666666666),
    },
    Edge {
        name: "edge-i-after-o-pred",
        input: "a O O\nb B-PER I-PER\nc I-PER I-PER\nd O O\n\n",
        output: "processed 4 tokens with 1 phrases; found: 1 phrases; correct: 1.\naccuracy:  75.00%; precision: 100.00%; recall: 100.00%; FB1: 100.00\n              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n",
        default: (1.0, 1.0, 1.0),
        strict: (0.0, 0.0, 0.0),
    },
    Edge {
        name: "edge-type-change-inside",
        input: "a B-PER B-PER\nb I-PER I-ORG\nc I-PER I-PER\n\n",
        output: "processed 3 tokens with 1 phrases; found: 3 phrases; correct: 0.\naccuracy:  66.67%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  2\n",
        default: (0.0, 0.0, 0.0),
        strict: (0.0, 0.0, 0.0),
    },
];

fn score(input: &str, scheme: SchemeChoice) -> Report {
    let opts = ScoreOptions {
        scheme,
        name: "t.txt".to_string(),
    };
    score_reader(Cursor::new(input.as_bytes()), &opts).unwrap()
}

fn prf(m: &SpanMetrics) -> (f64, f64, f64) {
    (m.precision, m.recall, m.f1)
}

#[test]
fn edge_vectors_byte_exact() {
    for e in &EDGES {
        let r = score(e.input, SchemeChoice::Conlleval);
        assert_eq!(r.conlleval_text(), e.output, "{}", e.name);
    }
}

/// The edge vectors are well-formed IOB2 in gold, so `--scheme bio` and `auto` print the
/// same chunk figures; accuracy compares BIO-normalised tags, which changes it where the
/// prediction is ill-formed: edge-i-after-o-pred's `I-PER` after `O` becomes `B-PER`, equal
/// to gold → 4/4 = 100.00%; edge-type-change-inside's `B-PER I-ORG I-PER` becomes
/// `B-PER B-ORG B-PER`, equal to gold `B-PER I-PER I-PER` on token 1 only → 33.33%.
#[test]
fn edge_vectors_scheme_aware() {
    for e in &EDGES {
        for choice in [SchemeChoice::Scheme(Scheme::Bio), SchemeChoice::Auto] {
            let r = score(e.input, choice);
            let expected = match e.name {
                "edge-i-after-o-pred" => e.output.replace("accuracy:  75.00%", "accuracy: 100.00%"),
                "edge-type-change-inside" => {
                    e.output.replace("accuracy:  66.67%", "accuracy:  33.33%")
                }
                _ => e.output.to_string(),
            };
            if e.name == "edge-all-o" {
                // No chunk tag anywhere: auto falls back to literal conlleval.
                assert_eq!(r.metrics.scheme.is_none(), choice == SchemeChoice::Auto);
            }
            assert_eq!(r.conlleval_text(), expected, "{} {choice}", e.name);
        }
    }
}

#[test]
fn edge_vectors_seqeval_figures() {
    for e in &EDGES {
        let r = score(e.input, SchemeChoice::Conlleval);
        let cols = read_columns(Cursor::new(e.input.as_bytes()), "t").unwrap();
        let default = evaluate(&cols.gold(), &cols.pred(), SpanRule::Lenient);
        assert_eq!(prf(&default), e.default, "{} default", e.name);
        let strict = evaluate(&cols.gold(), &cols.pred(), SpanRule::Strict(Scheme::Bio));
        assert_eq!(prf(&strict), e.strict, "{} strict", e.name);
        // The report carries strict figures for the detected scheme (BIO here, except
        // all-O which has no scheme).
        match r.metrics.scheme {
            Some(s) => {
                assert_eq!(s, Scheme::Bio, "{}", e.name);
                assert_eq!(r.metrics.strict.as_ref().map(prf), Some(e.strict));
            }
            None => assert_eq!(e.name, "edge-all-o"),
        }
    }
}

/// BIOES: gold `S-X S-X O B-Y E-Y`, pred `S-X B-X E-X O S-Y` (one sentence).
/// Literal conlleval: gold S-X S-X is one X chunk 0..2 (the S- quirk), pred S-X B-X E-X:
/// S-X opens X, B-X continues (no (S,B) rule, same type), E-X continues → one X chunk 0..3;
/// B-Y E-Y: gold Y 3..5; pred S-Y 4..5. gold 2, found 2, correct 0; tags equal on token 0
/// only → 20.00%.
/// Scheme-aware: gold X 0..1, X 1..2, Y 3..5; pred X 0..1, X 1..3, Y 4..5 → gold 3, found
/// 3, correct 1; BIO tags gold `B-X B-X O B-Y I-Y`, pred `B-X B-X I-X O B-Y` → equal on
/// 0, 1 → 40.00%. p = r = 33.33, F 33.33.
#[test]
fn bioes_literal_vs_scheme_aware() {
    let input = "a S-X S-X\nb S-X B-X\nc O E-X\nd B-Y O\ne E-Y S-Y\n";
    let literal = score(input, SchemeChoice::Conlleval);
    assert_eq!(
        literal.conlleval_text(),
        "processed 5 tokens with 2 phrases; found: 2 phrases; correct: 0.\n\
         accuracy:  20.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n\
         \x20               X: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n\
         \x20               Y: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
    );
    let aware = score(input, SchemeChoice::Auto);
    assert_eq!(aware.metrics.decoding, Decoding::Scheme(Scheme::Bioes));
    assert_eq!(
        aware.conlleval_text(),
        "processed 5 tokens with 3 phrases; found: 3 phrases; correct: 1.\n\
         accuracy:  40.00%; precision:  33.33%; recall:  33.33%; FB1:  33.33\n\
         \x20               X: precision:  50.00%; recall:  50.00%; FB1:  50.00  2\n\
         \x20               Y: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
    );
    // The same report as literal conlleval on the hand-converted BIO file.
    let bio = "a B-X B-X\nb B-X B-X\nc O I-X\nd B-Y O\ne I-Y B-Y\n";
    assert_eq!(
        score(bio, SchemeChoice::Conlleval).conlleval_text(),
        aware.conlleval_text()
    );
    // Strict BIOES agrees with the scheme-aware chunks here (all well-formed).
    let strict = aware.metrics.strict.unwrap();
    assert_eq!((strict.gold, strict.found, strict.correct), (3, 3, 1));
    // Confusion: X 0..1 matched X; X 1..2 (gold) vs X 1..3 (pred): missed + spurious;
    // Y 3..5 missed, Y 4..5 spurious.
    let c = &aware.metrics.spans.confusion;
    assert_eq!(c.matched["X"]["X"], 1);
    assert_eq!((c.missed["X"], c.missed["Y"]), (1, 1));
    assert_eq!((c.spurious["X"], c.spurious["Y"]), (1, 1));
}

/// POS data: no chunk (tags have no B-/I- prefix), accuracy is the figure:
/// 3 of 4 tags equal → 75.00%.
#[test]
fn pos_data_scores_accuracy() {
    let input = "The DT DT\ndog NN NN\nbarks VBZ NNS\n. . .\n";
    let r = score(input, SchemeChoice::Auto);
    assert_eq!(r.metrics.decoding, Decoding::Conlleval);
    assert_eq!(r.metrics.scheme, None);
    assert!(r.metrics.strict.is_none());
    assert_eq!(r.metrics.accuracy, Accuracy::new(3, 4));
    assert_eq!(
        r.conlleval_text(),
        "processed 4 tokens with 0 phrases; found: 0 phrases; correct: 0.\n\
         accuracy:  75.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n"
    );
}

#[test]
fn json_round_trips() {
    let r = score(EDGES[3].input, SchemeChoice::Conlleval);
    let json = r.to_json();
    let back: Metrics = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r.metrics);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["decoding"], "conlleval");
    assert_eq!(v["scheme"], "bio");
    assert_eq!(v["spans"]["per_type"]["GPE-ORG"]["correct"], 1);
    assert_eq!(v["spans"]["confusion"]["spurious"]["GPE"], 1);
    assert_eq!(v["accuracy"]["correct"], 2);
    let aware = score(EDGES[3].input, SchemeChoice::Scheme(Scheme::Bioes));
    let v: serde_json::Value = serde_json::from_str(&aware.to_json()).unwrap();
    assert_eq!(v["decoding"], serde_json::json!({"scheme": "bioes"}));
}

#[test]
fn scheme_choice_parses() {
    assert_eq!(
        "conlleval".parse::<SchemeChoice>().unwrap(),
        SchemeChoice::Conlleval
    );
    assert_eq!("AUTO".parse::<SchemeChoice>().unwrap(), SchemeChoice::Auto);
    assert_eq!(
        "iobes".parse::<SchemeChoice>().unwrap(),
        SchemeChoice::Scheme(Scheme::Bioes)
    );
    assert_eq!(
        "iob2".parse::<SchemeChoice>().unwrap(),
        SchemeChoice::Scheme(Scheme::Bio)
    );
    let err = "bilou".parse::<SchemeChoice>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown scheme `bilou`; expected conlleval, auto, iob1, bio (iob2), bioes (iobes)"
    );
    assert_eq!(SchemeChoice::Scheme(Scheme::Bioes).to_string(), "bioes");
}

#[test]
fn read_errors_pass_through_with_the_name() {
    let opts = ScoreOptions::default();
    let err = score_reader(Cursor::new(&b"a O\nb\n"[..]), &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<stdin>:2: expected at least 2 columns (… gold predicted), found 1"
    );
    let err = score_path(Path::new("/nonexistent/x.txt"), SchemeChoice::Auto).unwrap_err();
    assert_eq!(err.to_string(), "cannot read /nonexistent/x.txt");
}

/// `-DOCSTART-` lines are boundaries, not tokens (conlleval.pl would count them).
#[test]
fn docstart_is_not_a_token() {
    let r = score(
        "-DOCSTART- -X- O O\n\nEU NNP B-ORG B-ORG\n",
        SchemeChoice::Conlleval,
    );
    assert_eq!(r.metrics.tokens, 1);
    assert_eq!(r.metrics.sentences, 1);
}
