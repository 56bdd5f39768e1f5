//! Keyset paging rules shared by every listing: page sizes and the opaque cursor that
//! says where the previous page ended and in which order.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use persistence::filter::Keyset;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;
const MAX_CURSOR_LEN: usize = 4096;

/// A 422 naming `limit` unless it is 1..=[`MAX_LIMIT`].
pub fn checked_limit(limit: i64) -> AppResult<usize> {
    match usize::try_from(limit) {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(AppError::field(
            "limit",
            "out_of_range",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// A decoded cursor: the order it belongs to and where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    #[serde(rename = "o")]
    order: String,
    #[serde(rename = "k")]
    values: Vec<Value>,
    id: uuid::Uuid,
}

impl Cursor {
    /// The cursor after a row whose sort key values (in sort order) are `values`.
    pub fn new(order: impl Into<String>, values: Vec<Value>, id: uuid::Uuid) -> Cursor {
        Cursor {
            order: order.into(),
            values,
            id,
        }
    }

    pub fn encode(&self) -> String {
        // Serialising plain JSON values cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> AppResult<Cursor> {
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return Err(invalid_cursor());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_cursor())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())
    }

    /// The keyset for persistence, if this cursor was made for `order`.
    pub fn keyset(&self, order: &str) -> AppResult<Keyset> {
        if self.order != order {
            return Err(AppError::bad_parameter(
                "cursor",
                "invalid_cursor",
                "the cursor belongs to a different sort order",
            ));
        }
        Ok(Keyset {
            values: self.values.clone(),
            id: self.id,
        })
    }
}

/// The 400 problem for a cursor that is not one this server issued for this listing.
pub fn invalid_cursor() -> AppError {
    AppError::bad_parameter(
        "cursor",
        "invalid_cursor",
        "the cursor is not valid; use `next_cursor` of a previous page",
    )
}

/// Sort order name of listings in creation order, `(created_at, id)`.
pub const CREATION_ORDER: &str = "created_at";

/// The cursor after a row created at `created_at` with id `id`.
pub fn creation_cursor(created_at: DateTime<Utc>, id: uuid::Uuid) -> Cursor {
    time_cursor(CREATION_ORDER, created_at, id)
}

/// Where a creation-order page continues, from its cursor.
pub fn created_after(cursor: Option<&Cursor>) -> AppResult<Option<(DateTime<Utc>, uuid::Uuid)>> {
    time_position(cursor, CREATION_ORDER)
}

/// The cursor after a row at instant `at` with id `id` in a listing ordered by
/// `(instant, id)` named `order`.
pub fn time_cursor(order: &str, at: DateTime<Utc>, id: uuid::Uuid) -> Cursor {
    Cursor::new(
        order,
        vec![Value::from(at.to_rfc3339_opts(SecondsFormat::Micros, true))],
        id,
    )
}

/// Where a page of the `(instant, id)` listing named `order` continues.
pub fn time_position(
    cursor: Option<&Cursor>,
    order: &str,
) -> AppResult<Option<(DateTime<Utc>, uuid::Uuid)>> {
    let Some(keyset) = cursor.map(|cursor| cursor.keyset(order)).transpose()? else {
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
    fn cursors_round_trip_and_reject_tampering() {
        let id = uuid::Uuid::now_v7();
        let cursor = Cursor::new(
            "created_at:desc",
            vec![Value::from("2024-01-01T00:00:00.000000Z")],
            id,
        );
        let encoded = cursor.encode();
        assert_eq!(Cursor::decode(&encoded).unwrap(), cursor);
        assert_eq!(cursor.keyset("created_at:desc").unwrap().id, id);
        assert!(cursor.keyset("email:asc").is_err());
        for bad in [
            "",
            "!!!",
            "bm90IGpzb24",
            &URL_SAFE_NO_PAD.encode(br#"{"o":"x","k":[],"id":"1","extra":1}"#),
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn creation_cursors_round_trip() {
        let (time, id) = (persistence::now(), uuid::Uuid::now_v7());
        let cursor = Cursor::decode(&creation_cursor(time, id).encode()).unwrap();
        assert_eq!(created_after(Some(&cursor)).unwrap(), Some((time, id)));
        assert_eq!(created_after(None).unwrap(), None);
        let foreign = Cursor::new("email", vec![Value::from("a")], id);
        assert!(created_after(Some(&foreign)).is_err());
        let garbled = Cursor::new(CREATION_ORDER, vec![Value::from("yesterday")], id);
        assert!(created_after(Some(&garbled)).is_err());
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(checked_limit(200).unwrap(), 200);
        for bad in [0, 201, -1] {
            assert!(checked_limit(bad).is_err(), "{bad}");
        }
    }
}
