//! Automatic follow-ups (S-7): rules the business configures so that nobody forgets the
//! next step. "A deal enters stage X → a task for its owner, due in N business days or
//! hours"; "a lead is assigned and not contacted within N business hours → remind its
//! owner, then (M business hours later) the owner's team managers". Delays count
//! business time only ([`add_business_delay`]).

use chrono::{DateTime, Days, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::tasks::TaskKind;
use crate::business_calendar::BusinessCalendar;
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpTrigger {
    /// A deal enters the rule's stage (when created there or moved there).
    DealStageEntered,
    /// A lead gets an owner, or another owner, whoever sets it.
    LeadAssigned,
}

snake_names!(FollowUpTrigger {
    DealStageEntered => "deal_stage_entered",
    LeadAssigned => "lead_assigned",
});

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelayUnit {
    /// Working hours of the business calendar.
    #[default]
    BusinessHours,
    /// Business days: the same local time on the n-th next business day.
    BusinessDays,
}

snake_names!(DelayUnit {
    BusinessHours => "business_hours",
    BusinessDays => "business_days",
});

const MAX_NAME_CHARS: usize = 100;
const MAX_TITLE_CHARS: usize = 200;
/// The longest delay: a year of business days, or its hours.
pub const MAX_DELAY: u32 = 2_000;

/// Everything a client may write on a follow-up rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "یادآوری تماس با سرنخ",
    "trigger": "lead_assigned",
    "delay": 4,
    "delay_unit": "business_hours",
    "escalate_after": 4
}))]
pub struct FollowUpRuleInput {
    pub name: String,
    pub trigger: FollowUpTrigger,
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// For `deal_stage_entered`: the stage (of any pipeline) whose entry starts it.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    /// For `deal_stage_entered`: the task made for the deal's owner.
    #[serde(default)]
    pub task_kind: Option<TaskKind>,
    #[serde(default)]
    pub task_title: Option<String>,
    /// The task's due time, or for `lead_assigned` the owner's reminder, after this
    /// much business time (1 to 2000).
    pub delay: u32,
    #[serde(default)]
    pub delay_unit: DelayUnit,
    /// For `lead_assigned`: the owner's team managers are told after this much more
    /// business time (in `delay_unit`) if the lead is still not contacted.
    #[serde(default)]
    pub escalate_after: Option<u32>,
}

fn active_by_default() -> bool {
    true
}

impl FollowUpRuleInput {
    /// Checks and tidies the input; every problem is named by its field.
    pub fn validated(mut self) -> Result<FollowUpRuleInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut name = Some(std::mem::take(&mut self.name));
        v.tidy_line("name", &mut name, MAX_NAME_CHARS);
        match name {
            Some(text) => self.name = text,
            None => v.push("name", "required", "a rule needs a name"),
        }
        v.tidy_line("task_title", &mut self.task_title, MAX_TITLE_CHARS);
        for (field, value) in [
            ("delay", Some(self.delay)),
            ("escalate_after", self.escalate_after),
        ] {
            if value.is_some_and(|amount| !(1..=MAX_DELAY).contains(&amount)) {
                v.push(field, "out_of_range", format!("1 to {MAX_DELAY}"));
            }
        }
        let only = |v: &mut Violations, field: &str, present: bool, trigger: &str| {
            if present {
                v.push(
                    field,
                    "not_for_trigger",
                    format!("only for `{trigger}` rules"),
                );
            }
        };
        match self.trigger {
            FollowUpTrigger::DealStageEntered => {
                if self.stage_id.is_none() {
                    v.push(
                        "stage_id",
                        "required",
                        "the stage whose entry starts the rule",
                    );
                }
                if self.task_title.is_none() {
                    v.push("task_title", "required", "the title of the task to make");
                }
                only(
                    &mut v,
                    "escalate_after",
                    self.escalate_after.is_some(),
                    "lead_assigned",
                );
            }
            FollowUpTrigger::LeadAssigned => {
                for (field, present) in [
                    ("stage_id", self.stage_id.is_some()),
                    ("task_kind", self.task_kind.is_some()),
                    ("task_title", self.task_title.is_some()),
                ] {
                    only(&mut v, field, present, "deal_stage_entered");
                }
            }
        }
        v.into_result().map(|()| self)
    }
}

