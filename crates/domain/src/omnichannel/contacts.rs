//! Contact points: the addresses a sender is recognised by, in one stored form per kind
//! so that "0912 123 4567" on SMS and "989121234567" on WhatsApp are one person.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::persian::search_key;

/// The kind of address a contact point holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// E.164 phone (SMS, WhatsApp).
    Phone,
    /// Lower-case e-mail address.
    Email,
    /// Telegram user id (digits).
    Telegram,
    /// Instagram-scoped user id.
    Instagram,
    /// A web chat visitor: the id of the widget session they chat in.
    WebVisitor,
}

snake_names!(ContactKind {
    Phone => "phone",
    Email => "email",
    Telegram => "telegram",
    Instagram => "instagram",
    WebVisitor => "web_visitor",
});

/// A sender's address in stored form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactAddress {
    pub kind: ContactKind,
    pub value: String,
}

impl ContactAddress {
    /// A phone as customers' phones are stored (E.164, Iranian numbers without prefix
    /// read as Iranian); `None` when it is not a phone number.
    pub fn phone(raw: &str) -> Option<ContactAddress> {
        let phone = crate::iran::normalize_phone(raw).ok()?;
        Some(ContactAddress {
            kind: ContactKind::Phone,
            value: phone.e164,
        })
    }

    /// An e-mail address as customers' are stored; `None` when implausible.
    pub fn email(raw: &str) -> Option<ContactAddress> {
        Some(ContactAddress {
            kind: ContactKind::Email,
            value: crate::validation::normalize_email(raw)?,
        })
    }

    /// A provider's opaque user id, trimmed; `None` when blank or too long to be one.
    pub fn handle(kind: ContactKind, raw: &str) -> Option<ContactAddress> {
        let value = raw.trim();
        (!value.is_empty() && value.len() <= 200 && !value.chars().any(char::is_control)).then(
            || ContactAddress {
                kind,
                value: value.to_string(),
            },
        )
    }
}

/// Words that, sent alone, withdraw consent to messages on the channel they came on:
/// the Persian "لغو" (cancel) and "انصراف" (opt out) Iranian SMS lines use, and the
/// English ones.
pub const OPT_OUT_WORDS: [&str; 5] = ["لغو", "انصراف", "stop", "unsubscribe", "cancel"];

/// Whether `text` is an opt-out word and nothing more. Compared by [`search_key`], so
/// Arabic letters, case, digits and punctuation ("STOP!", "لغو.") do not matter; "لغو 11"
/// (a line number after the word, as operators suggest) counts too.
pub fn is_opt_out(text: &str) -> bool {
    let key = search_key(text);
    let word = key.trim_end_matches(|c: char| c.is_ascii_digit());
    OPT_OUT_WORDS
        .iter()
        .any(|candidate| search_key(candidate) == word)
        && !word.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_iranian_formats_are_one_address() {
        let forms = [
            "09121234567",
            "+98 912 123 4567",
            "989121234567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "0098-912-1234567",
        ];
        for form in forms {
            assert_eq!(
                ContactAddress::phone(form).unwrap().value,
                "+989121234567",
                "{form}"
            );
        }
        assert!(ContactAddress::phone("hello").is_none());
    }

    #[test]
    fn opt_out_words_are_recognised_alone() {
        for text in [
            "لغو",
            " لغو. ",
            "STOP",
            "Stop!",
            "لغو11",
            "انصراف",
            "unsubscribe",
        ] {
            assert!(is_opt_out(text), "{text}");
        }
        for text in ["لغو سفارش", "please stop calling", "", "11"] {
            assert!(!is_opt_out(text), "{text}");
        }
    }
}
