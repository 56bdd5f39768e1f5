//! Business settings (L-4): time zone, week, working hours, holidays and currency.
//! Readable by every signed-in user (clients format dates and amounts with them),
//! changed with `crm:configure`. The business calendar built from them decides what
//! "today", "this month" and business hours mean everywhere.

use actix_web::{get, patch, web, HttpRequest, HttpResponse};
use application::commerce::lifecycle::{self, RULES_ID};
use application::settings::SETTINGS_ID;
use domain::commerce::lifecycle::{Churn, LifecycleRules, RepeatPurchase, Toggle};
use domain::settings::{
    BusinessSettings, CurrencyDisplay, Holiday, OpeningHours, RecurringHoliday, WeekDay,
    WorkingHours,
};
use utoipa::OpenApi;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::MergePatch;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        get_business_settings,
        update_business_settings,
        get_lifecycle_rules,
        update_lifecycle_rules
    ),
    components(schemas(
        LifecycleRules,
        Toggle,
        RepeatPurchase,
        Churn,
        BusinessSettings,
        Holiday,
        RecurringHoliday,
        WorkingHours,
        OpeningHours,
        WeekDay,
        CurrencyDisplay
    ))
)]
pub struct SettingsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_business_settings)
        .service(update_business_settings)
        .service(get_lifecycle_rules)
        .service(update_lifecycle_rules);
}

/// Get the business settings.
///
/// The time zone of the business day, the first day of the week, the weekend days, the
/// working hours per weekday, the holidays (dates, and Jalali days kept every year), the
/// default currency and whether IRR amounts are shown in toman or rial. They decide what
/// "today", relative search periods (`this_month`, Jalali or Gregorian), business days
/// and business hours mean. Until an admin changes them the defaults apply:
/// `Asia/Tehran`, weeks from Saturday, Saturday to Wednesday 08:00–16:00 and Thursday
/// 08:00–12:00, Friday weekend, the fixed Iranian solar holidays, `IRR` shown in toman.
/// `service_cost_per_hour` (minor units, default 0: not counted) prices the time agents
/// log on tickets in the profitability report.
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
    let (settings, version) = state
        .db(|conn| Ok(application::settings::current(conn)?))
        .await?;
    Ok(etag::single(&req, SETTINGS_ID, version, &settings))
}

/// Change the business settings (JSON Merge Patch).
///
/// Members present are set; lists (`weekend_days`, `holidays`, `recurring_holidays`, a
/// day's `working_hours`) are replaced whole, sorted and de-duplicated as stored; days
/// missing from a `working_hours` patch keep their hours. Holidays are Gregorian dates
/// with a name (enter lunar holidays per year); recurring holidays are a Jalali `month`
/// and `day`, e.g. Nowruz («نوروز») on 1/1. Working spans are local `HH:MM` times.
///
/// Needs `crm:configure` (admins and managers). Honours `If-Match` (412
/// `precondition_failed` when stale). Audited as `settings.update` with the changed fields.
///
/// Problems: 422 `validation_failed` for a `time_zone` that is not an IANA zone
/// (`unknown_time_zone`), more than three `weekend_days` or 400 `holidays` (`too_many`), a
/// holiday name not 1 to 100 characters, a `default_currency` that is not an ISO 4217
/// code (`invalid_format`), a working time that is not `HH:MM` (`invalid_time`), a span
/// that ends before it starts (`invalid_range`), spans of a day that overlap
/// (`overlapping`), a Jalali day that no year has (`invalid_date`), a week without any
/// working time (`no_working_time`), or a `service_cost_per_hour` below 0 or above 10¹²
/// (`out_of_range`).
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
    let acting = principal.0;
    let precondition = if_match.precondition();
    let (settings, version) = state
        .db(move |conn| {
            Ok(application::settings::update(
                conn,
                &acting,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    state.settings_changed();
    Ok(etag::single(&req, SETTINGS_ID, version, &settings))
}

/// Get the lifecycle rules.
///
/// The rules that move customers between lifecycle stages as they buy: a first purchase
/// moves an `awareness` or `consideration` customer to `purchase`; a purchase within
/// `repeat_purchase.within_days` of the previous one moves a customer at `purchase` (or
/// earlier) to `retention`; a purchase by a `churned` customer moves them back to
/// `retention` (`win_back`); and no purchase for `churn.after_days` moves a `purchase`,
/// `retention` or `advocacy` customer to `churned`, checked once a day at midnight in the
/// business time zone. Each rule can be switched off. Every automatic move is recorded in
/// the customer's lifecycle history with the rule as its reason (`rule:first_purchase`,
/// `rule:repeat_purchase`, `rule:win_back`, `rule:churn`); a change by a user is
/// recorded as `manual`. Until changed the defaults apply: all on, 365 and 180 days.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "settings",
    operation_id = "get_lifecycle_rules",
    responses((status = 200, description = "The rules", body = LifecycleRules, headers(("ETag" = String))))
)]
#[get("/api/v1/settings/lifecycle-rules")]
pub async fn get_lifecycle_rules(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let (rules, version) = state
        .db(move |conn| Ok(lifecycle::get(conn, &acting)?))
        .await?;
    Ok(etag::single(&req, RULES_ID, version, &rules))
}

/// Change the lifecycle rules (JSON Merge Patch).
///
/// Members present are set, e.g. `{"churn": {"after_days": 90}}`. Applies to purchases
/// and churn checks from now on; stages already reached stay. Needs `crm:configure`.
/// Honours `If-Match` (412 when stale). Audited as `lifecycle_rules.update`. Problems:
/// 422 `validation_failed` for a window outside 1 to 3,650 days (`out_of_range`).
#[utoipa::path(
    tag = "settings",
    operation_id = "update_lifecycle_rules",
    params(("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(
        content = LifecycleRules,
        content_type = "application/merge-patch+json",
        example = json!({"churn": {"after_days": 90}, "win_back": {"enabled": false}})
    ),
    responses((status = 200, description = "The changed rules", body = LifecycleRules, headers(("ETag" = String))))
)]
#[patch("/api/v1/settings/lifecycle-rules")]
pub async fn update_lifecycle_rules(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let precondition = if_match.precondition();
    let (rules, version) = state
        .db(move |conn| {
            Ok(lifecycle::update(
                conn,
                &acting,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(&req, RULES_ID, version, &rules))
}
