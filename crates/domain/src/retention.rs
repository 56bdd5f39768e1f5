//! Retention rules: how long each kind of data is kept before it is deleted or
//! anonymised. One rule per kind; a kind without a rule is kept for ever. What a rule
//! removes is decided here ([`RetentionKind::actions`]) so that no rule can take what
//! the business must keep: audit events lose only their detail (the hash chain still
//! verifies), customer behaviour events go but the per-customer counts built from them
//! stay, an anonymised ticket or lead keeps its dates and figures for the reports.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// A kind of data a retention rule covers, and the date that ages it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionKind {
    /// Channel messages in and out (e-mail, SMS, messengers, web chat), by the time
    /// they were sent or received.
    Messages,
    /// Behavioural events about customers (page views, app events), by when they
    /// happened.
    BehaviouralEvents,
    /// Tickets in `closed`, by when they were closed.
    ClosedTickets,
    /// Leads never converted, by their last change.
    InactiveLeads,
    /// The `changes` of audit events, by when the event happened.
    AuditDetail,
    /// Files produced by exports, by when they were made.
    ExportFiles,
    /// Outgoing webhook deliveries (the event bodies sent) that are no longer pending,
    /// by when they were queued.
    WebhookDeliveries,
}

snake_names!(RetentionKind {
    Messages => "messages",
    BehaviouralEvents => "behavioural_events",
    ClosedTickets => "closed_tickets",
    InactiveLeads => "inactive_leads",
    AuditDetail => "audit_detail",
    ExportFiles => "export_files",
    WebhookDeliveries => "webhook_deliveries",
});

/// What happens to data past its keep period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    /// The rows go.
    Delete,
    /// The rows stay for counts and reports, their personal text is replaced.
    Anonymise,
}

snake_names!(RetentionAction {
    Delete => "delete",
    Anonymise => "anonymise",
});

impl RetentionKind {
    /// The actions a rule of this kind may take.
    pub fn actions(self) -> &'static [RetentionAction] {
        use RetentionAction::*;
        match self {
            RetentionKind::Messages
            | RetentionKind::ClosedTickets
            | RetentionKind::InactiveLeads => &[Delete, Anonymise],
            // The chain's links need every event; only their detail can go.
            RetentionKind::AuditDetail => &[Anonymise],
            // No personal text to keep apart from the row itself.
            RetentionKind::BehaviouralEvents
            | RetentionKind::ExportFiles
            | RetentionKind::WebhookDeliveries => &[Delete],
        }
    }
}

/// What anonymised text becomes: message bodies, ticket subjects and messages, lead
/// names.
pub const REMOVED_TEXT: &str = "[removed]";

/// The shortest keep period: a day, so that nothing in use today is taken.
pub const MIN_KEEP_DAYS: u32 = 1;
/// The longest keep period: a hundred years.
pub const MAX_KEEP_DAYS: u32 = 36_500;

/// A retention rule as a client writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"keep_days": 730, "action": "anonymise"}))]
pub struct RetentionRuleInput {
    /// Data older than this many days is removed (1 to 36500).
    pub keep_days: u32,
    pub action: RetentionAction,
    /// A disabled rule is kept but not applied by the scheduled job.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl RetentionRuleInput {
    /// Checks the rule for `kind`; every problem is named by its field.
    pub fn validate(&self, kind: RetentionKind) -> Result<(), Vec<FieldViolation>> {
        let mut v = Violations::default();
        if !(MIN_KEEP_DAYS..=MAX_KEEP_DAYS).contains(&self.keep_days) {
            v.push(
                "keep_days",
                "out_of_range",
                format!("{MIN_KEEP_DAYS} to {MAX_KEEP_DAYS}"),
            );
        }
        if !kind.actions().contains(&self.action) {
            v.push(
                "action",
                "not_for_kind",
                format!(
                    "`{}` data can only be: {}",
                    kind.as_str(),
                    kind.actions()
                        .iter()
                        .map(|action| action.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        v.into_result()
    }
}

/// The instant before which data of a rule keeping `keep_days` is due at `now`.
pub fn cutoff(now: DateTime<Utc>, keep_days: u32) -> DateTime<Utc> {
    now - TimeDelta::days(i64::from(keep_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_allows_only_what_keeps_the_records_the_business_needs() {
        let rule = |keep_days, action| RetentionRuleInput {
            keep_days,
            action,
            enabled: true,
        };
        assert!(rule(30, RetentionAction::Anonymise)
            .validate(RetentionKind::AuditDetail)
            .is_ok());
        let refused = rule(30, RetentionAction::Delete)
            .validate(RetentionKind::AuditDetail)
            .unwrap_err();
        assert_eq!(
            (refused[0].field.as_str(), refused[0].code.as_str()),
            ("action", "not_for_kind")
        );
        let refused = rule(0, RetentionAction::Anonymise)
            .validate(RetentionKind::ExportFiles)
            .unwrap_err();
        let codes: Vec<_> = refused
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [("keep_days", "out_of_range"), ("action", "not_for_kind")]
        );
        for kind in RetentionKind::ALL {
            assert!(!kind.actions().is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn the_cutoff_is_the_keep_period_before_now() {
        let now = "2026-03-21T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(cutoff(now, 365).to_rfc3339(), "2025-03-21T00:00:00+00:00");
    }
}
