//! `POST /api/v1/users/search`: the users table seen through the shared search
//! translation of [`crate::filter`].

use diesel::prelude::*;
use domain::filter::SearchCriteria;

use crate::db::{DbConnection, MultiBackend};
use crate::filter::{apply_search, Keyset, SearchColumn, SearchError, SearchTable};
use crate::schema::users;
use crate::users::UserRow;

/// Column mapping of the users catalogue.
pub struct UserColumns;

impl SearchTable for UserColumns {
    type Table = users::table;

    fn column(field: &str) -> Option<SearchColumn<users::table>> {
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(users::id.nullable())),
            "email" => SearchColumn::Text(|| Box::new(users::email.nullable())),
            "display_name" => SearchColumn::Text(|| Box::new(users::display_name.nullable())),
            "role" => SearchColumn::Text(|| Box::new(users::role.nullable())),
            "team_id" => SearchColumn::Uuid(|| Box::new(users::team_id)),
            "is_active" => SearchColumn::Bool(|| Box::new(users::is_active.nullable())),
            "created_at" => SearchColumn::Timestamp(|| Box::new(users::created_at.nullable())),
            "last_login_at" => SearchColumn::Timestamp(|| Box::new(users::last_login_at)),
            _ => return None,
        })
    }
}

/// At most `limit` users matching `criteria`, after `after`, in the requested order.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<UserRow>, SearchError> {
    let query = users::table
        .select(UserRow::as_select())
        .into_boxed::<MultiBackend>();
    let query = apply_search::<UserColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(crate::PersistenceError::from)?)
}
