//! Which characters text input may hold.
//!
//! Two classes of field:
//!
//! * **multi-line** text (notes, descriptions, and every string the API receives before a
//!   field-specific rule looks at it) may hold any character except NUL and the other
//!   control characters. Tab, line feed and carriage return stay allowed: they are how
//!   people lay out a note. NUL is refused on its own code because PostgreSQL cannot
//!   store it at all; the other C0 controls, DEL and the C1 controls have no meaning in
//!   text people read and only serve to corrupt terminals, logs and exports.
//! * **single-line** text (names, labels, e-mails, phone numbers, codes) additionally may
//!   not hold line breaks or tabs, nor the bidirectional embeddings, overrides and
//!   isolates (U+202A–U+202E, U+2066–U+2069). Those reorder the characters around them,
//!   so `"\u{202E}gpj.exe"` shows as `exe.jpg`: in a name shown in a list, a search
//!   result or an export this is spoofing. Multi-line text keeps them, because a note
//!   mixing Persian and Latin paragraphs legitimately isolates the Latin runs and a note
//!   is read as a whole, not used to identify anyone.
//!
//! Always allowed, in both classes: ZWNJ (U+200C, the Persian half-space in
//! `می‌خواهم`), ZWJ (U+200D), and the directional marks LRM (U+200E), RLM (U+200F) and
//! ALM (U+061C). The marks are invisible strong characters that only settle the
//! direction of neutral characters next to them (a trailing `)` or `.`); unlike the
//! overrides they cannot reverse a run of text, and the standard Persian keyboard types
//! them, so refusing them would refuse ordinary Persian input.

use std::fmt;

use crate::validation::Violations;

/// The class of a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Free text laid out on several lines (notes, descriptions).
    MultiLine,
    /// One-line text that names or identifies something (names, labels, e-mails, phones).
    SingleLine,
}

/// The first rule a text breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextViolation {
    /// U+0000.
    Nul,
    /// Another control character: C0 except tab/LF/CR, DEL, C1; in single-line text
    /// also tab.
    Control(char),
    /// A line break in single-line text: LF, CR, U+2028 or U+2029 (NEL is a C1 control).
    LineBreak,
    /// A bidirectional embedding, override or isolate in single-line text.
    BidiControl(char),
}

impl TextViolation {
    /// Stable rule code for API errors.
    pub fn code(self) -> &'static str {
        match self {
            TextViolation::Nul => "nul_character",
            TextViolation::Control(_) => "control_character",
            TextViolation::LineBreak => "line_break",
            TextViolation::BidiControl(_) => "bidi_control",
        }
    }

    /// An English explanation naming the character.
    pub fn message(self) -> String {
        match self {
            TextViolation::Nul => "must not contain the NUL character (U+0000)".to_string(),
            TextViolation::Control(c) => format!(
                "must not contain control characters (found {})",
                code_point(c)
            ),
            TextViolation::LineBreak => "must be a single line, without line breaks".to_string(),
            TextViolation::BidiControl(c) => format!(
                "must not contain bidirectional override or isolate characters (found {})",
                code_point(c)
            ),
        }
    }

    /// The violation as a field violation on `field`.
    pub fn at(self, field: impl Into<String>) -> crate::validation::FieldViolation {
        crate::validation::FieldViolation::new(field, self.code(), self.message())
    }
}

impl fmt::Display for TextViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// `U+XXXX` for a character.
fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Whether `c` is a bidirectional embedding, override or isolate: LRE, RLE, PDF, LRO,
/// RLO (U+202A–U+202E) and LRI, RLI, FSI, PDI (U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first rule `text` breaks as text of `kind`, if any.
pub fn check_text(text: &str, kind: TextKind) -> Option<TextViolation> {
    text.chars().find_map(|c| check_char(c, kind))
}

/// The rule `c` breaks in text of `kind`, if any.
pub fn check_char(c: char, kind: TextKind) -> Option<TextViolation> {
    let single = kind == TextKind::SingleLine;
    match c {
        '\0' => Some(TextViolation::Nul),
        '\n' | '\r' | '\u{2028}' | '\u{2029}' => single.then_some(TextViolation::LineBreak),
        '\t' => single.then_some(TextViolation::Control(c)),
        c if c.is_control() => Some(TextViolation::Control(c)),
        c if is_bidi_control(c) => single.then_some(TextViolation::BidiControl(c)),
        _ => None,
    }
}

