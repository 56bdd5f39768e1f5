//! Assigning a lead again — to a named user (a manual override) or by the assignment
//! rules — and reading its assignment history. Both need the lead to be visible;
//! assigning needs `records:write`, and a named user must be one the caller may hand
//! leads to (as for the owner on create).

use domain::assignment::{Method, RecordKind};
use domain::authz::Permission;
use domain::sales::leads::LeadStatus;
use persistence::assignment::AssignmentRow;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::leads::LeadRow;
use persistence::sql_types::DbUuid;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::leads::{input_of, owner_set, visible};
use crate::acting::Acting;
use crate::assignment::engine::{self, Decision, Subject};
use crate::customers::check_assignment;
use crate::error::{AppError, AppResult};
use crate::paging::Cursor;
use crate::transaction;

/// Order name of assignment-history cursors: newest first by (time-ordered) id.
pub const HISTORY_ORDER: &str = "assignments";

/// How a lead is to be assigned: exactly one of `user_id` and `by_rules`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": "0193a4e2-7c1d-7b3e-9f10-999999999999", "reason": "مشتری قبلی همین کارشناس"}))]
pub struct AssignRequest {
    /// Hand the lead to this user (a manual override of the rules).
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The team to file it under; defaults to the user's team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// Run the assignment rules again, as for a new lead.
    #[serde(default)]
    pub by_rules: bool,
    /// Why, for the history of a manual override.
    #[serde(default)]
    pub reason: Option<String>,
}

const MAX_REASON_CHARS: usize = 500;

/// Assigns a lead visible to the caller again; answers the lead and the assignment
/// recorded. A converted lead keeps its owner (409).
pub fn assign(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    request: AssignRequest,
) -> AppResult<(LeadRow, AssignmentRow)> {
    acting.require(Permission::RecordsWrite)?;
    let mut v = domain::validation::Violations::default();
    let mut reason = request.reason.clone();
    v.tidy_text("reason", &mut reason, MAX_REASON_CHARS);
    match (request.user_id, request.by_rules) {
        (Some(_), true) | (None, false) => v.push(
            "by_rules",
            "one_of",
            "give either user_id or by_rules: true",
        ),
        (None, true) if request.team_id.is_some() || reason.is_some() => v.push(
            "team_id",
            "only_with_user",
            "team_id and reason go with user_id; the rules give their own",
        ),
        _ => {}
    }
    v.into_result().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::leads::find_for_update(conn, id)?;
        if current.status == LeadStatus::Converted.as_str() {
            return Err(AppError::Conflict(
                "the lead was converted and keeps its owner".into(),
            ));
        }
        let decision = match request.user_id {
            Some(user) => {
                if !persistence::users::is_active_user(conn, user)? {
                    return Err(AppError::field(
                        "user_id",
                        "not_found",
                        "no active user has this id",
                    ));
                }
                let mut target = input_of(&current)?;
                target.owner_id = Some(user);
                target.team_id = match request.team_id {
                    Some(team) => Some(team),
                    None => persistence::users::teams_of(conn, &[user])?
                        .get(&user)
                        .copied()
                        .flatten(),
                };
                check_assignment(conn, acting, &target)?;
                let why = reason.as_deref().unwrap_or("assigned by hand");
                engine::by_hand(user, target.team_id, Method::Manual, why)
            }
            None => {
                let subject = Subject {
                    kind: RecordKind::Lead,
                    id,
                    city: current.city.as_deref(),
                    province: current.province.as_deref(),
                    excluded: &[],
                };
                engine::decide(conn, &subject)?.ok_or_else(|| {
                    AppError::Conflict(
                        "no active assignment rule applies to this lead with an available user"
                            .into(),
                    )
                })?
            }
        };
        hand_over(conn, acting, &current, &decision)
    })
}

/// Gives lead `current` (held for update, not converted) to the owner and team of
/// `decision`: written, recorded as an assignment, audited as `lead.assign`, published
/// as a change, the new owner told.
pub(crate) fn hand_over(
    conn: &mut DbConnection,
    acting: &Acting,
    current: &LeadRow,
    decision: &Decision,
) -> AppResult<(LeadRow, AssignmentRow)> {
    let id = current.id.0;
    let mut changed = current.clone();
    changed.owner_id = Some(DbUuid(decision.user_id));
    changed.team_id = decision.team_id.map(DbUuid);
    let row = persistence::leads::update(conn, &changed)?;
    let assignment = engine::record(conn, acting, RecordKind::Lead, id, decision)?;
    if row.owner_id != current.owner_id {
        owner_set(conn, acting, &row)?;
    }
    super::leads::publish_changed(conn, acting, current, &row)?;
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "lead.assign",
        "lead",
        id,
        &serde_json::json!({
            "owner_id": current.owner_id.map(|id| id.0),
            "team_id": current.team_id.map(|id| id.0),
        }),
        &serde_json::json!({
            "owner_id": row.owner_id.map(|id| id.0),
            "team_id": row.team_id.map(|id| id.0),
            "method": assignment.method,
            "rule_id": assignment.rule_id.map(|id| id.0),
        }),
    )?;
    Ok((row, assignment))
}

/// A page of a visible lead's assignments, newest first (`records:read`).
pub fn history(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<AssignmentRow>> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, id)?;
    let before = cursor
        .map(|cursor| cursor.keyset(HISTORY_ORDER))
        .transpose()?
        .map(|keyset| keyset.id);
    Ok(persistence::assignment::history(
        conn,
        RecordKind::Lead.as_str(),
        id,
        before,
        limit,
    )?)
}

/// The cursor after `row` in a history page.
pub fn history_cursor(row: &AssignmentRow) -> Cursor {
    Cursor::new(HISTORY_ORDER, Vec::new(), row.id.0)
}
