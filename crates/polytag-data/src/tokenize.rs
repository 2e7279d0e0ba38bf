//! Raw text to tokens with character offsets, for `polytag predict` on typed or piped text.
//!
//! CoNLL corpora are tokenised Penn-style: punctuation is its own token (`Dublin ,`), so a
//! tagger trained on them must see text the same way. Seed 001's demo split on whitespace only
//! and tagged `Dublin,` as one unknown word; here a token is a run of letters and digits that
//! may contain inner `.`, `'`, `’`, `-`, `,` or `/` between alphanumerics (`U.S`, `don't`,
//! `e-mail`, `3,000`, `1/2`), every other non-space character is a token of its own, and an
//! abbreviation's final period stays attached when the token already has inner periods
//! (`U.S.`). Offsets count Unicode scalar values (what most editors and Python call
//! characters), end exclusive.

/// One token of a raw sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token text.
    pub text: String,
    /// Character offset of its first character.
    pub start: usize,
    /// Character offset just past its last character.
    pub end: usize,
}

fn joins(c: char) -> bool {
    matches!(c, '.' | '\'' | '’' | '-' | ',' | '/')
}

/// Splits `text` into tokens (see the module doc).
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_alphanumeric() {
            i += 1;
            loop {
                if i < chars.len() && chars[i].is_alphanumeric() {
                    i += 1;
                } else if i + 1 < chars.len() && joins(chars[i]) && chars[i + 1].is_alphanumeric() {
                    i += 2;
                } else {
                    break;
                }
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == '.' && word.contains('.') {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(Token {
            text: chars[start..i].iter().collect(),
            start,
            end: i,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn splits_punctuation_off_words() {
        assert_eq!(texts("Dublin, Ireland."), ["Dublin", ",", "Ireland", "."]);
        assert_eq!(
            texts("(EU) rejects \"German\" call!"),
            ["(", "EU", ")", "rejects", "\"", "German", "\"", "call", "!"]
        );
    }

    #[test]
    fn keeps_inner_joiners_and_abbreviations() {
        assert_eq!(
            texts("U.S. e-mail don't 3,000 1/2"),
            ["U.S.", "e-mail", "don't", "3,000", "1/2"]
        );
        assert_eq!(texts("end."), ["end", "."]);
    }

    /// Offsets by hand: "Jan zag Bergen op Zoom." → Jan 0..3, zag 4..7, Bergen 8..14, ...
    #[test]
    fn offsets_count_characters_not_bytes() {
        let t = tokenize("Jan zag Bergen op Zoom.");
        assert_eq!((t[2].start, t[2].end), (8, 14));
        assert_eq!((t[5].text.as_str(), t[5].start, t[5].end), (".", 22, 23));
        let t = tokenize("Zoë ging");
        assert_eq!((t[1].start, t[1].end), (4, 8));
    }

    #[test]
    fn empty_and_blank_text_give_no_tokens() {
        assert!(tokenize("").is_empty());
        assert!(tokenize(" \t ").is_empty());
    }
}
