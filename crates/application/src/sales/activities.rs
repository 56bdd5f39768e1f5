//! Activities (S-7): logging what happened with a customer, a lead or a deal, reading,
//! searching, correcting and deleting it. Visibility is a task's: the performer, the performer's
//! team under `team` visibility, and whoever may see the subject record.
//!
//! Logging an activity is contact: on a deal it moves `last_activity_at` forward (so the
//! deal is no longer stuck), and a lead still `new` becomes `contacted`, both in the
//! same transaction and audited as changes of those records.

use domain::authz::Permission;
use domain::calendar::LocalCalendar;
use domain::filter::{FieldKind, FieldSpec, TypedValue};
use domain::sales::activities::{ActivityInput, ActivityKind, Direction};
use domain::sales::leads::LeadStatus;
use domain::sales::tasks::{local_rfc3339, Subject, SubjectType};
use domain::validation::FieldViolation;
use persistence::activities::{ActivityColumns, ActivityRow};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use serde_json::json;
use uuid::Uuid;

use super::subjects;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::search::{Search, Searchable};
use crate::transaction;

/// The activities catalogue of the search convention.
pub struct ActivitySearch;

impl Searchable for ActivitySearch {
    type Columns = ActivityColumns;
    type Row = ActivityRow;

    // Sortable fields have an index ending in (…, id).
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("kind", FieldKind::Enum(ActivityKind::NAMES)),
        FieldSpec::new("customer_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("lead_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("deal_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("occurred_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("direction", FieldKind::Enum(Direction::NAMES)).nullable(),
        FieldSpec::new("outcome", FieldKind::Text).nullable(),
        FieldSpec::new("performed_by", FieldKind::Uuid).nullable(),
        FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &["outcome"];

    fn sort_value(row: &ActivityRow, field: &str) -> Option<TypedValue> {
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "occurred_at" => TypedValue::Timestamp(row.occurred_at.0),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            _ => return None,
        })
    }

    fn id(row: &ActivityRow) -> Uuid {
        row.id.0
    }
}

/// The record an activity row is about.
pub fn subject_of(row: &ActivityRow) -> AppResult<Subject> {
    subjects::of_columns(row.customer_id, row.lead_id, row.deal_id)
        .ok_or_else(|| AppError::Internal(format!("activity {} has no subject", row.id.0)))
}

/// Whether the caller may see `row`: its performer, the performer's team under `team`
/// visibility, or whoever sees its subject.
pub fn can_see(conn: &mut DbConnection, acting: &Acting, row: &ActivityRow) -> AppResult<bool> {
    let scope = acting.scope();
    if domain::authz::can_see(
        scope.visibility,
        scope.user_id,
        scope.team_id,
        row.performed_by.map(|id| id.0),
        row.team_id.map(|id| id.0),
    ) {
        return Ok(true);
    }
    subjects::visible_subject(conn, acting, Some(subject_of(row)?))
}

fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ActivityRow> {
    let row = persistence::activities::find(conn, id)?;
    if can_see(conn, acting, &row)? {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// What logging contact does to the subject: a deal's last activity moves forward, a
/// new lead becomes contacted.
fn touch_subject(conn: &mut DbConnection, acting: &Acting, row: &ActivityRow) -> AppResult<()> {
    let subject = subject_of(row)?;
    match subject.kind {
        SubjectType::Deal => {
            let at = row.occurred_at.0.min(persistence::now());
            persistence::deals::record_activity(conn, subject.id, at)?;
        }
        SubjectType::Lead => {
            let lead = persistence::leads::find_for_update(conn, subject.id)?;
            if lead.status == LeadStatus::New.as_str() {
                let mut contacted = lead.clone();
                contacted.status = LeadStatus::Contacted.as_str().to_string();
                let contacted = persistence::leads::update(conn, &contacted)?;
                audit::record_change(
                    conn,
                    &acting.audit_actor(),
                    "lead.update",
                    "lead",
                    subject.id,
                    &lead.audit_snapshot(),
                    &contacted.audit_snapshot(),
                )?;
            }
        }
        SubjectType::Customer => {}
    }
    Ok(())
}

/// Logs an activity (`records:write`) on a subject the caller may see, performed by the
/// caller.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: ActivityInput,
) -> AppResult<ActivityRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let calendar = crate::settings::calendar(conn)?.local();
        let now = persistence::now();
        let checked = input.validated(&calendar, now).map_err(AppError::Invalid)?;
        subjects::checked(conn, acting, checked.subject)?;
        let [customer_id, lead_id, deal_id] = subjects::columns(Some(checked.subject));
        let input = checked.input;
        let row = ActivityRow {
            id: DbUuid(Uuid::now_v7()),
            kind: input.kind.as_str().to_string(),
            customer_id,
            lead_id,
            deal_id,
            occurred_at: DbTime(checked.occurred_at),
            duration_minutes: input.duration_minutes,
            direction: input
                .direction
                .map(|direction| direction.as_str().to_string()),
            outcome: input.outcome,
            notes: input.notes,
            performed_by: acting.user_id.map(DbUuid),
            team_id: acting.team_id.map(DbUuid),
            created_at: DbTime(now),
            updated_at: DbTime(now),
            version: 1,
        };
        persistence::activities::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "activity.create",
            "activity",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        touch_subject(conn, acting, &row)?;
        Ok(row)
    })
}

