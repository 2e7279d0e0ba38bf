//! Alignment, windows and batches checked against values worked out by hand or by brute force.

use super::*;

/// A small cased WordPiece tokenizer written out by hand, shipped (as model packages do) with
/// truncation 8 and Fixed(8) padding that loading must turn off.
pub(crate) fn tiny_tokenizer_json() -> String {
    let vocab = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "café", "un", "##believ", "##able", ".", "na",
        "##ï", "##ve", "a", "##a",
    ];
    let vocab: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, p)| ((*p).to_string(), serde_json::json!(i)))
        .collect();
    let special = |id: usize, content: &str| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                           "rstrip": false, "normalized": false, "special": true})
    };
    serde_json::json!({
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 8}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": false},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
    .to_string()
}

pub(crate) fn tiny() -> SubwordTokenizer {
    SubwordTokenizer::from_bytes(tiny_tokenizer_json().as_bytes(), Path::new("tiny.json")).unwrap()
}

#[test]
fn specials_come_from_the_post_processor_and_added_tokens() {
    let tk = tiny();
    assert_eq!((tk.cls, tk.sep, tk.pad, tk.unk), (2, 3, 0, 1));
    assert_eq!(tk.vocab_size, 15);
    assert_eq!(tk.sha256, sha256_hex(tiny_tokenizer_json().as_bytes()));
    assert_eq!(tk.sha256.len(), 64);
}

#[test]
fn alignment_of_accented_split_unknown_and_empty_words() {
    let tk = tiny();
    // "The" is cased and not in the vocabulary: one [UNK] piece (the tokenizer's own).
    // "naïve" keeps its accent (no lowercasing, no accent stripping): na ##ï ##ve.
    // U+200B is removed by the normaliser: no piece, so polytag gives it [UNK].
    let words = ["The", "café", "unbelievable", "\u{200B}", "naïve", "."];
    let (s, counts) = tk.encode_words(&words, 100).unwrap();
    assert_eq!(s.pieces, [1, 5, 6, 7, 8, 1, 10, 11, 12, 9]);
    assert_eq!(s.word_starts, [0, 1, 2, 5, 6, 9, 10]);
    assert_eq!(
        counts,
        SubwordCounts {
            words: 6,
            pieces: 10,
            empty: 1,
            cut: 0
        }
    );
    // Words are never lowercased before the tokenizer: "the" is known, "The" is not.
    let (lower, _) = tk.encode_words(&["the"], 100).unwrap();
    assert_eq!(lower.pieces, [4]);
    // Truncation (8) and padding (8) of the file are off: 20 words give 20 pieces.
    let many = vec!["a"; 20];
    let (s, _) = tk.encode_words(&many, 100).unwrap();
    assert_eq!(s.pieces, vec![13; 20]);
    // A word longer than a window is cut to it: "aaaa" = a ##a ##a ##a.
    let (s, counts) = tk.encode_words(&["aaaa", "a"], 2).unwrap();
    assert_eq!(s.pieces, [13, 14, 13]);
    assert_eq!(s.word_starts, [0, 2, 3]);
    assert_eq!(counts.cut, 1);
    let (s, counts) = tk.encode_words::<&str>(&[], 10).unwrap();
    assert!(s.pieces.is_empty() && s.word_starts == [0] && counts.words == 0);
}

