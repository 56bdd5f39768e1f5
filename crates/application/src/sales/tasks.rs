//! Tasks (S-7): creating, reading, changing, deleting and searching them, and their
//! reminders.
//!
//! **Visibility.** A task is seen (and changed) by its assignee, by the assignee's team
//! under `team` visibility, and by whoever may see its subject record; a caller with
//! `all` visibility sees every task. A task outside that answers exactly like a missing
//! one.
//!
//! **Reminders** are durable jobs (`tasks.reminder`), one per offset, queued in the
//! transaction that sets the due time, at `due_at − offset`. Every change of the task
//! cancels its queued reminders and queues those of the new version (occurrence keys
//! carry the version), and the job itself checks that the task is still open and still
//! due when it was, so a reminder fires once and only while it means something. The
//! notification it writes carries a key of the task, offset and due time, so a job run
//! twice (a worker that died after writing it) notifies once.

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::calendar::LocalCalendar;
use domain::filter::{FieldKind, FieldSpec, Predicate, ResolvedFilter, TypedValue};
use domain::notifications::{Link, LinkType, NotificationKind, Texts};
use domain::sales::tasks::{
    local_rfc3339, reminder_times, CheckedTask, Subject, TaskInput, TaskKind, TaskPriority,
    TaskStatus,
};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::tasks::{TaskColumns, TaskRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::subjects;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::notifications::{notify, notify_assigned};
use crate::precondition::Precondition;
use crate::search::{Search, Searchable};
use crate::transaction;

/// The job kind of a task reminder.
pub const TASK_REMINDER: &str = "tasks.reminder";

/// The tasks catalogue of the search convention.
pub struct TaskSearch;

impl Searchable for TaskSearch {
    type Columns = TaskColumns;
    type Row = TaskRow;

    // Sortable fields have an index ending in (…, id).
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("kind", FieldKind::Enum(TaskKind::NAMES)),
        FieldSpec::new("title", FieldKind::Text),
        FieldSpec::new("customer_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("lead_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("deal_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("assignee_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("due_at", FieldKind::Timestamp)
            .nullable()
            .sortable(),
        // Open and due before now: spelled as conditions on `status` and `due_at`.
        FieldSpec::new("overdue", FieldKind::Bool),
        FieldSpec::new("priority", FieldKind::Enum(TaskPriority::NAMES)),
        FieldSpec::new("status", FieldKind::Enum(TaskStatus::NAMES)),
        FieldSpec::new("completed_at", FieldKind::Timestamp).nullable(),
        FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("updated_at", FieldKind::Timestamp),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &["title"];

    fn sort_value(row: &TaskRow, field: &str) -> Option<TypedValue> {
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "due_at" => TypedValue::Timestamp(row.due_at?.0),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            _ => return None,
        })
    }

    fn id(row: &TaskRow) -> Uuid {
        row.id.0
    }
}

/// A stored task as the input that would write it again (the document a merge patch
/// applies to), its due time in the business time zone.
pub fn input_of(row: &TaskRow, calendar: &LocalCalendar) -> AppResult<TaskInput> {
    let corrupt = |what: &str| AppError::Internal(format!("stored task {}: {what}", row.id.0));
    let subject = subjects::of_columns(row.customer_id, row.lead_id, row.deal_id);
    Ok(TaskInput {
        kind: TaskKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
        title: row.title.clone(),
        description: row.description.clone(),
        subject_type: subject.map(|subject| subject.kind),
        subject_id: subject.map(|subject| subject.id),
        assignee_id: row.assignee_id.map(|id| id.0),
        team_id: row.team_id.map(|id| id.0),
        due_at: row.due_at.map(|at| local_rfc3339(at.0, calendar)),
        priority: TaskPriority::parse(&row.priority).ok_or_else(|| corrupt("priority"))?,
        reminders: row.reminder_offsets()?,
        status: TaskStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
        outcome: row.outcome.clone(),
    })
}

/// `row` with the fields of `checked`, completed at `now` when it closes.
fn write_input(mut row: TaskRow, checked: &CheckedTask, now: DateTime<Utc>) -> TaskRow {
    let input = &checked.input;
    let [customer, lead, deal] = subjects::columns(checked.subject);
    row.kind = input.kind.as_str().to_string();
    row.title = input.title.clone();
    row.description = input.description.clone();
    row.customer_id = customer;
    row.lead_id = lead;
    row.deal_id = deal;
    row.assignee_id = input.assignee_id.map(DbUuid);
    row.team_id = input.team_id.map(DbUuid);
    row.due_at = checked.due_at.map(DbTime);
    row.priority = input.priority.as_str().to_string();
    row.reminders = DbJson(json!(input.reminders));
    row.completed_at = match (input.status, row.completed_at) {
        (TaskStatus::Open, _) => None,
        (_, Some(at)) if row.status != TaskStatus::Open.as_str() => Some(at),
        _ => Some(DbTime(now)),
    };
    row.status = input.status.as_str().to_string();
    row.outcome = input.outcome.clone();
    row
}

/// The assignee must be a user the caller may look up (or the one the task has), and
/// the caller may hand tasks to others only as it may hand records to them
/// (`customers::assignment_violations`); the team must exist.
fn check_assignment(
    conn: &mut DbConnection,
    acting: &Acting,
    input: &TaskInput,
    held: Option<&TaskRow>,
) -> AppResult<()> {
    let mut v = domain::validation::Violations::default();
    let held_assignee = held.and_then(|row| row.assignee_id).map(|id| id.0);
    let held_team = held.and_then(|row| row.team_id).map(|id| id.0);
    if let Some(assignee) = input.assignee_id {
        let known = persistence::users::teams_of(conn, &[assignee])?.contains_key(&assignee);
        let hidden = !acting.reads_users()
            && Some(assignee) != acting.user_id
            && Some(assignee) != held_assignee;
        if !known || hidden {
            v.push("assignee_id", "not_found", "no user with this id");
        }
    }
    if let Some(team) = input.team_id {
        if persistence::teams::existing_ids(conn, &[team])?.is_empty() {
            v.push("team_id", "not_found", "no team with this id");
        }
    }
    if v.is_empty() && (input.assignee_id != held_assignee || input.team_id != held_team) {
        let found = crate::customers::assignment_violations(
            conn,
            acting,
            &[(input.assignee_id, input.team_id)],
            "tasks",
        )?;
        for mut violation in found.into_iter().flat_map(|found| found.0) {
            if violation.field == "owner_id" {
                violation.field = "assignee_id".into();
            }
            v.0.push(violation);
        }
    }
    v.into_result().map_err(AppError::Invalid)
}

/// Assignee (the caller) and team (the assignee's) of a task that names none.
fn apply_defaults(
    conn: &mut DbConnection,
    acting: &Acting,
    input: &mut TaskInput,
) -> AppResult<()> {
    if input.assignee_id.is_none() {
        input.assignee_id = acting.user_id;
    }
    if input.team_id.is_none() {
        if let Some(assignee) = input.assignee_id {
            input.team_id = persistence::users::teams_of(conn, &[assignee])?
                .get(&assignee)
                .copied()
                .flatten();
        }
    }
    Ok(())
}

/// Whether the caller may see (and so change) `row`: its assignee, the assignee's team
/// under `team` visibility, or whoever sees its subject.
pub fn can_see(conn: &mut DbConnection, acting: &Acting, row: &TaskRow) -> AppResult<bool> {
    let scope = acting.scope();
    if domain::authz::can_see(
        scope.visibility,
        scope.user_id,
        scope.team_id,
        row.assignee_id.map(|id| id.0),
        row.team_id.map(|id| id.0),
    ) {
        return Ok(true);
    }
    let subject = subjects::of_columns(row.customer_id, row.lead_id, row.deal_id);
    subjects::visible_subject(conn, acting, subject)
}

/// The task `id` if the caller may see it; any other is not found.
fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TaskRow> {
    let row = persistence::tasks::find(conn, id)?;
    if can_see(conn, acting, &row)? {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// The occurrence-key prefix of a task's reminders.
fn reminder_prefix(task: Uuid) -> String {
    format!("{TASK_REMINDER}:{task}:")
}

/// What a reminder job carries: the task, the offset and the due time it was computed
/// from, so that it can tell whether it still applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderPayload {
    pub task_id: Uuid,
    pub minutes_before: i64,
    pub due_at: DateTime<Utc>,
}

/// Cancels the task's queued reminders and, while it is open and due, queues those of
/// its current version (the past ones left out).
fn schedule_reminders(conn: &mut DbConnection, row: &TaskRow) -> AppResult<()> {
    persistence::jobs::cancel_queued_occurrences(conn, &reminder_prefix(row.id.0))?;
    let Some(due_at) = row.due_at.map(|at| at.0) else {
        return Ok(());
    };
    if row.status != TaskStatus::Open.as_str() {
        return Ok(());
    }
    for (minutes, at) in reminder_times(due_at, &row.reminder_offsets()?, persistence::now()) {
        let key = format!("{}v{}:{minutes}", reminder_prefix(row.id.0), row.version);
        let payload = ReminderPayload {
            task_id: row.id.0,
            minutes_before: minutes,
            due_at,
        };
        persistence::jobs::schedule(
            conn,
            NewJob {
                kind: TASK_REMINDER,
                payload: serde_json::to_value(&payload)
                    .map_err(|err| AppError::Internal(err.to_string()))?,
                run_at: at,
                max_attempts: 5,
                created_by: None,
            },
            &key,
        )?;
    }
    Ok(())
}

/// Tells the assignee of `row` about it when someone else gave it to them.
fn notify_assignee(conn: &mut DbConnection, acting: &Acting, row: &TaskRow) -> AppResult<()> {
    notify_assigned(
        conn,
        acting,
        row.assignee_id.map(|id| id.0),
        Texts::task_assigned(&row.title),
        Link {
            kind: LinkType::Task,
            id: row.id.0,
        },
    )
}

/// Creates a task (`records:write`) on a subject the caller may see (or none): the
/// assignee defaults to the caller, the team to the assignee's; an assignee other than
/// the caller is notified.
pub fn create(conn: &mut DbConnection, acting: &Acting, input: TaskInput) -> AppResult<TaskRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let calendar = crate::settings::calendar(conn)?.local();
        let mut checked = input.validated(&calendar).map_err(AppError::Invalid)?;
        if let Some(subject) = checked.subject {
            subjects::checked(conn, acting, subject)?;
        }
        apply_defaults(conn, acting, &mut checked.input)?;
        check_assignment(conn, acting, &checked.input, None)?;
        let now = persistence::now();
        let row = write_input(
            TaskRow {
                id: DbUuid(Uuid::now_v7()),
                kind: String::new(),
                title: String::new(),
                description: None,
                customer_id: None,
                lead_id: None,
                deal_id: None,
                assignee_id: None,
                team_id: None,
                due_at: None,
                priority: String::new(),
                reminders: DbJson(json!([])),
                status: TaskStatus::Open.as_str().to_string(),
                outcome: None,
                completed_at: None,
                created_by: acting.user_id.map(DbUuid),
                created_at: DbTime(now),
                updated_at: DbTime(now),
                version: 1,
            },
            &checked,
            now,
        );
        persistence::tasks::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "task.create",
            "task",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        schedule_reminders(conn, &row)?;
        notify_assignee(conn, acting, &row)?;
        Ok(row)
    })
}

