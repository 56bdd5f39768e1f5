//! Business settings (L-4): time zone, weekend days, holidays, currency. Readable by
//! every signed-in user (clients format dates and amounts with them), changed with
//! `crm:configure`. Until first changed the defaults apply: Asia/Tehran, Friday
//! weekend, no holidays, IRR shown in toman.

use actix_web::{get, patch, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use domain::authz::Permission;
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::settings::SettingsRow;
use persistence::sql_types::{DbJson, DbTime};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::plumbing::transaction;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::MergePatch;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The settings resource has one instance; its ETag is derived from this fixed id.
const SETTINGS_ETAG_ID: Uuid = Uuid::from_u128(0x5045_5956_414e_445f_5345_5454_494e_4753);
const MAX_HOLIDAYS: usize = 400;

#[derive(OpenApi)]
#[openapi(
    paths(get_business_settings, update_business_settings),
    components(schemas(BusinessSettings, Holiday, WeekDay, CurrencyDisplay))
)]
pub struct SettingsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_business_settings)
        .service(update_business_settings);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeekDay {
    Saturday,
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
}

impl From<WeekDay> for Weekday {
    fn from(day: WeekDay) -> Weekday {
        match day {
            WeekDay::Saturday => Weekday::Sat,
            WeekDay::Sunday => Weekday::Sun,
            WeekDay::Monday => Weekday::Mon,
            WeekDay::Tuesday => Weekday::Tue,
            WeekDay::Wednesday => Weekday::Wed,
            WeekDay::Thursday => Weekday::Thu,
            WeekDay::Friday => Weekday::Fri,
        }
    }
}

/// How IRR amounts are displayed: in toman (1 toman = 10 rial) or rial. Amounts are
/// always stored and exchanged in rial minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CurrencyDisplay {
    Toman,
    Rial,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// Gregorian date of the holiday.
    pub date: NaiveDate,
    pub name: String,
}

/// The business settings document (also the merge-patch target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time_zone": "Asia/Tehran", "weekend_days": ["friday"], "holidays": [{"date": "2027-03-21", "name": "نوروز"}], "default_currency": "IRR", "currency_display": "toman"}))]
pub struct BusinessSettings {
    /// IANA time zone of the business day (reports, "today", birthdays).
    pub time_zone: String,
    pub weekend_days: Vec<WeekDay>,
    pub holidays: Vec<Holiday>,
    /// ISO 4217 code.
    pub default_currency: String,
    pub currency_display: CurrencyDisplay,
    /// When the settings were last changed (absent while the defaults apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for BusinessSettings {
    fn default() -> Self {
        BusinessSettings {
            time_zone: "Asia/Tehran".into(),
            weekend_days: vec![WeekDay::Friday],
            holidays: Vec::new(),
            default_currency: "IRR".into(),
            currency_display: CurrencyDisplay::Toman,
            updated_at: None,
        }
    }
}

fn from_row(row: Option<SettingsRow>) -> ApiResult<(BusinessSettings, i64)> {
    let Some(row) = row else {
        return Ok((BusinessSettings::default(), 0));
    };
    let corrupt = |err: serde_json::Error| ApiError::Internal(format!("stored settings: {err}"));
    Ok((
        BusinessSettings {
            time_zone: row.time_zone,
            weekend_days: serde_json::from_value(row.weekend_days.0).map_err(corrupt)?,
            holidays: serde_json::from_value(row.holidays.0).map_err(corrupt)?,
            default_currency: row.default_currency,
            currency_display: serde_json::from_value(serde_json::Value::String(
                row.currency_display,
            ))
            .map_err(corrupt)?,
            updated_at: Some(row.updated_at.0),
        },
        row.version,
    ))
}

fn validate(settings: &mut BusinessSettings) -> ApiResult<()> {
    let mut v = Violations::default();
    if settings.time_zone.parse::<chrono_tz::Tz>().is_err() {
        v.push(
            "time_zone",
            "unknown_time_zone",
            "must be an IANA time zone such as Asia/Tehran",
        );
    }
    settings
        .weekend_days
        .sort_by_key(|day| Weekday::from(*day).num_days_from_monday());
    settings.weekend_days.dedup();
    if settings.weekend_days.len() > 3 {
        v.push("weekend_days", "too_many", "at most three weekend days");
    }
    if settings.holidays.len() > MAX_HOLIDAYS {
        v.push(
            "holidays",
            "too_many",
            format!("at most {MAX_HOLIDAYS} holidays"),
        );
    }
    for (i, holiday) in settings.holidays.iter_mut().enumerate() {
        holiday.name = holiday.name.trim().to_string();
        if holiday.name.is_empty() || holiday.name.chars().count() > 100 {
            v.push(
                format!("holidays[{i}].name"),
                "invalid_length",
                "must be 1 to 100 characters",
            );
        }
    }
    settings.holidays.sort_by_key(|holiday| holiday.date);
    let currency = settings.default_currency.trim().to_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        v.push(
            "default_currency",
            "invalid_format",
            "must be an ISO 4217 code such as IRR",
        );
    }
    settings.default_currency = currency;
    v.into_result().map_err(ApiError::Validation)
}

