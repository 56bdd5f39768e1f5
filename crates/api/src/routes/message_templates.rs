//! Message templates (O-3): Persian and English texts the business starts
//! conversations with, filled in per customer with Jinja variables and the `jalali`,
//! `fa_digits` and `toman` filters; previewed for a customer, sent through
//! `POST /conversations` with `template_id`.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::omnichannel::templates::{self, Filled};
use chrono::{DateTime, Utc};
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::templates::{
    MessageTemplateInput, TemplateLanguage, TemplatePreviewInput,
};
use persistence::message_templates::MessageTemplateRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::pagination::creation_cursor;
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_message_template,
        list_message_templates,
        get_message_template,
        update_message_template,
        delete_message_template,
        preview_message_template
    ),
    components(schemas(
        MessageTemplate,
        MessageTemplateInput,
        TemplateLanguage,
        TemplatePreviewInput,
        FilledTemplate
    ))
)]
pub struct MessageTemplatesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_message_template)
        .service(list_message_templates)
        .service(get_message_template)
        .service(update_message_template)
        .service(delete_message_template)
        .service(preview_message_template);
}

/// A message template as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageTemplate {
    pub id: Uuid,
    pub name: String,
    /// The channel kind that sends it; any when absent.
    pub channel: Option<ChannelKind>,
    pub subject_fa: Option<String>,
    pub subject_en: Option<String>,
    pub body_fa: String,
    pub body_en: Option<String>,
    pub active: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<&MessageTemplateRow> for MessageTemplate {
    type Error = ApiError;

    fn try_from(row: &MessageTemplateRow) -> Result<Self, ApiError> {
        let channel = match row.channel.as_deref() {
            Some(stored) => Some(ChannelKind::parse(stored).ok_or_else(|| {
                ApiError::Internal(format!("stored template channel {stored:?}"))
            })?),
            None => None,
        };
        Ok(MessageTemplate {
            id: row.id.0,
            name: row.name.clone(),
            channel,
            subject_fa: row.subject_fa.clone(),
            subject_en: row.subject_en.clone(),
            body_fa: row.body_fa.clone(),
            body_en: row.body_en.clone(),
            active: row.active,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

/// Which templates a listing shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageTemplateFilters {
    /// Only templates an account of this kind may send: of this kind or of any.
    pub channel: Option<ChannelKind>,
    /// Only active (`true`) or inactive (`false`) templates.
    pub active: Option<bool>,
}

/// A template filled in for a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilledTemplate {
    pub language: TemplateLanguage,
    /// An e-mail template's subject.
    pub subject: Option<String>,
    pub body: String,
}

impl From<Filled> for FilledTemplate {
    fn from(filled: Filled) -> Self {
        FilledTemplate {
            language: filled.language,
            subject: filled.subject,
            body: filled.body,
        }
    }
}

/// Add a message template.
///
/// A unique `name`, optionally the `channel` kind that sends it, the Persian text
/// `body_fa` and optionally the English `body_en` (and for e-mail `subject_fa` and
/// `subject_en`). Texts are Jinja templates: the variables `customer.name`,
/// `customer.first_name`, `customer.last_name`, `customer.code`, `customer.city`,
/// `customer.province`, `customer.birth_date`, `customer.lifecycle_stage`,
/// `customer.order_count`, `customer.revenue` (minor units), `customer.last_order_at`,
/// `agent.name` and `today`; conditions (`{% if customer.city %}`), `default(…)` for
/// what a customer lacks (absent values are empty); and the filters `jalali` (a date or
/// time in the Jalali calendar: `1405/09/13`, or `13 آذر 1405` with `jalali("long")`),
/// `fa_digits` (Persian digits) and `toman` (rials as toman with thousands
/// separators). In a Persian text `jalali` and `toman` write Persian digits. Every text
/// is checked when saved: a template that could not be filled in is refused.
///
/// Needs `records:write`. Audited as `message_template.create`. Problems: 422
/// `validation_failed` naming each field and rule: `body_fa` `required`,
/// `unknown_variable` (a name not in the list), `invalid_template` (not Jinja, an
/// unknown filter, `include`, a runaway loop), `subject_fa` `required` for an e-mail
/// template or `not_allowed` for another channel, `name` `already_exists`.
#[utoipa::path(
    tag = "message_templates",
    operation_id = "create_message_template",
    request_body = MessageTemplateInput,
    responses(
        (status = 201, description = "Created", body = MessageTemplate, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/message-templates")]
pub async fn create_message_template(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<MessageTemplateInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(templates::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/message-templates/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &MessageTemplate::try_from(&row)?,
    ))
}

/// List message templates.
///
/// In creation order, one page at a time; `channel` keeps those an account of that
/// kind may send, `active` the active or inactive ones. Needs `records:read`.
#[utoipa::path(
    tag = "message_templates",
    operation_id = "list_message_templates",
    params(PageParams, MessageTemplateFilters),
    responses((status = 200, description = "One page of templates", body = Page<MessageTemplate>))
)]
#[get("/api/v1/message-templates")]
pub async fn list_message_templates(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<MessageTemplateFilters>,
) -> ApiResult<HttpResponse> {
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let filters = filters.into_inner();
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(templates::list(
                conn,
                &acting,
                filters.channel,
                filters.active,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let data = rows
        .iter()
        .map(MessageTemplate::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page::from_rows(
        rows.into_iter().zip(data).collect::<Vec<_>>(),
        page.limit,
        |(row, _)| creation_cursor(row.created_at.0, row.id.0),
        |(_, template)| template,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a message template.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "message_templates",
    operation_id = "get_message_template",
    params(("id" = Uuid, Path, description = "Template id")),
    responses((status = 200, description = "Found", body = MessageTemplate, headers(("ETag" = String))))
)]
#[get("/api/v1/message-templates/{id}")]
pub async fn get_message_template(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(templates::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &MessageTemplate::try_from(&row)?,
    ))
}

/// Change a message template (JSON Merge Patch).
///
/// Any field, checked as on creation, e.g. `{"active": false}` or `{"body_en": null}`.
/// Needs `records:write`; honours `If-Match` (412 when stale). Audited as
/// `message_template.update`. Messages already sent keep their text.
#[utoipa::path(
    tag = "message_templates",
    operation_id = "update_message_template",
    params(("id" = Uuid, Path, description = "Template id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = MessageTemplateInput, content_type = "application/merge-patch+json", example = json!({"body_en": "Dear {{ customer.name }}, your order is on its way."})),
    responses(
        (status = 200, description = "Changed", body = MessageTemplate, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/message-templates/{id}")]
pub async fn update_message_template(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let row = state
        .db(move |conn| {
            Ok(templates::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &MessageTemplate::try_from(&row)?,
    ))
}

/// Delete a message template.
///
/// Needs `crm:configure`. Honours `If-Match`. Audited as `message_template.delete`.
/// Messages sent with it keep their text.
#[utoipa::path(
    tag = "message_templates",
    operation_id = "delete_message_template",
    params(
        ("id" = Uuid, Path, description = "Template id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the template has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/message-templates/{id}")]
pub async fn delete_message_template(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(templates::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Preview a message template for a customer.
///
/// The template (active or not) filled in for a customer the caller sees, in
/// `language` (`fa` by default), exactly as `POST /conversations` would send it;
/// nothing is sent or counted. Needs `records:read`. Problems: 422 `customer_id`
/// `not_found`, `language` `not_available` (no English text), `template_id`
/// `invalid_template` (the customer's data does not fit a filter).
#[utoipa::path(
    tag = "message_templates",
    operation_id = "preview_message_template",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = TemplatePreviewInput,
    responses(
        (status = 200, description = "The text that would be sent", body = FilledTemplate),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/message-templates/{id}/preview")]
pub async fn preview_message_template(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<TemplatePreviewInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let filled = state
        .db(move |conn| {
            Ok(templates::preview(
                conn,
                &acting,
                id,
                input.customer_id,
                input.language.unwrap_or(TemplateLanguage::Fa),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(FilledTemplate::from(filled)))
}
