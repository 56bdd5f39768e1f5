//! The business settings (L-4) and the business calendar built from them. Every
//! signed-in caller may read the settings (clients format dates and amounts with
//! them); changing them takes `crm:configure` and is audited.

use domain::authz::Permission;
use domain::business_calendar::BusinessCalendar;
use domain::settings::BusinessSettings;
use domain::validation::FieldViolation;
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::settings::SettingsRow;
use persistence::sql_types::{DbJson, DbTime};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::{Acting, AppError, AppResult, Precondition};

/// The settings resource has one instance; its version is checked against this id.
pub const SETTINGS_ID: Uuid = Uuid::from_u128(0x5045_5956_414e_445f_5345_5454_494e_4753);

/// The settings and their version (0 while the defaults apply).
pub fn current(conn: &mut DbConnection) -> AppResult<(BusinessSettings, i64)> {
    let Some(row) = persistence::settings::find(conn)? else {
        return Ok((BusinessSettings::default(), 0));
    };
    let version = row.version;
    Ok((from_row(row)?, version))
}

/// The business currency orders are taken in.
pub fn currency(conn: &mut DbConnection) -> AppResult<domain::commerce::Currency> {
    let code = current(conn)?.0.default_currency;
    domain::commerce::Currency::parse(&code)
        .ok_or_else(|| AppError::Internal(format!("stored business currency {code:?}")))
}

/// The business calendar the stored settings describe.
pub fn calendar(conn: &mut DbConnection) -> AppResult<BusinessCalendar> {
    Ok(current(conn)?.0.calendar())
}

/// Changes the settings to what `edit` makes of the current ones; returns the new
/// settings and version.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    precondition: &Precondition,
    edit: impl FnOnce(&BusinessSettings) -> AppResult<BusinessSettings>,
) -> AppResult<(BusinessSettings, i64)> {
    acting.require(Permission::CrmConfigure)?;
    crate::transaction(conn, |conn| {
        let (current, version) = current(conn)?;
        precondition.check(SETTINGS_ID, version)?;
        let before = BusinessSettings {
            updated_at: None,
            ..current
        };
        let mut after = edit(&before)?;
        after.updated_at = None;
        after.normalize().map_err(AppError::Invalid)?;
        let tier_ids: Vec<Uuid> = after
            .loyalty
            .tiers
            .iter()
            .map(|tier| tier.tier_id)
            .collect();
        let known = persistence::labels::find_many(conn, &tier_ids)?;
        let unknown: Vec<FieldViolation> = tier_ids
            .iter()
            .enumerate()
            .filter(|(_, id)| {
                !known
                    .iter()
                    .any(|label| label.id.0 == **id && label.kind == persistence::labels::TIER)
            })
            .map(|(i, _)| {
                FieldViolation::new(
                    format!("loyalty.tiers[{i}].tier_id"),
                    "not_found",
                    "no customer tier has this id",
                )
            })
            .collect();
        if !unknown.is_empty() {
            return Err(AppError::Invalid(unknown));
        }
        if after.default_currency != before.default_currency
            && persistence::orders::any_exist(conn)?
        {
            return Err(AppError::Conflict(
                "orders exist in the business currency, so it can no longer change".into(),
            ));
        }
        let now = persistence::now();
        persistence::settings::save(conn, &to_row(&after, now, version + 1)?, version)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "settings.update",
                resource_type: "business_settings",
                resource_id: None,
                changes: Some(domain::audit::changed_fields(
                    &to_json(&before)?,
                    &to_json(&after)?,
                )),
            },
        )?;
        after.updated_at = Some(now);
        Ok((after, version + 1))
    })
}

fn from_row(row: SettingsRow) -> AppResult<BusinessSettings> {
    Ok(BusinessSettings {
        time_zone: row.time_zone,
        first_day_of_week: stored(serde_json::Value::String(row.first_day_of_week))?,
        weekend_days: stored(row.weekend_days.0)?,
        working_hours: stored(row.working_hours.0)?,
        holidays: stored(row.holidays.0)?,
        recurring_holidays: stored(row.recurring_holidays.0)?,
        default_currency: row.default_currency,
        currency_display: stored(serde_json::Value::String(row.currency_display))?,
        service_cost_per_hour: row.service_cost_per_hour,
        quiet_hours: row.quiet_hours.map(|json| stored(json.0)).transpose()?,
        feedback: row
            .feedback
            .map(|json| stored(json.0))
            .transpose()?
            .unwrap_or_default(),
        loyalty: row
            .loyalty
            .map(|json| stored(json.0))
            .transpose()?
            .unwrap_or_default(),
        updated_at: Some(row.updated_at.0),
    })
}

fn to_row(
    settings: &BusinessSettings,
    now: chrono::DateTime<chrono::Utc>,
    version: i64,
) -> AppResult<SettingsRow> {
    Ok(SettingsRow {
        id: 1,
        time_zone: settings.time_zone.clone(),
        weekend_days: DbJson(to_json(&settings.weekend_days)?),
        holidays: DbJson(to_json(&settings.holidays)?),
        default_currency: settings.default_currency.clone(),
        currency_display: settings.currency_display.as_str().into(),
        updated_at: DbTime(now),
        version,
        first_day_of_week: settings.first_day_of_week.as_str().into(),
        working_hours: DbJson(to_json(&settings.working_hours)?),
        recurring_holidays: DbJson(to_json(&settings.recurring_holidays)?),
        service_cost_per_hour: settings.service_cost_per_hour,
        quiet_hours: settings
            .quiet_hours
            .as_ref()
            .map(|quiet| to_json(quiet).map(DbJson))
            .transpose()?,
        feedback: Some(DbJson(to_json(&settings.feedback)?)),
        loyalty: Some(DbJson(to_json(&settings.loyalty)?)),
    })
}

fn stored<T: DeserializeOwned>(value: serde_json::Value) -> AppResult<T> {
    serde_json::from_value(value)
        .map_err(|err| AppError::Internal(format!("stored settings: {err}")))
}

fn to_json<T: Serialize>(value: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|err| AppError::Internal(format!("settings: {err}")))
}
