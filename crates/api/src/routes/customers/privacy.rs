//! Consent and data-subject rights: the consent ledger, the personal-data export
//! and erasure by anonymisation.
//!
//! Erasure removes every personal field, contact point, address, custom value, note text
//! and consent evidence, empties the search text so no search can find the person
//! again, and redacts the changes of the customer's audit events to their digests (the
//! chain still verifies). What is not personal stays, so counts, lifecycle, ownership,
//! acquisition and (later) orders keep adding up.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::customers::{ConsentChannel, ConsentPurpose, CustomerInput};
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::consents::{ConsentEventRow, ConsentStateRow};
use persistence::customers::CustomerRecord;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Customer;
use super::{scope_of, visible_customer};
use crate::auth::plumbing::{transaction, TxError};
use crate::auth::Principal;
use crate::conventions::{JsonBody, RequestId};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What an erased customer is called.
pub const ERASED_NAME: &str = "—";
/// What an erased note says.
const ERASED_NOTE: &str = "[erased]";

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "sms", "purpose": "marketing", "granted": false, "source": "phone_call", "evidence": "called on 1405-09-02 and asked to stop"}))]
pub struct ConsentRequest {
    pub channel: ConsentChannel,
    pub purpose: ConsentPurpose,
    pub granted: bool,
    /// How the customer said it, e.g. `web_form`, `phone_call`, `in_person`, `email`.
    pub source: String,
    /// Reference to the proof (form id, message id), at most 500 characters.
    #[serde(default)]
    pub evidence: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentEvent {
    pub id: Uuid,
    pub channel: String,
    pub purpose: String,
    pub granted: bool,
    pub source: String,
    pub evidence: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

impl From<&ConsentEventRow> for ConsentEvent {
    fn from(row: &ConsentEventRow) -> Self {
        ConsentEvent {
            id: row.id.0,
            channel: row.channel.clone(),
            purpose: row.purpose.clone(),
            granted: row.granted,
            source: row.source.clone(),
            evidence: row.evidence.clone(),
            recorded_by: row.recorded_by.map(|id| id.0),
            recorded_at: row.recorded_at.0,
        }
    }
}

/// The current answer for one channel and purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentState {
    pub channel: String,
    pub purpose: String,
    pub granted: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<&ConsentStateRow> for ConsentState {
    fn from(row: &ConsentStateRow) -> Self {
        ConsentState {
            channel: row.channel.clone(),
            purpose: row.purpose.clone(),
            granted: row.granted,
            updated_at: row.updated_at.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consents {
    /// Current state per channel and purpose; absent means never asked (no consent).
    pub current: Vec<ConsentState>,
    /// Every grant and withdrawal, oldest first.
    pub ledger: Vec<ConsentEvent>,
}

/// Record that a customer gave or withdrew consent.
#[utoipa::path(
    tag = "customers",
    operation_id = "record_consent",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = ConsentRequest,
    responses((status = 201, description = "Recorded", body = ConsentEvent))
)]
#[post("/api/v1/customers/{id}/consents")]
pub async fn record_consent(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<Uuid>,
    body: JsonBody<ConsentRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsWrite)?;
    let customer = id.into_inner();
    let request = body.0;
    let mut v = Violations::default();
    let source = request.source.trim().to_string();
    if source.is_empty() || source.chars().count() > 50 {
        v.push("source", "invalid_length", "must be 1 to 50 characters");
    }
    let evidence = request
        .evidence
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    if evidence.as_ref().is_some_and(|e| e.chars().count() > 500) {
        v.push("evidence", "too_long", "must be at most 500 characters");
    }
    v.into_result().map_err(ApiError::Validation)?;
    let scope = scope_of(&principal);
    let actor = principal.actor(Some(request_id.to_string()));
    let row = ConsentEventRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        channel: request.channel.as_str().to_string(),
        purpose: request.purpose.as_str().to_string(),
        granted: request.granted,
        source,
        evidence,
        recorded_by: Some(DbUuid(principal.user_id)),
        recorded_at: DbTime(persistence::now()),
    };
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let record = visible_customer(conn, &scope, customer)?;
                if record.row.erased_at.is_some() {
                    return Err(TxError::Api(ApiError::Conflict("the customer was erased".into())));
                }
                persistence::consents::record(conn, &row)?;
                audit::record(
                    conn,
                    &actor,
                    NewAuditEvent {
                        action: if row.granted { "customer.consent.grant" } else { "customer.consent.withdraw" },
                        resource_type: "customer",
                        resource_id: Some(customer.to_string()),
                        changes: Some(serde_json::json!({"channel": row.channel, "purpose": row.purpose, "source": row.source})),
                    },
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(ConsentEvent::from(&row)))
}

/// A customer's consents: the current state and the full ledger.
#[utoipa::path(
    tag = "customers",
    operation_id = "list_consents",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Consents", body = Consents))
)]
#[get("/api/v1/customers/{id}/consents")]
pub async fn list_consents(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let customer = id.into_inner();
    let scope = scope_of(&principal);
    let consents = state
        .db(move |conn| {
            visible_customer(conn, &scope, customer)?;
            consents_of(conn, customer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(consents))
}

pub fn consents_of(
    conn: &mut persistence::db::DbConnection,
    customer: Uuid,
) -> ApiResult<Consents> {
    Ok(Consents {
        current: persistence::consents::current(conn, customer)?
            .iter()
            .map(ConsentState::from)
            .collect(),
        ledger: persistence::consents::ledger(conn, customer)?
            .iter()
            .map(ConsentEvent::from)
            .collect(),
    })
}

/// Everything held about a person, machine-readable (data-subject access request).
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    pub generated_at: DateTime<Utc>,
    pub customer: Customer,
    pub notes: Vec<super::notes::Note>,
    pub personnel: Vec<super::personnel::Personnel>,
    pub consents: Consents,
    pub lifecycle_history: Vec<super::overview::LifecycleTransition>,
    pub owner_history: Vec<super::overview::OwnerChange>,
    /// Audit events about the customer (who changed what, when).
    #[schema(value_type = Vec<Object>)]
    pub audit_events: Vec<serde_json::Value>,
}

/// Export everything held about a customer.
#[utoipa::path(
    tag = "customers",
    operation_id = "get_personal_data",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The customer's personal data", body = PersonalData))
)]
#[get("/api/v1/customers/{id}/personal-data")]
pub async fn get_personal_data(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::PrivacyManage)?;
    let customer = id.into_inner();
    let scope = scope_of(&principal);
    let data = state
        .db(move |conn| {
            let record = visible_customer(conn, &scope, customer)?;
            let mut personnel = persistence::personnel::of_organization(conn, customer)?;
            personnel.extend(persistence::personnel::of_person(conn, customer)?);
            let events = persistence::audit::list(
                conn,
                &persistence::audit::AuditQuery {
                    resource_type: Some("customer".into()),
                    resource_id: Some(customer.to_string()),
                    limit: 10_000,
                    ..Default::default()
                },
            )?;
            Ok(PersonalData {
                generated_at: persistence::now(),
                customer: Customer::from_record(&record)?,
                notes: persistence::notes::all_of(conn, customer)?
                    .iter()
                    .map(super::notes::Note::from_row)
                    .collect::<ApiResult<_>>()?,
                personnel: personnel.iter().map(super::personnel::Personnel::from).collect(),
                consents: consents_of(conn, customer)?,
                lifecycle_history: super::overview::lifecycle_history(conn, customer)?,
                owner_history: super::overview::owner_history(conn, customer)?,
                audit_events: events
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "occurred_at": e.occurred_at.0, "action": e.action,
                            "actor_id": e.actor_id.map(|id| id.0), "changes": e.changes.as_ref().map(|c| &c.0),
                        })
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(data))
}

