//! Workflow automation (M-3): a definition names what starts it (a trigger), whom it
//! goes on with (a condition in the customer search's filter tree) and what it does
//! (steps: tag, untag, change a field, give loyalty points, create a task, wait,
//! branch). Every change of a definition is a new version; a run keeps the version it
//! started with.
//!
//! The steps, nested as a client writes them (a branch holds two lists), are compiled
//! into a flat [`Program`] whose position is one number: a run's place survives any
//! pause as that number, and a branch is a conditional jump. The program of a version
//! never changes, so the number stays meaningful for the run's whole life.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar::JalaliDate;
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1_000;
const MAX_TITLE_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 200;
/// The largest `data` a `call_webhook` step passes on, as JSON text.
pub const MAX_WEBHOOK_DATA_BYTES: usize = 4_096;
/// Steps of one definition, counting those inside branches.
pub const MAX_STEPS: usize = 50;
/// Branches inside branches.
pub const MAX_NESTING: usize = 5;
/// Longest wait: a year.
pub const MAX_WAIT_MINUTES: i64 = 366 * 24 * 60;
/// Most points one step gives.
pub const MAX_POINTS: i64 = 1_000_000_000;
/// Runs started, one by another's step, in a chain: a run this deep starts no other.
/// With the rule that a workflow never starts itself, this cuts every loop.
pub const MAX_CHAIN: i32 = 3;
/// Most days a date trigger fires before (or, negative, after) the date.
pub const MAX_DATE_OFFSET_DAYS: i32 = 365;

/// The outbox events a workflow on customers may start on: the customer's, and those
/// about its orders, deals, tickets, segments and feedback and the lead that became it
/// (each names the customer).
pub const CUSTOMER_EVENT_TRIGGERS: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.lifecycle_changed",
    "lead.converted",
    "order.placed",
    "deal.created",
    "deal.updated",
    "deal.stage_changed",
    "ticket.created",
    "ticket.sla_breached",
    "segment.entered",
    "segment.left",
    "feedback.received",
    "feedback.negative",
];

/// The outbox events a workflow on leads may start on (each names the lead).
pub const LEAD_EVENT_TRIGGERS: &[&str] = &["lead.created", "lead.updated", "lead.status_changed"];

/// What a workflow's runs are about: a customer, or a lead not yet converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowSubject {
    #[default]
    Customer,
    Lead,
}

snake_names!(WorkflowSubject {
    Customer => "customer",
    Lead => "lead",
});

impl WorkflowSubject {
    /// The outbox events a workflow on this subject may start on.
    pub fn event_triggers(self) -> &'static [&'static str] {
        match self {
            WorkflowSubject::Customer => CUSTOMER_EVENT_TRIGGERS,
            WorkflowSubject::Lead => LEAD_EVENT_TRIGGERS,
        }
    }

    /// The member of an event's payload that names the subject.
    pub fn payload_key(self) -> &'static str {
        match self {
            WorkflowSubject::Customer => "customer_id",
            WorkflowSubject::Lead => "lead_id",
        }
    }

    /// Whether a step of `kind` can act on this subject: a lead has no tags, loyalty
    /// points or channel threads of its own.
    fn takes(self, step: &Step) -> bool {
        self == WorkflowSubject::Customer
            || !matches!(
                step,
                Step::Tag { .. }
                    | Step::Untag { .. }
                    | Step::AddLoyaltyPoints { .. }
                    | Step::SendMessage { .. }
            )
    }
}

/// What starts a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// An event of the outbox (`customer.created`, `order.placed`, `segment.entered`, …)
    /// about a customer; `matching` narrows it to events whose payload holds each of
    /// its values (a list in the payload holds a value when it contains it), e.g.
    /// `{"segment_id": "…"}` or `{"to": "customer"}` or `{"changed": "city"}`.
    Event {
        event_type: String,
        #[serde(default)]
        #[schema(value_type = Option<Object>)]
        matching: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// A behavioural event of that name sent by an app or device.
    Behaviour { name: String },
    /// Every year on the customer's date (birth or marriage), on the Jalali calendar
    /// (the same Jalali month and day; Esfand 30 falls on Esfand 29 in a common year)
    /// or the Gregorian one, `days_before` days earlier (negative: after), at the
    /// start of that day in the business time zone.
    Date {
        field: DateField,
        #[serde(default)]
        calendar: AnniversaryCalendar,
        #[serde(default)]
        #[schema(minimum = -365, maximum = 365)]
        days_before: i32,
    },
    /// Once, `days_before` days before (negative: after) the day a customer's date
    /// field holds, at the start of that day in the business time zone: `birth_date`,
    /// `marriage_date`, `founding_date` or a custom field of kind `date`
    /// (`custom_fields.<key>`), e.g. 30 days before a contract ends. A date moved
    /// later comes due again on its new day; one already past does not.
    DateDue {
        field: String,
        #[serde(default)]
        #[schema(minimum = -365, maximum = 365)]
        days_before: i32,
    },
    /// At each occurrence of a cron pattern (five fields: minute, hour, day of month,
    /// month, day of week) in the business time zone, a run for everyone who meets the
    /// condition then; e.g. `0 9 * * 6`, Saturdays at 09:00.
    Schedule { cron: String },
}

