//! Sentiment of customer text in Persian and English (F-2): a lexicon-based analyser.
//!
//! The text is normalised first (`domain::persian::normalize_text`: Arabic ي/ك to
//! Persian, digits to ASCII, a half-space to a space, lower case), so "عالي" is "عالی"
//! and "نمی‌خواهم" is "نمی خواهم". Its words, emojis and emoticons are looked up in the
//! built-in lexicon (`data/sentiment/*.txt`, valences in [-4, 4]), longest phrase first
//! (up to four words: "دیگه خرید نمی کنم", "does not work"). A word not found is tried
//! again without a letter stretched for emphasis ("عالیییی", "soooo"), then without a
//! common suffix, twice at most (Persian ه، ی، م، ش، تر، ترین، ها، ...: "خوبه",
//! "مشکلمو"; English -s, -ly), then, in Persian, without the negative prefix ن or نمی
//! ("نپسندیدم"), which negates it.
//!
//! Modifiers, each within its clause (punctuation and "but"/"ولی" end one):
//! - a negation ahead ("not", "never", "no", "-n't", "without", "نه", "هیچ", "بدون",
//!   "بی") negates the first sentiment word among the next three words;
//! - a negated verb (Persian puts it last: "خوب نبود", "راضی نیستم", "مشکلی
//!   نداشتم", a joined "نمی…" verb) negates the word right before it if that is a
//!   sentiment word. A word negated once stays negated once, so Persian's double
//!   negation ("هیچ مشکلی نبود") is one negation, as a reader takes it;
//! - negating multiplies a praise by −0.75 and a complaint by −0.5: "not good" is a
//!   complaint, "not bad" ("بد نبود") only mild praise;
//! - an intensifier or diminisher ("خیلی", "بسیار", "واقعا", "کمی", "یکم", "very",
//!   "slightly") multiplies the next sentiment word within two words by its factor;
//! - after a contrast ("but", "however", "ولی", "اما") the clause weighs 1.5 and what
//!   came before 0.5, because the point of a message usually follows its "but".
//!
//! The sum s of the weighted valences is squashed to a score s / √(s² + 15) in (−1, 1)
//! (the normalisation of VADER, Hutto & Gilbert 2014), labelled positive at 0.1 and
//! above, negative at −0.1 and below, neutral between. These constants were set with the
//! lexicon, before any evaluation text was written (`data/sentiment/README.md`).

mod bag_of_words;
mod lexicon;
pub mod metrics;
mod tokens;

use domain::sentiment::LABEL_THRESHOLD;
use serde::{Deserialize, Serialize};

pub use bag_of_words::{BagOfWords, BagOfWordsOptions};
use lexicon::{Entry, Lexicon, Side};
use tokens::{Kind, Token};

/// How many words a negation reaches ahead.
const NEGATION_AHEAD: usize = 3;
/// How many words a negated verb reaches behind: only the word before it, because the
/// predicate stands right before its verb ("خوب نبود") while a word further back is
/// usually the subject ("مشکلمو حل نکردن" complains of the problem).
const NEGATION_BEHIND: usize = 1;
/// The most words a phrase of the lexicon may have.
const MAX_PHRASE_WORDS: usize = 4;
/// How many words an intensifier or diminisher reaches ahead.
const SCALE_REACH: usize = 2;
/// VADER's α: a sum of valences s scores s / √(s² + α).
const ALPHA: f64 = 15.0;
const NEGATED_PRAISE: f64 = -0.75;
const NEGATED_COMPLAINT: f64 = -0.5;
const BEFORE_CONTRAST: f64 = 0.5;
const AFTER_CONTRAST: f64 = 1.5;

/// The three classes of a text, shared with the layers that store and serve them.
pub use domain::sentiment::SentimentLabel as Label;

/// The language of a text's words, by script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Persian (Arabic script), with at most one Latin word in ten.
    Fa,
    /// English (Latin script), with at most one Persian word in ten.
    En,
    Mixed,
}

