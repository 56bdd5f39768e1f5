//! Starting runs. A run is started in the transaction of what triggered it — the change
//! that published an outbox event, the ingestion of a behavioural event — or by the
//! daily date job, and is unique per workflow and occurrence: an occurrence is stored
//! once whatever retries or second processes announce it, and its run with it.
//!
//! Loops are cut where they would start: a step of a run never starts a run of its own
//! workflow, and a run [`MAX_CHAIN`] deep in a chain of runs, each started by a step of
//! the one before, starts none. A cut run is kept, `skipped`, with the reason.

use chrono::{DateTime, Days, Utc};
use domain::cron::CronPattern;
use domain::filter::{Predicate, ResolveContext, ResolvedFilter};
use domain::workflows::{
    DueField, RunStatus, Trigger, WorkflowInput, WorkflowSubject, CUSTOMER_EVENT_TRIGGERS,
    LEAD_EVENT_TRIGGERS, MAX_CHAIN,
};
use persistence::behavioural_events::EventRow as BehaviouralEventRow;
use persistence::db::DbConnection;
use persistence::events::NewEvent;
use persistence::jobs::NewJob;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::workflows::{RunRow, WorkflowRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::RunSubject;
use crate::acting::{Acting, Credential};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::transaction;

/// The job kind that takes a run's steps.
pub const WORKFLOW_RUN: &str = "workflow.run";
/// The daily job that starts the date-triggered runs.
pub const WORKFLOW_DATES: &str = "workflow.dates";
/// The job of one occurrence of a schedule-triggered workflow.
pub const WORKFLOW_SCHEDULE: &str = "workflow.schedule";

/// Attempts of a run's job before it is given up (a storage failure mid-step).
const RUN_ATTEMPTS: i32 = 10;
/// Customers started per transaction by the date and schedule jobs.
const DATE_PAGE: i64 = 1_000;
/// The earliest year a date trigger looks at.
const FIRST_YEAR: i32 = 1900;

/// A run about to be started.
struct Start<'a> {
    workflow: &'a WorkflowRow,
    subject: RunSubject,
    occurrence: String,
    cause: Value,
}

/// Starts the runs the outbox `events` trigger (from [`crate::events::publish`]).
pub(crate) fn on_events(
    conn: &mut DbConnection,
    acting: &Acting,
    events: &[NewEvent],
) -> AppResult<()> {
    let mut types: Vec<&str> = events
        .iter()
        .map(|event| event.event_type.as_str())
        .filter(|kind| CUSTOMER_EVENT_TRIGGERS.contains(kind) || LEAD_EVENT_TRIGGERS.contains(kind))
        .collect();
    types.sort_unstable();
    types.dedup();
    let workflows = triggered(conn, "event", &types)?;
    if workflows.is_empty() {
        return Ok(());
    }
    let mut starts = Vec::new();
    for event in events {
        for (workflow, input) in &workflows {
            if workflow.trigger_key != event.event_type
                || !input.trigger.matches_payload(&event.payload.0)
            {
                continue;
            }
            // The event names the workflow's subject (a customer, a lead).
            let Some(subject) = event
                .payload
                .0
                .get(input.subject.payload_key())
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok())
            else {
                continue;
            };
            starts.push(Start {
                workflow,
                subject: RunSubject::new(input.subject, subject),
                occurrence: format!("event:{}", event.id.0),
                cause: json!({
                    "event_type": event.event_type,
                    "event_id": event.id.0,
                    "payload": event.payload.0,
                }),
            });
        }
    }
    start(conn, acting, starts).map(|_| ())
}

