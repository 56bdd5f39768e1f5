//! Tasks (S-7): work someone has to do — a call, a meeting, an e-mail, a follow-up or a
//! to-do — assigned to a user, due at an instant, reminded of ahead of it, and completed
//! with an outcome. A task concerns at most one subject record ([`Subject`]); one
//! without is a personal to-do.
//!
//! Due times are instants; a client may write one as RFC 3339 with any offset, or as a
//! local date-time without an offset, which is read in the business time zone
//! ([`parse_instant`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar::LocalCalendar;
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// What kind of record a task or an activity is about. Tickets will be another kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Customer,
    Lead,
    Deal,
}

snake_names!(SubjectType {
    Customer => "customer",
    Lead => "lead",
    Deal => "deal",
});

/// The record a task or an activity is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    pub kind: SubjectType,
    pub id: Uuid,
}

impl Subject {
    /// The subject named by the pair of request fields; one without the other is a
    /// violation naming the missing one.
    pub fn from_fields(
        kind: Option<SubjectType>,
        id: Option<Uuid>,
        v: &mut Violations,
    ) -> Option<Subject> {
        match (kind, id) {
            (Some(kind), Some(id)) => Some(Subject { kind, id }),
            (None, None) => None,
            (Some(_), None) => {
                v.push(
                    "subject_id",
                    "required",
                    "a subject type needs a subject id",
                );
                None
            }
            (None, Some(_)) => {
                v.push(
                    "subject_type",
                    "required",
                    "a subject id needs a subject type",
                );
                None
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Call,
    Meeting,
    Email,
    FollowUp,
    #[default]
    Todo,
}

snake_names!(TaskKind {
    Call => "call",
    Meeting => "meeting",
    Email => "email",
    FollowUp => "follow_up",
    Todo => "todo",
});

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Open,
    Done,
    Cancelled,
}

snake_names!(TaskStatus {
    Open => "open",
    Done => "done",
    Cancelled => "cancelled",
});

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskPriority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

snake_names!(TaskPriority {
    Low => "low",
    Normal => "normal",
    High => "high",
    Urgent => "urgent",
});

const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5_000;
const MAX_OUTCOME_CHARS: usize = 2_000;
/// Reminders per task.
pub const MAX_REMINDERS: usize = 5;
/// The earliest reminder: 30 days before the due time.
pub const MAX_REMINDER_MINUTES: i64 = 30 * 24 * 60;

/// Everything a client may write on a task.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate,
)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "call",
    "title": "تماس برای پیگیری پیش‌فاکتور",
    "subject_type": "customer",
    "subject_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "due_at": "2026-12-12T10:30:00",
    "priority": "high",
    "reminders": [60, 1440]
}))]
pub struct TaskInput {
    #[serde(default)]
    pub kind: TaskKind,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The kind of record the task is about; with `subject_id`, or neither for a
    /// personal to-do.
    #[serde(default)]
    pub subject_type: Option<SubjectType>,
    #[serde(default)]
    pub subject_id: Option<Uuid>,
    /// Defaults to the caller.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// Defaults to the assignee's team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// RFC 3339 (`2026-12-12T07:00:00Z`), or a local date-time in the business time
    /// zone without an offset (`2026-12-12T10:30`).
    #[serde(default)]
    pub due_at: Option<String>,
    #[serde(default)]
    pub priority: TaskPriority,
    /// Minutes before `due_at` at which the assignee is reminded (at most 5, each
    /// 0–43200, distinct); needs a due time.
    #[serde(default)]
    pub reminders: Vec<i64>,
    #[serde(default)]
    pub status: TaskStatus,
    /// How it went; only for a task that is `done` or `cancelled`.
    #[serde(default)]
    pub outcome: Option<String>,
}

/// A task input that keeps the rules, with its due time as an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedTask {
    pub input: TaskInput,
    pub subject: Option<Subject>,
    pub due_at: Option<DateTime<Utc>>,
}

impl TaskInput {
    /// Checks and tidies the input; every problem is named by its field. `calendar`
    /// reads a due time written without an offset.
    pub fn validated(
        mut self,
        calendar: &LocalCalendar,
    ) -> Result<CheckedTask, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut title = Some(std::mem::take(&mut self.title));
        v.tidy_line("title", &mut title, MAX_TITLE_CHARS);
        match title {
            Some(text) => self.title = text,
            None => v.push("title", "required", "a task needs a title"),
        }
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        v.tidy_text("outcome", &mut self.outcome, MAX_OUTCOME_CHARS);
        let subject = Subject::from_fields(self.subject_type, self.subject_id, &mut v);
        let due_at = match &self.due_at {
            Some(text) => match parse_instant(text, calendar) {
                Ok(at) => Some(at),
                Err(code) => {
                    v.push("due_at", code, INSTANT_RULE);
                    None
                }
            },
            None => None,
        };
        check_reminders(&self.reminders, self.due_at.is_some(), &mut v);
        if self.status == TaskStatus::Open && self.outcome.is_some() {
            v.push(
                "outcome",
                "only_when_closed",
                "only a task that is done or cancelled has an outcome",
            );
        }
        v.into_result().map(|()| CheckedTask {
            input: self,
            subject,
            due_at,
        })
    }
}