/// How the stored trigger is found: its kind and the key an event names.
impl Trigger {
    /// `event`, `behaviour`, `date`, `date_due` or `schedule`.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Event { .. } => "event",
            Trigger::Behaviour { .. } => "behaviour",
            Trigger::Date { .. } => "date",
            Trigger::DateDue { .. } => "date_due",
            Trigger::Schedule { .. } => "schedule",
        }
    }

    /// What an occurrence is matched on: the event type, the behavioural event name,
    /// the date field.
    pub fn key(&self) -> &str {
        match self {
            Trigger::Event { event_type, .. } => event_type,
            Trigger::Behaviour { name } => name,
            Trigger::Date { field, .. } => field.as_str(),
            Trigger::DateDue { field, .. } => field,
            Trigger::Schedule { cron } => cron,
        }
    }

    /// Whether an outbox event's payload meets `matching`.
    pub fn matches_payload(&self, payload: &serde_json::Value) -> bool {
        let Trigger::Event {
            matching: Some(matching),
            ..
        } = self
        else {
            return true;
        };
        matching.iter().all(|(key, wanted)| match payload.get(key) {
            Some(serde_json::Value::Array(items)) => items.contains(wanted),
            Some(value) => value == wanted,
            None => wanted.is_null(),
        })
    }
}

/// A customer date a date trigger follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateField {
    BirthDate,
    MarriageDate,
}

snake_names!(DateField {
    BirthDate => "birth_date",
    MarriageDate => "marriage_date",
});

/// The date field a `date_due` trigger follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueField {
    BirthDate,
    MarriageDate,
    FoundingDate,
    /// A custom field's key (of kind `date`, which the caller checks).
    Custom(String),
}

impl DueField {
    /// `birth_date`, `marriage_date`, `founding_date` or `custom_fields.<key>`.
    pub fn parse(field: &str) -> Option<DueField> {
        match field {
            "birth_date" => Some(DueField::BirthDate),
            "marriage_date" => Some(DueField::MarriageDate),
            "founding_date" => Some(DueField::FoundingDate),
            other => other
                .strip_prefix("custom_fields.")
                .filter(|key| !key.is_empty())
                .map(|key| DueField::Custom(key.to_string())),
        }
    }
}

/// The calendar whose month and day an anniversary repeats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnniversaryCalendar {
    #[default]
    Jalali,
    Gregorian,
}

