//! Splitting normalised text into words, symbols (emojis, emoticons) and clause breaks,
//! as slices of the text: no token allocates.

use super::lexicon::Lexicon;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Letters and digits, with an apostrophe inside ("don't").
    Word,
    /// An emoji or an emoticon.
    Symbol,
    /// Punctuation that ends a clause: negation and intensity do not reach across it.
    Break,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    /// Byte offsets in the text, so that neighbouring words can be read as one phrase.
    pub start: usize,
    pub end: usize,
}

/// Clause-ending punctuation, Latin and Persian (، ؛ ؟).
fn ends_clause(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '!' | '?' | ';' | ':' | '،' | '؛' | '؟' | '…' | '\n'
    )
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’')
}

/// Where the word starting at byte `start` of `text` ends (`start` when no word starts
/// there): letters and digits, with an apostrophe between two of them ("don't").
pub fn word_end(text: &str, start: usize) -> usize {
    let mut end = start;
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        let inside_word = end > start
            && is_apostrophe(c)
            && chars.peek().is_some_and(|after| after.is_alphanumeric());
        if !(c.is_alphanumeric() || inside_word) {
            break;
        }
        end += c.len_utf8();
    }
    end
}

/// Iterates over the tokens of `text`, which should be normalised
/// (`domain::persian::normalize_text`): emoticons are those of `lexicon`.
pub fn tokens<'a>(text: &'a str, lexicon: &'a Lexicon) -> Tokens<'a> {
    Tokens {
        text,
        position: 0,
        lexicon,
    }
}

pub struct Tokens<'a> {
    text: &'a str,
    position: usize,
    lexicon: &'a Lexicon,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let rest = &self.text[self.position..];
            let c = rest.chars().next()?;
            let start = self.position;
            if c.is_alphanumeric() {
                let end = word_end(self.text, start);
                self.position = end;
                return Some(self.token(Kind::Word, start, end));
            }
            if let Some(length) = self.lexicon.emoticon_at(rest) {
                self.position += length;
                return Some(self.token(Kind::Symbol, start, start + length));
            }
            self.position += c.len_utf8();
            if c.is_whitespace() {
                continue;
            }
            let kind = if ends_clause(c) {
                Kind::Break
            } else {
                Kind::Symbol
            };
            return Some(self.token(kind, start, self.position));
        }
    }
}

impl<'a> Tokens<'a> {
    fn token(&self, kind: Kind, start: usize, end: usize) -> Token<'a> {
        Token {
            kind,
            text: &self.text[start..end],
            start,
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        tokens(text, Lexicon::builtin())
            .map(|token| (token.kind, token.text))
            .collect()
    }

    #[test]
    fn splits_words_symbols_and_breaks() {
        use Kind::*;
        assert_eq!(
            kinds("it wasn't good :( 👎, عالی بود!"),
            vec![
                (Word, "it"),
                (Word, "wasn't"),
                (Word, "good"),
                (Symbol, ":("),
                (Symbol, "👎"),
                (Break, ","),
                (Word, "عالی"),
                (Word, "بود"),
                (Break, "!"),
            ]
        );
        assert_eq!(
            kinds("'ok' 10:30"),
            vec![
                (Symbol, "'"),
                (Word, "ok"),
                (Symbol, "'"),
                (Word, "10"),
                (Break, ":"),
                (Word, "30"),
            ]
        );
        assert!(kinds("  ").is_empty());
    }
}
