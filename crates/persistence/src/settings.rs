//! Business settings (L-4): one row holding the business time zone, week, working
//! hours, holidays and default currency. Absent until first changed; readers get
//! defaults.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::business_settings;
use crate::sql_types::{DbJson, DbTime};
use crate::PersistenceError;

/// The only row's key.
const SETTINGS_ID: i32 = 1;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = business_settings)]
pub struct SettingsRow {
    pub id: i32,
    pub time_zone: String,
    pub weekend_days: DbJson,
    pub holidays: DbJson,
    pub default_currency: String,
    /// `toman` or `rial`: how IRR amounts are shown (L-4).
    pub currency_display: String,
    pub updated_at: DbTime,
    pub version: i64,
    /// `saturday` to `friday`.
    pub first_day_of_week: String,
    pub working_hours: DbJson,
    pub recurring_holidays: DbJson,
    /// Minor units of the default currency per agent hour on tickets; 0: not counted.
    pub service_cost_per_hour: i64,
    /// `domain::settings::QuietHours`; none: messages go out at once.
    pub quiet_hours: Option<DbJson>,
    /// `domain::feedback::entries::FeedbackPolicy`; none: its defaults.
    pub feedback: Option<DbJson>,
    /// `domain::loyalty::LoyaltyRules`; none: its defaults (no points by rules).
    pub loyalty: Option<DbJson>,
}

pub fn find(conn: &mut DbConnection) -> Result<Option<SettingsRow>, PersistenceError> {
    Ok(business_settings::table
        .find(SETTINGS_ID)
        .select(SettingsRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `row` if the stored version is still `expected_version` (0: none stored yet).
pub fn save(
    conn: &mut DbConnection,
    row: &SettingsRow,
    expected_version: i64,
) -> Result<(), PersistenceError> {
    let row = SettingsRow {
        id: SETTINGS_ID,
        ..row.clone()
    };
    if expected_version == 0 {
        diesel::insert_into(business_settings::table)
            .values(&row)
            .execute(conn)
            .map_err(|err| match PersistenceError::from_write(err, "settings") {
                PersistenceError::Conflict(_) => PersistenceError::StaleVersion,
                other => other,
            })?;
        return Ok(());
    }
    let updated = diesel::update(
        business_settings::table
            .find(SETTINGS_ID)
            .filter(business_settings::version.eq(expected_version)),
    )
    .set((
        business_settings::time_zone.eq(&row.time_zone),
        business_settings::weekend_days.eq(&row.weekend_days),
        business_settings::holidays.eq(&row.holidays),
        business_settings::default_currency.eq(&row.default_currency),
        business_settings::currency_display.eq(&row.currency_display),
        business_settings::updated_at.eq(row.updated_at),
        business_settings::version.eq(row.version),
        business_settings::first_day_of_week.eq(&row.first_day_of_week),
        business_settings::working_hours.eq(&row.working_hours),
        business_settings::recurring_holidays.eq(&row.recurring_holidays),
        business_settings::service_cost_per_hour.eq(row.service_cost_per_hour),
        business_settings::quiet_hours.eq(&row.quiet_hours),
        business_settings::feedback.eq(&row.feedback),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(PersistenceError::StaleVersion);
    }
    Ok(())
}