/// `from` plus `amount` of business time: working hours of the calendar, or business
/// days (the same local time on the `amount`-th next day that is neither weekend nor
/// holiday; a local time a clock change skips moves to the day's first instant after
/// it). `None` when the calendar has no working time within its search horizon.
pub fn add_business_delay(
    calendar: &BusinessCalendar,
    from: DateTime<Utc>,
    amount: u32,
    unit: DelayUnit,
) -> Option<DateTime<Utc>> {
    match unit {
        DelayUnit::BusinessHours => calendar.add_business_minutes(from, amount.checked_mul(60)?),
        DelayUnit::BusinessDays => {
            let local = calendar.local();
            let time = local.local_time(from).time();
            let mut date = local.today(from);
            let mut left = amount;
            // Ten years of days at most, as the calendar's own search.
            for _ in 0..3660 {
                if left == 0 {
                    break;
                }
                date = date.checked_add_days(Days::new(1))?;
                if calendar.is_business_day(date) {
                    left -= 1;
                }
            }
            if left > 0 {
                return None;
            }
            local
                .instant_at(date.and_time(time))
                .or_else(|| local.start_of_day(date))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::calendar::LocalCalendar;

    fn tehran(date: (i32, u32, u32), hm: (u32, u32)) -> DateTime<Utc> {
        LocalCalendar::default()
            .instant_at(
                NaiveDate::from_ymd_opt(date.0, date.1, date.2)
                    .unwrap()
                    .and_hms_opt(hm.0, hm.1, 0)
                    .unwrap(),
            )
            .unwrap()
    }

    #[test]
    fn an_hour_after_thursday_closing_is_saturday_morning() {
        // 2026-12-10 is a Thursday: open 08:00–12:00, Friday off, Saturday from 08:00.
        let calendar = BusinessCalendar::default();
        let thursday = tehran((2026, 12, 10), (17, 30));
        assert_eq!(
            add_business_delay(&calendar, thursday, 1, DelayUnit::BusinessHours),
            Some(tehran((2026, 12, 12), (9, 0)))
        );
    }

    #[test]
    fn business_days_skip_fridays_and_holidays() {
        let mut calendar = BusinessCalendar::default();
        // Wednesday 10:00 + 2 business days: Thursday, (Friday off), Saturday.
        let wednesday = tehran((2026, 12, 9), (10, 0));
        assert_eq!(
            add_business_delay(&calendar, wednesday, 2, DelayUnit::BusinessDays),
            Some(tehran((2026, 12, 12), (10, 0)))
        );
        // With Saturday a holiday, Sunday.
        calendar = BusinessCalendar::new(
            calendar.local(),
            crate::business_calendar::WeeklyHours::iranian_default(),
            [NaiveDate::from_ymd_opt(2026, 12, 12).unwrap()],
            [],
        );
        assert_eq!(
            add_business_delay(&calendar, wednesday, 2, DelayUnit::BusinessDays),
            Some(tehran((2026, 12, 13), (10, 0)))
        );
    }

    #[test]
    fn every_broken_rule_is_named() {
        let input: FollowUpRuleInput = serde_json::from_value(serde_json::json!({
            "name": " ", "trigger": "lead_assigned", "task_title": "x", "delay": 0,
            "escalate_after": 5000
        }))
        .unwrap();
        let codes: Vec<String> = input
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            codes,
            [
                "name:required",
                "delay:out_of_range",
                "escalate_after:out_of_range",
                "task_title:not_for_trigger",
            ]
        );
    }
}
