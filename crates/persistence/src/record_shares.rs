//! Records shared with partners: one row per record and partner, made by hand
//! (optionally until an instant) or kept by a share rule (`crate::partners`). A
//! partner's user sees the records of [`shared_with!`] besides those it owns: every list
//! and search of customers, leads, deals and tickets (and of what hangs off them) adds
//! that subquery for a partner's scope, and a lookup by id asks [`access`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::partners::{ShareAccess, SharedKind};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::record_shares;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_SHARE: &str =
    "the record is already shared with this partner; withdraw the share to change it";

/// The ids of the records of `$kind` (a `domain::partners::SharedKind`) shared with
/// partner `$partner` and in force now, as a subquery for `eq_any`. A macro because the
/// subquery's type is long and only used in place.
#[macro_export]
macro_rules! shared_with {
    ($partner:expr, $kind:expr) => {{
        use diesel::prelude::*;
        use $crate::schema::record_shares;
        let kind: domain::partners::SharedKind = $kind;
        record_shares::table
            .select(record_shares::record_id)
            .filter(record_shares::partner_id.eq($crate::sql_types::DbUuid($partner)))
            .filter(record_shares::record_kind.eq(kind.as_str()))
            .filter(
                record_shares::expires_at
                    .is_null()
                    .or(record_shares::expires_at.gt($crate::sql_types::DbTime($crate::now()))),
            )
    }};
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = record_shares)]
pub struct ShareRow {
    pub id: DbUuid,
    pub partner_id: DbUuid,
    /// `domain::partners::SharedKind`.
    pub record_kind: String,
    pub record_id: DbUuid,
    /// `domain::partners::ShareAccess`.
    pub access: String,
    pub expires_at: Option<DbTime>,
    /// The share rule that keeps this share; `None` for an explicit share.
    pub rule_id: Option<DbUuid>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
}

impl ShareRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "partner_id": self.partner_id.0,
            "record_kind": self.record_kind,
            "record_id": self.record_id.0,
            "access": self.access,
            "expires_at": self.expires_at.map(|at| at.0),
        })
    }
}

/// Stores an explicit share; the record already shared explicitly with the partner is a
/// conflict.
pub fn insert_share(conn: &mut DbConnection, row: &ShareRow) -> Result<(), PersistenceError> {
    diesel::insert_into(record_shares::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_SHARE))?;
    Ok(())
}

/// An explicit share of `partner`.
pub fn find_share(
    conn: &mut DbConnection,
    partner: Uuid,
    id: Uuid,
) -> Result<ShareRow, PersistenceError> {
    record_shares::table
        .find(DbUuid(id))
        .filter(record_shares::partner_id.eq(DbUuid(partner)))
        .filter(record_shares::rule_id.is_null())
        .select(ShareRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The shares of `partner` (explicit ones and rule matches), of `kind` when given,
/// ordered by `(created_at, id)` after `after`; `limit + 1` rows.
pub fn shares(
    conn: &mut DbConnection,
    partner: Uuid,
    kind: Option<SharedKind>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ShareRow>, PersistenceError> {
    let mut select = record_shares::table
        .filter(record_shares::partner_id.eq(DbUuid(partner)))
        .select(ShareRow::as_select())
        .into_boxed();
    if let Some(kind) = kind {
        select = select.filter(record_shares::record_kind.eq(kind.as_str()));
    }
    if let Some((created_at, id)) = after {
        select = select.filter(
            record_shares::created_at
                .gt(DbTime(created_at))
                .or(record_shares::created_at
                    .eq(DbTime(created_at))
                    .and(record_shares::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((record_shares::created_at.asc(), record_shares::id.asc()))
        .limit(limit + 1)
        .load(conn)?)
}

pub fn delete_share(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    match diesel::delete(record_shares::table.find(DbUuid(id))).execute(conn)? {
        0 => Err(PersistenceError::NotFound),
        _ => Ok(()),
    }
}

/// The widest access in force now that `partner` holds on one record, if any.
pub fn access(
    conn: &mut DbConnection,
    partner: Uuid,
    kind: SharedKind,
    record: Uuid,
) -> Result<Option<ShareAccess>, PersistenceError> {
    let accesses: Vec<String> = record_shares::table
        .filter(record_shares::partner_id.eq(DbUuid(partner)))
        .filter(record_shares::record_kind.eq(kind.as_str()))
        .filter(record_shares::record_id.eq(DbUuid(record)))
        .filter(
            record_shares::expires_at
                .is_null()
                .or(record_shares::expires_at.gt(DbTime(crate::now()))),
        )
        .select(record_shares::access)
        .load(conn)?;
    Ok(accesses
        .iter()
        .filter_map(|access| ShareAccess::parse(access))
        .max())
}

/// Withdraws every share of `records` of `kind`, which are being deleted: a share
/// points at a record by id alone, so the row that deletes the record deletes them.
pub fn forget_records(
    conn: &mut DbConnection,
    kind: SharedKind,
    records: &[Uuid],
) -> Result<(), PersistenceError> {
    for chunk in records.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::delete(
            record_shares::table
                .filter(record_shares::record_kind.eq(kind.as_str()))
                .filter(record_shares::record_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Which of `records` (of `kind`) `partner` holds a share in force on.
pub fn shared_among(
    conn: &mut DbConnection,
    partner: Uuid,
    kind: SharedKind,
    records: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut shared = Vec::new();
    for chunk in records.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        shared.extend(
            crate::shared_with!(partner, kind)
                .filter(record_shares::record_id.eq_any(chunk))
                .distinct()
                .load::<DbUuid>(conn)?
                .into_iter()
                .map(|id| id.0),
        );
    }
    Ok(shared)
}
