//! Leads (S-1): creating, reading, searching, changing and deleting them, and their
//! conversion into customers. A lead is visible as a customer is: by its owner and team
//! under the caller's visibility.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::sales::lead_assignment::{self, AssignRequest};
use application::sales::leads::{self, Conversion, ConversionRequest, ConvertedDeal};
use chrono::{DateTime, Utc};
use domain::assignment::Method;
use domain::customers::{EmailInput, PhoneInput};
use domain::sales::leads::{LeadInput, LeadStatus};
use persistence::assignment::AssignmentRow;
use persistence::leads::LeadRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::search::{SearchPage, SearchRequest};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_lead,
        list_leads,
        search_leads,
        get_lead,
        update_lead,
        delete_lead,
        convert_lead,
        assign_lead,
        list_lead_assignments
    ),
    components(schemas(
        Lead,
        LeadScores,
        LeadInput,
        LeadStatus,
        ConversionRequest,
        ConvertedDeal,
        Conversion,
        LeadConversion,
        AssignRequest,
        Assignment,
        LeadAssignment,
        Method
    ))
)]
pub struct LeadsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_lead)
        .service(list_leads)
        .service(search_leads)
        .service(get_lead)
        .service(update_lead)
        .service(delete_lead)
        .service(convert_lead)
        .service(assign_lead)
        .service(list_lead_assignments);
}

/// A lead as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lead {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    /// E.164 numbers, one primary.
    pub phones: Vec<PhoneInput>,
    /// Lower-cased, one primary.
    pub emails: Vec<EmailInput>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// ISO 639 code.
    pub language: Option<String>,
    /// The product the lead asked about.
    pub product_id: Option<Uuid>,
    pub status: LeadStatus,
    pub disqualified_reason: Option<String>,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub description: Option<String>,
    /// "first last", else the company, else the first e-mail or phone.
    pub display_name: String,
    /// The person (or, for a company alone, the organization) the lead became.
    pub converted_customer_id: Option<Uuid>,
    /// The organization the lead's company became.
    pub converted_organization_id: Option<Uuid>,
    pub converted_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub scores: LeadScores,
    /// Values of the lead custom fields by key.
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
}

/// A lead's scores (S-2): read only, set by the scoring rules and model runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadScores {
    /// Sum of the points of the active scoring rules the lead meets.
    pub points: i64,
    /// Probability of conversion the latest `lead_propensity` run gave this open lead.
    pub propensity: Option<f64>,
    /// The facts that moved the propensity most:
    /// `[{"feature": "source=referral", "contribution": 0.9, "direction": "raises"}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub factors: Option<serde_json::Value>,
    /// The model run the propensity is from.
    pub run_id: Option<Uuid>,
}

impl Lead {
    pub fn from_row(row: &LeadRow) -> ApiResult<Lead> {
        let input = leads::input_of(row)?;
        Ok(Lead {
            id: row.id.0,
            first_name: input.first_name,
            last_name: input.last_name,
            company: input.company,
            job_title: input.job_title,
            phones: input.phones,
            emails: input.emails,
            province: input.province,
            city: input.city,
            source: input.source,
            campaign: input.campaign,
            language: input.language,
            product_id: input.product_id,
            status: LeadStatus::parse(&row.status).unwrap_or(input.status),
            disqualified_reason: input.disqualified_reason,
            owner_id: input.owner_id,
            team_id: input.team_id,
            description: input.description,
            display_name: row.display_name.clone(),
            converted_customer_id: row.converted_customer_id.map(|id| id.0),
            converted_organization_id: row.converted_organization_id.map(|id| id.0),
            converted_at: row.converted_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
            scores: LeadScores {
                points: row.score_points,
                propensity: row.propensity,
                factors: row
                    .propensity_factors
                    .as_ref()
                    .map(|factors| factors.0.clone()),
                run_id: row.propensity_run_id.map(|id| id.0),
            },
            custom_fields: row.custom_fields.0.clone(),
        })
    }
}

