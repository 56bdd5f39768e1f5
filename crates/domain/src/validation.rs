//! Field-level validation results shared by every resource, so that the API can answer
//! each bad input with the field, a stable rule code and a message.

use serde::Serialize;

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
