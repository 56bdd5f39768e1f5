//! Lead scoring rules (S-2) as the business configures them (`crm:configure`; read with
//! `records:read`): a name, a condition over the lead search catalogue, points and an
//! active flag, at most [`MAX_RULES`]. A condition is checked against the catalogue when
//! saved (a bad field or operator is a 422 naming its path under `condition`) and stored
//! as written. Every change queues a `lead_scoring.rescore` job in its transaction, which
//! recounts every lead's points, so a change over many leads does not hold the request.

use domain::authz::Permission;
use domain::filter::ResolveContext;
use domain::sales::lead_scoring::{LeadScoringRuleInput, MAX_RULES};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::jobs::Job;
use persistence::lead_scoring::LeadScoringRuleRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde_json::json;
use uuid::Uuid;

use super::lead_scoring::{self, Recount};
use super::leads::LeadSearch;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::jobs::queue;
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::search::resolve_condition;
use crate::search::Searchable;
use crate::transaction;

/// Job kind of a recount of every lead's points.
pub const LEAD_RESCORE: &str = "lead_scoring.rescore";

/// Attempts of a recount: it is one transaction, so a retry starts clean.
const RESCORE_MAX_ATTEMPTS: i32 = 3;

/// The document a merge patch of a rule applies to.
pub fn rule_input(row: &LeadScoringRuleRow) -> LeadScoringRuleInput {
    LeadScoringRuleInput {
        name: row.name.clone(),
        condition: row.condition.0.clone(),
        points: row.points,
        active: row.active,
    }
}

/// `input` checked: its name and points, and its condition against the catalogue.
fn checked(
    conn: &mut DbConnection,
    input: LeadScoringRuleInput,
) -> AppResult<LeadScoringRuleInput> {
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    let catalogue = lead_scoring::rule_catalogue(LeadSearch::CATALOGUE);
    let condition = resolve_condition(&input.condition, &catalogue, &context);
    match (input.validated(), condition) {
        (Ok(input), Ok(_)) => Ok(input),
        (Err(mut violations), Err(more)) => {
            violations.extend(more);
            Err(AppError::Invalid(violations))
        }
        (Err(violations), _) | (_, Err(violations)) => Err(AppError::Invalid(violations)),
    }
}

/// Queues the recount of every lead's points, in the caller's transaction.
fn queue_rescore(conn: &mut DbConnection, acting: &Acting) -> AppResult<Job> {
    queue::enqueue(conn, acting, LEAD_RESCORE, json!({}), RESCORE_MAX_ATTEMPTS)
}

/// Queues a recount of every lead's points (`crm:configure`), e.g. after rules on
/// relative dates ("created in the last 7 days") have aged.
pub fn rescore(conn: &mut DbConnection, acting: &Acting) -> AppResult<Job> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| queue_rescore(conn, acting))
}

/// Recounts every lead's points in one transaction (the `lead_scoring.rescore` job).
pub fn recount(conn: &mut DbConnection) -> AppResult<Recount> {
    transaction(conn, |conn| {
        lead_scoring::rescore_all(conn, LeadSearch::CATALOGUE)
    })
}

/// Adds a rule (`crm:configure`) and queues the recount; answers both.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: LeadScoringRuleInput,
) -> AppResult<(LeadScoringRuleRow, Job)> {
    acting.require(Permission::CrmConfigure)?;
    let input = checked(conn, input)?;
    transaction(conn, |conn| {
        if persistence::lead_scoring::count(conn)? >= MAX_RULES {
            return Err(AppError::Conflict(format!(
                "there are {MAX_RULES} scoring rules, the most there may be; change or delete one"
            )));
        }
        let now = DbTime(persistence::now());
        let row = LeadScoringRuleRow {
            id: DbUuid(Uuid::now_v7()),
            name: input.name,
            condition: DbJson(input.condition),
            points: input.points,
            active: input.active,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::lead_scoring::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead_scoring_rule.create",
            "lead_scoring_rule",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        let job = queue_rescore(conn, acting)?;
        Ok((row, job))
    })
}

/// A rule (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<LeadScoringRuleRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::lead_scoring::find(conn, id)?)
}

/// One page of rules in creation order (`records:read`).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<LeadScoringRuleRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::lead_scoring::list(
        conn,
        created_after(cursor)?,
        limit,
    )?)
}

/// Changes a rule (`crm:configure`): `edit` turns its document into the new one,
/// checked as a new rule's; queues the recount and answers both.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&LeadScoringRuleInput) -> AppResult<LeadScoringRuleInput>,
) -> AppResult<(LeadScoringRuleRow, Job)> {
    acting.require(Permission::CrmConfigure)?;
    let current = persistence::lead_scoring::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = checked(conn, edit(&rule_input(&current))?)?;
    transaction(conn, |conn| {
        let mut row = current.clone();
        row.name = after.name;
        row.condition = DbJson(after.condition);
        row.points = after.points;
        row.active = after.active;
        // Refused as stale when the rule changed since it was read above.
        let row = persistence::lead_scoring::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead_scoring_rule.update",
            "lead_scoring_rule",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        let job = queue_rescore(conn, acting)?;
        Ok((row, job))
    })
}

/// Deletes a rule (`crm:configure`) and queues the recount; answers the job.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<Job> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::lead_scoring::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::lead_scoring::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead_scoring_rule.delete",
            "lead_scoring_rule",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        queue_rescore(conn, acting)
    })
}
