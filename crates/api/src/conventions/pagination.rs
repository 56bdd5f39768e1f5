//! Cursor pagination (`docs/API-CONVENTIONS.md`): `?limit=&cursor=` in, `{data, next_cursor, has_more}`
//! out, in a stable order by (sort key, id).
//!
//! A cursor is opaque to clients: base64url (no padding) of
//! `{"o": order, "k": [sort key values], "id": last id}`. It is decoded strictly
//! (alphabet, JSON shape, no unknown members) and must belong to the same order it is
//! used with; anything else is a 400 `invalid_cursor` naming `cursor`. It is not signed:
//! a hand-made cursor can only move the page start within the rows the caller may see
//! anyway, because visibility is part of every query.
//!
//! ```ignore
//! #[get("/api/v1/teams")]
//! async fn list_teams(state: web::Data<AppState>, page: PageParams) -> ApiResult<web::Json<Page<TeamDto>>> {
//!     let after = page.keyset(ORDER)?;              // Option<Keyset>
//!     let rows = state.db(move |conn| teams::list(conn, after, page.fetch_limit())).await?;
//!     Ok(web::Json(Page::from_rows(rows, page.limit, |row| Cursor::new(ORDER, vec![json!(row.name)], row.id.0), TeamDto::from)))
//! }
//! ```

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use persistence::filter::Keyset;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

pub use application::paging::{
    checked_limit, created_after, creation_cursor, Cursor, DEFAULT_LIMIT, MAX_LIMIT,
};

use crate::error::ApiError;

/// `limit` and `cursor` of a list request (query parameters), checked: `limit` is
/// 1..=200 (422 naming `limit` otherwise), `cursor` is a well-formed cursor (400).
#[derive(Debug, Clone, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50, value_type = Option<u32>)]
    pub limit: usize,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    pub cursor: Option<Cursor>,
}

impl PageParams {
    /// Checks raw `limit`/`cursor` values (from a query string or a search body).
    pub fn parse(
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<PageParams, actix_web::Error> {
        let limit = match limit {
            None => DEFAULT_LIMIT as i64,
            Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
                ApiError::bad_parameter("limit", "malformed_request", "`limit` must be an integer")
            })?,
        };
        Ok(PageParams {
            limit: checked_limit(limit).map_err(ApiError::from)?,
            cursor: cursor
                .map(Cursor::decode)
                .transpose()
                .map_err(ApiError::from)?,
        })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }

    /// The position to continue after, checked to belong to `order`.
    pub fn keyset(&self, order: &str) -> Result<Option<Keyset>, ApiError> {
        self.cursor
            .as_ref()
            .map(|cursor| cursor.keyset(order))
            .transpose()
            .map_err(ApiError::from)
    }
}

impl FromRequest for PageParams {
    type Error = actix_web::Error;
    type Future = Ready<Result<PageParams, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = match web_query_pairs(req.query_string()) {
            Ok(pairs) => pairs,
            Err(err) => return ready(Err(err)),
        };
        let find = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        ready(PageParams::parse(find("limit"), find("cursor")))
    }
}

fn web_query_pairs(query: &str) -> Result<Vec<(String, String)>, actix_web::Error> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(|q| q.into_inner())
        .map_err(|err| ApiError::Malformed(format!("the query string is not valid: {err}")).into())
}

/// The 400 problem for a cursor that is not one this server issued for this listing.
pub fn invalid_cursor() -> ApiError {
    application::paging::invalid_cursor().into()
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The records of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "eyJvIjoiaWQiLCJrIjpbXSwiaWQiOiIwMTkzIn0")]
    pub next_cursor: Option<String>,
    /// Whether another page follows.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row only
    /// tells that there is more. `cursor_of` gives the cursor after a row, `convert`
    /// the row's API form.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: usize,
        cursor_of: impl Fn(&R) -> Cursor,
        convert: impl FnMut(R) -> T,
    ) -> Page<T> {
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_more {
            rows.last().map(|row| cursor_of(row).encode())
        } else {
            None
        };
        Page {
            data: rows.into_iter().map(convert).collect(),
            next_cursor,
            has_more,
        }
    }
}

impl<T> Page<crate::error::ApiResult<T>> {
    /// The page of converted rows, or the first conversion error (a stored row the API
    /// cannot show is a server error, not a silently missing record).
    pub fn collect_results(self) -> crate::error::ApiResult<Page<T>> {
        Ok(Page {
            data: self
                .data
                .into_iter()
                .collect::<crate::error::ApiResult<Vec<T>>>()?,
            next_cursor: self.next_cursor,
            has_more: self.has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn limits_are_checked() {
        assert_eq!(PageParams::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(PageParams::parse(Some("200"), None).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "x"] {
            assert!(PageParams::parse(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_use_the_extra_row_only_to_tell_there_is_more() {
        let cursor_of = |n: &u32| Cursor::new("n", vec![Value::from(*n)], uuid::Uuid::nil());
        let page = Page::from_rows(vec![1, 2, 3], 2, cursor_of, |n| n);
        assert_eq!(page.data, [1, 2]);
        assert!(page.has_more);
        let next = Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(next.keyset("n").unwrap().values, [Value::from(2)]);
        let last = Page::from_rows(vec![1, 2], 2, cursor_of, |n| n);
        assert!(!last.has_more && last.next_cursor.is_none());
    }
}