/// A task a follow-up rule makes for a record's owner.
pub struct FollowUpTask {
    pub kind: TaskKind,
    pub title: String,
    pub subject: Subject,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
}

/// Creates the task of a follow-up rule inside the transaction of the change that
/// triggered it (audited as `task.create` by whoever made that change, whatever they
/// may assign) and tells its assignee.
pub fn create_follow_up(
    conn: &mut DbConnection,
    acting: &Acting,
    task: FollowUpTask,
) -> AppResult<TaskRow> {
    let now = DbTime(persistence::now());
    let [customer_id, lead_id, deal_id] = subjects::columns(Some(task.subject));
    let row = TaskRow {
        id: DbUuid(Uuid::now_v7()),
        kind: task.kind.as_str().to_string(),
        title: task.title,
        description: None,
        customer_id,
        lead_id,
        deal_id,
        assignee_id: task.assignee_id.map(DbUuid),
        team_id: task.team_id.map(DbUuid),
        due_at: Some(DbTime(task.due_at)),
        priority: TaskPriority::Normal.as_str().to_string(),
        reminders: DbJson(json!([])),
        status: TaskStatus::Open.as_str().to_string(),
        outcome: None,
        completed_at: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    persistence::tasks::insert(conn, &row)?;
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "task.create",
        "task",
        row.id.0,
        &json!({}),
        &row.audit_snapshot(),
    )?;
    if let Some(assignee) = task.assignee_id {
        notify(
            conn,
            assignee,
            NotificationKind::FollowUp,
            Texts::follow_up_task(&row.title),
            Some(Link {
                kind: LinkType::Task,
                id: row.id.0,
            }),
            None,
        )?;
    }
    Ok(row)
}

