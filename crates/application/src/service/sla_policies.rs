//! SLA policies (V-2) as the business configures them (`crm:configure`; read with
//! `records:read`), at most [`MAX_POLICIES`]. A policy's condition is checked against
//! the ticket search catalogue when saved (a bad field or operator is a 422 naming its
//! path under `condition`) and stored as written; [`choose`] resolves it now and asks
//! the database whether a ticket meets it, so a policy means what the same filter
//! means in a ticket search.

use domain::authz::Permission;
use domain::filter::ResolveContext;
use domain::service::sla::{SlaPolicyInput, Targets, MAX_POLICIES};
use domain::service::surveys::CsatAction;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sla_policies::SlaPolicyRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde_json::json;
use uuid::Uuid;

use super::ticket_catalogue;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::search::resolve_condition;
use crate::transaction;

/// Minutes as stored: the domain caps them far below `i32::MAX`.
fn stored(minutes: Option<u32>) -> Option<i32> {
    minutes.map(|m| i32::try_from(m).unwrap_or(i32::MAX))
}

fn read(minutes: Option<i32>) -> Option<u32> {
    minutes.and_then(|m| u32::try_from(m).ok())
}

/// The document a merge patch of a policy applies to.
pub fn input_of(row: &SlaPolicyRow) -> SlaPolicyInput {
    SlaPolicyInput {
        name: row.name.clone(),
        position: row.position,
        condition: row.condition.as_ref().map(|c| c.0.clone()),
        first_response_minutes: read(row.first_response_minutes),
        next_response_minutes: read(row.next_response_minutes),
        resolution_minutes: read(row.resolution_minutes),
        pickup_minutes: read(row.pickup_minutes),
        max_reassignments: u32::try_from(row.max_reassignments).unwrap_or(0),
        raise_priority_on_breach: row.raise_priority_on_breach,
        active: row.active,
        csat_threshold: row.csat_threshold,
        csat_action: CsatAction::parse(&row.csat_action).unwrap_or_default(),
    }
}

/// A stored policy's targets.
pub fn targets_of(row: &SlaPolicyRow) -> Targets {
    input_of(row).targets()
}

/// `input` checked: its own fields, and its condition against the ticket catalogue
/// (with the ticket custom fields).
fn checked(conn: &mut DbConnection, input: SlaPolicyInput) -> AppResult<SlaPolicyInput> {
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    let catalogue = ticket_catalogue::catalogue(conn)?;
    let condition = match &input.condition {
        Some(condition) => resolve_condition(condition, &catalogue, &context).map(|_| ()),
        None => Ok(()),
    };
    match (input.validated(), condition) {
        (Ok(input), Ok(())) => Ok(input),
        (Err(mut violations), Err(more)) => {
            violations.extend(more);
            Err(AppError::Invalid(violations))
        }
        (Err(violations), _) | (_, Err(violations)) => Err(AppError::Invalid(violations)),
    }
}

fn write(row: SlaPolicyRow, input: SlaPolicyInput) -> SlaPolicyRow {
    SlaPolicyRow {
        name: input.name,
        position: input.position,
        condition: input.condition.map(DbJson),
        first_response_minutes: stored(input.first_response_minutes),
        next_response_minutes: stored(input.next_response_minutes),
        resolution_minutes: stored(input.resolution_minutes),
        pickup_minutes: stored(input.pickup_minutes),
        max_reassignments: i32::try_from(input.max_reassignments).unwrap_or(0),
        raise_priority_on_breach: input.raise_priority_on_breach,
        active: input.active,
        csat_threshold: input.csat_threshold,
        csat_action: input.csat_action.as_str().to_string(),
        ..row
    }
}

/// Adds a policy (`crm:configure`). Tickets already open keep the policy they have.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: SlaPolicyInput,
) -> AppResult<SlaPolicyRow> {
    acting.require(Permission::CrmConfigure)?;
    let input = checked(conn, input)?;
    transaction(conn, |conn| {
        if persistence::sla_policies::count(conn)? >= MAX_POLICIES as i64 {
            return Err(AppError::Conflict(format!(
                "there are {MAX_POLICIES} SLA policies, the most there may be; change or delete one"
            )));
        }
        let now = DbTime(persistence::now());
        let row = write(
            SlaPolicyRow {
                id: DbUuid(Uuid::now_v7()),
                name: String::new(),
                position: 0,
                condition: None,
                first_response_minutes: None,
                next_response_minutes: None,
                resolution_minutes: None,
                pickup_minutes: None,
                max_reassignments: 0,
                raise_priority_on_breach: false,
                active: true,
                csat_threshold: None,
                csat_action: CsatAction::default().as_str().to_string(),
                created_at: now,
                updated_at: now,
                version: 1,
            },
            input,
        );
        persistence::sla_policies::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "sla_policy.create",
            "sla_policy",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Every policy by position (`records:read`): there are at most [`MAX_POLICIES`].
pub fn list(conn: &mut DbConnection, acting: &Acting) -> AppResult<Vec<SlaPolicyRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::sla_policies::ordered(conn, false)?)
}

/// A policy (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<SlaPolicyRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::sla_policies::find(conn, id)?)
}

/// Changes a policy (`crm:configure`): new targets apply to tickets as they are next
/// created or changed, never silently to due times already promised.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&SlaPolicyInput) -> AppResult<SlaPolicyInput>,
) -> AppResult<SlaPolicyRow> {
    acting.require(Permission::CrmConfigure)?;
    let current = persistence::sla_policies::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = checked(conn, edit(&input_of(&current))?)?;
    transaction(conn, |conn| {
        // Refused as stale when the policy changed since it was read above.
        let row = persistence::sla_policies::update(conn, &write(current.clone(), after))?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "sla_policy.update",
            "sla_policy",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a policy (`crm:configure`); its tickets keep their due times and breaches
/// but no longer name it.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::sla_policies::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::sla_policies::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "sla_policy.delete",
            "sla_policy",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// The first active policy (by position) whose condition the stored ticket `id`
/// meets, resolved now.
pub fn choose(conn: &mut DbConnection, ticket: Uuid) -> AppResult<Option<SlaPolicyRow>> {
    let policies = persistence::sla_policies::ordered(conn, true)?;
    if policies.is_empty() {
        return Ok(None);
    }
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    let catalogue = ticket_catalogue::catalogue(conn)?;
    for policy in policies {
        let Some(condition) = &policy.condition else {
            return Ok(Some(policy));
        };
        // A condition checked when saved stops fitting only if a custom field it names
        // was deleted; such a policy is passed over (and logged), not failing tickets.
        match resolve_condition(&condition.0, &catalogue, &context) {
            Ok(resolved) => {
                if persistence::tickets::matches(conn, ticket, &resolved)? {
                    return Ok(Some(policy));
                }
            }
            Err(problems) => tracing::warn!(
                policy = %policy.id.0,
                problems = problems.len(),
                "SLA policy no longer fits the ticket catalogue; passed over"
            ),
        }
    }
    Ok(None)
}
