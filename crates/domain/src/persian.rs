//! Persian text normalisation for storage keys, search and duplicate detection
//! (L-1, C-9, D-2).
//!
//! Persian is typed on many keyboards (Persian, Arabic, Urdu, phone layouts), so one
//! word reaches us in several byte forms that readers see as the same: "علي"/"علی",
//! "كريمي"/"کریمی", "می‌خواهم" (half-space, ZWNJ) / "می خواهم" / "میخواهم", digits in
//! Persian (۰۹۱۲), Arabic-Indic (٠٩١٢) or ASCII (0912). [`normalize_text`] maps all of
//! them to one form. The choices, each with the reason:
//!
//! - ي U+064A, ى U+0649, ئ U+0626 → ی U+06CC: Arabic keyboards; "پائیز" and "پاییز"
//!   are both written.
//! - ك U+0643, ڪ U+06AA → ک U+06A9: Arabic keyboards.
//! - ة U+0629, ۀ U+06C0, ۃ U+06C3, ھ U+06BE, ە U+06D5 → ه U+0647: "خانۀ"/"خانه", and
//!   the Urdu and Kurdish layouts.
//! - أ U+0623, إ U+0625, ٱ U+0671 → ا U+0627: hamza on alef is mostly left out when
//!   typing Persian.
//! - ؤ U+0624 → و U+0648: "مؤسسه" and "موسسه" are both common.
//! - آ U+0622 and ء U+0621 are kept: آ is a letter of its own with its own key on the
//!   Persian keyboard, and ء tells words apart ("جزء"/"جز").
//! - Removed: harakat U+064B–U+065F (including hamza above, so "خانهٔ" → "خانه"),
//!   superscript alef U+0670 and Quranic marks U+0610–U+061A, U+06D6–U+06ED, because
//!   vowel signs are optional in Persian; tatweel U+0640, ZWJ U+200D, BOM, soft hyphen
//!   and bidi controls, because they only change rendering.
//! - ZWNJ U+200C (half-space), zero-width space, NBSP and every Unicode space → one
//!   ASCII space, because half-space and space must match.
//! - Persian ۰–۹ U+06F0–U+06F9 and Arabic-Indic ٠–٩ U+0660–U+0669 → ASCII 0–9.
//! - Cased letters → lower case (Unicode rules, not locale-specific).
//!
//! Runs of spaces collapse to one and the ends are trimmed. Arabic presentation forms
//! (U+FB50–U+FEFF, mostly from copied PDFs) are not decomposed: that needs the NFKC
//! tables, and typed input does not contain them.
//!
//! How search uses this module: store [`search_key`] of each searchable text beside the
//! record, split the user's query with [`search_terms`], and match a record when every
//! term is a substring of its stored key (SQL `LIKE '%term%'`, backed by a trigram
//! index). Because keys hold no spaces, "می خواهم", "می‌خواهم" and "میخواهم" all find
//! each other, and "علی کریمی" finds "کریمی، علی".

/// Names' leading honorifics that [`name_key`] ignores, compared after
/// [`normalize_text`] and with a trailing `.` removed. "سید"/"سیده" are included even
/// though they are sometimes registered as part of a first name: for finding duplicates
/// "سید علی کریمی" and "علی کریمی" should be suggested as the same person.
const HONORIFICS: &[&str] = &[
    "آقا",
    "آقای",
    "خانم",
    "جناب",
    "سرکار",
    "دکتر",
    "مهندس",
    "استاد",
    "سید",
    "سیده",
    "حاج",
    "حاجی",
    "حاجیه",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "eng",
    "prof",
    "sir",
];

/// What one input character becomes in normalised text.
enum Mapped {
    Char(char),
    Space,
    Drop,
}

fn map_char(c: char) -> Mapped {
    match c {
        'ي' | 'ى' | 'ئ' => Mapped::Char('ی'),
        'ك' | 'ڪ' => Mapped::Char('ک'),
        'ة' | 'ۀ' | 'ۃ' | 'ھ' | 'ە' => Mapped::Char('ه'),
        'أ' | 'إ' | 'ٱ' => Mapped::Char('ا'),
        'ؤ' => Mapped::Char('و'),
        '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06DC}'
        | '\u{06DF}'..='\u{06E8}'
        | '\u{06EA}'..='\u{06ED}'
        | '\u{0640}'
        | '\u{200D}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Mapped::Drop,
        '\u{200B}' | '\u{200C}' => Mapped::Space,
        c if c.is_whitespace() => Mapped::Space,
        c => Mapped::Char(ascii_digit(c).unwrap_or(c)),
    }
}