/// Text rules as one more check of a validation.
impl Violations {
    /// Reports on `field` the first character rule `text` breaks as text of `kind`
    /// (see [`check_text`]); answers whether it passed.
    pub fn check_text(&mut self, field: impl Into<String>, text: &str, kind: TextKind) -> bool {
        match check_text(text, kind) {
            Some(violation) => {
                self.0.push(violation.at(field));
                false
            }
            None => true,
        }
    }

    /// One-line text in its stored form: inner whitespace collapsed, blank made `None`,
    /// longer than `max` characters reported. A line break, tab or bidi control is
    /// reported rather than collapsed away, so what was sent is what is stored.
    pub fn tidy_line(&mut self, field: &str, value: &mut Option<String>, max: usize) {
        if let Some(text) = value.take() {
            if !self.check_text(field, &text, TextKind::SingleLine) {
                *value = Some(text);
                return;
            }
            let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if collapsed.is_empty() {
                return;
            }
            if collapsed.chars().count() > max {
                self.push(
                    field,
                    "too_long",
                    format!("must be at most {max} characters"),
                );
            }
            *value = Some(collapsed);
        }
    }

    /// A required one-line text in its stored form, as [`Violations::tidy_line`] makes
    /// it; a blank one is reported as `required`.
    pub fn required_line(&mut self, field: &str, value: &mut String, max: usize) {
        let mut tidy = Some(std::mem::take(value));
        self.tidy_line(field, &mut tidy, max);
        match tidy {
            Some(text) => *value = text,
            None => self.push(field, "required", "must not be blank"),
        }
    }