/// What the analyser says of a text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sentiment {
    /// In (−1, 1): below 0 a complaint, above 0 praise.
    pub score: f64,
    pub label: Label,
    /// In [0, 1]: how much sentiment the lexicon found and how much of it agrees with the
    /// label, (1 − e^(−m/2)) · a for m the summed magnitudes and a = |P − N| / (P + N)
    /// the agreement of the positive and negative parts (1 − a for a neutral label).
    /// 0 when nothing was found: a neutral text of unknown words.
    pub confidence: f64,
    /// `None` for text without letters (only emojis, digits or nothing).
    pub language: Option<Language>,
}

/// One token as the scoring pass sees it.
#[derive(Debug, Clone, Copy)]
enum Unit {
    /// A sentiment word, already negated when it was written negated ("نپسندیدم").
    Valence {
        value: f64,
        negated: bool,
    },
    Negation(Side),
    Scale(f64),
    Contrast,
    Break,
    /// A word or symbol the lexicon does not know: it only counts for the reaches.
    Other,
}

/// Persian suffixes tried for a word not found, longest first: comparative and
/// superlative, plural, the colloquial "is" (ه), indefinite/ezafe ی, possessive and
/// personal endings, the colloquial object marker و.
const PERSIAN_SUFFIXES: [&str; 22] = [
    "ترین", "هایی", "های", "تری", "تر", "ها", "ای", "یی", "یه", "ام", "اش", "مون", "تون", "شون",
    "ست", "ند", "ید", "یم", "ه", "ی", "م", "ش",
];
const PERSIAN_OBJECT_MARKER: &str = "و";
const ENGLISH_SUFFIXES: [&str; 3] = ["ly", "es", "s"];

/// Analyses `text` with the built-in lexicon.
pub fn analyze(text: &str) -> Sentiment {
    let normalised = domain::persian::normalize_text(text);
    let lexicon = Lexicon::builtin();
    let mut units = Vec::with_capacity(normalised.len() / 4 + 1);
    let (persian, latin) = read_units(&normalised, lexicon, &mut units);
    let (sum, positive, negative) = weigh(&mut units);
    let score = sum / (sum * sum + ALPHA).sqrt();
    let label = label_of(score);
    let magnitude = positive + negative;
    let confidence = if magnitude > 0.0 {
        let agreement = (positive - negative).abs() / magnitude;
        let evidence = 1.0 - (-magnitude / 2.0).exp();
        evidence
            * match label {
                Label::Neutral => 1.0 - agreement,
                _ => agreement,
            }
    } else {
        0.0
    };
    Sentiment {
        score,
        label,
        confidence,
        language: language(persian, latin),
    }
}

/// The label of a score: positive at 0.1 and above, negative at −0.1 and below. Also
/// the label of a mean of scores (a customer's sentiment).
pub fn label_of(score: f64) -> Label {
    if score >= LABEL_THRESHOLD {
        Label::Positive
    } else if score <= -LABEL_THRESHOLD {
        Label::Negative
    } else {
        Label::Neutral
    }
}

fn language(persian: usize, latin: usize) -> Option<Language> {
    let words = persian + latin;
    if words == 0 {
        None
    } else if latin * 10 <= words {
        Some(Language::Fa)
    } else if persian * 10 <= words {
        Some(Language::En)
    } else {
        Some(Language::Mixed)
    }
}

fn is_persian_letter(c: char) -> bool {
    ('\u{0600}'..='\u{06FF}').contains(&c) && c.is_alphabetic()
}

/// Turns the tokens of normalised text into units, matching phrases, and counts the
/// Persian and the Latin words.
fn read_units(text: &str, lexicon: &Lexicon, units: &mut Vec<Unit>) -> (usize, usize) {
    let (mut persian, mut latin) = (0, 0);
    let mut stretched = String::new();
    let mut tokens = tokens::tokens(text, lexicon);
    while let Some(token) = tokens.next() {
        match token.kind {
            Kind::Break => {
                units.push(Unit::Break);
                continue;
            }
            Kind::Symbol => {
                units.push(match lexicon.get(token.text) {
                    Some(Entry::Valence(value)) => Unit::Valence {
                        value,
                        negated: false,
                    },
                    _ => Unit::Other,
                });
                continue;
            }
            Kind::Word => {}
        }
        count_script(token.text, &mut persian, &mut latin);
        // A phrase is words one space apart, so it is a slice of the text itself.
        let longest = lexicon.longest_phrase_from(token.text);
        if longest > 1 {
            if let Some((entry, words)) = longest_phrase(text, &token, longest, lexicon) {
                // The phrase's other words are read, for the script count, and skipped.
                for next in tokens.by_ref().take(words - 1) {
                    count_script(next.text, &mut persian, &mut latin);
                }
                units.push(unit_of(entry, false));
                continue;
            }
        }
        units.push(word_unit(token.text, lexicon, &mut stretched));
    }
    (persian, latin)
}

