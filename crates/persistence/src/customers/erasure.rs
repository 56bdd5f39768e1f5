//! What an erasure of a customer needs to find in storage besides the customer
//! itself: the customers merged into it, and whether customers a concurrent writer of a
//! copy (an export, a stored idempotent response) has read were erased meanwhile.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::customers;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

/// Ids per `IN (...)` list: well under SQLite's bound-value limit.
const CHUNK: usize = 500;

/// Every customer merged into `root`, directly or through a chain of merges (a customer
/// merged into one that was later merged into `root`), in no particular order. A merged
/// customer keeps its own record, so all of them hold the person's data.
pub fn merged_away(conn: &mut DbConnection, root: Uuid) -> Result<Vec<Uuid>, PersistenceError> {
    let mut found: Vec<Uuid> = Vec::new();
    let mut frontier = vec![DbUuid(root)];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for chunk in frontier.chunks(CHUNK) {
            let ids: Vec<DbUuid> = customers::table
                .filter(customers::merged_into_id.eq_any(chunk))
                .select(customers::id)
                .load(conn)?;
            next.extend(ids);
        }
        // Merges cannot form a cycle (a merged customer cannot win a merge), but a
        // corrupt row must not make this loop forever.
        next.retain(|id| id.0 != root && !found.contains(&id.0));
        found.extend(next.iter().map(|id| id.0));
        frontier = next;
    }
    Ok(found)
}

/// Which of `ids` are erased now. On PostgreSQL the rows are read `FOR SHARE`, which
/// waits for an erasure that has already changed one of them to commit or roll back:
/// a writer that read the customers before that erasure and stored its copy since then
/// either sees the erasure here, or stored its copy before the erasure (which changes
/// the customers first) looked for copies.
pub fn erased_among(conn: &mut DbConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, PersistenceError> {
    let mut erased = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let query = customers::table
            .filter(customers::id.eq_any(chunk))
            .select((customers::id, customers::erased_at));
        let rows: Vec<(DbUuid, Option<DbTime>)> = match conn {
            DbConnection::Postgres(pg) => query.for_share().load(pg)?,
            DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
        };
        erased.extend(
            rows.into_iter()
                .filter(|(_, erased_at)| erased_at.is_some())
                .map(|(id, _)| id.0),
        );
    }
    Ok(erased)
}