/// A task (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TaskRow> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, id)
}

/// Changes a task the caller may see (`records:write`) to what `edit` makes of its
/// document, checked as a new task's. Closing it (`done`, `cancelled`) records when;
/// reopening clears that and an outcome left unchanged. Its reminders follow the new
/// due time and status; a new assignee other than the caller is notified.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&TaskInput) -> AppResult<TaskInput>,
) -> AppResult<TaskRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::tasks::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        let calendar = crate::settings::calendar(conn)?.local();
        let before = input_of(&current, &calendar)?;
        let mut after = edit(&before)?;
        if after.status == TaskStatus::Open
            && before.status != TaskStatus::Open
            && after.outcome == before.outcome
        {
            after.outcome = None;
        }
        if after.assignee_id.is_none() {
            after.assignee_id = before.assignee_id;
        }
        let checked = after.validated(&calendar).map_err(AppError::Invalid)?;
        let held_subject =
            subjects::of_columns(current.customer_id, current.lead_id, current.deal_id);
        if let Some(subject) = checked
            .subject
            .filter(|subject| Some(*subject) != held_subject)
        {
            subjects::checked(conn, acting, subject)?;
        }
        check_assignment(conn, acting, &checked.input, Some(&current))?;
        let row = persistence::tasks::update(
            conn,
            &write_input(current.clone(), &checked, persistence::now()),
        )?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "task.update",
            "task",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        schedule_reminders(conn, &row)?;
        if row.assignee_id != current.assignee_id {
            notify_assignee(conn, acting, &row)?;
        }
        Ok(row)
    })
}