    /// Free text (notes, reasons) in its stored form: trimmed, blank made `None`,
    /// longer than `max` characters reported, forbidden characters reported.
    pub fn tidy_text(&mut self, field: &str, value: &mut Option<String>, max: usize) {
        if let Some(text) = value.take() {
            if !self.check_text(field, &text, TextKind::MultiLine) {
                *value = Some(text);
                return;
            }
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return;
            }
            if trimmed.chars().count() > max {
                self.push(
                    field,
                    "too_long",
                    format!("must be at most {max} characters"),
                );
            }
            *value = Some(trimmed.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn text_rules_are_reported_on_the_field() {
        let mut v = Violations::default();
        assert!(v.check_text("note", "a\nb", TextKind::MultiLine));
        assert!(!v.check_text("name", "a\nb", TextKind::SingleLine));
        assert!(!v.check_text("note", "a\0b", TextKind::MultiLine));
        assert_eq!(
            v.0.iter()
                .map(|f| (f.field.as_str(), f.code.as_str()))
                .collect::<Vec<_>>(),
            [("name", "line_break"), ("note", "nul_character")]
        );
    }

    use TextKind::{MultiLine, SingleLine};

    #[test]
    fn nul_is_refused_everywhere() {
        for kind in [MultiLine, SingleLine] {
            assert_eq!(check_text("a\0b", kind), Some(TextViolation::Nul));
            assert_eq!(
                check_text("\0", kind).map(TextViolation::code),
                Some("nul_character")
            );
        }
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        for c in [
            '\u{1}', '\u{7}', '\u{8}', '\u{B}', '\u{C}', '\u{1B}', '\u{1F}', '\u{7F}', '\u{80}',
            '\u{85}', '\u{9F}',
        ] {
            for kind in [MultiLine, SingleLine] {
                assert_eq!(
                    check_text(&format!("ab{c}"), kind),
                    Some(TextViolation::Control(c)),
                    "{:?} {kind:?}",
                    c
                );
            }
        }
    }

    #[test]
    fn multi_line_text_keeps_layout_and_bidi_controls() {
        let note = "تماس گرفت\n\tقرار: \u{2067}Meeting room B\u{2069}\r\nبعدی";
        assert_eq!(check_text(note, MultiLine), None);
        assert_eq!(check_text("a\u{202E}b", MultiLine), None);
    }

    #[test]
    fn single_line_text_refuses_breaks_tabs_and_bidi_controls() {
        for text in ["a\nb", "a\rb", "a\u{2028}b", "a\u{2029}b"] {
            assert_eq!(
                check_text(text, SingleLine),
                Some(TextViolation::LineBreak),
                "{text:?}"
            );
        }
        assert_eq!(
            check_text("a\tb", SingleLine),
            Some(TextViolation::Control('\t'))
        );
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            let violation = check_text(&format!("name{c}gpj.exe"), SingleLine);
            assert_eq!(violation, Some(TextViolation::BidiControl(c)));
            assert_eq!(violation.map(TextViolation::code), Some("bidi_control"));
        }
    }

    #[test]
    fn persian_joiners_and_marks_are_allowed() {
        // ZWNJ, ZWJ, LRM, RLM, ALM.
        for text in [
            "می\u{200C}خواهم",
            "ن\u{200D}",
            "\u{200F}(۱۲)",
            "ACME\u{200E}",
            "\u{061C}۱۲",
        ] {
            assert_eq!(check_text(text, SingleLine), None, "{text:?}");
            assert_eq!(check_text(text, MultiLine), None, "{text:?}");
        }
    }

    #[test]
    fn messages_name_the_character() {
        assert!(TextViolation::Control('\u{7}').message().contains("U+0007"));
        assert!(TextViolation::BidiControl('\u{202E}')
            .message()
            .contains("U+202E"));
        let violation = TextViolation::Nul.at("first_name");
        assert_eq!(
            (violation.field.as_str(), violation.code.as_str()),
            ("first_name", "nul_character")
        );
    }

    proptest! {
        /// Each character is judged by the code-point ranges the module documents.
        #[test]
        fn characters_follow_the_documented_ranges(c in any::<char>()) {
            let n = u32::from(c);
            let control = matches!(n, 0x01..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x7F..=0x9F);
            let layout = matches!(n, 0x09 | 0x0A | 0x0D | 0x2028 | 0x2029);
            let bidi = matches!(n, 0x202A..=0x202E | 0x2066..=0x2069);
            prop_assert_eq!(check_char(c, MultiLine).is_some(), n == 0 || control);
            prop_assert_eq!(check_char(c, SingleLine).is_some(), n == 0 || control || layout || bidi);
        }

        /// A text is refused for its first offending character.
        #[test]
        fn the_first_offending_character_decides(
            prefix in "[\\p{L}\\p{N} ]{0,8}",
            first in prop::sample::select(vec!['\0', '\u{7}', '\u{85}']),
            rest in "\\PC{0,8}[\\x00-\\x1f\\u{202e}]?",
        ) {
            let text = format!("{prefix}{first}{rest}");
            for kind in [MultiLine, SingleLine] {
                prop_assert_eq!(check_text(&text, kind), check_char(first, kind));
            }
        }

        /// Single-line is the stricter class: whatever it accepts, multi-line accepts.
        #[test]
        fn single_line_is_stricter(text in any::<String>()) {
            if check_text(&text, SingleLine).is_none() {
                prop_assert_eq!(check_text(&text, MultiLine), None);
            }
        }

        /// Printable text without control, line-break or bidi characters passes both.
        #[test]
        fn ordinary_text_passes(text in "[\\p{L}\\p{N}\\p{P}\\p{Zs}\\u{200c}-\\u{200f}\\u{061c}]{0,40}") {
            prop_assert_eq!(check_text(&text, SingleLine), None);
            prop_assert_eq!(check_text(&text, MultiLine), None);
        }

        /// Refused characters are refused wherever they sit.
        #[test]
        fn position_does_not_matter(prefix in "\\PC{0,10}", suffix in "\\PC{0,10}", bad in prop::sample::select(vec!['\0', '\u{1}', '\u{7f}', '\u{9b}'])) {
            let text = format!("{prefix}{bad}{suffix}");
            prop_assert!(check_text(&text, MultiLine).is_some());
            prop_assert!(check_text(&text, SingleLine).is_some());
        }
    }
}
