//! Helpers the account routes (auth, users, teams, API keys) share: write transactions
//! that may fail with API errors, and the creation-order keyset of their listings.

use chrono::{DateTime, SecondsFormat, Utc};
use persistence::db::{write_transaction, DbConnection};
use serde_json::Value;
use uuid::Uuid;

use crate::conventions::pagination::{invalid_cursor, Cursor, PageParams};
use crate::error::ApiResult;

/// Runs `work` in one write transaction (see `persistence::db::write_transaction`);
/// any error, including a validation error found inside, rolls everything back.
pub fn transaction<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> ApiResult<T>,
) -> ApiResult<T> {
    write_transaction(conn, work)
}

/// Sort order name of listings in creation order, `(created_at, id)`.
pub const CREATION_ORDER: &str = "created_at";

/// The cursor after a row created at `created_at` with id `id`.
pub fn creation_cursor(created_at: DateTime<Utc>, id: Uuid) -> Cursor {
    Cursor::new(
        CREATION_ORDER,
        vec![Value::from(
            created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        )],
        id,
    )
}

/// Where a creation-order page continues, from its cursor.
pub fn created_after(page: &PageParams) -> ApiResult<Option<(DateTime<Utc>, Uuid)>> {
    let Some(keyset) = page.keyset(CREATION_ORDER)? else {
        return Ok(None);
    };
    let time = match keyset.values.as_slice() {
        [Value::String(time)] => DateTime::parse_from_rfc3339(time)
            .map_err(|_| invalid_cursor())?
            .with_timezone(&Utc),
        _ => return Err(invalid_cursor()),
    };
    Ok(Some((time, keyset.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_cursors_round_trip() {
        let (time, id) = (persistence::now(), Uuid::now_v7());
        let cursor = creation_cursor(time, id).encode();
        let page = PageParams::parse(None, Some(&cursor)).unwrap();
        assert_eq!(created_after(&page).unwrap(), Some((time, id)));
        let foreign = Cursor::new("email", vec![Value::from("a")], id).encode();
        assert!(created_after(&PageParams::parse(None, Some(&foreign)).unwrap()).is_err());
    }
}
