//! `POST /{resource}/search` (`docs/API-CONVENTIONS.md`): a filter tree, a sort list, a quick-search text
//! `q` and cursor pagination in one JSON body, validated against the resource's field
//! catalogue. Every problem in the filter or sort comes back at once as a 422 naming
//! its path (e.g. `filter.and[1].value`); a bad cursor is a 400 `invalid_cursor`.
//!
//! The rules live in `application::search`; this module reads the body as an extractor
//! and turns the fetched rows into a [`Page`]. A resource describes itself once with
//! [`Searchable`] and takes [`SearchBody<R>`]:
//!
//! ```ignore
//! pub struct TeamSearch;
//! impl Searchable for TeamSearch {
//!     type Columns = persistence::team_search::TeamColumns;
//!     type Row = TeamRow;
//!     const CATALOGUE: &'static [FieldSpec] = &[FieldSpec::new("name", FieldKind::Text).sortable()];
//!     const QUICK_SEARCH: &'static [&'static str] = &["name"];
//!     fn sort_value(row: &TeamRow, field: &str) -> Option<TypedValue> { ... }
//!     fn id(row: &TeamRow) -> Uuid { row.id.0 }
//! }
//!
//! #[post("/api/v1/teams/search")]
//! async fn search_teams(state: web::Data<AppState>, search: SearchBody<TeamSearch>) -> ApiResult<web::Json<Page<TeamDto>>> {
//!     let (criteria, after, limit) = (search.criteria.clone(), search.after.clone(), search.fetch_limit());
//!     let rows = state.db(move |conn| Ok(team_search::search(conn, &criteria, after.as_ref(), limit)?)).await?;
//!     Ok(web::Json(search.page(rows, TeamDto::from)))
//! }
//! ```

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
pub use application::search::{Search, SearchRequest, Searchable};
use futures_util::future::LocalBoxFuture;
use persistence::filter::Keyset;

use super::json_body::JsonBody;
use super::pagination::{Cursor, Page};
use crate::error::ApiError;
use crate::state::AppState;

/// A checked search body for resource `R`, as a handler argument.
#[derive(Debug)]
pub struct SearchBody<R>(pub Search<R>);

impl<R> Deref for SearchBody<R> {
    type Target = Search<R>;

    fn deref(&self) -> &Search<R> {
        &self.0
    }
}

impl<R: Searchable> FromRequest for SearchBody<R> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<SearchBody<R>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBody::<SearchRequest>::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let JsonBody(request) = body.await?;
            let state = state.ok_or_else(|| ApiError::Internal("no application state".into()))?;
            let context = state.resolve_context().await?;
            let search = Search::resolve(request, &context).map_err(ApiError::from)?;
            Ok(SearchBody(search))
        })
    }
}

/// The page of a search's fetched rows.
pub trait SearchPage<R: Searchable> {
    /// The page of up to `limit + 1` fetched rows, with the cursor after the last one.
    fn page<T>(&self, rows: Vec<R::Row>, convert: impl FnMut(R::Row) -> T) -> Page<T>;
}

impl<R: Searchable> SearchPage<R> for Search<R> {
    fn page<T>(&self, rows: Vec<R::Row>, convert: impl FnMut(R::Row) -> T) -> Page<T> {
        let order = self.order();
        let cursor_of = |row: &R::Row| {
            let Keyset { values, id } = self.keyset_after(row);
            Cursor::new(order.clone(), values, id)
        };
        Page::from_rows(rows, self.limit, cursor_of, convert)
    }
}