/// Create a lead.
///
/// Names, company, contacts (checked and normalised exactly as a customer's: E.164
/// phones, lower-cased e-mails, one primary each), where it came from, and its status
/// (`new` by default; `disqualified` needs a `disqualified_reason`; `converted` only by
/// conversion). An owner given is kept (a manual assignment); without one the
/// assignment rules (`/assignment-rules`) pick the owner and team, else they default to
/// the caller's. A caller without `all` visibility may hand a lead only to themselves
/// (or, with `team`, their team). Every assignment is recorded
/// (`GET /leads/{id}/assignments`). `custom_fields` holds values of the lead custom
/// fields (`/custom-fields` with `entity: lead`), checked against their definitions as
/// customers' are.
///
/// Needs `records:write`. Audited as `lead.create`; safe to retry with an
/// `Idempotency-Key`. Problems: 422 `validation_failed` naming every broken rule (a lead
/// needs a name, a company, a phone or an e-mail: `last_name` `required`; a custom value
/// that breaks its definition, named `custom_fields.<key>`: `unknown_field`,
/// `invalid_type`, `not_an_option`, `required`…).
#[utoipa::path(
    tag = "leads",
    operation_id = "create_lead",
    request_body = LeadInput,
    responses(
        (status = 201, description = "Created", body = Lead, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/leads")]
pub async fn create_lead(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<LeadInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let row = state
        .db(move |conn| Ok(leads::create(conn, &acting, input)?))
        .await?;
    let location = format!("/api/v1/leads/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Lead::from_row(&row)?,
    ))
}

async fn run_lead_search(
    state: &AppState,
    principal: Principal,
    request: SearchRequest,
) -> ApiResult<Page<Lead>> {
    let definitions = state.db(|conn| Ok(leads::definitions(conn)?)).await?;
    let context = state.resolve_context().await?;
    let search = leads::resolve_search(request, &definitions, &context)?;
    let acting = principal.0;
    let (search, rows) = state
        .db(move |conn| {
            let rows = leads::search(conn, &acting, &search)?;
            Ok((search, rows))
        })
        .await?;
    search
        .page(rows, |row| Lead::from_row(&row))
        .collect_results()
}

/// List leads.
///
/// The leads the caller may see, newest first, one page at a time. For filters and the
/// quick search use `POST /leads/search`. Needs `records:read`.
#[utoipa::path(
    tag = "leads",
    operation_id = "list_leads",
    params(PageParams),
    responses((status = 200, description = "One page of leads", body = Page<Lead>))
)]
#[get("/api/v1/leads")]
pub async fn list_leads(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let request = SearchRequest {
        sort: Some(serde_json::json!([{"field": "created_at", "direction": "desc"}])),
        limit: Some(page.limit as i64),
        cursor: page.cursor.as_ref().map(|cursor| cursor.encode()),
        ..SearchRequest::default()
    };
    Ok(HttpResponse::Ok().json(run_lead_search(&state, principal, request).await?))
}

/// Search leads.
///
/// The search convention over the leads the caller may see: filter on the names,
/// `company`, `job_title`, `province`, `city`, `source`, `campaign`, `status`,
/// `display_name`, `owner_id`, `team_id`, `converted_customer_id` (the leads a customer
/// came from), `converted_at`, `created_by`, `created_at`, `updated_at`, `score_points`
/// (the scoring rules' points) and `propensity` (the latest model run's probability of
/// conversion, null when none); sort by `id`, `display_name`, `created_at`,
/// `updated_at`, `score_points` or `propensity` (nulls first). Every lead custom field
/// filters as `custom.<key>` by its type. `q` finds every term in
/// the names, company, job title, city, province, phones (also in the national form
/// `0912…`) and e-mails, Persian-aware: Arabic and Persian letters, digits and
/// half-spaces agree.
///
/// Needs `records:read`. Problems: 400 `invalid_cursor`; 422 `validation_failed`
/// naming every unknown field, wrong operator or bad value with its path.
#[utoipa::path(
    tag = "leads",
    operation_id = "search_leads",
    request_body(
        content = SearchRequest,
        example = json!({"filter": {"and": [
            {"field": "status", "op": "in", "value": ["new", "contacted"]},
            {"field": "province", "op": "eq", "value": "اصفهان"}
        ]}, "q": "آوا", "sort": [{"field": "created_at", "direction": "desc"}], "limit": 50})
    ),
    responses((status = 200, description = "One page of matching leads", body = Page<Lead>))
)]
#[post("/api/v1/leads/search")]
pub async fn search_leads(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<SearchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(run_lead_search(&state, principal, body.0).await?))
}

