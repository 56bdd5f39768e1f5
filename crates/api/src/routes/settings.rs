//! Business settings (L-4): time zone, week, working hours, holidays and currency.
//! Readable by every signed-in user (clients format dates and amounts with them),
//! changed with `crm:configure`. The business calendar built from them decides what
//! "today", "this month" and business hours mean everywhere.

use actix_web::{get, patch, web, HttpRequest, HttpResponse};
use application::settings::SETTINGS_ID;
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
    paths(get_business_settings, update_business_settings),
    components(schemas(
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
        .service(update_business_settings);
}

/// The business settings.
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
#[utoipa::path(
    tag = "settings",
    operation_id = "update_business_settings",
    params(("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = BusinessSettings, content_type = "application/merge-patch+json"),
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
