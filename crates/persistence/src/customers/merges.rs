//! Merges of duplicate customers (D-2) in storage: the `customer_merges` record with
//! everything an undo needs, and the markers on merged customers.
//!
//! A merged customer (a "loser") is not deleted: it keeps its row, document and labels
//! with `merged_into_id` pointing at the winner, which takes it out of lists, searches
//! and duplicate candidates, and lets an undo bring it back unchanged.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::customers::CustomerInput;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{customer_merges, customers};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_merges)]
pub struct MergeRow {
    pub id: DbUuid,
    /// The winner.
    pub customer_id: DbUuid,
    /// JSON array of the losers' ids.
    pub loser_ids: DbJson,
    /// An [`UndoData`] document.
    pub undo_data: DbJson,
    pub performed_by: Option<DbUuid>,
    pub performed_at: DbTime,
    pub undone_at: Option<DbTime>,
}

impl MergeRow {
    pub fn losers(&self) -> Result<Vec<Uuid>, PersistenceError> {
        serde_json::from_value(self.loser_ids.0.clone())
            .map_err(|err| PersistenceError::Corrupt(format!("merge loser ids: {err}")))
    }

    pub fn undo_data(&self) -> Result<UndoData, PersistenceError> {
        serde_json::from_value(self.undo_data.0.clone())
            .map_err(|err| PersistenceError::Corrupt(format!("merge undo data: {err}")))
    }
}

/// Everything a merge changed, so that an undo can put it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndoData {
    /// The winner's document (custom values included) before the merge.
    pub winner_before: CustomerInput,
    /// The winner's document the merge wrote; an undo compares it with the current one
    /// to tell what the merge changed from what was edited later.
    pub winner_merged: CustomerInput,
    pub moved: MovedRows,
    /// Personnel links of losers that would have duplicated one of the winner's and
    /// were deleted instead of moved.
    pub removed_personnel: Vec<RemovedLink>,
    /// Business codes the winner took over from losers (codes are unique), given back
    /// on undo.
    pub released_codes: Vec<ReleasedCode>,
    /// Set when a customer the merge involved was erased: the documents above were
    /// emptied then (an undo is refused from that moment on anyway).
    #[serde(default)]
    pub erased: bool,
}

impl UndoData {
    /// This record without personal data: the winner's documents become empty ones of
    /// its kind and removed personnel links lose their role and unit. What moved where
    /// (ids only) stays, so the merge still tells its story.
    pub fn without_personal_data(mut self) -> UndoData {
        self.winner_before = CustomerInput::empty(self.winner_before.kind);
        self.winner_merged = CustomerInput::empty(self.winner_merged.kind);
        for link in &mut self.removed_personnel {
            link.role = None;
            link.unit = None;
        }
        self.erased = true;
        self
    }
}

/// Rows that changed owner from a loser to the winner, each with its original customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MovedRows {
    pub notes: Vec<MovedRow>,
    pub lifecycle_transitions: Vec<MovedRow>,
    pub owner_changes: Vec<MovedRow>,
    pub consent_events: Vec<MovedRow>,
    pub personnel: Vec<MovedLink>,
    /// Absent in merges recorded before customers had orders.
    #[serde(default)]
    pub orders: Vec<MovedRow>,
    /// Absent in merges recorded before customers had deals.
    #[serde(default)]
    pub deals: Vec<MovedRow>,
    /// Tasks on the customer itself (tasks on its deals go with the deals). Absent in
    /// merges recorded before merges moved tasks.
    #[serde(default)]
    pub tasks: Vec<MovedRow>,
    /// Activities on the customer itself, likewise.
    #[serde(default)]
    pub activities: Vec<MovedRow>,
    /// Absent in merges recorded before customers had tickets.
    #[serde(default)]
    pub tickets: Vec<MovedRow>,
    /// Channel conversations (with their messages). Absent in merges recorded before
    /// customers had conversations.
    #[serde(default)]
    pub conversations: Vec<MovedRow>,
    /// Feedback. Absent in merges recorded before feedback was kept.
    #[serde(default)]
    pub feedback: Vec<MovedRow>,
    /// Survey invitations (with their SERVQUAL answers and factor ratings). Absent
    /// in merges recorded before surveys were sent.
    #[serde(default)]
    pub survey_invitations: Vec<MovedRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedRow {
    pub id: Uuid,
    pub from_customer_id: Uuid,
}

/// A personnel link re-pointed at the winner, with the ends it had before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedLink {
    pub id: Uuid,
    /// The loser whose link it was.
    pub from_customer_id: Uuid,
    pub organization_id: Uuid,
    pub person_id: Uuid,
}

/// A deleted personnel link, whole, to be recreated on undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedLink {
    pub id: Uuid,
    pub from_customer_id: Uuid,
    pub organization_id: Uuid,
    pub person_id: Uuid,
    pub role: Option<String>,
    pub unit: Option<String>,
    pub is_primary_contact: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedCode {
    pub customer_id: Uuid,
    pub code: String,
}