/// Get a lead.
///
/// Needs `records:read`; the lead must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one). Answers with an `ETag` for a
/// later `If-Match`.
#[utoipa::path(
    tag = "leads",
    operation_id = "get_lead",
    params(("id" = Uuid, Path, description = "Lead id")),
    responses((status = 200, description = "Found", body = Lead, headers(("ETag" = String))))
)]
#[get("/api/v1/leads/{id}")]
pub async fn get_lead(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(leads::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(&req, id, row.version, &Lead::from_row(&row)?))
}

/// Change a lead (JSON Merge Patch).
///
/// Any field of the lead, checked as on creation: e.g. `{"status": "disqualified",
/// "disqualified_reason": "…"}`, or back to `new` with `"disqualified_reason": null`.
/// `custom_fields` merges member by member (`null` removes a value) and the result is
/// checked against the lead custom fields. A converted lead no longer changes (409
/// `conflict`).
///
/// Needs `records:write` and the lead within the caller's visibility. Honours `If-Match`
/// (412 when stale). Audited as `lead.update`.
#[utoipa::path(
    tag = "leads",
    operation_id = "update_lead",
    params(("id" = Uuid, Path, description = "Lead id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = LeadInput, content_type = "application/merge-patch+json", example = json!({"status": "contacted"})),
    responses((status = 200, description = "Changed", body = Lead, headers(("ETag" = String))))
)]
#[patch("/api/v1/leads/{id}")]
pub async fn update_lead(
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
            Ok(leads::update(
                conn,
                &acting,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(&req, id, row.version, &Lead::from_row(&row)?))
}

/// Delete a lead.
///
/// For good, with the channel conversations (and their messages) only the lead had;
/// the customers a converted lead became stay. Needs `records:delete` and the
/// lead within the caller's visibility. Honours `If-Match`. Audited as `lead.delete`.
#[utoipa::path(
    tag = "leads",
    operation_id = "delete_lead",
    params(
        ("id" = Uuid, Path, description = "Lead id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/leads/{id}")]
pub async fn delete_lead(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(leads::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A converted lead and the customers it became.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadConversion {
    pub lead: Lead,
    pub conversion: Conversion,
}

/// Convert a lead into a customer.
///
/// In one transaction: the lead's person becomes a customer of kind `person` (with its
/// phones, e-mails, province and city, source and campaign, owner and team), its
/// company a customer of kind `organization` with the person listed as personnel (role:
/// the job title) — or either is linked to an existing customer named by `customer_id`
/// / `organization_id`. A new customer passes the duplicate check: likely twins answer
/// 409 `likely_duplicate` with the candidates, and nothing is written; name the existing
/// customer, or send `confirmed: true`. The lead becomes `converted` and keeps the
/// customers it became (searchable as `converted_customer_id`). The lead's custom values
/// go to the new customer that receives its contacts (the person, else the
/// organization) when their key is also a customer custom field of the same kind that
/// accepts the value (a `select` value must be one of the customer field's options);
/// other values stay on the lead only. With `deal`, a deal is
/// opened in the same transaction for the organization (else the person), the person
/// as its contact, the lead's owner, source and campaign, and `lead_id` (its problems
/// are named under `deal.`).
///
/// Needs `records:write` and the lead within the caller's visibility. Audited as
/// `lead.convert` (and `customer.create` for each customer made). Problems: 409
/// `conflict` for a lead converted already; 422 naming `customer_id` or
/// `organization_id` when not a visible, active customer of the right kind.
#[utoipa::path(
    tag = "leads",
    operation_id = "convert_lead",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = ConversionRequest,
    responses(
        (status = 200, description = "Converted", body = LeadConversion),
        (status = 409, description = "Converted already, or likely duplicates", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/leads/{id}/convert")]
pub async fn convert_lead(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<ConversionRequest>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let request = body.0;
    let today = state.today().await?;
    let currency = super::products::business_currency(&state).await?;
    let (row, conversion) = state
        .db(move |conn| Ok(leads::convert(conn, &acting, id, request, today, currency)?))
        .await?;
    Ok(HttpResponse::Ok().json(LeadConversion {
        lead: Lead::from_row(&row)?,
        conversion,
    }))
}

/// One recorded assignment of a record.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd",
    "user_id": "0191f8a0-7c1e-7a4b-9a53-3f1c2b9d8e10",
    "team_id": "0191f8a0-7c1e-7a4b-9a53-3f1c2b9d8e11",
    "rule_id": "0193a4e2-7c1d-7b3e-9f10-eeeeeeeeeeee",
    "method": "round_robin",
    "reason": "rule \"نمایشگاه\": round robin among 4 members (passed over: 1 away) of its team",
    "assigned_by": null,
    "assigned_at": "2026-12-09T08:00:00Z"
}))]
pub struct Assignment {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// The rule that decided; absent for manual and default assignments.
    pub rule_id: Option<Uuid>,
    pub method: Method,
    pub reason: String,
    /// Who caused it (the creator, or whoever assigned by hand).
    pub assigned_by: Option<Uuid>,
    pub assigned_at: DateTime<Utc>,
}

impl From<&AssignmentRow> for Assignment {
    fn from(row: &AssignmentRow) -> Self {
        Assignment {
            id: row.id.0,
            user_id: row.user_id.map(|id| id.0),
            team_id: row.team_id.map(|id| id.0),
            rule_id: row.rule_id.map(|id| id.0),
            method: Method::parse(&row.method).unwrap_or(Method::Manual),
            reason: row.reason.clone(),
            assigned_by: row.assigned_by.map(|id| id.0),
            assigned_at: row.assigned_at.0,
        }
    }
}

/// A lead assigned again, with the assignment recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadAssignment {
    pub lead: Lead,
    pub assignment: Assignment,
}