/// The anonymised form of `record`: kind, ownership, classification, lifecycle and
/// acquisition stay; everything that identifies the person goes.
fn anonymised(record: &CustomerRecord) -> ApiResult<CustomerInput> {
    let current = record.to_input()?;
    let mut input = CustomerInput::empty(current.kind);
    input.owner_id = current.owner_id;
    input.team_id = current.team_id;
    input.tier_id = current.tier_id;
    input.lifecycle_stage = current.lifecycle_stage;
    input.acquisition_source = current.acquisition_source;
    input.acquisition_channel = current.acquisition_channel;
    input.acquisition_campaign = current.acquisition_campaign;
    input.tag_ids = current.tag_ids;
    input.group_ids = current.group_ids;
    input.code = current.code;
    Ok(input)
}

/// Erase a customer's personal data by anonymisation. Irreversible.
#[utoipa::path(
    tag = "customers",
    operation_id = "erase_customer",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The anonymised customer", body = Customer),
        (status = 409, description = "Already erased", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/erasure")]
pub async fn erase_customer(
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::PrivacyManage)?;
    let customer = id.into_inner();
    let scope = scope_of(&principal);
    let actor = principal.actor(Some(request_id.to_string()));
    let record = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let current = visible_customer(conn, &scope, customer)?;
                if current.row.erased_at.is_some() {
                    return Err(TxError::Api(ApiError::Conflict(
                        "the customer was already erased".into(),
                    )));
                }
                let input = anonymised(&current)?;
                let now = persistence::now();
                let mut meta = current.meta();
                meta.erased_at = Some(now);
                meta.updated_at = now;
                meta.version += 1;
                let mut erased = CustomerRecord::from_input(&meta, &input, &[]);
                erased.row.display_name = ERASED_NAME.to_string();
                persistence::customers::update(conn, &erased, &[], current.row.version)?;
                persistence::notes::redact_all(conn, customer, ERASED_NOTE)?;
                persistence::consents::redact_evidence(conn, customer)?;
                let redacted = audit::redact_changes(conn, "customer", &customer.to_string())?;
                audit::record(
                    conn,
                    &actor,
                    NewAuditEvent {
                        action: "customer.erase",
                        resource_type: "customer",
                        resource_id: Some(customer.to_string()),
                        changes: Some(serde_json::json!({"redacted_audit_events": redacted})),
                    },
                )?;
                Ok(persistence::customers::find(conn, customer)?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Customer::from_record(&record)?))
}
