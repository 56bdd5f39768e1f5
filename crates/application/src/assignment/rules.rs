//! Assignment rules (`crm:configure` to change, `records:read` to read): the business's
//! ordered list per record kind. A rule's condition is a filter tree over the kind's
//! search catalogue, checked when saved and resolved (relative dates against now) when
//! a record is matched.

use domain::assignment::{RecordKind, RuleInput, Strategy, Target, MAX_RULES};
use domain::authz::Permission;
use domain::filter::{FieldSpec, ResolveContext, ResolvedFilter};
use domain::validation::FieldViolation;
use persistence::assignment::RuleRow;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::customers::search::{self as customer_search, CustomerFields};
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::search::resolve_condition;
use crate::transaction;

/// `condition` resolved against the fields a rule for `kind` may name: a lead's or a
/// ticket's search catalogue, or the customer search's with the custom fields and
/// behavioural facts of now; the problems found otherwise.
pub fn resolve(
    conn: &mut DbConnection,
    kind: RecordKind,
    condition: &serde_json::Value,
    context: &ResolveContext,
) -> AppResult<Result<ResolvedFilter, Vec<FieldViolation>>> {
    let catalogue: &[FieldSpec] = match kind {
        RecordKind::Lead => domain::sales::leads::CATALOGUE,
        RecordKind::Ticket => domain::service::tickets::CATALOGUE,
        RecordKind::Customer => {
            let fields = CustomerFields::load(conn)?;
            return Ok(customer_search::resolve_condition(
                condition, &fields, context,
            ));
        }
    };
    Ok(resolve_condition(condition, catalogue, context))
}

/// A stored rule as the input that would write it again.
pub fn input_of(row: &RuleRow) -> AppResult<RuleInput> {
    let corrupt = || AppError::Internal(format!("stored assignment rule {}", row.id.0));
    let target = match row.target_kind.as_str() {
        "user" => Target::User {
            user_id: row.user_id.ok_or_else(corrupt)?.0,
        },
        "team" => Target::Team {
            team_id: row.team_id.ok_or_else(corrupt)?.0,
            strategy: row
                .strategy
                .as_deref()
                .and_then(Strategy::parse)
                .ok_or_else(corrupt)?,
        },
        "territory" => Target::Territory,
        _ => return Err(corrupt()),
    };
    Ok(RuleInput {
        name: row.name.clone(),
        record_kind: RecordKind::parse(&row.record_kind).ok_or_else(corrupt)?,
        position: row.position,
        condition: row.condition.as_ref().map(|c| c.0.clone()),
        target,
        active: row.active,
    })
}

/// `row` with the fields of `input`.
fn write_input(mut row: RuleRow, input: &RuleInput) -> RuleRow {
    row.record_kind = input.record_kind.as_str().to_string();
    row.name = input.name.clone();
    row.position = input.position;
    row.condition = input.condition.clone().map(DbJson);
    row.active = input.active;
    (row.target_kind, row.user_id, row.team_id, row.strategy) = match input.target {
        Target::User { user_id } => ("user".into(), Some(DbUuid(user_id)), None, None),
        Target::Team { team_id, strategy } => (
            "team".into(),
            None,
            Some(DbUuid(team_id)),
            Some(strategy.as_str().to_string()),
        ),
        Target::Territory => ("territory".into(), None, None, None),
    };
    row
}

/// Everything about `input` that needs the database: the condition against the
/// catalogue, the target user (active) or team (existing).
fn checked(conn: &mut DbConnection, input: RuleInput) -> AppResult<RuleInput> {
    // Every problem at once: those of the input alone, then those the database finds.
    let (input, mut problems) = match input.clone().validated() {
        Ok(valid) => (valid, Vec::new()),
        Err(found) => (input, found),
    };
    if let Some(condition) = input.condition.as_ref().filter(|c| c.is_object()) {
        let context =
            ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
        if let Err(found) = resolve(conn, input.record_kind, condition, &context)? {
            problems.extend(found);
        }
    }
    match input.target {
        Target::User { user_id } => {
            if !persistence::users::is_active_user(conn, user_id)? {
                problems.push(FieldViolation::new(
                    "target.user_id",
                    "not_found",
                    "no active user has this id",
                ));
            }
        }
        Target::Team { team_id, .. } => {
            if persistence::teams::existing_ids(conn, &[team_id])?.is_empty() {
                problems.push(FieldViolation::new(
                    "target.team_id",
                    "not_found",
                    "no team has this id",
                ));
            }
        }
        Target::Territory => {}
    }
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(AppError::Invalid(problems))
    }
}

/// Adds a rule (`crm:configure`); at most [`MAX_RULES`] per record kind.
pub fn create(conn: &mut DbConnection, acting: &Acting, input: RuleInput) -> AppResult<RuleRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let input = checked(conn, input)?;
        let kind = input.record_kind.as_str();
        if persistence::assignment::count_rules(conn, kind)? >= MAX_RULES as i64 {
            return Err(AppError::Conflict(format!(
                "a record kind has at most {MAX_RULES} assignment rules"
            )));
        }
        let now = DbTime(persistence::now());
        let row = write_input(
            RuleRow {
                id: DbUuid(Uuid::now_v7()),
                record_kind: String::new(),
                name: String::new(),
                position: 0,
                condition: None,
                target_kind: String::new(),
                user_id: None,
                team_id: None,
                strategy: None,
                active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            &input,
        );
        persistence::assignment::insert_rule(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "assignment_rule.create",
            "assignment_rule",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// A rule (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<RuleRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::assignment::find_rule(conn, id)?)
}

/// The rules of `kind` in the order they are tried (`records:read`): all of them, as
/// there are at most [`MAX_RULES`].
pub fn list(conn: &mut DbConnection, acting: &Acting, kind: RecordKind) -> AppResult<Vec<RuleRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::assignment::rules(conn, kind.as_str(), false)?)
}

/// Changes a rule (`crm:configure`). Its record kind stays.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&RuleInput) -> AppResult<RuleInput>,
) -> AppResult<RuleRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::assignment::find_rule(conn, id)?;
        precondition.check(id, current.version)?;
        let before = input_of(&current)?;
        let after = checked(conn, edit(&before)?)?;
        if after.record_kind != before.record_kind {
            return Err(AppError::field(
                "record_kind",
                "immutable",
                "a rule's record kind cannot change; add a rule for the other kind",
            ));
        }
        let row =
            persistence::assignment::update_rule(conn, &write_input(current.clone(), &after))?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "assignment_rule.update",
            "assignment_rule",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a rule (`crm:configure`); past assignments keep its id and reason.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::assignment::find_rule(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::assignment::delete_rule(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "assignment_rule.delete",
            "assignment_rule",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