/// Starts the runs newly stored behavioural `events` trigger (from the ingestion).
pub(crate) fn on_behaviour(
    conn: &mut DbConnection,
    acting: &Acting,
    events: &[&BehaviouralEventRow],
) -> AppResult<()> {
    let mut names: Vec<&str> = events
        .iter()
        .map(|event| event.event_name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let workflows = triggered(conn, "behaviour", &names)?;
    if workflows.is_empty() {
        return Ok(());
    }
    let mut starts = Vec::new();
    for event in events {
        for (workflow, input) in &workflows {
            if workflow.trigger_key == event.event_name
                && input.subject == WorkflowSubject::Customer
            {
                starts.push(Start {
                    workflow,
                    subject: RunSubject::Customer(event.customer_id.0),
                    occurrence: format!("behaviour:{}", event.id.0),
                    cause: json!({
                        "event_name": event.event_name,
                        "event_id": event.id.0,
                        "occurred_at": event.occurred_at.0,
                    }),
                });
            }
        }
    }
    start(conn, acting, starts).map(|_| ())
}

fn triggered(
    conn: &mut DbConnection,
    kind: &str,
    keys: &[&str],
) -> AppResult<Vec<(WorkflowRow, WorkflowInput)>> {
    persistence::workflows::triggered_by(conn, kind, keys)?
        .into_iter()
        .map(|row| {
            let input = super::definition_of(&row.definition)?;
            Ok((row, input))
        })
        .collect()
}

/// Stores the runs whose occurrence is new and queues a job for each that may go on;
/// answers how many were new.
fn start(conn: &mut DbConnection, acting: &Acting, starts: Vec<Start<'_>>) -> AppResult<usize> {
    if starts.is_empty() {
        return Ok(0);
    }
    let (cause_workflow, depth) = match acting.credential {
        Credential::Workflow {
            workflow_id, depth, ..
        } => (Some(workflow_id), depth + 1),
        _ => (None, 0),
    };
    let now = DbTime(persistence::now());
    let rows: Vec<RunRow> = starts
        .into_iter()
        .map(|start| {
            let cut = if cause_workflow == Some(start.workflow.id.0) {
                Some("loop: started by a step of a run of the same workflow")
            } else if depth > MAX_CHAIN {
                Some("loop: too many runs in a chain, each started by a step of the one before")
            } else {
                None
            };
            RunRow {
                id: DbUuid(Uuid::now_v7()),
                workflow_id: start.workflow.id,
                version: start.workflow.version,
                customer_id: match start.subject {
                    RunSubject::Customer(customer) => Some(DbUuid(customer)),
                    RunSubject::Lead(_) => None,
                },
                lead_id: match start.subject {
                    RunSubject::Lead(lead) => Some(DbUuid(lead)),
                    RunSubject::Customer(_) => None,
                },
                occurrence: start.occurrence,
                cause: DbJson(start.cause),
                status: if cut.is_some() {
                    RunStatus::Skipped
                } else {
                    RunStatus::Pending
                }
                .as_str()
                .to_string(),
                position: 0,
                resume_at: None,
                depth,
                reason: cut.map(str::to_string),
                started_at: now,
                updated_at: now,
                finished_at: cut.map(|_| now),
            }
        })
        .collect();
    let started = persistence::workflows::start_runs(conn, &rows)?;
    let pending: std::collections::HashSet<Uuid> = rows
        .iter()
        .filter(|row| row.status == RunStatus::Pending.as_str())
        .map(|row| row.id.0)
        .collect();
    let jobs = started
        .iter()
        .filter(|id| pending.contains(id))
        .map(|id| run_job(*id, now.0))
        .collect();
    persistence::jobs::enqueue_many(conn, jobs)?;
    Ok(started.len())
}

/// The job that takes run `id`'s next steps at `at`.
fn run_job(id: Uuid, at: DateTime<Utc>) -> NewJob<'static> {
    NewJob {
        kind: WORKFLOW_RUN,
        payload: json!({"run_id": id}),
        run_at: at,
        max_attempts: RUN_ATTEMPTS,
        created_by: None,
    }
}

/// Queues the job that resumes run `id` at `at` after a wait, at instruction
/// `position`: once however often it is asked for.
pub(crate) fn queue_resume(
    conn: &mut DbConnection,
    id: Uuid,
    at: DateTime<Utc>,
    position: i32,
) -> AppResult<()> {
    persistence::jobs::schedule(
        conn,
        run_job(id, at),
        &format!("{WORKFLOW_RUN}:{id}:{position}"),
    )?;
    Ok(())
}

