//! The built-in lexicon: the data files under `data/sentiment/`, read once into one
//! hash map keyed by the terms as they stand in the files (already normalised, which a
//! test checks), so that a lookup never allocates.

use std::collections::HashMap;
use std::sync::LazyLock;

use rustc_hash::FxBuildHasher;

/// What a term does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Entry {
    /// A sentiment word with its valence in [-4, 4].
    Valence(f64),
    /// A negation and the side whose sentiment word it negates.
    Negation(Side),
    /// An intensifier (factor above 1) or diminisher (below 1) of the next sentiment word.
    Scale(f64),
    /// "but", "ولی": what follows weighs more than what came before.
    Contrast,
}

/// Which sentiment word a negation negates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Ahead,
    Behind,
    Both,
}

const FILES: [(&str, &str); 4] = [
    ("fa.txt", include_str!("../../data/sentiment/fa.txt")),
    ("en.txt", include_str!("../../data/sentiment/en.txt")),
    ("emoji.txt", include_str!("../../data/sentiment/emoji.txt")),
    (
        "modifiers.txt",
        include_str!("../../data/sentiment/modifiers.txt"),
    ),
];

/// The terms, with what the analyser needs to match phrases cheaply.
#[derive(Debug)]
pub struct Lexicon {
    entries: HashMap<&'static str, Entry, FxBuildHasher>,
    /// First words of the phrases, with the most words a phrase starting so has: most
    /// words start no phrase, and then only one lookup is made.
    phrase_starts: HashMap<&'static str, usize, FxBuildHasher>,
    /// Byte lengths of the symbol terms that are not one character (emoticons), longest
    /// first.
    emoticon_lengths: Vec<usize>,
}

/// A line of a data file that is not a term the lexicon understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconError {
    pub file: &'static str,
    pub line: usize,
    pub reason: &'static str,
}

static BUILTIN: LazyLock<Lexicon> = LazyLock::new(|| {
    // The files are compiled in; `parses_and_is_normalised` in the tests reads them.
    Lexicon::parse(&FILES).expect("the built-in sentiment lexicon parses")
});

impl Lexicon {
    /// The lexicon built from the crate's data files.
    pub fn builtin() -> &'static Lexicon {
        &BUILTIN
    }

    fn parse(files: &[(&'static str, &'static str)]) -> Result<Lexicon, LexiconError> {
        let mut lexicon = Lexicon {
            entries: HashMap::default(),
            phrase_starts: HashMap::default(),
            emoticon_lengths: Vec::new(),
        };
        for &(file, text) in files {
            for (index, line) in text.lines().enumerate() {
                let error = |reason| LexiconError {
                    file,
                    line: index + 1,
                    reason,
                };
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let mut fields = line.split('\t');
                let term = fields.next().unwrap_or_default();
                let entry = match (fields.next(), fields.next()) {
                    (Some("ahead"), None) => Entry::Negation(Side::Ahead),
                    (Some("behind"), None) => Entry::Negation(Side::Behind),
                    (Some("both"), None) => Entry::Negation(Side::Both),
                    (Some("but"), None) => Entry::Contrast,
                    (Some("scale"), Some(factor)) => Entry::Scale(
                        factor
                            .parse()
                            .map_err(|_| error("a scale needs a number"))?,
                    ),
                    (Some(valence), None) => {
                        let valence: f64 = valence
                            .parse()
                            .map_err(|_| error("a valence must be a number"))?;
                        if !(-4.0..=4.0).contains(&valence) {
                            return Err(error("a valence lies in [-4, 4]"));
                        }
                        Entry::Valence(valence)
                    }
                    _ => return Err(error("expected term<TAB>valence or term<TAB>kind")),
                };
                if term.is_empty() || term.contains("  ") || term.trim() != term {
                    return Err(error("a term is words separated by single spaces"));
                }
                if lexicon.entries.insert(term, entry).is_some() {
                    return Err(error("the term is listed twice"));
                }
                let words = term.split(' ').count();
                if words > 1 {
                    let first = term.split(' ').next().unwrap_or(term);
                    let longest = lexicon.phrase_starts.entry(first).or_insert(0);
                    *longest = (*longest).max(words);
                } else if term.chars().count() > 1 && !term.chars().any(char::is_alphanumeric) {
                    lexicon.emoticon_lengths.push(term.len());
                }
            }
        }
        lexicon.emoticon_lengths.sort_unstable_by(|a, b| b.cmp(a));
        lexicon.emoticon_lengths.dedup();
        Ok(lexicon)
    }

    pub fn get(&self, term: &str) -> Option<Entry> {
        self.entries.get(term).copied()
    }

    /// The most words a phrase starting with `word` has (0 when none starts so).
    pub fn longest_phrase_from(&self, word: &str) -> usize {
        self.phrase_starts.get(word).copied().unwrap_or(0)
    }

    /// The byte length of the emoticon `text` starts with, if any.
    pub fn emoticon_at(&self, text: &str) -> Option<usize> {
        self.emoticon_lengths.iter().copied().find(|&length| {
            text.get(..length)
                .is_some_and(|prefix| self.entries.contains_key(prefix))
        })
    }

    #[cfg(test)]
    fn terms(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_is_normalised() {
        let lexicon = Lexicon::parse(&FILES).expect("parses");
        assert!(lexicon.entries.len() > 600);
        for term in lexicon.terms() {
            assert_eq!(
                domain::persian::normalize_text(term),
                term,
                "{term:?} is not in normalised form, so it could never match"
            );
        }
        assert_eq!(lexicon.get("عالی"), Some(Entry::Valence(3.2)));
        assert_eq!(lexicon.longest_phrase_from("دیگه"), 4);
        assert_eq!(lexicon.emoticon_at(":'( late"), Some(3));
        assert_eq!(lexicon.emoticon_at(":) ok"), Some(2));
        assert_eq!(lexicon.emoticon_at(": )"), None);
    }

    #[test]
    fn refuses_malformed_lines() {
        let twice: [(&'static str, &'static str); 1] = [("t", "good\t2\ngood\t1\n")];
        assert_eq!(
            Lexicon::parse(&twice).map(|_| ()),
            Err(LexiconError {
                file: "t",
                line: 2,
                reason: "the term is listed twice"
            })
        );
        let strong: [(&'static str, &'static str); 1] = [("t", "# c\n\nwow\t9\n")];
        assert_eq!(
            Lexicon::parse(&strong).map(|_| ()).map_err(|e| e.line),
            Err(3)
        );
        let spaced: [(&'static str, &'static str); 1] = [("t", "well  done\t2\n")];
        assert!(Lexicon::parse(&spaced).is_err());
    }
}