fn check_reminders(reminders: &[i64], has_due: bool, v: &mut Violations) {
    if reminders.is_empty() {
        return;
    }
    if !has_due {
        v.push("reminders", "needs_due_at", "reminders need a due time");
    }
    if reminders.len() > MAX_REMINDERS {
        v.push(
            "reminders",
            "too_many",
            format!("at most {MAX_REMINDERS} reminders"),
        );
    }
    for (index, minutes) in reminders.iter().enumerate() {
        if !(0..=MAX_REMINDER_MINUTES).contains(minutes) {
            v.push(
                format!("reminders[{index}]"),
                "out_of_range",
                format!("minutes before the due time, 0 to {MAX_REMINDER_MINUTES}"),
            );
        } else if reminders[..index].contains(minutes) {
            v.push(
                format!("reminders[{index}]"),
                "duplicate",
                "the same reminder twice",
            );
        }
    }
}

/// The instants at which a task due at `due_at` reminds, one per offset, as
/// `(offset, instant)`; offsets whose instant is before `now` are left out, since a
/// reminder of the past would only be noise.
pub fn reminder_times(
    due_at: DateTime<Utc>,
    offsets: &[i64],
    now: DateTime<Utc>,
) -> Vec<(i64, DateTime<Utc>)> {
    offsets
        .iter()
        .map(|minutes| (*minutes, due_at - chrono::Duration::minutes(*minutes)))
        .filter(|(_, at)| *at >= now)
        .collect()
}

/// What an instant field expects, for its violation message.
pub const INSTANT_RULE: &str =
    "an RFC 3339 instant, or a local date-time (YYYY-MM-DDTHH:MM[:SS]) in the business time zone";

/// Reads an instant written as RFC 3339 with an offset, or as a local date-time in the
/// calendar's time zone. Errors are violation codes: `invalid_format`, or
/// `nonexistent_local_time` for a local time skipped by a clock change.
pub fn parse_instant(text: &str, calendar: &LocalCalendar) -> Result<DateTime<Utc>, &'static str> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .ok_or("invalid_format")?;
    calendar.instant_at(local).ok_or("nonexistent_local_time")
}

/// An instant as the business reads it: RFC 3339 with the business time zone's offset.
pub fn local_rfc3339(at: DateTime<Utc>, calendar: &LocalCalendar) -> String {
    at.with_timezone(&calendar.time_zone)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn codes(result: Result<CheckedTask, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect()
    }

    fn task(json: serde_json::Value) -> TaskInput {
        serde_json::from_value(json).expect("input")
    }

    #[test]
    fn local_due_times_are_read_in_the_business_time_zone() {
        let tehran = LocalCalendar::default();
        let checked = task(serde_json::json!({"title": " تماس ", "due_at": "2026-12-10T17:30"}))
            .validated(&tehran)
            .expect("valid");
        assert_eq!(checked.input.title, "تماس");
        assert_eq!(
            checked.due_at,
            Some(Utc.with_ymd_and_hms(2026, 12, 10, 14, 0, 0).unwrap())
        );
        assert_eq!(
            local_rfc3339(checked.due_at.unwrap(), &tehran),
            "2026-12-10T17:30:00+03:30"
        );
        let utc = parse_instant("2026-12-10T14:00:00Z", &tehran).unwrap();
        assert_eq!(Some(utc), checked.due_at);
    }

    #[test]
    fn every_broken_rule_is_named() {
        let tehran = LocalCalendar::default();
        assert_eq!(
            codes(
                task(serde_json::json!({
                    "title": "",
                    "subject_type": "deal",
                    "due_at": "tomorrow",
                    "reminders": [10, -1, 10],
                    "outcome": "done"
                }))
                .validated(&tehran)
            ),
            [
                "title:required",
                "subject_id:required",
                "due_at:invalid_format",
                "reminders[1]:out_of_range",
                "reminders[2]:duplicate",
                "outcome:only_when_closed",
            ]
        );
        assert_eq!(
            codes(task(serde_json::json!({"title": "x", "reminders": [5]})).validated(&tehran)),
            ["reminders:needs_due_at"]
        );
    }

    #[test]
    fn reminders_in_the_past_are_left_out() {
        let due = Utc.with_ymd_and_hms(2026, 12, 10, 14, 0, 0).unwrap();
        let now = due - chrono::Duration::minutes(90);
        assert_eq!(
            reminder_times(due, &[60, 1440], now),
            [(60, due - chrono::Duration::minutes(60))]
        );
    }
}