/// Starts the date-triggered runs due on the business day of `now`: for each active
/// date workflow, the customers whose date's anniversary is that day plus the
/// trigger's `days_before`. Answers how many runs were started. Idempotent: the
/// occurrence is the day and the customer.
pub fn on_dates(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let calendar = crate::settings::calendar(conn)?;
    let today = calendar.today(now);
    let acting = Acting::system(Lang::En);
    let mut started = 0;
    for row in persistence::workflows::active_of_kind(conn, "date")? {
        let Trigger::Date {
            field,
            calendar: anniversary,
            days_before,
        } = super::trigger_of(&row)?
        else {
            continue;
        };
        let day = if days_before >= 0 {
            today.checked_add_days(Days::new(days_before.unsigned_abs().into()))
        } else {
            today.checked_sub_days(Days::new(days_before.unsigned_abs().into()))
        };
        let Some(day) = day else { continue };
        let dates = domain::workflows::anniversaries_on(day, anniversary, FIRST_YEAR);
        let mut after = None;
        loop {
            let customers = persistence::workflows::customers_with_dates(
                conn, field, &dates, after, DATE_PAGE,
            )?;
            let Some(last) = customers.last().copied() else {
                break;
            };
            let page = customers.len();
            started += transaction(conn, |conn| {
                let starts = customers
                    .iter()
                    .map(|customer| Start {
                        workflow: &row,
                        subject: RunSubject::Customer(*customer),
                        occurrence: format!("date:{today}:{customer}"),
                        cause: json!({"date": today, "field": field.as_str(), "anniversary": day}),
                    })
                    .collect();
                start(conn, &acting, starts)
            })?;
            after = Some(last);
            if (page as i64) < DATE_PAGE {
                break;
            }
        }
    }
    for row in persistence::workflows::active_of_kind(conn, "date_due")? {
        let Trigger::DateDue { field, days_before } = super::trigger_of(&row)? else {
            continue;
        };
        let Some(due) = DueField::parse(&field) else {
            return Err(AppError::Internal(format!(
                "workflow {} follows the date {field:?}",
                row.id.0
            )));
        };
        let day = if days_before >= 0 {
            today.checked_add_days(Days::new(days_before.unsigned_abs().into()))
        } else {
            today.checked_sub_days(Days::new(days_before.unsigned_abs().into()))
        };
        let Some(day) = day else { continue };
        let mut after = None;
        loop {
            let customers =
                persistence::workflows::customers_due(conn, &due, day, after, DATE_PAGE)?;
            let Some(last) = customers.last().copied() else {
                break;
            };
            let page = customers.len();
            started += transaction(conn, |conn| {
                let starts = customers
                    .iter()
                    .map(|customer| Start {
                        workflow: &row,
                        subject: RunSubject::Customer(*customer),
                        // Keyed by the date itself: a date moved to another day comes
                        // due again then, the same date never twice.
                        occurrence: format!("date_due:{day}:{customer}"),
                        cause: json!({"date": today, "field": field, "due": day}),
                    })
                    .collect();
                start(conn, &acting, starts)
            })?;
            after = Some(last);
            if (page as i64) < DATE_PAGE {
                break;
            }
        }
    }
    Ok(started)
}

/// One occurrence of a schedule-triggered workflow: its version when queued, and the
/// instant the occurrence stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleOccurrence {
    pub workflow_id: Uuid,
    pub version: i64,
    pub at: DateTime<Utc>,
}

/// Queues the first occurrence after `after` of an active schedule-triggered workflow
/// (no other kind has occurrences), once per workflow version and instant however
/// often it is asked for; answers its instant.
pub(crate) fn queue_schedule(
    conn: &mut DbConnection,
    row: &WorkflowRow,
    after: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    if !row.active || row.trigger_kind != "schedule" {
        return Ok(None);
    }
    let Trigger::Schedule { cron } = super::trigger_of(row)? else {
        return Ok(None);
    };
    let zone = crate::settings::calendar(conn)?.local().time_zone;
    let pattern = CronPattern::parse("trigger.cron", &cron, after, zone)
        .map_err(|violation| AppError::Internal(format!("stored cron pattern: {violation:?}")))?;
    let Some(at) = pattern.next_after(after, zone) else {
        return Ok(None);
    };
    let occurrence = ScheduleOccurrence {
        workflow_id: row.id.0,
        version: row.version,
        at,
    };
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: WORKFLOW_SCHEDULE,
            payload: serde_json::to_value(&occurrence)
                .map_err(|err| AppError::Internal(err.to_string()))?,
            run_at: at,
            max_attempts: 5,
            created_by: None,
        },
        &format!(
            "{WORKFLOW_SCHEDULE}:{}:{}:{}",
            row.id.0,
            row.version,
            at.to_rfc3339()
        ),
    )?;
    Ok(Some(at))
}