/// Get the business settings.
///
/// The time zone of the business day, the weekend days, the holidays, the default currency
/// and whether IRR amounts are shown in toman or rial. They decide what "today", relative
/// search periods (`this_month`, Jalali or Gregorian) and business days mean. Until an
/// admin changes them the defaults apply: `Asia/Tehran`, Friday weekend, no holidays, `IRR`
/// shown in toman.
///
/// Any authenticated caller may read them. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "settings",
    operation_id = "get_business_settings",
    responses((status = 200, description = "The settings", body = BusinessSettings, headers(("ETag" = String))))
)]
#[get("/api/v1/settings/business")]
pub async fn get_business_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    _principal: Principal,
) -> ApiResult<HttpResponse> {
    let (settings, version) = from_row(
        state
            .db(|conn| Ok(persistence::settings::find(conn)?))
            .await?,
    )?;
    Ok(etag::single(&req, SETTINGS_ETAG_ID, version, &settings))
}

/// Change the business settings (JSON Merge Patch).
///
/// Members present are set; `weekend_days` and `holidays` are replaced whole (sorted and
/// de-duplicated as stored). Holidays are Gregorian dates with a name, e.g. Nowruz
/// («نوروز») on 2027-03-21.
///
/// Needs `crm:configure` (admins and managers). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `settings.update` with the changed fields.
///
/// Problems: 422 `validation_failed` for a `time_zone` that is not an IANA zone
/// (`unknown_time_zone`), more than three `weekend_days` or 400 `holidays` (`too_many`), a
/// holiday name not 1 to 100 characters, or a `default_currency` that is not an ISO 4217
/// code (`invalid_format`).
#[utoipa::path(
    tag = "settings",
    operation_id = "update_business_settings",
    params(("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(
        content = BusinessSettings,
        content_type = "application/merge-patch+json",
        example = json!({"weekend_days": ["thursday", "friday"], "holidays": [{"date": "2027-03-21", "name": "نوروز"}, {"date": "2027-04-01", "name": "روز جمهوری اسلامی"}]})
    ),
    responses((status = 200, description = "The changed settings", body = BusinessSettings, headers(("ETag" = String))))
)]
#[patch("/api/v1/settings/business")]
pub async fn update_business_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::CrmConfigure)?;
    let actor = principal.audit_actor();
    let (settings, version) = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let (current, version) = from_row(persistence::settings::find(conn)?)?;
                if_match.check(SETTINGS_ETAG_ID, version)?;
                let mut after: BusinessSettings = patch.apply(&BusinessSettings {
                    updated_at: None,
                    ..current.clone()
                })?;
                validate(&mut after)?;
                let now = persistence::now();
                let json = |value: serde_json::Result<serde_json::Value>| {
                    value.map_err(|err| ApiError::Internal(err.to_string()))
                };
                let row = SettingsRow {
                    id: 1,
                    time_zone: after.time_zone.clone(),
                    weekend_days: DbJson(json(serde_json::to_value(&after.weekend_days))?),
                    holidays: DbJson(json(serde_json::to_value(&after.holidays))?),
                    default_currency: after.default_currency.clone(),
                    currency_display: match after.currency_display {
                        CurrencyDisplay::Toman => "toman".into(),
                        CurrencyDisplay::Rial => "rial".into(),
                    },
                    updated_at: DbTime(now),
                    version: version + 1,
                };
                persistence::settings::save(conn, &row, version)?;
                let snapshot = |s: &BusinessSettings| {
                    serde_json::to_value(BusinessSettings {
                        updated_at: None,
                        ..s.clone()
                    })
                    .unwrap_or_default()
                };
                audit::record(
                    conn,
                    &actor,
                    NewAuditEvent {
                        action: "settings.update",
                        resource_type: "business_settings",
                        resource_id: None,
                        changes: Some(domain::audit::changed_fields(
                            &snapshot(&current),
                            &snapshot(&after),
                        )),
                    },
                )?;
                after.updated_at = Some(now);
                Ok((after, version + 1))
            })
        })
        .await?;
    Ok(etag::single(&req, SETTINGS_ETAG_ID, version, &settings))
}