fn count_script(word: &str, persian: &mut usize, latin: &mut usize) {
    if word.chars().any(is_persian_letter) {
        *persian += 1;
    } else if word.chars().any(char::is_alphabetic) {
        *latin += 1;
    }
}

/// The longest phrase of two to `longest` words starting with `first`: its entry and
/// its number of words.
fn longest_phrase(
    text: &str,
    first: &Token<'_>,
    longest: usize,
    lexicon: &Lexicon,
) -> Option<(Entry, usize)> {
    // Ends of the following words, each one space after the one before.
    let mut ends = [0usize; MAX_PHRASE_WORDS - 1];
    let mut count = 0;
    let mut position = first.end;
    while count + 1 < longest.min(MAX_PHRASE_WORDS) {
        if !text[position..].starts_with(' ') {
            break;
        }
        let end = tokens::word_end(text, position + 1);
        if end == position + 1 {
            break;
        }
        position = end;
        ends[count] = end;
        count += 1;
    }
    (0..count).rev().find_map(|i| {
        lexicon
            .get(&text[first.start..ends[i]])
            .map(|entry| (entry, i + 2))
    })
}

fn unit_of(entry: Entry, negated: bool) -> Unit {
    match entry {
        Entry::Valence(value) if negated => Unit::Valence {
            value: negate(value),
            negated: true,
        },
        Entry::Valence(value) => Unit::Valence {
            value,
            negated: false,
        },
        Entry::Negation(side) => Unit::Negation(side),
        Entry::Scale(factor) => Unit::Scale(factor),
        Entry::Contrast => Unit::Contrast,
    }
}

/// A single word: as written, without stretched letters, without suffixes, without a
/// Persian negative prefix; a word ending in "n't" negates ahead.
fn word_unit(word: &str, lexicon: &Lexicon, stretched: &mut String) -> Unit {
    if let Some(entry) = lookup(word, lexicon, stretched) {
        return unit_of(entry, false);
    }
    if word.ends_with("n't") || word.ends_with("n’t") {
        return Unit::Negation(Side::Ahead);
    }
    if let Some(verb) = word
        .strip_prefix("نمی")
        .filter(|rest| rest.chars().count() >= 2)
    {
        return match lookup(verb, lexicon, stretched) {
            Some(entry @ Entry::Valence(_)) => unit_of(entry, true),
            // A joined negated verb ("نمیخوام", "نمیدونم") negates what came before it.
            _ => Unit::Negation(Side::Behind),
        };
    }
    if let Some(rest) = word
        .strip_prefix('ن')
        .filter(|rest| rest.chars().count() >= 3)
    {
        if let Some(entry @ Entry::Valence(_)) = lookup(rest, lexicon, stretched) {
            return unit_of(entry, true);
        }
    }
    Unit::Other
}

/// `word` in the lexicon as written, else with stretched letters squeezed, else without
/// up to two suffixes.
fn lookup(word: &str, lexicon: &Lexicon, stretched: &mut String) -> Option<Entry> {
    if let Some(entry) = lexicon.get(word) {
        return Some(entry);
    }
    if has_stretch(word) {
        // Squeezing to two letters first keeps "good" from "goooood".
        for keep in [2, 1] {
            squeeze(word, keep, stretched);
            if let Some(entry) = lexicon.get(stretched) {
                return Some(entry);
            }
        }
    }
    without_suffixes(word, lexicon, 2)
}

fn has_stretch(word: &str) -> bool {
    let mut run = (None, 0);
    for c in word.chars() {
        run = if Some(c) == run.0 {
            (run.0, run.1 + 1)
        } else {
            (Some(c), 1)
        };
        if run.1 >= 3 {
            return true;
        }
    }
    false
}