/// Queues the next occurrence of every active schedule-triggered workflow (each
/// process at start); answers how many workflows have one.
pub fn schedule_all(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let mut queued = 0;
    for row in persistence::workflows::active_of_kind(conn, "schedule")? {
        queued += usize::from(queue_schedule(conn, &row, now)?.is_some());
    }
    Ok(queued)
}

/// The subjects an occurrence of a schedule-triggered workflow is for.
enum Matching {
    Customers(ResolvedFilter),
    Leads(Option<ResolvedFilter>),
}

/// Runs an occurrence of a schedule-triggered workflow: a run for every customer (or
/// lead not converted) that meets its condition now (a page per transaction, none in
/// memory all at once), then the next occurrence queued. An occurrence of a workflow
/// deleted, switched off or changed since it was queued does nothing. Idempotent: the
/// occurrence is the instant and the subject.
pub fn on_schedule(conn: &mut DbConnection, occurrence: &ScheduleOccurrence) -> AppResult<Value> {
    let row = match persistence::workflows::find(conn, occurrence.workflow_id) {
        Err(persistence::PersistenceError::NotFound) => {
            return Ok(json!({"skipped": "the workflow was deleted"}))
        }
        other => other?,
    };
    if !row.active || row.version != occurrence.version {
        return Ok(json!({"skipped": "the workflow was changed or switched off"}));
    }
    let input = super::definition_of(&row.definition)?;
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    // Who the occurrence is for: customers (never the erased) or leads meeting the
    // condition, if there is one.
    let matching = match (&input.condition, input.subject) {
        (Some(condition), WorkflowSubject::Customer) => {
            Matching::Customers(crate::segments::live_filter(conn, condition, &context)?)
        }
        (None, WorkflowSubject::Customer) => Matching::Customers(ResolvedFilter::Condition {
            field: "erased_at",
            predicate: Predicate::IsNull(true),
        }),
        (condition, WorkflowSubject::Lead) => Matching::Leads(
            condition
                .as_ref()
                .map(|condition| super::lead_filter(conn, condition, &context))
                .transpose()?,
        ),
    };
    let acting = Acting::system(Lang::En);
    let at = occurrence.at.to_rfc3339();
    let mut started = 0;
    let mut after = None;
    loop {
        let subjects = match &matching {
            Matching::Customers(filter) => {
                persistence::workflows::customers_matching(conn, filter, after, DATE_PAGE)?
            }
            Matching::Leads(filter) => {
                persistence::workflows::leads_matching(conn, filter.as_ref(), after, DATE_PAGE)?
            }
        };
        let Some(last) = subjects.last().copied() else {
            break;
        };
        let page = subjects.len();
        started += transaction(conn, |conn| {
            let starts = subjects
                .iter()
                .map(|id| Start {
                    workflow: &row,
                    subject: RunSubject::new(input.subject, *id),
                    occurrence: format!("schedule:{at}:{id}"),
                    cause: json!({"schedule": input.trigger.key(), "at": occurrence.at}),
                })
                .collect();
            start(conn, &acting, starts)
        })?;
        after = Some(last);
        if (page as i64) < DATE_PAGE {
            break;
        }
    }
    let next = queue_schedule(conn, &row, occurrence.at.max(persistence::now()))?;
    Ok(json!({"runs_started": started, "next_run_at": next}))
}

/// Schedules the date job at the coming midnight in the business time zone, once per
/// day however many processes ask; answers its start.
pub fn schedule_dates(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let local = crate::settings::calendar(conn)?.local();
    let tomorrow = local.today(now) + Days::new(1);
    let run_at = local
        .start_of_day(tomorrow)
        .unwrap_or(now + chrono::TimeDelta::days(1));
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: WORKFLOW_DATES,
            payload: json!({}),
            run_at,
            max_attempts: 5,
            created_by: None,
        },
        &format!("{WORKFLOW_DATES}:{tomorrow}"),
    )?;
    Ok(run_at)
}