/// One step as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Gives the customer a tag (`GET /tags`).
    Tag { tag_id: Uuid },
    /// Takes a tag from the customer.
    Untag { tag_id: Uuid },
    /// Sets one field of the customer (or lead) as a merge patch would (`city`,
    /// `lifecycle_stage`, a lead's `status`, `custom_fields.<key>`, …); null clears it.
    UpdateField {
        field: String,
        #[schema(value_type = Object)]
        value: serde_json::Value,
    },
    /// Gives loyalty points, expiring after `expires_in_days` when given.
    AddLoyaltyPoints {
        points: i64,
        reason: String,
        #[serde(default)]
        expires_in_days: Option<i64>,
    },
    /// A task about the customer (or lead) for its owner (or `assignee_id`), due
    /// `due_in_hours` after the step.
    CreateTask {
        title: String,
        #[serde(default)]
        assignee_id: Option<Uuid>,
        #[serde(default)]
        due_in_hours: Option<i64>,
    },
    /// Sends the customer a message on a channel account (`GET /channel-accounts`), to
    /// their primary address on its channel: a message template filled in for the
    /// customer (`template_id`, in `language`, Persian by default) or a `body`. The
    /// customer's consent and the quiet hours apply as to any message.
    SendMessage {
        channel_account_id: Uuid,
        #[serde(default)]
        template_id: Option<Uuid>,
        #[serde(default)]
        language: Option<crate::omnichannel::templates::TemplateLanguage>,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        body: Option<String>,
    },
    /// Gives the customer an owner through the assignment rules for customers
    /// (`record_kind: customer`, `POST /assignment-rules`): the first rule the customer
    /// meets whose user, team or territory has an available member decides (round
    /// robin and least load as for leads, a user's load being the customers they
    /// own), and the assignment is recorded with its rule and reason. A customer no
    /// rule places keeps its owner, and the step says so. On a lead, the assignment
    /// rules for leads decide in the same way.
    Assign,
    /// Calls a webhook subscription (`GET /webhook-subscriptions`) that lists
    /// `workflow.webhook` (or `*`): one delivery of a `workflow.webhook` event about the
    /// customer (or lead) — `{workflow_id, run_id, data}` — signed, retried and logged like every
    /// delivery, to that subscription alone. `data` is an object of up to 4 KB passed
    /// as given.
    CallWebhook {
        subscription_id: Uuid,
        #[serde(default)]
        #[schema(value_type = Option<Object>)]
        data: Option<serde_json::Value>,
    },
    /// Pauses the run: `minutes` of clock time, `business_minutes` of the business
    /// calendar's working time, or until the next working day's `local_time` (e.g.
    /// `09:30`) in the business time zone. Exactly one of them.
    Wait {
        #[serde(default)]
        minutes: Option<i64>,
        #[serde(default)]
        business_minutes: Option<i64>,
        #[serde(default)]
        #[schema(value_type = Option<String>, example = "09:30")]
        local_time: Option<NaiveTime>,
    },
    /// Goes on with `then` when the customer (or lead) meets `condition` (a filter tree
    /// over its search fields, checked when the run gets there), else with `else`.
    Branch {
        #[schema(value_type = Object)]
        condition: serde_json::Value,
        #[serde(default)]
        #[schema(no_recursion)]
        then: Vec<Step>,
        #[serde(default, rename = "else")]
        #[schema(no_recursion)]
        otherwise: Vec<Step>,
    },
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Tag { .. } => "tag",
            Step::Untag { .. } => "untag",
            Step::UpdateField { .. } => "update_field",
            Step::AddLoyaltyPoints { .. } => "add_loyalty_points",
            Step::CreateTask { .. } => "create_task",
            Step::SendMessage { .. } => "send_message",
            Step::CallWebhook { .. } => "call_webhook",
            Step::Assign => "assign",
            Step::Wait { .. } => "wait",
            Step::Branch { .. } => "branch",
        }
    }
}

/// A workflow as a client writes it; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "تبریک تولد",
    "trigger": {"kind": "date", "field": "birth_date", "calendar": "jalali"},
    "condition": {"field": "lifecycle_stage", "op": "eq", "value": "retention"},
    "steps": [
        {"kind": "add_loyalty_points", "points": 500, "reason": "هدیه تولد", "expires_in_days": 30},
        {"kind": "wait", "local_time": "09:30"},
        {"kind": "create_task", "title": "تماس تبریک تولد", "due_in_hours": 4},
        {"kind": "branch",
         "condition": {"field": "order_count", "op": "eq", "value": 0},
         "then": [{"kind": "update_field", "field": "acquisition_campaign", "value": "تولد"}]}
    ],
    "active": true
}))]
pub struct WorkflowInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// What the runs are about: `customer` (the default) or `lead`. A workflow on leads
    /// starts on a lead event or a schedule; its conditions are filter trees over the
    /// lead search fields, its `update_field` sets a lead field, `create_task` makes a
    /// task about the lead and `assign` goes by the assignment rules for leads; tag,
    /// loyalty and message steps are for customers.
    #[serde(default)]
    pub subject: WorkflowSubject,
    pub trigger: Trigger,
    /// A filter tree over the customer (or lead) search fields the subject must meet
    /// when the run starts; absent: everyone the trigger names.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    pub steps: Vec<Step>,
    /// An inactive workflow starts no runs; runs under way go on.
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

