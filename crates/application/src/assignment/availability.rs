//! Users' availability for assignment: capacities (the most open records of a kind a
//! user may hold) and out-of-office periods. Anyone with `users:read` may read them (to
//! see why a record went elsewhere); a user changes their own, and `crm:configure`
//! changes anyone's.

use std::collections::HashMap;

use domain::assignment::{AbsenceInput, RecordKind, MAX_CAPACITY};
use domain::authz::Permission;
use persistence::assignment::AbsenceRow;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use super::engine::open_items;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Upcoming and current absences shown with a user: a year of leave fits many times.
const ABSENCES_SHOWN: i64 = 100;

/// What decides whether a user is given records.
#[derive(Debug, Clone, PartialEq)]
pub struct Availability {
    pub user_id: Uuid,
    /// Capacity per record kind; a kind absent has no limit.
    pub capacities: HashMap<RecordKind, i64>,
    /// Open records per record kind now.
    pub open_items: HashMap<RecordKind, i64>,
    /// Absences not over yet, soonest first.
    pub absences: Vec<AbsenceRow>,
    /// Whether an absence covers now.
    pub away_now: bool,
}

fn require_manager_of(acting: &Acting, user: Uuid) -> AppResult<()> {
    if acting.user_id == Some(user) {
        return Ok(());
    }
    acting.require(Permission::CrmConfigure)
}

fn existing_user(conn: &mut DbConnection, user: Uuid) -> AppResult<()> {
    persistence::users::find(conn, user)?;
    Ok(())
}

/// A user's availability (`users:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, user: Uuid) -> AppResult<Availability> {
    acting.require(Permission::UsersRead)?;
    existing_user(conn, user)?;
    let now = persistence::now();
    let mut capacities = HashMap::new();
    for (kind, max) in persistence::assignment::capacities_of(conn, user)? {
        if let Some(kind) = RecordKind::parse(&kind) {
            capacities.insert(kind, max);
        }
    }
    let mut open = HashMap::new();
    for kind in RecordKind::ALL {
        let count = open_items(conn, *kind, &[user])?
            .get(&user)
            .copied()
            .unwrap_or(0);
        open.insert(*kind, count);
    }
    Ok(Availability {
        user_id: user,
        capacities,
        open_items: open,
        absences: persistence::assignment::absences(conn, user, now, ABSENCES_SHOWN)?,
        away_now: persistence::assignment::away_at(conn, &[user], now)?.contains(&user),
    })
}

/// Sets (`Some`) or lifts (`None`) a user's capacity for `kind`.
pub fn set_capacity(
    conn: &mut DbConnection,
    acting: &Acting,
    user: Uuid,
    kind: RecordKind,
    max_open: Option<i64>,
) -> AppResult<Availability> {
    require_manager_of(acting, user)?;
    if max_open.is_some_and(|max| !(0..=MAX_CAPACITY).contains(&max)) {
        return Err(AppError::field(
            "max_open",
            "out_of_range",
            format!("must be between 0 and {MAX_CAPACITY}, or null for no limit"),
        ));
    }
    transaction(conn, |conn| {
        existing_user(conn, user)?;
        let before = persistence::assignment::capacities(conn, kind.as_str(), &[user])?
            .get(&user)
            .copied();
        persistence::assignment::set_capacity(conn, user, kind.as_str(), max_open)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "user.capacity",
            "user",
            user,
            &serde_json::json!({"record_kind": kind.as_str(), "max_open": before}),
            &serde_json::json!({"record_kind": kind.as_str(), "max_open": max_open}),
        )?;
        Ok(())
    })?;
    get(conn, acting, user)
}

/// Records an out-of-office period of `user`.
pub fn add_absence(
    conn: &mut DbConnection,
    acting: &Acting,
    user: Uuid,
    input: AbsenceInput,
) -> AppResult<AbsenceRow> {
    require_manager_of(acting, user)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        existing_user(conn, user)?;
        let row = AbsenceRow {
            id: DbUuid(Uuid::now_v7()),
            user_id: DbUuid(user),
            starts_at: DbTime(input.starts_at),
            ends_at: DbTime(input.ends_at),
            note: input.note,
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(persistence::now()),
        };
        persistence::assignment::insert_absence(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "user.absence.create",
            "user",
            user,
            &serde_json::json!({}),
            &serde_json::json!({
                "absence_id": row.id.0,
                "starts_at": row.starts_at.0,
                "ends_at": row.ends_at.0,
            }),
        )?;
        Ok(row)
    })
}

/// Withdraws an out-of-office period of `user`.
pub fn delete_absence(
    conn: &mut DbConnection,
    acting: &Acting,
    user: Uuid,
    absence: Uuid,
) -> AppResult<()> {
    require_manager_of(acting, user)?;
    transaction(conn, |conn| {
        let row = persistence::assignment::find_absence(conn, absence)?;
        if row.user_id.0 != user {
            return Err(AppError::NotFound);
        }
        persistence::assignment::delete_absence(conn, absence)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "user.absence.delete",
            "user",
            user,
            &serde_json::json!({
                "absence_id": row.id.0,
                "starts_at": row.starts_at.0,
                "ends_at": row.ends_at.0,
            }),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
