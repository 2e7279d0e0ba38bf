//! Penn Treebank bracket tokens mapped back to the characters they stand for.
//!
//! OntoNotes and PTB-derived files write `(` as `-LRB-`, `"` as two backquotes, and escape
//! `.`/`?` as `/.` and `/?`; the seed systems undo this before looking words up in embeddings
//! trained on raw text (seed-systems.md A.5 and A′.1). Off by default in [`crate::ReaderOptions`].

use crate::sentence::Sentence;

/// The character a Penn escape token stands for, or `None` for an ordinary token.
pub fn penn_bracket(token: &str) -> Option<&'static str> {
    Some(match token {
        "-LRB-" => "(",
        "-RRB-" => ")",
        "-LSB-" => "[",
        "-RSB-" => "]",
        "-LCB-" => "{",
        "-RCB-" => "}",
        "``" | "''" => "\"",
        "/." => ".",
        "/?" => "?",
        _ => return None,
    })
}

/// Replaces every Penn escape token in `sentences` in place (tokens only; labels and feature
/// columns are left as written).
pub fn normalize_penn_brackets(sentences: &mut [Sentence]) {
    for sentence in sentences {
        for token in &mut sentence.tokens {
            if let Some(plain) = penn_bracket(token) {
                *token = plain.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_all_escapes_and_leaves_others() {
        let cases = [
            ("-LRB-", "("),
            ("-RRB-", ")"),
            ("-LSB-", "["),
            ("-RSB-", "]"),
            ("-LCB-", "{"),
            ("-RCB-", "}"),
            ("``", "\""),
            ("''", "\""),
            ("/.", "."),
            ("/?", "?"),
        ];
        for (escaped, plain) in cases {
            assert_eq!(penn_bracket(escaped), Some(plain), "{escaped}");
        }
        assert_eq!(penn_bracket("-lrb-"), None);
        assert_eq!(penn_bracket("("), None);
    }
}
