//! Organization personnel (C-2): people (customers of kind `person`) listed at an
//! organization with role and unit. A person may be listed at several organizations.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::text::TextKind;
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::personnel::PersonnelRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::plumbing::transaction;
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const MAX_TEXT_CHARS: usize = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct Personnel {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub person_id: Uuid,
    /// Role or responsibility, e.g. "مدیر خرید".
    pub role: Option<String>,
    /// Organizational unit, e.g. "واحد بازرگانی".
    pub unit: Option<String>,
    pub is_primary_contact: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&PersonnelRow> for Personnel {
    fn from(row: &PersonnelRow) -> Self {
        Personnel {
            id: row.id.0,
            organization_id: row.customer_id.0,
            person_id: row.person_id.0,
            role: row.role.clone(),
            unit: row.unit.clone(),
            is_primary_contact: row.is_primary_contact,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"person_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb", "role": "مدیر خرید", "unit": "بازرگانی", "is_primary_contact": true}))]
pub struct AddPersonnelRequest {
    pub person_id: Uuid,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub is_primary_contact: bool,
}

/// The fields `PATCH` can change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonnelPatch {
    pub role: Option<String>,
    pub unit: Option<String>,
    pub is_primary_contact: bool,
}

fn tidy(role: Option<String>, unit: Option<String>) -> ApiResult<(Option<String>, Option<String>)> {
    let mut v = Violations::default();
    let mut clean = |field: &str, value: Option<String>| {
        if let Some(text) = &value {
            v.check_text(field, text, TextKind::SingleLine);
        }
        let value = value
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty());
        if value
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            v.push(
                field,
                "too_long",
                format!("must be at most {MAX_TEXT_CHARS} characters"),
            );
        }
        value
    };
    let role = clean("role", role);
    let unit = clean("unit", unit);
    v.into_result().map_err(ApiError::Validation)?;
    Ok((role, unit))
}

fn audit_link(
    conn: &mut persistence::db::DbConnection,
    actor: &persistence::audit::Actor,
    action: &str,
    row: &PersonnelRow,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        actor,
        NewAuditEvent {
            action,
            resource_type: "customer",
            resource_id: Some(row.customer_id.0.to_string()),
            changes: Some(serde_json::json!({
                "personnel_id": row.id.0, "person_id": row.person_id.0,
                "role": row.role, "unit": row.unit, "is_primary_contact": row.is_primary_contact,
            })),
        },
    )?;
    Ok(())
}

/// List a person at an organization.
#[utoipa::path(
    tag = "customers",
    operation_id = "add_personnel",
    params(("id" = Uuid, Path, description = "Organization (customer) id")),
    request_body = AddPersonnelRequest,
    responses(
        (status = 201, description = "Created", body = Personnel, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The person is already listed here", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/personnel")]
pub async fn add_personnel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<AddPersonnelRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let organization = id.into_inner();
    let request = body.0;
    let (role, unit) = tidy(request.role, request.unit)?;
    let acting = principal.0.clone();
    let actor = principal.audit_actor();
    let now = DbTime(persistence::now());
    let row = PersonnelRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(organization),
        person_id: DbUuid(request.person_id),
        role,
        unit,
        is_primary_contact: request.is_primary_contact,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let org = application::customers::visible(conn, &acting, organization)?;
                if org.row.kind != "organization" {
                    return Err(ApiError::field(
                        "id",
                        "not_an_organization",
                        "personnel can be listed only at an organization",
                    ));
                }
                let person = persistence::customers::find(conn, row.person_id.0).map_err(|_| {
                    ApiError::field("person_id", "not_found", "no customer with this id")
                })?;
                if !acting.scope().can_see(&person.row) {
                    return Err(ApiError::field(
                        "person_id",
                        "not_found",
                        "no customer with this id",
                    ));
                }
                if person.row.kind != "person" {
                    return Err(ApiError::field(
                        "person_id",
                        "not_a_person",
                        "must be a customer of kind person",
                    ));
                }
                persistence::personnel::insert(conn, &row)?;
                audit_link(conn, &actor, "customer.personnel.add", &row)?;
                Ok(row)
            })
        })
        .await?;
    let location = format!("/api/v1/customers/{organization}/personnel/{}", row.id.0);
    Ok(etag::created(
        &location,
        row.id.0,
        row.version,
        &Personnel::from(&row),
    ))
}

/// The people listed at an organization (or, for a person, the organizations they are
/// listed at).
#[utoipa::path(
    tag = "customers",
    operation_id = "list_personnel",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Personnel links", body = Vec<Personnel>))
)]
#[get("/api/v1/customers/{id}/personnel")]
pub async fn list_personnel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let rows = state
        .db(move |conn| {
            let record = application::customers::visible(conn, &acting, customer)?;
            Ok(persistence::personnel::of_customer(
                conn,
                customer,
                record.row.kind == "organization",
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(Personnel::from).collect::<Vec<_>>()))
}

/// Change a personnel link (JSON Merge Patch).
#[utoipa::path(
    tag = "customers",
    operation_id = "update_personnel",
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("personnel_id" = Uuid, Path, description = "Personnel link id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    request_body(content = PersonnelPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed link", body = Personnel, headers(("ETag" = String))))
)]
#[patch("/api/v1/customers/{id}/personnel/{personnel_id}")]
pub async fn update_personnel(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let (organization, link) = path.into_inner();
    let acting = principal.0.clone();
    let actor = principal.audit_actor();
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                application::customers::visible(conn, &acting, organization)?;
                let current = persistence::personnel::find(conn, organization, link)?;
                if_match.check(link, current.version)?;
                let before = PersonnelPatch {
                    role: current.role.clone(),
                    unit: current.unit.clone(),
                    is_primary_contact: current.is_primary_contact,
                };
                let after: PersonnelPatch = patch.apply(&before)?;
                let (role, unit) = tidy(after.role, after.unit)?;
                let mut row = current.clone();
                row.role = role;
                row.unit = unit;
                row.is_primary_contact = after.is_primary_contact;
                let row = persistence::personnel::update(conn, &row)?;
                audit_link(conn, &actor, "customer.personnel.update", &row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(etag::single(
        &req,
        row.id.0,
        row.version,
        &Personnel::from(&row),
    ))
}

/// Remove a person from an organization.
#[utoipa::path(
    tag = "customers",
    operation_id = "remove_personnel",
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("personnel_id" = Uuid, Path, description = "Personnel link id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on")
    ),
    responses((status = 204, description = "Removed"))
)]
#[delete("/api/v1/customers/{id}/personnel/{personnel_id}")]
pub async fn remove_personnel(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let (organization, link) = path.into_inner();
    let acting = principal.0.clone();
    let actor = principal.audit_actor();
    state
        .db(move |conn| {
            transaction(conn, |conn| {
                application::customers::visible(conn, &acting, organization)?;
                let current = persistence::personnel::find(conn, organization, link)?;
                if_match.check(link, current.version)?;
                persistence::personnel::delete(conn, organization, link)?;
                audit_link(conn, &actor, "customer.personnel.remove", &current)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