#[test]
fn bad_tokenizer_files_are_errors_naming_the_file() {
    let err =
        SubwordTokenizer::from_bytes(b"{not json", Path::new("m/tokenizer.json")).unwrap_err();
    assert!(err.to_string().starts_with("m/tokenizer.json: "), "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
    v["post_processor"] = serde_json::Value::Null;
    let err =
        SubwordTokenizer::from_bytes(v.to_string().as_bytes(), Path::new("t.json")).unwrap_err();
    assert!(err.to_string().contains("[CLS] ... [SEP]"), "{err}");
    let err = SubwordTokenizer::load(Path::new("/nonexistent/dir/tokenizer.json")).unwrap_err();
    assert!(matches!(err, Error::Open { .. }));
}

/// Every composition of word lengths (1..=3 pieces, up to 6 words), every window size that fits
/// the longest word up to 8, every stride below it: each word is assigned exactly one window
/// that holds it whole, with the best context score of all windows that hold it; windows are
/// at most `max` long, start and end on word boundaries, advance, and cover the sentence.
#[test]
fn plan_windows_exhaustively() {
    fn compositions(words: usize, out: &mut Vec<Vec<u32>>, cur: &mut Vec<u32>) {
        if cur.len() == words {
            out.push(cur.clone());
            return;
        }
        for len in 1..=3 {
            cur.push(len);
            compositions(words, out, cur);
            cur.pop();
        }
    }
    let mut checked = 0;
    for words in 1..=6 {
        let mut all = Vec::new();
        compositions(words, &mut all, &mut Vec::new());
        for lens in all {
            let mut starts = vec![0u32];
            for l in &lens {
                starts.push(starts.last().unwrap() + l);
            }
            let n = *starts.last().unwrap();
            let longest = *lens.iter().max().unwrap() as usize;
            for max in longest..=8 {
                for stride in 0..max {
                    let plan = plan_windows(&starts, max, stride);
                    assert_eq!(plan.word_window.len(), words);
                    assert_eq!(plan.windows.first().unwrap().0, 0);
                    assert_eq!(plan.windows.last().unwrap().1, n);
                    for pair in plan.windows.windows(2) {
                        assert!(pair[1].0 > pair[0].0 && pair[1].0 <= pair[0].1, "{pair:?}");
                        assert!(pair[0].1 - pair[1].0 <= stride as u32, "{pair:?}");
                    }
                    for &(s, e) in &plan.windows {
                        assert!((e - s) as usize <= max);
                        assert!(starts.contains(&s) && starts.contains(&e));
                    }
                    for w in 0..words {
                        let (a, b) = (starts[w], starts[w + 1]);
                        let score = |&(s, e): &(u32, u32)| {
                            f64::from((a - s).min(e - b)) + 0.01 * f64::from(e - s)
                        };
                        let holding: Vec<usize> = (0..plan.windows.len())
                            .filter(|&i| plan.windows[i].0 <= a && b <= plan.windows[i].1)
                            .collect();
                        assert!(!holding.is_empty(), "word {w} in no window");
                        let chosen = plan.word_window[w] as usize;
                        assert!(holding.contains(&chosen));
                        let best = holding
                            .iter()
                            .map(|&i| score(&plan.windows[i]))
                            .fold(f64::MIN, f64::max);
                        assert!((score(&plan.windows[chosen]) - best).abs() < 1e-9);
                        // Ties go to the earliest window.
                        let first_best = holding
                            .iter()
                            .copied()
                            .find(|&i| (score(&plan.windows[i]) - best).abs() < 1e-9)
                            .unwrap();
                        assert_eq!(chosen, first_best);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

/// A hand-worked case: six one-piece words, windows of 4 with stride 2.
#[test]
fn plan_windows_by_hand() {
    let plan = plan_windows(&[0, 1, 2, 3, 4, 5, 6], 4, 2);
    // [0,4) then the first start keeping <= 2 overlap: 2 → [2,6).
    assert_eq!(plan.windows, [(0, 4), (2, 6)]);
    // Word 0: only window 0. Word 1: w0 min(1,2)=1 vs (not in w1): w0. Word 2: w0 min(2,1)=1,
    // w1 min(0,3)=0 → w0. Word 3: w0 min(3,0)=0, w1 min(1,2)=1 → w1. Words 4, 5: only w1.
    assert_eq!(plan.word_window, [0, 0, 0, 1, 1, 1]);
    // One window when it fits.
    let plan = plan_windows(&[0, 2, 3], 3, 1);
    assert_eq!(plan.windows, [(0, 3)]);
    assert_eq!(plan.word_window, [0, 0]);
}

/// The CoNLL-2002 Spanish training file has a 1,238-word sentence: it must be split and every
/// word read from exactly one window.
#[test]
fn a_sentence_far_longer_than_a_window() {
    let tk = tiny();
    let vocab = SubwordVocab {
        tokenizer: tk,
        max_len: 32,
        stride: 8,
    };
    let words: Vec<&str> = (0..1238)
        .map(|i| if i % 3 == 0 { "unbelievable" } else { "a" })
        .collect();
    let (enc, counts) = vocab.encode(&words).unwrap();
    assert_eq!(counts.words, 1238);
    assert_eq!(enc.plan.word_window.len(), 1238);
    assert!(enc.plan.windows.len() > 60);
    let batch = SubwordBatch::build(std::iter::once((1238, Some(&enc))), 1, 1238);
    assert_eq!(batch.width, 32);
    for w in 0..1238 {
        let (first, last) = (batch.first[w] as usize, batch.last[w] as usize);
        assert_eq!(first / batch.width, last / batch.width, "one window");
        let expected: Vec<u32> = if w % 3 == 0 { vec![6, 7, 8] } else { vec![13] };
        assert_eq!(batch.ids[first..=last], expected[..], "word {w}");
    }
}

#[test]
fn batches_frame_pad_and_index_windows() {
    let vocab = SubwordVocab {
        tokenizer: tiny(),
        max_len: 6,
        stride: 1,
    };
    // Sentence A: the café unbelievable (pieces 4 | 5 | 6 7 8): 5 pieces > 4 → windows.
    // Window 0 = words 0-1 (pieces 0..2); the next starts at the first word boundary leaving
    // at most 1 piece of overlap: word 1 → pieces 1..5.
    let (a, _) = vocab.encode(&["the", "café", "unbelievable"]).unwrap();
    assert_eq!(a.plan.windows, [(0, 2), (1, 5)]);
    // Word 1 in window 0 has min(1, 0) = 0 context, score 0 + 0.02; in window 1 min(0, 3) = 0,
    // score 0 + 0.04: the longer window wins.
    assert_eq!(a.plan.word_window, [0, 1, 1]);
    // Sentence B: "." (piece 9).
    let (b, _) = vocab.encode(&["."]).unwrap();
    let batch = SubwordBatch::build([(1, Some(&b)), (3, Some(&a))].into_iter(), 2, 3);
    // Windows: B's one, then A's two; width = 4 pieces + CLS/SEP = 6.
    assert_eq!((batch.windows, batch.width), (3, 6));
    assert_eq!(
        batch.ids,
        [2, 9, 3, 0, 0, 0, /* A w0 */ 2, 4, 5, 3, 0, 0, /* A w1 */ 2, 5, 6, 7, 8, 3]
    );
    assert_eq!(batch.lengths, [3, 4, 6]);
    // B: word 0 at window 0 position 1; pads 0. A: word 0 at row 6 + 1; words 1, 2 in window
    // 2 (row 12): piece 5 at 13, pieces 6 7 8 at 14..=16.
    assert_eq!(batch.first, [1, 0, 0, 7, 13, 14]);
    assert_eq!(batch.last, [1, 0, 0, 7, 13, 16]);
}

/// Tokenizer parity with Hugging Face: the model crate's fixtures hold, for fixed word lists,
/// the ids and `word_ids` that `transformers` produced (`is_split_into_words=True`, padded
/// batch). Our pieces per word, the window frame and the padding id must be the same.
#[test]
fn pieces_match_the_hugging_face_reference_of_the_fixtures() {
    for name in ["tiny-bert", "tiny-xlmr"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../polytag-model/tests/fixtures")
            .join(name);
        let tk = SubwordTokenizer::load(&dir).unwrap();
        let reference: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
                .unwrap();
        let sentences = reference["sentences"].as_array().unwrap();
        for (s, words) in sentences.iter().enumerate() {
            let words: Vec<&str> = words
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect();
            let ids: Vec<u32> = reference["input_ids"][s]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            let word_ids: Vec<Option<u64>> = reference["word_ids"][s]
                .as_array()
                .unwrap()
                .iter()
                .map(serde_json::Value::as_u64)
                .collect();
            let (ours, counts) = tk.encode_words(&words, 512).unwrap();
            // Expected: the ids that belong to a word, and where each word starts.
            let mut pieces = Vec::new();
            let mut starts = Vec::new();
            for (&id, w) in ids.iter().zip(&word_ids) {
                if let Some(w) = w {
                    if starts.len() == *w as usize {
                        starts.push(pieces.len() as u32);
                    }
                    pieces.push(id);
                }
            }
            starts.push(pieces.len() as u32);
            assert_eq!(ours.pieces, pieces, "{name} sentence {s}");
            assert_eq!(ours.word_starts, starts, "{name} sentence {s}");
            assert_eq!(counts.empty, 0);
            // The frame: CLS first, SEP after the last piece, PAD after that.
            let real = pieces.len() + 2;
            assert_eq!(ids[0], tk.cls, "{name}");
            assert_eq!(ids[real - 1], tk.sep, "{name}");
            assert!(ids[real..].iter().all(|&id| id == tk.pad), "{name}");
        }
    }
}