/// The ASCII digit for a Persian or Arabic-Indic digit.
fn ascii_digit(c: char) -> Option<char> {
    let zero = match c {
        '۰'..='۹' => '۰',
        '٠'..='٩' => '٠',
        _ => return None,
    };
    let value = c as u32 - zero as u32;
    char::from_digit(value, 10)
}

/// Replaces Persian (۰–۹) and Arabic-Indic (٠–٩) digits with ASCII digits and leaves
/// everything else as it is. Validators of codes and numbers start with this.
pub fn normalize_digits(text: &str) -> String {
    text.chars().map(|c| ascii_digit(c).unwrap_or(c)).collect()
}

/// Writes ASCII digits as Persian digits (۰–۹) and leaves everything else as it is:
/// the digits of a number or date shown in Persian text.
pub fn persian_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(value) if c.is_ascii_digit() => char::from_u32('۰' as u32 + value).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A number as people write it in a spreadsheet cell, in canonical ASCII form
/// (`-12500.75`): Persian and Arabic-Indic digits, the thousands separators `,`, `٬`
/// (Arabic thousands separator), `'` and the spaces Persian text puts between groups,
/// the decimal separators `.` and `٫`, and a leading `-` or `−`. `None` for anything
/// else: no digits, two decimal points, a sign inside, letters. Thousands separators are
/// accepted anywhere in the whole part because files differ in grouping (Indian
/// `1,00,000`) and dropping them never changes the value.
pub fn decimal_text(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix(['-', '\u{2212}']) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let mut out = String::with_capacity(rest.len() + 1);
    if negative {
        out.push('-');
    }
    let (mut digits, mut point) = (0, false);
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                out.push(c);
                digits += 1;
            }
            '.' | '\u{066B}' if !point => {
                out.push('.');
                point = true;
            }
            ',' | '\u{066C}' | '\'' | ' ' | '\u{00A0}' | '\u{2009}' | '\u{202F}' if !point => {}
            c => out.push(ascii_digit(c).inspect(|_| digits += 1)?),
        }
    }
    (digits > 0 && !out.ends_with('.')).then_some(out)
}

