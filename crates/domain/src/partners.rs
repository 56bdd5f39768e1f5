//! Partners (X-3, collaborative CRM): suppliers, distributors and agencies the business
//! works with. A partner has its own users (role `partner`, who sign in and hold API
//! keys as any user does); they see the records they own and the records shared with
//! their partner — one by one, with read or write access and an optional expiry, or by a
//! share rule (every lead of a province to its distributor) — and nothing else.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::text::TextKind;
use crate::validation::{FieldViolation, Violations};

/// Longest partner name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest notes about a partner, in characters.
pub const MAX_NOTES_CHARS: usize = 4000;

/// What the partner is to the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Supplier,
    Distributor,
    Agency,
    /// A reseller, an installer, a consultant: any other kind of collaborator.
    Other,
}

snake_names!(PartnerKind {
    Supplier => "supplier",
    Distributor => "distributor",
    Agency => "agency",
    Other => "other",
});

/// The kinds of record that can be shared with a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SharedKind {
    Customer,
    Lead,
    Deal,
    Ticket,
}

snake_names!(SharedKind {
    Customer => "customer",
    Lead => "lead",
    Deal => "deal",
    Ticket => "ticket",
});

/// What a partner's users may do with a shared record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ShareAccess {
    /// See it, wherever records of its kind are shown (by id, search, exports,
    /// timeline, the 360 view, reports).
    Read,
    /// See it and change it (not delete it).
    Write,
}

snake_names!(ShareAccess {
    Read => "read",
    Write => "write",
});

/// The fields of a partner a caller sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerFields {
    /// Unique, case-insensitive.
    pub name: String,
    pub kind: PartnerKind,
    pub notes: Option<String>,
    /// An inactive partner's users cannot sign in or use their keys.
    pub is_active: bool,
}

impl PartnerFields {
    /// The fields in their stored form (name trimmed, blank notes dropped), or every
    /// broken rule.
    pub fn checked(mut self) -> Result<PartnerFields, Vec<FieldViolation>> {
        let mut violations = Violations::default();
        self.name = self.name.trim().to_string();
        violations.check_text("name", &self.name, TextKind::SingleLine);
        let length = self.name.chars().count();
        if length == 0 {
            violations.push("name", "required", "must not be empty");
        } else if length > MAX_NAME_CHARS {
            violations.push(
                "name",
                "too_long",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            );
        }
        self.notes = self
            .notes
            .map(|notes| notes.trim().to_string())
            .filter(|notes| !notes.is_empty());
        if let Some(notes) = &self.notes {
            violations.check_text("notes", notes, TextKind::MultiLine);
            if notes.chars().count() > MAX_NOTES_CHARS {
                violations.push(
                    "notes",
                    "too_long",
                    format!("must be at most {MAX_NOTES_CHARS} characters"),
                );
            }
        }
        violations.into_result().map(|()| self)
    }
}

/// An explicit share: one record, with an access and an optional end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInput {
    pub record_kind: SharedKind,
    pub record_id: uuid::Uuid,
    pub access: ShareAccess,
    /// The share ends at this instant; `None` keeps it until it is withdrawn.
    pub expires_at: Option<DateTime<Utc>>,
}

impl ShareInput {
    /// Every broken rule at `now`: an end in the past shares nothing.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Vec<FieldViolation>> {
        let mut violations = Violations::default();
        if self.expires_at.is_some_and(|end| end <= now) {
            violations.push("expires_at", "in_the_past", "must be in the future");
        }
        violations.into_result()
    }

    /// Whether the share is in force at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| end > now)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        let fields = PartnerFields {
            name: "  پخش البرز ".into(),
            kind: PartnerKind::Distributor,
            notes: Some("   ".into()),
            is_active: true,
        }
        .checked()
        .unwrap();
        assert_eq!(fields.name, "پخش البرز");
        assert_eq!(fields.notes, None);

        let problems = PartnerFields {
            name: "a\u{0}b".repeat(100),
            kind: PartnerKind::Agency,
            notes: Some("x".repeat(MAX_NOTES_CHARS + 1)),
            is_active: true,
        }
        .checked()
        .unwrap_err();
        let codes: Vec<_> = problems
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("name", "nul_character"),
                ("name", "too_long"),
                ("notes", "too_long")
            ]
        );
    }

    #[test]
    fn a_share_ends_in_the_future_or_never() {
        let now = Utc::now();
        let share = |expires_at| ShareInput {
            record_kind: SharedKind::Lead,
            record_id: uuid::Uuid::nil(),
            access: ShareAccess::Read,
            expires_at,
        };
        assert!(share(None).check(now).is_ok());
        assert!(share(Some(now + TimeDelta::hours(1))).check(now).is_ok());
        let past = share(Some(now - TimeDelta::seconds(1)));
        assert_eq!(past.check(now).unwrap_err()[0].code, "in_the_past");
        assert!(!past.in_force(now));
        assert!(share(None).in_force(now));
    }

    #[test]
    fn names_round_trip() {
        for kind in SharedKind::ALL {
            assert_eq!(SharedKind::parse(kind.as_str()), Some(*kind));
        }
        assert!(ShareAccess::Write > ShareAccess::Read);
    }
}
