//! Scoring one task on one split (design.md §5; seed-systems A.8 with its bugs fixed).
//!
//! Chunk tasks (a dataset with a tag scheme) get span precision / recall / F1, overall and per
//! type, computed on the training-scheme labels (BIOES) with lenient spans: BIOES is converted
//! from the file's scheme without changing any span, so this equals conlleval on the file's
//! own labels. Plain-label tasks (POS) get token accuracy over all tokens (A.8's POS bug
//! counted only the last sentence of each batch; its later scripts scored POS with conlleval
//! and got 0).

use polytag_data::scheme::{convert, Scheme};
use polytag_data::{BatchOptions, Corpus, EncodedSentence};
use polytag_eval::{evaluate, token_accuracy, SpanMetrics, SpanRule};
use polytag_model::Model;
use serde_json::{json, Map, Value};

use crate::decode::{decode_sentences, Want};
use crate::error::Result;
use crate::vocabularies::TaskVocabs;

/// The result of evaluating a task on one split.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitEval {
    /// Span F1 (chunk tasks) or token accuracy (plain labels), a fraction.
    pub score: f64,
    /// Everything else: precision, recall, counts, `per_type` (chunk tasks) or `correct`,
    /// `total` (accuracy).
    pub metrics: Map<String, Value>,
    /// Predicted labels per sentence, in the training scheme.
    pub predicted: Vec<Vec<String>>,
}

/// Where the batches of an evaluation go.
pub struct EvalContext<'a> {
    /// An inference copy of the model (`model.valid()`).
    pub model: &'a Model,
    /// Its device (without autodiff).
    pub device: &'a burn::prelude::Device,
    /// Sentences per batch.
    pub batch_size: usize,
    /// Batch shapes.
    pub batch_options: &'a BatchOptions,
}

/// Decodes and scores `corpus` (labels in the training scheme; `encoded` its encoding) for
/// task `task`; `scheme` is the dataset's own scheme (`None`: plain labels).
pub fn evaluate_split(
    ctx: &EvalContext<'_>,
    task: usize,
    vocabs: &TaskVocabs,
    corpus: &Corpus,
    encoded: &[EncodedSentence],
    scheme: Option<Scheme>,
) -> Result<SplitEval> {
    let decoded = decode_sentences(
        ctx.model,
        task,
        encoded,
        ctx.device,
        ctx.batch_size,
        ctx.batch_options,
        Want::default(),
    )?;
    let predicted: Vec<Vec<String>> = decoded
        .iter()
        .map(|d| {
            d.path
                .iter()
                .map(|&id| vocabs.label(id).to_string())
                .collect()
        })
        .collect();
    let gold: Vec<&[String]> = corpus
        .sentences
        .iter()
        .map(|s| s.labels.as_slice())
        .collect();
    let (score, metrics) = score(&gold, &predicted, scheme.is_some());
    Ok(SplitEval {
        score,
        metrics,
        predicted,
    })
}

/// The headline score and the metrics map of predicted vs. gold labels.
pub fn score<G: AsRef<[String]>>(
    gold: &[G],
    predicted: &[Vec<String>],
    spans: bool,
) -> (f64, Map<String, Value>) {
    let mut m = Map::new();
    if spans {
        let s: SpanMetrics = evaluate(gold, predicted, SpanRule::Lenient);
        m.insert("precision".into(), json!(s.precision));
        m.insert("recall".into(), json!(s.recall));
        m.insert("f1".into(), json!(s.f1));
        m.insert("gold".into(), json!(s.gold));
        m.insert("found".into(), json!(s.found));
        m.insert("correct".into(), json!(s.correct));
        let per_type: Map<String, Value> = s
            .per_type
            .iter()
            .map(|(t, c)| {
                (
                    t.clone(),
                    json!({"precision": c.precision, "recall": c.recall, "f1": c.f1,
                           "gold": c.gold, "found": c.found, "correct": c.correct}),
                )
            })
            .collect();
        m.insert("per_type".into(), Value::Object(per_type));
        (s.f1, m)
    } else {
        let a = token_accuracy(gold, predicted);
        m.insert("accuracy".into(), json!(a.accuracy));
        m.insert("correct".into(), json!(a.correct));
        m.insert("total".into(), json!(a.total));
        (a.accuracy, m)
    }
}

/// `token gold predicted` lines, a blank line after each sentence, labels converted back to
/// the dataset's own `scheme` (readable by `polytag score` and conlleval.pl).
pub fn predictions_conll(
    corpus: &Corpus,
    predicted: &[Vec<String>],
    scheme: Option<Scheme>,
) -> String {
    let back = |labels: &[String]| match scheme {
        Some(s) => convert(labels, s),
        None => labels.to_vec(),
    };
    let mut out = String::new();
    for (sentence, pred) in corpus.sentences.iter().zip(predicted) {
        let gold = back(&sentence.labels);
        let pred = back(pred);
        for (i, token) in sentence.tokens.iter().enumerate() {
            let g = gold.get(i).map_or("O", String::as_str);
            let p = pred.get(i).map_or("O", String::as_str);
            out.push_str(token);
            out.push(' ');
            out.push_str(g);
            out.push(' ');
            out.push_str(p);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    /// Gold has 2 spans (PER 0–1, LOC 3); the prediction finds PER 0–1 and a wrong ORG at 3:
    /// P = 1/2, R = 1/2, F1 = 1/2; PER 1/1/1, LOC recall 0, ORG precision 0.
    #[test]
    fn span_scores_by_hand() {
        let gold = vec![labels("B-PER E-PER O S-LOC")];
        let pred = vec![labels("B-PER E-PER O S-ORG")];
        let (score, m) = score(&gold, &pred, true);
        assert_eq!(score, 0.5);
        assert_eq!(
            (m["gold"].clone(), m["found"].clone()),
            (json!(2), json!(2))
        );
        assert_eq!(m["per_type"]["PER"]["f1"], json!(1.0));
        assert_eq!(m["per_type"]["LOC"]["recall"], json!(0.0));
        assert_eq!(m["per_type"]["ORG"]["precision"], json!(0.0));
    }

    /// 5 of 6 tokens right over two sentences: accuracy 5/6 over all tokens (A.8's bug
    /// would have counted only the last sentence's correct tokens).
    #[test]
    fn accuracy_counts_every_token() {
        let gold = vec![labels("DET NOUN VERB"), labels("PRON VERB ADV")];
        let pred = vec![labels("DET NOUN VERB"), labels("PRON VERB ADJ")];
        let (score, m) = score(&gold, &pred, false);
        assert_eq!(score, 5.0 / 6.0);
        assert_eq!(
            (m["correct"].clone(), m["total"].clone()),
            (json!(5), json!(6))
        );
    }

    #[test]
    fn predictions_go_back_to_the_file_scheme() {
        let mut corpus = Corpus::new("dev.conll");
        corpus.sentences.push(polytag_data::Sentence {
            tokens: labels("Jan van Dijk zegt"),
            labels: labels("B-PER I-PER E-PER O"),
            features: vec![],
            line: 1,
        });
        let pred = vec![labels("S-PER B-LOC E-LOC O")];
        assert_eq!(
            predictions_conll(&corpus, &pred, Some(Scheme::Bio)),
            "Jan B-PER B-PER\nvan I-PER B-LOC\nDijk I-PER I-LOC\nzegt O O\n\n"
        );
    }
}