/// Writes `word` into `out` with each run of a letter cut to at most `keep` letters.
fn squeeze(word: &str, keep: usize, out: &mut String) {
    out.clear();
    let mut run = (None, 0);
    for c in word.chars() {
        run = if Some(c) == run.0 {
            (run.0, run.1 + 1)
        } else {
            (Some(c), 1)
        };
        if run.1 <= keep {
            out.push(c);
        }
    }
}

fn without_suffixes(word: &str, lexicon: &Lexicon, depth: usize) -> Option<Entry> {
    if depth == 0 {
        return None;
    }
    let persian = word.chars().any(is_persian_letter);
    let suffixes: &[&str] = if persian {
        &PERSIAN_SUFFIXES
    } else {
        &ENGLISH_SUFFIXES
    };
    let marker = persian.then_some(PERSIAN_OBJECT_MARKER);
    suffixes
        .iter()
        .copied()
        .chain(marker)
        .filter_map(|suffix| word.strip_suffix(suffix))
        // A stem of one letter is almost never the word meant.
        .filter(|stem| stem.chars().count() >= 2)
        .find_map(|stem| {
            lexicon
                .get(stem)
                .or_else(|| without_suffixes(stem, lexicon, depth - 1))
        })
        .filter(|entry| matches!(entry, Entry::Valence(_)))
}

fn negate(value: f64) -> f64 {
    value
        * if value > 0.0 {
            NEGATED_PRAISE
        } else {
            NEGATED_COMPLAINT
        }
}