/// Deletes a task the caller may see (`records:delete`), with its queued reminders.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::RecordsDelete)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::tasks::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::tasks::delete(conn, id)?;
        persistence::jobs::cancel_queued_occurrences(conn, &reminder_prefix(id))?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "task.delete",
            "task",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// `filter` with every `overdue` condition spelled as what it means at `now`: open and
/// due before now (or, negated, anything else).
fn spell_overdue(filter: ResolvedFilter, now: DateTime<Utc>) -> ResolvedFilter {
    let condition = |field: &'static str, predicate| ResolvedFilter::Condition { field, predicate };
    match filter {
        ResolvedFilter::And(nodes) => ResolvedFilter::And(
            nodes
                .into_iter()
                .map(|node| spell_overdue(node, now))
                .collect(),
        ),
        ResolvedFilter::Or(nodes) => ResolvedFilter::Or(
            nodes
                .into_iter()
                .map(|node| spell_overdue(node, now))
                .collect(),
        ),
        ResolvedFilter::Condition {
            field: "overdue",
            predicate,
        } => {
            let overdue = match predicate {
                Predicate::Eq(TypedValue::Bool(flag)) => flag,
                Predicate::Neq(TypedValue::Bool(flag)) => !flag,
                // The catalogue offers `overdue` only `eq` and `neq` with a boolean.
                other => {
                    return ResolvedFilter::Condition {
                        field: "overdue",
                        predicate: other,
                    }
                }
            };
            let open = || TypedValue::Text(TaskStatus::Open.as_str().to_string());
            if overdue {
                ResolvedFilter::And(vec![
                    condition("status", Predicate::Eq(open())),
                    condition("due_at", Predicate::Lt(TypedValue::Timestamp(now))),
                ])
            } else {
                ResolvedFilter::Or(vec![
                    condition("status", Predicate::Neq(open())),
                    condition("due_at", Predicate::IsNull(true)),
                    condition("due_at", Predicate::Gte(TypedValue::Timestamp(now))),
                ])
            }
        }
        other => other,
    }
}

/// The next page of a task search (`records:read`) over the tasks the caller may see.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<TaskSearch>,
) -> AppResult<Vec<TaskRow>> {
    acting.require(Permission::RecordsRead)?;
    let mut criteria = search.criteria.clone();
    if let Some(filter) = criteria.filter.take() {
        criteria.filter = Some(spell_overdue(filter, persistence::now()));
    }
    Ok(persistence::tasks::search(
        conn,
        &criteria,
        &acting.scope(),
        search.after.as_ref(),
        search.fetch_limit(),
    )?)
}

/// Runs the reminder `payload` names, as its job does when it comes: notifies the
/// task's assignee once, if the task is still open, still due at the same time and
/// still reminds at that offset. Answers what happened, for the job's result.
pub fn fire_reminder(conn: &mut DbConnection, payload: &ReminderPayload) -> AppResult<Value> {
    transaction(conn, |conn| {
        let row = match persistence::tasks::find(conn, payload.task_id) {
            Ok(row) => row,
            Err(persistence::PersistenceError::NotFound) => {
                return Ok(json!({"skipped": "the task was deleted"}))
            }
            Err(other) => return Err(other.into()),
        };
        let current = row.status == TaskStatus::Open.as_str()
            && row.due_at.map(|at| at.0) == Some(payload.due_at)
            && row.reminder_offsets()?.contains(&payload.minutes_before);
        if !current {
            return Ok(json!({"skipped": "the task was closed or rescheduled"}));
        }
        let Some(assignee) = row.assignee_id else {
            return Ok(json!({"skipped": "the task has no assignee"}));
        };
        let key = format!(
            "{TASK_REMINDER}:{}:{}:{}",
            row.id.0,
            payload.minutes_before,
            payload.due_at.timestamp()
        );
        let notified = notify(
            conn,
            assignee.0,
            NotificationKind::Reminder,
            Texts::task_reminder(&row.title, payload.minutes_before),
            Some(Link {
                kind: LinkType::Task,
                id: row.id.0,
            }),
            Some(key),
        )?;
        Ok(json!({"notified": notified}))
    })
}