/// What a definition refers to, by the path it is written at, for the caller to check
/// against the database: conditions (against the customer search catalogue), tags,
/// users and customer fields.
#[derive(Debug, Default)]
pub struct References<'a> {
    pub conditions: Vec<(String, &'a serde_json::Value)>,
    pub tags: Vec<(String, Uuid)>,
    pub users: Vec<(String, Uuid)>,
    pub fields: Vec<(String, &'a str)>,
    pub channel_accounts: Vec<(String, Uuid)>,
    pub templates: Vec<(String, Uuid)>,
    pub webhook_subscriptions: Vec<(String, Uuid)>,
}

impl WorkflowInput {
    pub fn references(&self) -> References<'_> {
        fn walk<'a>(steps: &'a [Step], path: &str, out: &mut References<'a>) {
            for (i, step) in steps.iter().enumerate() {
                let here = format!("{path}[{i}]");
                match step {
                    Step::Tag { tag_id } | Step::Untag { tag_id } => {
                        out.tags.push((format!("{here}.tag_id"), *tag_id));
                    }
                    Step::CreateTask {
                        assignee_id: Some(user),
                        ..
                    } => out.users.push((format!("{here}.assignee_id"), *user)),
                    Step::UpdateField { field, .. } => {
                        out.fields.push((format!("{here}.field"), field));
                    }
                    Step::SendMessage {
                        channel_account_id,
                        template_id,
                        ..
                    } => {
                        out.channel_accounts
                            .push((format!("{here}.channel_account_id"), *channel_account_id));
                        if let Some(template) = template_id {
                            out.templates
                                .push((format!("{here}.template_id"), *template));
                        }
                    }
                    Step::CallWebhook {
                        subscription_id, ..
                    } => out
                        .webhook_subscriptions
                        .push((format!("{here}.subscription_id"), *subscription_id)),
                    Step::Branch {
                        condition,
                        then,
                        otherwise,
                    } => {
                        out.conditions
                            .push((format!("{here}.condition"), condition));
                        walk(then, &format!("{here}.then"), out);
                        walk(otherwise, &format!("{here}.else"), out);
                    }
                    _ => {}
                }
            }
        }
        let mut out = References::default();
        if let Some(condition) = self.condition.as_ref().filter(|c| !c.is_null()) {
            out.conditions.push(("condition".to_string(), condition));
        }
        walk(&self.steps, "steps", &mut out);
        out
    }
}

impl WorkflowInput {
    /// Checks everything but the conditions' fields (see [`conditions`]).
    pub fn validated(mut self) -> Result<WorkflowInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if self
            .condition
            .as_ref()
            .is_some_and(serde_json::Value::is_null)
        {
            self.condition = None;
        }
        match &mut self.trigger {
            Trigger::Event {
                event_type,
                matching,
            } => {
                let known = self.subject.event_triggers();
                if !known.contains(&event_type.as_str()) {
                    v.push(
                        "trigger.event_type",
                        "invalid_value",
                        format!(
                            "a workflow on {} starts on one of {}",
                            self.subject.as_str(),
                            known.join(", ")
                        ),
                    );
                }
                if let Some(matching) = matching {
                    if matching.len() > 10 {
                        v.push("trigger.matching", "too_many", "at most 10 keys");
                    }
                    for (key, value) in matching.iter() {
                        if value.is_object() || value.is_array() {
                            v.push(
                                format!("trigger.matching.{key}"),
                                "invalid_type",
                                "must be a string, number, boolean or null",
                            );
                        }
                    }
                }
            }
            Trigger::Behaviour { name } => {
                if !crate::behaviour::is_valid_name(name) {
                    v.push(
                        "trigger.name",
                        "invalid_format",
                        "must be a lower-case letter, then up to 63 lower-case letters, digits, '_', '.' or '-'",
                    );
                }
            }
            Trigger::Schedule { cron } => {
                // Parsed by the caller, which knows the business time zone.
                *cron = cron.trim().to_string();
                if cron.is_empty() {
                    v.push(
                        "trigger.cron",
                        "required",
                        "a schedule needs a cron pattern",
                    );
                }
            }
            Trigger::DateDue { field, days_before } => {
                *field = field.trim().to_string();
                if DueField::parse(field).is_none() {
                    v.push(
                        "trigger.field",
                        "unknown_field",
                        "birth_date, marriage_date, founding_date or custom_fields.<key>",
                    );
                }
                if days_before.abs() > MAX_DATE_OFFSET_DAYS {
                    v.push(
                        "trigger.days_before",
                        "out_of_range",
                        format!("must be -{MAX_DATE_OFFSET_DAYS} to {MAX_DATE_OFFSET_DAYS}"),
                    );
                }
            }
            Trigger::Date { days_before, .. } => {
                if days_before.abs() > MAX_DATE_OFFSET_DAYS {
                    v.push(
                        "trigger.days_before",
                        "out_of_range",
                        format!("must be -{MAX_DATE_OFFSET_DAYS} to {MAX_DATE_OFFSET_DAYS}"),
                    );
                }
            }
        }
        if self.subject == WorkflowSubject::Lead
            && !matches!(
                self.trigger,
                Trigger::Event { .. } | Trigger::Schedule { .. }
            )
        {
            v.push(
                "trigger.kind",
                "not_for_subject",
                "a workflow on leads starts on a lead event or a schedule",
            );
        }
        if self.steps.is_empty() {
            v.push("steps", "required", "a workflow needs at least one step");
        }
        let mut count = 0;
        check_steps(
            &mut v,
            &mut self.steps,
            "steps",
            self.subject,
            0,
            &mut count,
        );
        if count > MAX_STEPS {
            v.push(
                "steps",
                "too_many",
                format!("at most {MAX_STEPS} steps, counting those inside branches"),
            );
        }
        v.into_result().map(|()| self)
    }
}

