//! Activities (S-7): a call, meeting, e-mail or visit that happened, logged against a
//! customer, a lead or a deal. Logging one is what "contacted" means for a lead and what
//! keeps a deal from going stale.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::tasks::{parse_instant, Subject, SubjectType, INSTANT_RULE};
use crate::calendar::LocalCalendar;
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Call,
    Meeting,
    Email,
    Visit,
}

snake_names!(ActivityKind {
    Call => "call",
    Meeting => "meeting",
    Email => "email",
    Visit => "visit",
});

/// Who reached whom, for calls and e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ActivityDirection)]
pub enum Direction {
    Inbound,
    Outbound,
}

snake_names!(Direction {
    Inbound => "inbound",
    Outbound => "outbound",
});

const MAX_OUTCOME_CHARS: usize = 200;
const MAX_NOTES_CHARS: usize = 10_000;
/// A day: no single activity lasts longer.
pub const MAX_DURATION_MINUTES: i32 = 24 * 60;
/// How far ahead of the server's clock an `occurred_at` may be (clients' clocks drift).
const CLOCK_SKEW_MINUTES: i64 = 5;

/// Everything a client may write on an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "call",
    "subject_type": "customer",
    "subject_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "occurred_at": "2026-12-02T11:00:00+03:30",
    "duration_minutes": 12,
    "direction": "outbound",
    "outcome": "علاقه‌مند؛ پیش‌فاکتور می‌خواهد",
    "notes": "قرار شد تا پنجشنبه پیش‌فاکتور ارسال شود."
}))]
pub struct ActivityInput {
    pub kind: ActivityKind,
    pub subject_type: SubjectType,
    pub subject_id: Uuid,
    /// When it happened: RFC 3339, or a local date-time in the business time zone; not
    /// in the future.
    pub occurred_at: String,
    #[serde(default)]
    pub duration_minutes: Option<i32>,
    /// For calls and e-mails only.
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// An activity input that keeps the rules, with its instant.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedActivity {
    pub input: ActivityInput,
    pub subject: Subject,
    pub occurred_at: DateTime<Utc>,
}

impl ActivityInput {
    /// Checks and tidies the input against the clock `now`; every problem is named by
    /// its field.
    pub fn validated(
        mut self,
        calendar: &LocalCalendar,
        now: DateTime<Utc>,
    ) -> Result<CheckedActivity, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.tidy_line("outcome", &mut self.outcome, MAX_OUTCOME_CHARS);
        v.tidy_text("notes", &mut self.notes, MAX_NOTES_CHARS);
        let occurred_at = match parse_instant(&self.occurred_at, calendar) {
            Ok(at) if at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) => {
                v.push(
                    "occurred_at",
                    "in_future",
                    "an activity is logged once it happened",
                );
                None
            }
            Ok(at) => Some(at),
            Err(code) => {
                v.push("occurred_at", code, INSTANT_RULE);
                None
            }
        };
        if let Some(minutes) = self.duration_minutes {
            if !(0..=MAX_DURATION_MINUTES).contains(&minutes) {
                v.push(
                    "duration_minutes",
                    "out_of_range",
                    format!("0 to {MAX_DURATION_MINUTES} minutes"),
                );
            }
        }
        if self.direction.is_some()
            && !matches!(self.kind, ActivityKind::Call | ActivityKind::Email)
        {
            v.push(
                "direction",
                "only_for_calls_and_emails",
                "only calls and e-mails have a direction",
            );
        }
        v.into_result()?;
        Ok(CheckedActivity {
            subject: Subject {
                kind: self.subject_type,
                id: self.subject_id,
            },
            occurred_at: occurred_at.unwrap_or(now),
            input: self,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_broken_rule_is_named() {
        let input: ActivityInput = serde_json::from_value(serde_json::json!({
            "kind": "visit",
            "subject_type": "lead",
            "subject_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
            "occurred_at": "2999-01-01T00:00:00Z",
            "duration_minutes": 5000,
            "direction": "inbound",
            "outcome": "a\nb"
        }))
        .expect("input");
        let codes: Vec<String> = input
            .validated(&LocalCalendar::default(), Utc::now())
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            codes,
            [
                "outcome:line_break",
                "occurred_at:in_future",
                "duration_minutes:out_of_range",
                "direction:only_for_calls_and_emails",
            ]
        );
    }
}
