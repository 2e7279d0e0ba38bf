//! "Did you mean ...?" for misspelt keys and names.
//!
//! Levenshtein distance on lower-cased strings, accepted when it is at most a third of the
//! word (at least 2 edits), so `token_colum` finds `token_col` but `dev` does not suggest `seed`.
//! Written out instead of pulling `strsim`: twenty lines, and the threshold is ours to test.

/// The candidate closest to `word`, if it is close enough to be a typo of it.
pub(crate) fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = levenshtein(&lower, &candidate.to_lowercase());
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Edit distance (insertions, deletions, substitutions) over chars, one row of memory.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distances counted by hand: kitten→sitting is k→s, e→i, +g.
    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abc", "abc"), 0);
        assert_eq!(levenshtein("token_colum", "token_col"), 2);
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["token_col", "label_col", "separator", "format"];
        assert_eq!(
            did_you_mean("token_colum", keys),
            Some("token_col".to_string())
        );
        assert_eq!(did_you_mean("Format", keys), Some("format".to_string()));
        assert_eq!(did_you_mean("xyz", keys), None);
        assert_eq!(did_you_mean("dev", ["seed", "name"]), None);
    }
}