fn check_steps(
    v: &mut Violations,
    steps: &mut [Step],
    path: &str,
    subject: WorkflowSubject,
    nesting: usize,
    count: &mut usize,
) {
    for (i, step) in steps.iter_mut().enumerate() {
        *count += 1;
        let at = |field: &str| format!("{path}[{i}].{field}");
        if !subject.takes(step) {
            v.push(
                at("kind"),
                "not_for_subject",
                format!("a {} step acts on customers, not leads", step.kind()),
            );
        }
        match step {
            Step::Tag { .. } | Step::Untag { .. } | Step::Assign => {}
            Step::UpdateField { field, .. } => {
                if field.is_empty()
                    || !field
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    v.push(
                        at("field"),
                        "invalid_format",
                        "a field name such as `city` or `custom_fields.branch`",
                    );
                }
            }
            Step::AddLoyaltyPoints {
                points,
                reason,
                expires_in_days,
            } => {
                if !(1..=MAX_POINTS).contains(points) {
                    v.push(
                        at("points"),
                        "out_of_range",
                        format!("must be 1 to {MAX_POINTS}"),
                    );
                }
                v.required_line(&at("reason"), reason, MAX_REASON_CHARS);
                if expires_in_days.is_some_and(|days| !(1..=3_660).contains(&days)) {
                    v.push(at("expires_in_days"), "out_of_range", "must be 1 to 3660");
                }
            }
            Step::CreateTask {
                title,
                due_in_hours,
                ..
            } => {
                v.required_line(&at("title"), title, MAX_TITLE_CHARS);
                if due_in_hours.is_some_and(|hours| !(0..=24 * 366).contains(&hours)) {
                    v.push(at("due_in_hours"), "out_of_range", "must be 0 to 8784");
                }
            }
            Step::SendMessage {
                template_id,
                subject,
                body,
                ..
            } => {
                v.tidy_line(&at("subject"), subject, MAX_TITLE_CHARS);
                v.tidy_text(
                    &at("body"),
                    body,
                    crate::omnichannel::conversations::MAX_MESSAGE_CHARS,
                );
                if template_id.is_some() == body.is_some() {
                    v.push(
                        format!("{path}[{i}]"),
                        "invalid_value",
                        "give exactly one of template_id and body",
                    );
                }
            }
            Step::CallWebhook { data, .. } => match data {
                Some(serde_json::Value::Object(_)) => {
                    if data
                        .as_ref()
                        .is_some_and(|d| d.to_string().len() > MAX_WEBHOOK_DATA_BYTES)
                    {
                        v.push(
                            at("data"),
                            "too_long",
                            format!("at most {MAX_WEBHOOK_DATA_BYTES} bytes of JSON"),
                        );
                    }
                }
                None | Some(serde_json::Value::Null) => *data = None,
                Some(_) => v.push(at("data"), "invalid_type", "must be a JSON object"),
            },
            Step::Wait {
                minutes,
                business_minutes,
                local_time,
            } => {
                let given = [
                    minutes.is_some(),
                    business_minutes.is_some(),
                    local_time.is_some(),
                ]
                .iter()
                .filter(|given| **given)
                .count();
                if given != 1 {
                    v.push(
                        format!("{path}[{i}]"),
                        "invalid_value",
                        "give exactly one of minutes, business_minutes and local_time",
                    );
                }
                for (name, value) in [("minutes", minutes), ("business_minutes", business_minutes)]
                {
                    if value.is_some_and(|m| !(1..=MAX_WAIT_MINUTES).contains(&m)) {
                        v.push(
                            at(name),
                            "out_of_range",
                            format!("must be 1 to {MAX_WAIT_MINUTES}"),
                        );
                    }
                }
            }
            Step::Branch {
                condition,
                then,
                otherwise,
            } => {
                if condition.is_null() {
                    v.push(at("condition"), "required", "a branch needs a condition");
                }
                if nesting + 1 > MAX_NESTING {
                    v.push(
                        format!("{path}[{i}]"),
                        "too_deep",
                        format!("branches nest at most {MAX_NESTING} deep"),
                    );
                    continue;
                }
                check_steps(v, then, &at("then"), subject, nesting + 1, count);
                check_steps(v, otherwise, &at("else"), subject, nesting + 1, count);
            }
        }
    }
}