/// Applies the modifiers and returns the weighted sum with its positive and negative
/// magnitudes.
fn weigh(units: &mut [Unit]) -> (f64, f64, f64) {
    // Where the last negation ahead and scale are, and the last sentiment word of the
    // clause.
    let mut negation_ahead: Option<usize> = None;
    let mut scale: Option<(f64, usize)> = None;
    let mut last_valence: Option<usize> = None;
    for i in 0..units.len() {
        match units[i] {
            Unit::Break | Unit::Contrast => {
                negation_ahead = None;
                scale = None;
                last_valence = None;
            }
            Unit::Negation(side) => {
                if matches!(side, Side::Behind | Side::Both) {
                    if let Some(j) = last_valence.filter(|&j| i - j <= NEGATION_BEHIND) {
                        if let Unit::Valence {
                            value,
                            negated: false,
                        } = units[j]
                        {
                            units[j] = Unit::Valence {
                                value: negate(value),
                                negated: true,
                            };
                        }
                    }
                }
                if matches!(side, Side::Ahead | Side::Both) {
                    negation_ahead = Some(i);
                }
            }
            Unit::Scale(factor) => scale = Some((factor, i)),
            Unit::Valence {
                mut value,
                mut negated,
            } => {
                if let Some((factor, at)) = scale.take() {
                    if i - at <= SCALE_REACH {
                        value *= factor;
                    }
                }
                if negation_ahead.is_some_and(|at| i - at <= NEGATION_AHEAD) {
                    // One negation negates one word: "didn't work and nobody answered".
                    negation_ahead = None;
                    if !negated {
                        value = negate(value);
                        negated = true;
                    }
                }
                units[i] = Unit::Valence { value, negated };
                last_valence = Some(i);
            }
            Unit::Other => {}
        }
    }
    // Each contrast halves what came before it; what follows the first weighs 1.5.
    let first_contrast = units.iter().position(|unit| matches!(unit, Unit::Contrast));
    let (mut sum, mut positive, mut negative) = (0.0, 0.0, 0.0);
    let mut before = 1.0;
    for (i, unit) in units.iter().enumerate().rev() {
        match unit {
            Unit::Contrast => before *= BEFORE_CONTRAST,
            Unit::Valence { value, .. } => {
                let after = if first_contrast.is_some_and(|c| i > c) {
                    AFTER_CONTRAST
                } else {
                    1.0
                };
                let value = value * before * after;
                sum += value;
                if value > 0.0 {
                    positive += value;
                } else {
                    negative -= value;
                }
            }
            _ => {}
        }
    }
    (sum, positive, negative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(text: &str) -> f64 {
        analyze(text).score
    }

    fn label(text: &str) -> Label {
        analyze(text).label
    }

    #[test]
    fn negated_verb_behind_the_word_flips_it() {
        assert_eq!(label("خوب نبود"), Label::Negative);
        assert_ne!(label("بد نبود"), Label::Negative);
        assert!(score("بد نبود") > 0.0 && score("بد نبود") < score("خوب"));
        assert_eq!(label("از برخورد پشتیبان اصلا راضی نیستم"), Label::Negative);
        assert_eq!(label("هیچ مشکلی نداشتم"), Label::Positive);
        // Double negation in Persian is one negation.
        assert_eq!(label("هیچ مشکلی نبود"), Label::Positive);
        assert_eq!(label("بدون هیچ مشکلی رسید"), Label::Positive);
        assert_eq!(label("کیفیت خوب نیست"), Label::Negative);
    }

    #[test]
    fn persian_negative_prefix_and_nemi() {
        assert_eq!(label("اصلا نپسندیدم"), Label::Negative);
        assert_eq!(label("این گوشی نمی ارزه"), Label::Negative);
        assert_eq!(label("این گوشی نمی‌ارزه"), Label::Negative);
        assert_eq!(label("دیگه خرید نمی‌کنم"), Label::Negative);
        assert_eq!(label("خوب کار نمیکنه"), Label::Negative);
    }

    #[test]
    fn arabic_letters_and_suffixes_are_read_as_persian() {
        assert_eq!(score("عالي"), score("عالی"));
        assert_eq!(score("كيفيت عالي بود"), score("کیفیت عالی بود"));
        assert_eq!(label("عالیه"), Label::Positive);
        assert_eq!(label("خوبه"), Label::Positive);
        assert_eq!(label("مشکلمو حل نکردن"), Label::Negative);
        assert_eq!(label("عالیییی"), Label::Positive);
    }

    #[test]
    fn intensifiers_and_diminishers() {
        assert!(score("خیلی خوب") > score("خوب"));
        assert!(score("بسیار عالی") > score("عالی"));
        assert!(score("کمی دیر") > score("دیر"));
        assert!(score("very good") > score("good"));
        assert!(score("slightly late") > score("late"));
        assert!(score("خیلی بد") < score("بد"));
    }

    #[test]
    fn english_negation() {
        assert_eq!(label("not good"), Label::Negative);
        assert_ne!(label("not bad"), Label::Negative);
        assert_eq!(label("it didn't work and nobody answered"), Label::Negative);
        assert_eq!(label("I wasn't happy with the delivery"), Label::Negative);
        assert_eq!(label("no problems at all"), Label::Positive);
        assert_eq!(label("never again"), Label::Negative);
        assert_eq!(label("the phone does not work"), Label::Negative);
        assert_eq!(label("without any issues"), Label::Positive);
    }

    #[test]
    fn clauses_and_contrast() {
        // Negation stops at punctuation.
        assert_eq!(label("not now. great service"), Label::Positive);
        assert_eq!(
            label("the box was nice but the phone is broken"),
            Label::Negative
        );
        assert_eq!(label("قیمتش گرون بود ولی کیفیتش عالیه"), Label::Positive);
    }

    #[test]
    fn emojis_emoticons_and_language() {
        assert_eq!(label("👍👍"), Label::Positive);
        assert_eq!(label("😡"), Label::Negative);
        assert_eq!(label("ok :("), Label::Negative);
        assert_eq!(label("سفارشم رسید :)"), Label::Positive);
        assert_eq!(analyze("👍").language, None);
        assert_eq!(analyze("سفارشم کی میرسه؟").language, Some(Language::Fa));
        assert_eq!(analyze("Where is my order?").language, Some(Language::En));
        assert_eq!(
            analyze("پشتیبانی خیلی helpful بود thanks").language,
            Some(Language::Mixed)
        );
        assert_eq!(label("پشتیبانی خیلی helpful بود"), Label::Positive);
    }

    #[test]
    fn neutral_text_has_no_confidence() {
        let plain = analyze("سفارش شماره 1234 کی ارسال میشه؟");
        assert_eq!(
            (plain.label, plain.score, plain.confidence),
            (Label::Neutral, 0.0, 0.0)
        );
        let strong = analyze("خیلی خیلی عالی 😍");
        let weak = analyze("خوب");
        assert!(strong.confidence > weak.confidence && weak.confidence > 0.0);
        let torn = analyze("good and bad");
        assert!(torn.confidence < weak.confidence);
        assert_eq!(analyze("").label, Label::Neutral);
    }
}
