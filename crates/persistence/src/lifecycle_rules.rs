//! The lifecycle rules document (C-8): one row, absent until first changed.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::lifecycle_rules;
use crate::sql_types::{DbJson, DbTime};
use crate::PersistenceError;

const ROW_ID: i32 = 1;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lifecycle_rules)]
pub struct LifecycleRulesRow {
    pub id: i32,
    pub rules: DbJson,
    pub updated_at: DbTime,
    pub version: i64,
}

/// The stored rules, if they were ever changed.
pub fn find(conn: &mut DbConnection) -> Result<Option<LifecycleRulesRow>, PersistenceError> {
    Ok(lifecycle_rules::table
        .find(ROW_ID)
        .select(LifecycleRulesRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `rules` as version `version` if the stored version is still `version - 1`
/// (0: no row yet); a lost race is a stale version.
pub fn save(
    conn: &mut DbConnection,
    rules: serde_json::Value,
    version: i64,
) -> Result<LifecycleRulesRow, PersistenceError> {
    let row = LifecycleRulesRow {
        id: ROW_ID,
        rules: DbJson(rules),
        updated_at: DbTime(crate::now()),
        version,
    };
    let written = if version == 1 {
        diesel::insert_into(lifecycle_rules::table)
            .values(&row)
            .execute(conn)
            .map_err(|err| match PersistenceError::from_write(err, "") {
                PersistenceError::Conflict(_) => PersistenceError::StaleVersion,
                other => other,
            })?
    } else {
        diesel::update(
            lifecycle_rules::table
                .find(ROW_ID)
                .filter(lifecycle_rules::version.eq(version - 1)),
        )
        .set((
            lifecycle_rules::rules.eq(&row.rules),
            lifecycle_rules::updated_at.eq(row.updated_at),
            lifecycle_rules::version.eq(version),
        ))
        .execute(conn)?
    };
    if written == 0 {
        return Err(PersistenceError::StaleVersion);
    }
    Ok(row)
}