/// Assign a lead again.
///
/// Either to a named user (`user_id`, optionally `team_id` and a `reason`: a manual
/// override of the rules) or by the assignment rules (`by_rules: true`), exactly as a
/// new lead would be: the first active rule whose condition the lead meets and whose
/// target has an available user (not away, below capacity) decides.
///
/// Needs `records:write` and the lead within the caller's visibility; a named user must
/// be one the caller may hand leads to. Audited as `lead.assign`; the assignment is in
/// the lead's history. Problems: 409 `conflict` for a converted lead, or when no rule
/// applies with an available user; 422 naming `user_id` (unknown or not allowed) or
/// `by_rules` (`one_of`).
#[utoipa::path(
    tag = "leads",
    operation_id = "assign_lead",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = LeadAssignment, headers(("ETag" = String))),
        (status = 409, description = "Converted, or no rule applies", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/leads/{id}/assign")]
pub async fn assign_lead(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<AssignRequest>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let request = body.0;
    let (row, assignment) = state
        .db(move |conn| Ok(lead_assignment::assign(conn, &acting, id, request)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        row.version,
        &LeadAssignment {
            lead: Lead::from_row(&row)?,
            assignment: Assignment::from(&assignment),
        },
    ))
}

/// List a lead's assignments.
///
/// Every assignment of the lead, newest first: by which rule (or by hand, or the
/// creator's defaults), to whom, and why. Needs `records:read` and the lead within the
/// caller's visibility.
#[utoipa::path(
    tag = "leads",
    operation_id = "list_lead_assignments",
    params(("id" = Uuid, Path, description = "Lead id"), PageParams),
    responses((status = 200, description = "One page of assignments", body = Page<Assignment>))
)]
#[get("/api/v1/leads/{id}/assignments")]
pub async fn list_lead_assignments(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| {
            Ok(lead_assignment::history(
                conn,
                &acting,
                id,
                cursor.as_ref(),
                limit + 1,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        page.limit,
        lead_assignment::history_cursor,
        |row| Assignment::from(&row),
    )))
}
