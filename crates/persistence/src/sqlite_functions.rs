//! SQL functions SQLite lacks, implemented in Rust and registered on every SQLite
//! connection when it is opened (`crate::db::establish`).

use chrono::DateTime;
use diesel::sql_types::Text;

diesel::define_sql_function! {
    /// The calendar day (`YYYY-MM-DD`) of a stored instant in an IANA time zone; NULL
    /// for a value that is not an instant or an unknown zone. SQLite only.
    fn local_day(at: Text, zone: Text) -> Nullable<Text>;
}

/// Registers [`local_day`] on a SQLite connection.
pub(crate) fn register_local_day(
    conn: &mut diesel::SqliteConnection,
) -> Result<(), diesel::result::Error> {
    local_day_utils::register_impl(conn, |at: String, zone: String| -> Option<String> {
        let zone: chrono_tz::Tz = zone.parse().ok()?;
        let at = DateTime::parse_from_rfc3339(&at).ok()?;
        Some(at.with_timezone(&zone).date_naive().to_string())
    })
}