pub fn insert(conn: &mut DbConnection, row: &MergeRow) -> Result<(), PersistenceError> {
    diesel::insert_into(customer_merges::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<MergeRow, PersistenceError> {
    customer_merges::table
        .find(DbUuid(id))
        .select(MergeRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Merges in which one of `customers` took part, as winner or as loser.
pub fn involving(
    conn: &mut DbConnection,
    customers: &[Uuid],
) -> Result<Vec<MergeRow>, PersistenceError> {
    // The loser ids are a JSON array; its text form holds each id as written by serde.
    let loser_ids_text = match conn {
        DbConnection::Postgres(_) => "loser_ids::text LIKE ",
        DbConnection::Sqlite(_) => "loser_ids LIKE ",
    };
    let mut found: Vec<MergeRow> = Vec::new();
    for customer in customers {
        let rows: Vec<MergeRow> = customer_merges::table
            .filter(
                customer_merges::customer_id
                    .eq(DbUuid(*customer))
                    .or(diesel::dsl::sql::<diesel::sql_types::Bool>(loser_ids_text)
                        .bind::<diesel::sql_types::Text, _>(format!("%{customer}%"))),
            )
            .select(MergeRow::as_select())
            .load(conn)?;
        for row in rows {
            if !found.iter().any(|known| known.id == row.id) {
                found.push(row);
            }
        }
    }
    Ok(found)
}

/// Replaces the undo record of merge `id`.
pub fn set_undo_data(
    conn: &mut DbConnection,
    id: Uuid,
    undo: &UndoData,
) -> Result<(), PersistenceError> {
    let value =
        serde_json::to_value(undo).map_err(|err| PersistenceError::Corrupt(err.to_string()))?;
    diesel::update(customer_merges::table.find(DbUuid(id)))
        .set(customer_merges::undo_data.eq(DbJson(value)))
        .execute(conn)?;
    Ok(())
}

/// The latest merge into `winner` that is still in effect, other than `except`, if it
/// was performed after `after`.
pub fn later_merge_in_effect(
    conn: &mut DbConnection,
    winner: Uuid,
    after: DateTime<Utc>,
    except: Uuid,
) -> Result<Option<Uuid>, PersistenceError> {
    Ok(customer_merges::table
        .filter(customer_merges::customer_id.eq(DbUuid(winner)))
        .filter(customer_merges::undone_at.is_null())
        .filter(customer_merges::performed_at.ge(DbTime(after)))
        .filter(customer_merges::id.ne(DbUuid(except)))
        .order((
            customer_merges::performed_at.desc(),
            customer_merges::id.desc(),
        ))
        .select(customer_merges::id)
        .first::<DbUuid>(conn)
        .optional()?
        .map(|id| id.0))
}

/// Records that merge `id` was undone at `at`; false when it already was (a concurrent
/// undo won).
pub fn mark_undone(
    conn: &mut DbConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, PersistenceError> {
    let updated = diesel::update(
        customer_merges::table
            .filter(customer_merges::id.eq(DbUuid(id)))
            .filter(customer_merges::undone_at.is_null()),
    )
    .set(customer_merges::undone_at.eq(Some(DbTime(at))))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Sets the merge marker and the business code of `customer` whose stored version is
/// still `expected_version`, bumping the version so its ETag changes.
pub fn set_merged_into(
    conn: &mut DbConnection,
    customer: Uuid,
    expected_version: i64,
    merged_into: Option<Uuid>,
    code: Option<&str>,
) -> Result<(), PersistenceError> {
    let updated = diesel::update(
        customers::table
            .filter(customers::id.eq(DbUuid(customer)))
            .filter(customers::version.eq(expected_version)),
    )
    .set((
        customers::merged_into_id.eq(merged_into.map(DbUuid)),
        customers::code.eq(code),
        customers::version.eq(expected_version + 1),
        customers::updated_at.eq(DbTime(crate::now())),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, super::DUPLICATE_CODE))?;
    if updated == 0 {
        super::find_row(conn, customer)?;
        return Err(PersistenceError::StaleVersion);
    }
    Ok(())
}

/// `move_to` and `give_back` for a table whose rows follow their customer through
/// merges by customer rather than by id (they are many): each row's `customer_id` is
/// the customer holding it now and its `origin_customer_id` the customer it was made
/// for, which is what an undo gives back by.
#[macro_export]
macro_rules! follows_merges {
    ($table:ident) => {
        /// Moves the rows of `losers` to `winner` (a merge).
        pub fn move_to(
            conn: &mut $crate::db::DbConnection,
            losers: &[uuid::Uuid],
            winner: uuid::Uuid,
        ) -> Result<(), $crate::PersistenceError> {
            use $crate::schema::$table as t;
            for chunk in losers.chunks(500) {
                let chunk: Vec<$crate::sql_types::DbUuid> = chunk
                    .iter()
                    .copied()
                    .map($crate::sql_types::DbUuid)
                    .collect();
                diesel::update(t::table.filter(t::customer_id.eq_any(chunk)))
                    .set(t::customer_id.eq($crate::sql_types::DbUuid(winner)))
                    .execute(conn)?;
            }
            Ok(())
        }

        /// Gives the rows `winner` holds that were made for one of `origins` (the loser
        /// and whatever had been merged into it) back to `loser` (an undone merge).
        pub fn give_back(
            conn: &mut $crate::db::DbConnection,
            winner: uuid::Uuid,
            loser: uuid::Uuid,
            origins: &[uuid::Uuid],
        ) -> Result<(), $crate::PersistenceError> {
            use $crate::schema::$table as t;
            for chunk in origins.chunks(500) {
                let chunk: Vec<$crate::sql_types::DbUuid> = chunk
                    .iter()
                    .copied()
                    .map($crate::sql_types::DbUuid)
                    .collect();
                diesel::update(
                    t::table
                        .filter(t::customer_id.eq($crate::sql_types::DbUuid(winner)))
                        .filter(t::origin_customer_id.eq_any(chunk)),
                )
                .set(t::customer_id.eq($crate::sql_types::DbUuid(loser)))
                .execute(conn)?;
            }
            Ok(())
        }
    };
}