/// One instruction of a compiled program.
#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    /// A step that acts or waits, then goes on with the next instruction.
    Step(Step),
    /// Goes on with the next instruction when the condition holds, else at `otherwise`.
    Branch {
        condition: serde_json::Value,
        otherwise: usize,
    },
    /// Goes on at the instruction given (the end of a branch's `then`).
    Jump(usize),
}

/// Steps compiled for running: instructions with the path of the step each came from
/// (`steps[1].then[0]`), which the run's log names.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub instructions: Vec<(String, Instruction)>,
}

impl Program {
    pub fn compile(steps: &[Step]) -> Program {
        fn emit(steps: &[Step], path: &str, out: &mut Vec<(String, Instruction)>) {
            for (i, step) in steps.iter().enumerate() {
                let here = format!("{path}[{i}]");
                match step {
                    Step::Branch {
                        condition,
                        then,
                        otherwise,
                    } => {
                        let branch = out.len();
                        out.push((
                            here.clone(),
                            Instruction::Branch {
                                condition: condition.clone(),
                                otherwise: 0,
                            },
                        ));
                        emit(then, &format!("{here}.then"), out);
                        let jump = (!otherwise.is_empty()).then(|| {
                            out.push((here.clone(), Instruction::Jump(0)));
                            out.len() - 1
                        });
                        let else_at = out.len();
                        emit(otherwise, &format!("{here}.else"), out);
                        let end = out.len();
                        if let Instruction::Branch { otherwise, .. } = &mut out[branch].1 {
                            *otherwise = else_at;
                        }
                        if let Some(jump) = jump {
                            out[jump].1 = Instruction::Jump(end);
                        }
                    }
                    other => out.push((here, Instruction::Step(other.clone()))),
                }
            }
        }
        let mut instructions = Vec::new();
        emit(steps, "steps", &mut instructions);
        Program { instructions }
    }

    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started, its first step not yet taken.
    Pending,
    /// Taking its steps.
    Running,
    /// Paused by a wait step until `resume_at`.
    Waiting,
    Completed,
    /// The customer did not meet the condition, or the run would have closed a loop.
    Skipped,
    /// A step failed; the log says which and why.
    Failed,
    Cancelled,
}

snake_names!(RunStatus {
    Pending => "pending",
    Running => "running",
    Waiting => "waiting",
    Completed => "completed",
    Skipped => "skipped",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl RunStatus {
    /// Whether the run still has steps to take.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RunStatus::Pending | RunStatus::Running | RunStatus::Waiting
        )
    }
}