/// The canonical form of `text` for storage keys and comparison (rules in the module
/// documentation): Persian letters unified, marks and invisible characters removed,
/// digits in ASCII, lower case, spaces unified and collapsed, ends trimmed.
/// Idempotent: normalising twice gives the same result as once.
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        match map_char(c) {
            Mapped::Drop => {}
            Mapped::Space => pending_space = true,
            Mapped::Char(c) => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// The key stored for substring search: [`normalize_text`] keeping only letters and
/// digits, so that spaces, half-spaces and punctuation never stop a match
/// ("0912-123 4567" → "09121234567", "Ali.Karimi@x.ir" → "alikarimixir").
pub fn search_key(text: &str) -> String {
    normalize_text(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The terms of a search query, each in [`search_key`] form, in query order and
/// without empty terms. A record matches when each term occurs in its stored key.
///
/// Spaces separate terms; a half-space (ZWNJ) does not, because it lies inside one word
/// ("نیک‌نام", "می‌خواهم"). Stored keys hold no spaces, so the joined term still finds
/// the word written with a half-space, a space or neither, and one term is both a
/// narrower match and one index condition instead of two.
pub fn search_terms(query: &str) -> Vec<String> {
    normalize_text(&query.replace('\u{200C}', ""))
        .split(' ')
        .map(search_key)
        .filter(|term| !term.is_empty())
        .collect()
}

/// The key used to find people who may be the same person (D-2): first and last
/// name normalised, leading honorifics ("دکتر", "مهندس", "سید", "Dr.", "Eng.", … see
/// `HONORIFICS`) removed, then reduced like [`search_key`] so that "علیرضا",
/// "علی رضا" and "علی‌رضا" agree. An honorific is never removed when it is the only
/// word left, so a person named just "سید" still has a key. Returns an empty string
/// when both names are empty; callers treat that as "no key".
pub fn name_key(first: &str, last: &str) -> String {
    let full = normalize_text(&format!("{first} {last}"));
    let all_words: Vec<&str> = full.split(' ').collect();
    let mut words = all_words.as_slice();
    while words.len() > 1 && is_honorific(words[0]) {
        words = &words[1..];
    }
    words.iter().map(|word| search_key(word)).collect()
}

fn is_honorific(word: &str) -> bool {
    let word = word.strip_suffix('.').unwrap_or(word);
    HONORIFICS.contains(&word)
}

#[cfg(test)]
mod tests {

    #[test]
    fn ascii_digits_are_written_in_persian_and_back() {
        assert_eq!(persian_digits("Q-1405-12 ۳/4"), "Q-۱۴۰۵-۱۲ ۳/۴");
        assert_eq!(
            normalize_digits(&persian_digits("0123456789")),
            "0123456789"
        );
    }

    #[test]
    fn numbers_are_read_as_people_write_them() {
        assert_eq!(decimal_text(" ۱۲٬۵۰۰ ").as_deref(), Some("12500"));
        assert_eq!(decimal_text("12,500").as_deref(), Some("12500"));
        assert_eq!(decimal_text("12500.75").as_deref(), Some("12500.75"));
        assert_eq!(decimal_text("12,500.75").as_deref(), Some("12500.75"));
        assert_eq!(decimal_text("۱۲٫۵").as_deref(), Some("12.5"));
        assert_eq!(decimal_text("−٣٠٠").as_deref(), Some("-300"));
        assert_eq!(decimal_text("- 1 000").as_deref(), Some("-1000"));
        assert_eq!(decimal_text("1,00,000").as_deref(), Some("100000"));
        for junk in [
            "",
            "-",
            "12a",
            "1.2.3",
            "1-2",
            "۱۲.",
            ".",
            "1.2,3",
            "12 ریال",
        ] {
            assert_eq!(decimal_text(junk), None, "{junk:?}");
        }
        assert_eq!(decimal_text(".5").as_deref(), Some(".5"));
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arabic_yeh_and_kaf_become_persian() {
        assert_eq!(normalize_text("علي"), normalize_text("علی"));
        assert_eq!(normalize_text("علي"), "علی");
        assert_eq!(normalize_text("موسى"), "موسی");
        assert_eq!(normalize_text("كريمي"), normalize_text("کریمی"));
        assert_eq!(normalize_text("كريمي"), "کریمی");
    }

    #[test]
    fn heh_and_hamza_variants_are_unified() {
        assert_eq!(normalize_text("خانۀ"), "خانه");
        assert_eq!(normalize_text("خانهٔ"), "خانه");
        assert_eq!(normalize_text("مدرسة"), "مدرسه");
        assert_eq!(normalize_text("مؤسسه"), normalize_text("موسسه"));
        assert_eq!(normalize_text("پائیز"), normalize_text("پاییز"));
        assert_eq!(normalize_text("أسامه"), normalize_text("اسامه"));
        assert_eq!(normalize_text("آرش"), "آرش", "alef madda is kept");
        assert_eq!(normalize_text("جزء"), "جزء", "standalone hamza is kept");
    }

    #[test]
    fn digits_become_ascii() {
        assert_eq!(normalize_digits("۰۹۱۲"), "0912");
        assert_eq!(normalize_digits("٠٩١٢"), "0912");
        assert_eq!(normalize_digits("۱۲۳۴۵۶۷۸۹۰"), "1234567890");
        assert_eq!(normalize_digits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(normalize_digits("کد ۱۲-ab"), "کد 12-ab");
        assert_eq!(normalize_text("تلفن: ۰۹۱۲"), "تلفن: 0912");
    }

    #[test]
    fn half_space_and_space_match() {
        let with_zwnj = normalize_text("می\u{200C}خواهم");
        assert_eq!(with_zwnj, "می خواهم");
        assert_eq!(with_zwnj, normalize_text("می  خواهم"));
        assert_eq!(normalize_text("می\u{00A0}خواهم"), with_zwnj);
        assert_eq!(normalize_text("می\u{2009}خواهم"), with_zwnj);
        assert_eq!(normalize_text("می \u{200C} خواهم"), with_zwnj);
        assert_eq!(search_key("می‌خواهم"), search_key("میخواهم"));
        assert_eq!(search_key("می خواهم"), "میخواهم");
    }

    #[test]
    fn diacritics_tatweel_and_invisible_marks_are_removed() {
        assert_eq!(normalize_text("مُحَمَّد"), "محمد");
        assert_eq!(normalize_text("کتابً"), "کتاب");
        assert_eq!(normalize_text("علیٰ"), "علی");
        assert_eq!(normalize_text("ســــلام"), "سلام");
        assert_eq!(normalize_text("\u{200F}سلام\u{200D}\u{FEFF}"), "سلام");
    }

    #[test]
    fn latin_is_lowercased_and_spaces_trimmed_and_collapsed() {
        assert_eq!(normalize_text("  Ali   KARIMI\t\n"), "ali karimi");
        assert_eq!(normalize_text("ÉLODIE Müller"), "élodie müller");
        assert_eq!(normalize_text(""), "");
        assert_eq!(normalize_text(" \u{200C} "), "");
    }

    #[test]
    fn search_terms_split_the_query_into_keys() {
        assert_eq!(search_terms(" علي  كريمي "), vec!["علی", "کریمی"]);
        assert_eq!(search_terms("، - "), Vec::<String>::new());
        assert_eq!(search_terms("نیک‌نام"), vec!["نیکنام"]);
        assert_eq!(search_terms("نیک نام"), vec!["نیک", "نام"]);
        let stored = search_key("کریمی، علی");
        assert!(search_terms("علي كريمي")
            .iter()
            .all(|t| stored.contains(t.as_str())));
        let phone = search_key("۰۹۱۲-۱۲۳ ۴۵۶۷");
        assert_eq!(phone, "09121234567");
        assert!(search_terms("٠٩١٢")
            .iter()
            .all(|t| phone.contains(t.as_str())));
        assert_eq!(search_key("Ali.Karimi@Example.IR"), "alikarimiexampleir");
    }

    #[test]
    fn name_keys_ignore_honorifics_spacing_and_spelling() {
        let key = name_key("علیرضا", "کریمی");
        assert_eq!(key, "علیرضاکریمی");
        assert_eq!(name_key("علي رضا", "كريمي"), key);
        assert_eq!(name_key("دکتر سید علی‌رضا", "کریمی"), key);
        assert_eq!(name_key("مهندس", "علیرضا کریمی"), key);
        assert_eq!(name_key("Dr. Ali", "Karimi"), name_key("ali", "KARIMI"));
        assert_eq!(name_key("Eng. Sara", "Ahmadi"), "saraahmadi");
        assert_eq!(name_key("سید", ""), "سید", "the only word is kept");
        assert_eq!(name_key("", ""), "");
        assert_ne!(name_key("علی", "کریمی"), name_key("علی", "کرمی"));
    }

    #[test]
    fn honorifics_are_listed_in_normalised_form() {
        for honorific in HONORIFICS {
            assert_eq!(&normalize_text(honorific), honorific);
        }
    }

    fn persian_like_text() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> =
            "ايىيككیکةۀهأإآءؤئ ًٌٍَُِّْٰـ\u{200C}\u{200D}\u{200B}\u{00A0} \t۰۱۲۹٠١٩0aAZzİΣ.-،"
                .chars()
                .collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..40)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn has_no_variant_chars(text: &str) -> bool {
        !text.chars().any(|c| {
            matches!(c, 'ي' | 'ى' | 'ك' | '۰'..='۹' | '٠'..='٩')
                || matches!(c, '\u{0640}' | '\u{200C}' | '\u{200D}')
                || ('\u{064B}'..='\u{065F}').contains(&c)
        })
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(text in any::<String>()) {
            let once = normalize_text(&text);
            prop_assert_eq!(normalize_text(&once), once.clone());
            let key = search_key(&text);
            prop_assert_eq!(search_key(&key), key);
        }

        #[test]
        fn persian_text_normalisation_is_idempotent(text in persian_like_text()) {
            let once = normalize_text(&text);
            prop_assert_eq!(normalize_text(&once), once);
        }

        #[test]
        fn output_has_no_variant_letters_digits_or_marks(text in persian_like_text()) {
            let normalised = normalize_text(&text);
            prop_assert!(has_no_variant_chars(&normalised), "{:?}", normalised);
            prop_assert!(!normalised.contains("  "));
            prop_assert_eq!(normalised.trim(), normalised.as_str());
        }

        #[test]
        fn never_panics_and_keys_hold_only_letters_and_digits(text in any::<String>()) {
            prop_assert!(has_no_variant_chars(&normalize_text(&text)));
            prop_assert!(search_key(&text).chars().all(char::is_alphanumeric));
            prop_assert!(search_terms(&text).iter().all(|t| !t.is_empty()));
            let _ = name_key(&text, &text);
            let digits = normalize_digits(&text);
            prop_assert!(!digits.chars().any(|c| matches!(c, '۰'..='۹' | '٠'..='٩')));
        }
    }
}