/// An activity (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ActivityRow> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, id)
}

/// A stored activity as the input that would log it again (the merge-patch document),
/// `occurred_at` in the business time zone with its offset.
pub fn input_of(row: &ActivityRow, calendar: &LocalCalendar) -> AppResult<ActivityInput> {
    let corrupt = |what: &str| AppError::Internal(format!("stored activity {}: {what}", row.id.0));
    let subject = subject_of(row)?;
    Ok(ActivityInput {
        kind: ActivityKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
        subject_type: subject.kind,
        subject_id: subject.id,
        occurred_at: local_rfc3339(row.occurred_at.0, calendar),
        duration_minutes: row.duration_minutes,
        direction: match &row.direction {
            Some(direction) => {
                Some(Direction::parse(direction).ok_or_else(|| corrupt("direction"))?)
            }
            None => None,
        },
        outcome: row.outcome.clone(),
        notes: row.notes.clone(),
    })
}

/// Corrects an activity the caller may see (`records:write`, as logging one) to what
/// `edit` makes of its document, checked as a new activity's. Its record stays: an
/// activity moved to another record would leave the first one's contact history and
/// last activity telling of a contact that was not theirs. A later `occurred_at` moves a
/// deal's last activity forward, as logging does; who logged it stays.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&ActivityInput) -> AppResult<ActivityInput>,
) -> AppResult<ActivityRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::activities::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        let calendar = crate::settings::calendar(conn)?.local();
        let before = input_of(&current, &calendar)?;
        let checked = edit(&before)?
            .validated(&calendar, persistence::now())
            .map_err(AppError::Invalid)?;
        let held = subject_of(&current)?;
        let mut moved = Vec::new();
        if checked.subject.kind != held.kind {
            moved.push(FieldViolation::new(
                "subject_type",
                "immutable",
                "an activity stays with its record",
            ));
        }
        if checked.subject.id != held.id {
            moved.push(FieldViolation::new(
                "subject_id",
                "immutable",
                "an activity stays with its record",
            ));
        }
        if !moved.is_empty() {
            return Err(AppError::Invalid(moved));
        }
        let input = checked.input;
        let mut row = current.clone();
        row.kind = input.kind.as_str().to_string();
        row.occurred_at = DbTime(checked.occurred_at);
        row.duration_minutes = input.duration_minutes;
        row.direction = input
            .direction
            .map(|direction| direction.as_str().to_string());
        row.outcome = input.outcome;
        row.notes = input.notes;
        let row = persistence::activities::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "activity.update",
            "activity",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        if row.occurred_at != current.occurred_at {
            touch_subject(conn, acting, &row)?;
        }
        Ok(row)
    })
}

/// Deletes an activity the caller may see (`records:delete`); what it did to its
/// subject (a lead contacted, a deal's last activity) stays.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::RecordsDelete)?;
    transaction(conn, |conn| {
        let current = visible(conn, acting, id)?;
        precondition.check(id, current.version)?;
        persistence::activities::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "activity.delete",
            "activity",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// The next page of an activity search (`records:read`) over the activities the caller
/// may see.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<ActivitySearch>,
) -> AppResult<Vec<ActivityRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::activities::search(
        conn,
        &search.criteria,
        &acting.scope(),
        search.after.as_ref(),
        search.fetch_limit(),
    )?)
}