/// When a wait step started at `now` ends; `None` when the business calendar has no
/// working time ahead.
pub fn wait_until(
    now: DateTime<Utc>,
    minutes: Option<i64>,
    business_minutes: Option<i64>,
    local_time: Option<NaiveTime>,
    calendar: &crate::business_calendar::BusinessCalendar,
) -> Option<DateTime<Utc>> {
    if let Some(minutes) = minutes {
        return Some(now + TimeDelta::minutes(minutes));
    }
    if let Some(minutes) = business_minutes {
        return calendar.add_business_minutes(now, u32::try_from(minutes).ok()?);
    }
    let time = local_time?;
    let local = calendar.local();
    let mut day = local.today(now);
    // The first business day whose `time` is still ahead; a calendar with no business
    // day within a year has none.
    for _ in 0..=366 {
        if calendar.is_business_day(day) {
            if let Some(at) = local.instant_at(day.and_time(time)) {
                if at > now {
                    return Some(at);
                }
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// The dates, from `from_year` on, whose anniversary on `calendar` falls on `day`:
/// every date of that Jalali (or Gregorian) month and day up to `day`, and for the last
/// day of Esfand (or 29 February) in a year without it, the dates of the leap day too.
pub fn anniversaries_on(
    day: NaiveDate,
    calendar: AnniversaryCalendar,
    from_year: i32,
) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    match calendar {
        AnniversaryCalendar::Gregorian => {
            let leap_day_too = day.month() == 2
                && day.day() == 28
                && NaiveDate::from_ymd_opt(day.year(), 2, 29).is_none();
            for year in from_year..=day.year() {
                dates.extend(NaiveDate::from_ymd_opt(year, day.month(), day.day()));
                if leap_day_too {
                    dates.extend(NaiveDate::from_ymd_opt(year, 2, 29));
                }
            }
        }
        AnniversaryCalendar::Jalali => {
            let today = JalaliDate::from_gregorian(day);
            let (month, dom) = (today.month(), today.day());
            let leap_day_too = month == 12 && dom == 29 && !today.is_in_leap_year();
            let first = JalaliDate::from_gregorian(
                NaiveDate::from_ymd_opt(from_year, 3, 21).unwrap_or(day),
            )
            .year();
            for year in first..=today.year() {
                if let Ok(date) = JalaliDate::new(year, month, dom) {
                    dates.push(date.to_gregorian());
                }
                if leap_day_too {
                    if let Ok(date) = JalaliDate::new(year, 12, 30) {
                        dates.push(date.to_gregorian());
                    }
                }
            }
        }
    }
    dates.retain(|date| *date <= day);
    dates
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn steps(value: serde_json::Value) -> Vec<Step> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn branches_compile_to_jumps_that_skip_the_other_arm() {
        let program = Program::compile(&steps(json!([
            {"kind": "tag", "tag_id": "00000000-0000-0000-0000-000000000001"},
            {"kind": "branch", "condition": {"field": "city", "op": "eq", "value": "x"},
             "then": [{"kind": "tag", "tag_id": "00000000-0000-0000-0000-000000000002"}, {"kind": "tag", "tag_id": "00000000-0000-0000-0000-000000000003"}],
             "else": [{"kind": "tag", "tag_id": "00000000-0000-0000-0000-000000000004"}]},
            {"kind": "branch", "condition": {"field": "city", "op": "eq", "value": "y"},
             "then": [{"kind": "tag", "tag_id": "00000000-0000-0000-0000-000000000005"}]},
            {"kind": "tag", "tag_id": "00000000-0000-0000-0000-000000000006"}
        ])));
        let shape: Vec<(&str, String)> = program
            .instructions
            .iter()
            .map(|(path, instruction)| {
                let what = match instruction {
                    Instruction::Step(Step::Tag { tag_id }) => format!("tag {}", tag_id.as_u128()),
                    Instruction::Step(other) => other.kind().to_string(),
                    Instruction::Branch { otherwise, .. } => format!("branch else {otherwise}"),
                    Instruction::Jump(to) => format!("jump {to}"),
                };
                (path.as_str(), what)
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("steps[0]", "tag 1".to_string()),
                ("steps[1]", "branch else 5".to_string()),
                ("steps[1].then[0]", "tag 2".to_string()),
                ("steps[1].then[1]", "tag 3".to_string()),
                ("steps[1]", "jump 6".to_string()),
                ("steps[1].else[0]", "tag 4".to_string()),
                ("steps[2]", "branch else 8".to_string()),
                ("steps[2].then[0]", "tag 5".to_string()),
                ("steps[3]", "tag 6".to_string()),
            ]
        );
    }

    #[test]
    fn definitions_are_checked_step_by_step_with_paths() {
        let input: WorkflowInput = serde_json::from_value(json!({
            "name": " ",
            "trigger": {"kind": "event", "event_type": "customer.exploded"},
            "steps": [
                {"kind": "wait"},
                {"kind": "add_loyalty_points", "points": 0, "reason": "x"},
                {"kind": "branch", "condition": null, "then": [{"kind": "add_loyalty_points", "points": 5, "reason": ""}]}
            ]
        }))
        .unwrap();
        let fields: Vec<String> = input
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "trigger.event_type",
                "steps[0]",
                "steps[1].points",
                "steps[2].condition",
                "steps[2].then[0].reason"
            ]
        );
        let unknown = serde_json::from_value::<Step>(json!({"kind": "wait", "minutes": 5, "x": 1}));
        assert!(unknown.is_err(), "unknown step fields are refused");
    }

    #[test]
    fn a_workflow_on_leads_takes_lead_events_and_the_steps_a_lead_can_take() {
        let checked = |definition: serde_json::Value| {
            serde_json::from_value::<WorkflowInput>(definition)
                .unwrap()
                .validated()
                .map_err(|violations| {
                    violations
                        .into_iter()
                        .map(|v| (v.field, v.code))
                        .collect::<Vec<_>>()
                })
        };
        let lead = checked(json!({
            "name": "x", "subject": "lead",
            "trigger": {"kind": "event", "event_type": "lead.status_changed", "matching": {"to": "qualified"}},
            "steps": [
                {"kind": "assign"},
                {"kind": "branch", "condition": {"field": "city", "op": "eq", "value": "قم"},
                 "then": [{"kind": "create_task", "title": "تماس"}],
                 "else": [{"kind": "send_message", "channel_account_id": "00000000-0000-0000-0000-000000000001", "body": "سلام"}]}
            ]
        }));
        assert_eq!(
            lead.unwrap_err(),
            [(
                "steps[1].else[0].kind".to_string(),
                "not_for_subject".to_string()
            )]
        );
        let scheduled = checked(json!({
            "name": "x", "subject": "lead",
            "trigger": {"kind": "schedule", "cron": "0 9 * * 6"},
            "steps": [{"kind": "update_field", "field": "status", "value": "contacted"}]
        }))
        .unwrap();
        assert_eq!(scheduled.subject, WorkflowSubject::Lead);
        // The customer's events are not a lead's, nor a lead's a customer's.
        assert_eq!(
            checked(json!({
                "name": "x", "subject": "lead",
                "trigger": {"kind": "event", "event_type": "customer.created"},
                "steps": [{"kind": "assign"}]
            }))
            .unwrap_err(),
            [(
                "trigger.event_type".to_string(),
                "invalid_value".to_string()
            )]
        );
        let customer = checked(json!({
            "name": "x",
            "trigger": {"kind": "event", "event_type": "lead.converted"},
            "steps": [{"kind": "assign"}]
        }))
        .unwrap();
        assert_eq!(customer.subject, WorkflowSubject::Customer);
    }

    #[test]
    fn payload_matching_reads_lists_as_membership() {
        let trigger = Trigger::Event {
            event_type: "customer.updated".into(),
            matching: Some(json!({"changed": "city"}).as_object().unwrap().clone()),
        };
        assert!(trigger.matches_payload(&json!({"changed": ["name", "city"]})));
        assert!(!trigger.matches_payload(&json!({"changed": ["name"]})));
        assert!(!trigger.matches_payload(&json!({})));
    }

    #[test]
    fn jalali_anniversaries_repeat_the_month_and_day() {
        // 1403/09/15 is 5 December 2024.
        let day = NaiveDate::from_ymd_opt(2024, 12, 5).unwrap();
        let dates = anniversaries_on(day, AnniversaryCalendar::Jalali, 1990);
        assert!(dates.contains(&JalaliDate::new(1370, 9, 15).unwrap().to_gregorian()));
        assert!(dates.contains(&day));
        assert!(dates.iter().all(|date| {
            let jalali = JalaliDate::from_gregorian(*date);
            (jalali.month(), jalali.day()) == (9, 15)
        }));
        // Esfand 29 of a common year also celebrates those born on Esfand 30.
        let common = (1395..1410)
            .find(|year| JalaliDate::new(*year, 12, 30).is_err())
            .unwrap();
        let last = JalaliDate::new(common, 12, 29).unwrap().to_gregorian();
        let dates = anniversaries_on(last, AnniversaryCalendar::Jalali, 1990);
        assert!(dates
            .iter()
            .any(|date| JalaliDate::from_gregorian(*date).day() == 30));
    }
}
