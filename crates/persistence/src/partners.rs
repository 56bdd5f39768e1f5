//! Partners: the partner organisations, their users, and the share rules whose
//! matches are kept as shares (`crate::record_shares`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::filter::ResolvedFilter;
use domain::partners::{ShareAccess, SharedKind};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::filter::SearchError;
use crate::record_shares::ShareRow;
use crate::schema::{
    customers, deals, leads, partner_users, partners, record_shares, share_rules, tickets, users,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::users::UserRow;
use crate::PersistenceError;

const DUPLICATE_NAME: &str = "a partner with this name already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = partners)]
pub struct PartnerRow {
    pub id: DbUuid,
    pub name: String,
    /// `domain::partners::PartnerKind`.
    pub kind: String,
    pub notes: Option<String>,
    pub is_active: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl PartnerRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "kind": self.kind,
            "notes": self.notes,
            "is_active": self.is_active,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &PartnerRow) -> Result<(), PersistenceError> {
    diesel::insert_into(partners::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<PartnerRow, PersistenceError> {
    partners::table
        .find(DbUuid(id))
        .select(PartnerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Partners ordered by `(created_at, id)` strictly after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<PartnerRow>, PersistenceError> {
    let mut select = partners::table.select(PartnerRow::as_select()).into_boxed();
    if let Some((created_at, id)) = after {
        select = select.filter(
            partners::created_at
                .gt(DbTime(created_at))
                .or(partners::created_at
                    .eq(DbTime(created_at))
                    .and(partners::id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((partners::created_at.asc(), partners::id.asc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// Writes the fields of `row` if the stored version is still `row.version`.
pub fn update(conn: &mut DbConnection, row: &PartnerRow) -> Result<PartnerRow, PersistenceError> {
    let updated = diesel::update(
        partners::table
            .filter(partners::id.eq(row.id))
            .filter(partners::version.eq(row.version)),
    )
    .set((
        partners::name.eq(&row.name),
        partners::kind.eq(&row.kind),
        partners::notes.eq(&row.notes),
        partners::is_active.eq(row.is_active),
        partners::updated_at.eq(DbTime(crate::now())),
        partners::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, DUPLICATE_NAME))?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

/// Deletes a partner without users (its shares and rules go with it); one with users
/// is a conflict: deactivating it is how its access ends.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let members: i64 = partner_users::table
        .filter(partner_users::partner_id.eq(DbUuid(id)))
        .count()
        .get_result(conn)?;
    if members > 0 {
        return Err(PersistenceError::Conflict(
            "the partner still has users".into(),
        ));
    }
    match diesel::delete(partners::table.find(DbUuid(id))).execute(conn)? {
        0 => Err(PersistenceError::NotFound),
        _ => Ok(()),
    }
}

/// Makes `user` one of `partner`'s users.
pub fn add_member(
    conn: &mut DbConnection,
    partner: Uuid,
    user: Uuid,
) -> Result<(), PersistenceError> {
    diesel::insert_into(partner_users::table)
        .values((
            partner_users::user_id.eq(DbUuid(user)),
            partner_users::partner_id.eq(DbUuid(partner)),
            partner_users::created_at.eq(DbTime(crate::now())),
        ))
        .execute(conn)
        .map_err(|err| {
            PersistenceError::from_write(err, "the user already belongs to a partner")
        })?;
    Ok(())
}

/// The partner `user` belongs to and whether that partner is active.
pub fn membership(
    conn: &mut DbConnection,
    user: Uuid,
) -> Result<Option<(Uuid, bool)>, PersistenceError> {
    Ok(partner_users::table
        .inner_join(partners::table)
        .filter(partner_users::user_id.eq(DbUuid(user)))
        .select((partners::id, partners::is_active))
        .first::<(DbUuid, bool)>(conn)
        .optional()?
        .map(|(id, active)| (id.0, active)))
}

/// The users of `partner` in the order they joined, after `after`; `limit + 1` rows.
pub fn members(
    conn: &mut DbConnection,
    partner: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<(DbTime, UserRow)>, PersistenceError> {
    let mut select = partner_users::table
        .inner_join(users::table)
        .filter(partner_users::partner_id.eq(DbUuid(partner)))
        .select((partner_users::created_at, UserRow::as_select()))
        .into_boxed();
    if let Some((created_at, id)) = after {
        select = select.filter(
            partner_users::created_at
                .gt(DbTime(created_at))
                .or(partner_users::created_at
                    .eq(DbTime(created_at))
                    .and(partner_users::user_id.gt(DbUuid(id)))),
        );
    }
    Ok(select
        .order((
            partner_users::created_at.asc(),
            partner_users::user_id.asc(),
        ))
        .limit(limit + 1)
        .load(conn)?)
}

/// The ids of every user of `partner`.
pub fn member_ids(conn: &mut DbConnection, partner: Uuid) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(partner_users::table
        .filter(partner_users::partner_id.eq(DbUuid(partner)))
        .select(partner_users::user_id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = share_rules)]
pub struct ShareRuleRow {
    pub id: DbUuid,
    pub partner_id: DbUuid,
    pub record_kind: String,
    /// The filter tree as written; resolved against the kind's catalogue when applied.
    pub condition: DbJson,
    pub access: String,
    /// When the rule's matches were last brought up to date, and how many there were.
    pub refreshed_at: Option<DbTime>,
    pub matched: Option<i64>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl ShareRuleRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "partner_id": self.partner_id.0,
            "record_kind": self.record_kind,
            "condition": self.condition.0,
            "access": self.access,
        })
    }
}

pub fn insert_rule(conn: &mut DbConnection, row: &ShareRuleRow) -> Result<(), PersistenceError> {
    diesel::insert_into(share_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The rule `id` (of `partner`, when given).
pub fn find_rule(
    conn: &mut DbConnection,
    partner: Option<Uuid>,
    id: Uuid,
) -> Result<ShareRuleRow, PersistenceError> {
    let mut query = share_rules::table
        .find(DbUuid(id))
        .select(ShareRuleRow::as_select())
        .into_boxed();
    if let Some(partner) = partner {
        query = query.filter(share_rules::partner_id.eq(DbUuid(partner)));
    }
    query
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The rules of `partner` in creation order.
pub fn rules(
    conn: &mut DbConnection,
    partner: Uuid,
) -> Result<Vec<ShareRuleRow>, PersistenceError> {
    Ok(share_rules::table
        .filter(share_rules::partner_id.eq(DbUuid(partner)))
        .select(ShareRuleRow::as_select())
        .order((share_rules::created_at.asc(), share_rules::id.asc()))
        .load(conn)?)
}

/// Every rule over records of `kind`, of active partners.
pub fn rules_of_kind(
    conn: &mut DbConnection,
    kind: SharedKind,
) -> Result<Vec<ShareRuleRow>, PersistenceError> {
    Ok(share_rules::table
        .inner_join(partners::table)
        .filter(share_rules::record_kind.eq(kind.as_str()))
        .filter(partners::is_active.eq(true))
        .select(ShareRuleRow::as_select())
        .order((share_rules::created_at.asc(), share_rules::id.asc()))
        .load(conn)?)
}

/// Writes condition and access if the stored version is still `row.version`.
pub fn update_rule(
    conn: &mut DbConnection,
    row: &ShareRuleRow,
) -> Result<ShareRuleRow, PersistenceError> {
    let updated = diesel::update(
        share_rules::table
            .filter(share_rules::id.eq(row.id))
            .filter(share_rules::version.eq(row.version)),
    )
    .set((
        share_rules::condition.eq(&row.condition),
        share_rules::access.eq(&row.access),
        share_rules::updated_at.eq(DbTime(crate::now())),
        share_rules::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find_rule(conn, None, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find_rule(conn, None, row.id.0)
}

/// Deletes a rule; the shares it keeps go with it (`ON DELETE CASCADE` on their
/// `rule_id`, enforced on both backends).
pub fn delete_rule(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    match diesel::delete(share_rules::table.find(DbUuid(id))).execute(conn)? {
        0 => Err(PersistenceError::NotFound),
        _ => Ok(()),
    }
}

/// Records that a refresh of `rule` finished with `matched` shares.
pub fn rule_refreshed(
    conn: &mut DbConnection,
    rule: Uuid,
    matched: i64,
) -> Result<(), PersistenceError> {
    diesel::update(share_rules::table.find(DbUuid(rule)))
        .set((
            share_rules::refreshed_at.eq(Some(DbTime(crate::now()))),
            share_rules::matched.eq(Some(matched)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The next `limit` ids (in id order, after `after`) of records of `kind` that
/// `filter` matches; merged customers never do.
pub fn matching(
    conn: &mut DbConnection,
    kind: SharedKind,
    filter: &ResolvedFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, SearchError> {
    let after = DbUuid(after.unwrap_or(Uuid::nil()));
    macro_rules! page {
        ($table:ident, $columns:ty) => {
            $table::table
                .select($table::id)
                .filter($table::id.gt(after))
                .filter(crate::filter::condition::<$columns>(filter)?)
                .order($table::id.asc())
                .limit(limit)
                .into_boxed::<crate::db::MultiBackend>()
        };
    }
    let ids: Vec<DbUuid> = match kind {
        SharedKind::Customer => page!(customers, crate::customers::search::CustomerColumns)
            .filter(customers::merged_into_id.is_null())
            .load(conn),
        SharedKind::Lead => page!(leads, crate::leads::LeadColumns).load(conn),
        SharedKind::Deal => page!(deals, crate::deals::DealColumns).load(conn),
        SharedKind::Ticket => page!(tickets, crate::tickets::TicketColumns).load(conn),
    }
    .map_err(PersistenceError::from)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// Which of `records` (of `kind`) `filter` matches.
pub fn matching_among(
    conn: &mut DbConnection,
    kind: SharedKind,
    filter: &ResolvedFilter,
    records: &[Uuid],
) -> Result<Vec<Uuid>, SearchError> {
    let records: Vec<DbUuid> = records.iter().copied().map(DbUuid).collect();
    macro_rules! among {
        ($table:ident, $columns:ty) => {
            $table::table
                .select($table::id)
                .filter($table::id.eq_any(&records))
                .filter(crate::filter::condition::<$columns>(filter)?)
                .into_boxed::<crate::db::MultiBackend>()
        };
    }
    let ids: Vec<DbUuid> = match kind {
        SharedKind::Customer => among!(customers, crate::customers::search::CustomerColumns)
            .filter(customers::merged_into_id.is_null())
            .load(conn),
        SharedKind::Lead => among!(leads, crate::leads::LeadColumns).load(conn),
        SharedKind::Deal => among!(deals, crate::deals::DealColumns).load(conn),
        SharedKind::Ticket => among!(tickets, crate::tickets::TicketColumns).load(conn),
    }
    .map_err(PersistenceError::from)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// The next `limit` record ids (in id order, after `after`) that `rule` shares now.
pub fn rule_shares(
    conn: &mut DbConnection,
    rule: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    Ok(record_shares::table
        .filter(record_shares::rule_id.eq(DbUuid(rule)))
        .filter(record_shares::record_id.gt(DbUuid(after.unwrap_or(Uuid::nil()))))
        .select(record_shares::record_id)
        .order(record_shares::record_id.asc())
        .limit(limit)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Which of `records` `rule` shares now.
pub fn rule_shares_among(
    conn: &mut DbConnection,
    rule: Uuid,
    records: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    let records: Vec<DbUuid> = records.iter().copied().map(DbUuid).collect();
    Ok(record_shares::table
        .filter(record_shares::rule_id.eq(DbUuid(rule)))
        .filter(record_shares::record_id.eq_any(records))
        .select(record_shares::record_id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Shares `records` by `rule`.
pub fn add_rule_shares(
    conn: &mut DbConnection,
    rule: &ShareRuleRow,
    records: &[Uuid],
) -> Result<(), PersistenceError> {
    let now = DbTime(crate::now());
    let rows: Vec<ShareRow> = records
        .iter()
        .map(|record| ShareRow {
            id: DbUuid(Uuid::now_v7()),
            partner_id: rule.partner_id,
            record_kind: rule.record_kind.clone(),
            record_id: DbUuid(*record),
            access: rule.access.clone(),
            expires_at: None,
            rule_id: Some(rule.id),
            created_by: rule.created_by,
            created_at: now,
        })
        .collect();
    // A refresh running beside another (or beside a write applying the rules) may
    // have shared some of them first; the unique index keeps one.
    match conn {
        DbConnection::Postgres(pg) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(record_shares::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(pg)?;
            }
        }
        DbConnection::Sqlite(sqlite) => {
            for row in &rows {
                diesel::insert_into(record_shares::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// Withdraws `rule`'s shares of `records`.
pub fn remove_rule_shares(
    conn: &mut DbConnection,
    rule: Uuid,
    records: &[Uuid],
) -> Result<(), PersistenceError> {
    let records: Vec<DbUuid> = records.iter().copied().map(DbUuid).collect();
    diesel::delete(
        record_shares::table
            .filter(record_shares::rule_id.eq(DbUuid(rule)))
            .filter(record_shares::record_id.eq_any(records)),
    )
    .execute(conn)?;
    Ok(())
}

/// Keeps the access of every share `rule` holds at the rule's.
pub fn set_rule_access(
    conn: &mut DbConnection,
    rule: Uuid,
    access: ShareAccess,
) -> Result<(), PersistenceError> {
    diesel::update(record_shares::table.filter(record_shares::rule_id.eq(DbUuid(rule))))
        .set(record_shares::access.eq(access.as_str()))
        .execute(conn)?;
    Ok(())
}
