//! Field-level validation results shared by every resource, so that the API can answer
//! each bad input with the field, a stable rule code and a message.

use serde::Serialize;

use crate::text::{check_text, TextKind};

/// One broken rule on one field. `field` is a dotted/bracketed path into the request
/// body (e.g. `emails[1].value`); `code` is stable and machine-readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldViolation {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldViolation {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Collects violations so a request reports all of them at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    pub fn push(
        &mut self,
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.push(FieldViolation::new(field, code, message));
    }

    /// Reports on `field` the first character rule `text` breaks as text of `kind`
    /// (see [`crate::text`]); answers whether it passed.
    pub fn check_text(&mut self, field: impl Into<String>, text: &str, kind: TextKind) -> bool {
        match check_text(text, kind) {
            Some(violation) => {
                self.0.push(violation.at(field));
                false
            }
            None => true,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was reported.
    pub fn into_result(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Lower-cased, trimmed e-mail address if it is plausibly valid (one `@`, a dot in the
/// domain, no spaces, at most 254 characters as RFC 5321 allows).
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let plausible = !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
        && email.len() <= 254;
    plausible.then_some(email)
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn emails_are_normalised_or_rejected() {
        assert_eq!(
            normalize_email("  Ali@Example.IR "),
            Some("ali@example.ir".into())
        );
        for bad in [
            "",
            "ali",
            "ali@",
            "@example.com",
            "a b@example.com",
            "a@b",
            "a@@b.com",
            "a@.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }
}
