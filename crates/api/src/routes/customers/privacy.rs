//! Consent and data-subject rights: the consent ledger, the personal-data export
//! and erasure by anonymisation.
//!
//! Erasure removes every personal field, contact point, address, custom value, note text
//! and consent evidence, empties the search text so no search can find the person
//! again, and redacts the changes of the customer's audit events to their digests (the
//! chain still verifies). It reaches every copy the product keeps: the customers merged
//! into the erased one (their own records stay for an undo), the documents a merge
//! record keeps for its undo, stored idempotent responses and export files. What is not
//! personal stays, so counts, lifecycle, ownership, acquisition and (later) orders keep
//! adding up.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::customers::{ConsentChannel, ConsentPurpose, CustomerInput};
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::consents::{ConsentEventRow, ConsentStateRow};
use persistence::customers::{merges, CustomerRecord};
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Customer;

use crate::auth::plumbing::transaction;
use crate::auth::Principal;
use crate::conventions::JsonBody;
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
    let acting = principal.0.clone();
    let actor = principal.audit_actor();
    let row = ConsentEventRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        channel: request.channel.as_str().to_string(),
        purpose: request.purpose.as_str().to_string(),
        granted: request.granted,
        source,
        evidence,
        recorded_by: Some(DbUuid(principal.id())),
        recorded_at: DbTime(persistence::now()),
    };
    let row = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let record = application::customers::visible(conn, &acting, customer)?;
                if record.row.erased_at.is_some() {
                    return Err(ApiError::Conflict("the customer was erased".into()));
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
    let acting = principal.0.clone();
    let consents = state
        .db(move |conn| {
            application::customers::visible(conn, &acting, customer)?;
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

/// Where a customer's personal data is held, place by place. In the personal-data
/// export: how many records in each place hold it now. In an erasure: how many were
/// erased, redacted, withdrawn or deleted there.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(example = json!({"customers": 2, "notes": 1, "consent_events": 1, "audit_events": 6, "merge_records": 1, "idempotent_responses": 2, "export_files": 1}))]
pub struct DataPlaces {
    /// Customer records: the customer and every customer merged into it (directly or
    /// through a chain of merges), which keep their own records. Erasure anonymises them.
    pub customers: usize,
    /// Notes on those customers. Erasure replaces their text.
    pub notes: usize,
    /// Consent ledger events (with evidence, for an erasure, which removes it; the
    /// grants and withdrawals themselves stay).
    pub consent_events: usize,
    /// Audit events about those customers. Erasure replaces their changes with a digest
    /// (the audit chain still verifies).
    pub audit_events: usize,
    /// Merge records whose undo data held the customers' documents. Erasure empties
    /// those documents; such a merge can no longer be undone.
    pub merge_records: usize,
    /// Responses stored for replay of requests sent with an `Idempotency-Key` (kept a
    /// day) whose path or body names the customers. Erasure withdraws them: replaying
    /// such a request answers 410.
    pub idempotent_responses: usize,
    /// Export files, finished or not, that hold the customers. Erasure deletes them;
    /// downloading one answers 410.
    pub export_files: usize,
}

/// Everything held about a person, machine-readable (data-subject access request).
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    pub generated_at: DateTime<Utc>,
    pub customer: Customer,
    /// Customers merged into this one (directly or through a chain of merges): each
    /// keeps its own record, so an undo of the merge can bring it back.
    pub merged_customers: Vec<Customer>,
    /// Notes on the customer and on the merged customers.
    pub notes: Vec<super::notes::Note>,
    pub personnel: Vec<super::personnel::Personnel>,
    pub consents: Consents,
    pub lifecycle_history: Vec<super::overview::LifecycleTransition>,
    pub owner_history: Vec<super::overview::OwnerChange>,
    /// Audit events about the customer and the merged customers (who changed what,
    /// when), each with the `customer_id` it is about.
    #[schema(value_type = Vec<Object>)]
    pub audit_events: Vec<serde_json::Value>,
    /// Where the data is held, place by place.
    pub held_in: DataPlaces,
}

/// The customer `root` and every customer merged into it.
fn with_merged(conn: &mut persistence::db::DbConnection, root: Uuid) -> ApiResult<Vec<Uuid>> {
    let mut ids = vec![root];
    ids.extend(persistence::customers::erasure::merged_away(conn, root)?);
    Ok(ids)
}

/// Refuses a customer merged into another: its data lives on in that customer, whose
/// erasure reaches it too.
fn refuse_merged(record: &CustomerRecord) -> ApiResult<()> {
    match record.row.merged_into_id {
        Some(winner) => Err(ApiError::Conflict(format!(
            "the customer was merged into customer {}, which holds its data; erase that customer",
            winner.0
        ))),
        None => Ok(()),
    }
}

/// Export everything held about a customer.
///
/// The customer, the customers merged into it, their notes, personnel links, consents,
/// lifecycle and owner history and audit events, and `held_in`: in how many records of
/// each place their personal data is held (what an erasure reaches). A customer merged
/// into another is answered with 409 naming the customer that holds its data.
#[utoipa::path(
    tag = "customers",
    operation_id = "get_personal_data",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer's personal data", body = PersonalData),
        (status = 409, description = "The customer was merged into another", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/customers/{id}/personal-data")]
pub async fn get_personal_data(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::PrivacyManage)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let data = state
        .db(move |conn| {
            let record = application::customers::visible(conn, &acting, customer)?;
            refuse_merged(&record)?;
            let ids = with_merged(conn, customer)?;
            let mut personnel = persistence::personnel::of_organization(conn, customer)?;
            personnel.extend(persistence::personnel::of_person(conn, customer)?);
            let mut merged_customers = Vec::new();
            let mut notes = Vec::new();
            let mut consent_events = 0;
            let mut audit_events = Vec::new();
            for id in &ids {
                if *id != customer {
                    merged_customers.push(Customer::from_record(&persistence::customers::find(
                        conn, *id,
                    )?)?);
                }
                for note in persistence::notes::all_of(conn, *id)? {
                    notes.push(super::notes::Note::from_row(&note)?);
                }
                consent_events += persistence::consents::ledger(conn, *id)?.len();
                let events = persistence::audit::list(
                    conn,
                    &persistence::audit::AuditQuery {
                        resource_type: Some("customer".into()),
                        resource_id: Some(id.to_string()),
                        limit: 10_000,
                        ..Default::default()
                    },
                )?;
                audit_events.extend(events.iter().map(|e| {
                    serde_json::json!({
                        "customer_id": id,
                        "occurred_at": e.occurred_at.0, "action": e.action,
                        "actor_id": e.actor_id.map(|id| id.0), "changes": e.changes.as_ref().map(|c| &c.0),
                    })
                }));
            }
            let held_in = DataPlaces {
                customers: ids.len(),
                notes: notes.len(),
                consent_events,
                audit_events: audit_events.len(),
                merge_records: merges::involving(conn, &ids)?
                    .iter()
                    .map(|merge| merge.undo_data())
                    .collect::<Result<Vec<_>, _>>()?
                    .iter()
                    .filter(|undo| !undo.erased)
                    .count(),
                idempotent_responses: persistence::idempotency::count_concerning(conn, &ids)?,
                export_files: persistence::files::containing_customers(conn, &ids)?.len(),
            };
            Ok(PersonalData {
                generated_at: persistence::now(),
                customer: Customer::from_record(&record)?,
                merged_customers,
                notes,
                personnel: personnel.iter().map(super::personnel::Personnel::from).collect(),
                consents: consents_of(conn, customer)?,
                lifecycle_history: super::overview::lifecycle_history(conn, customer)?,
                owner_history: super::overview::owner_history(conn, customer)?,
                audit_events,
                held_in,
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

/// Replaces `current`'s record with its anonymised form, marked erased at `now`.
fn anonymise(
    conn: &mut persistence::db::DbConnection,
    current: &CustomerRecord,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let input = anonymised(current)?;
    let mut meta = current.meta();
    meta.erased_at = Some(now);
    meta.updated_at = now;
    meta.version += 1;
    let mut erased = CustomerRecord::from_input(&meta, &input, &[]);
    erased.row.display_name = ERASED_NAME.to_string();
    persistence::customers::update(conn, &erased, &[], current.row.version)?;
    Ok(())
}

/// An erasure as performed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erasure {
    /// The anonymised customer.
    pub customer: Customer,
    /// What was erased, redacted, withdrawn or deleted, place by place.
    pub erased: DataPlaces,
    /// SQLite only (absent on PostgreSQL): whether the write-ahead log, which still held
    /// earlier versions of the erased data, was copied into the database and truncated.
    /// `false` when a long-running reader kept it; the next checkpoint does it then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_truncated: Option<bool>,
}

/// Erase a customer's personal data by anonymisation. Irreversible.
///
/// In one transaction: the customer and every customer merged into it (directly or
/// through a chain of merges) are anonymised; their notes' text, consent evidence and
/// audit changes are redacted (the audit chain still verifies); merge records involving
/// them lose the documents kept for an undo; stored idempotent responses naming them
/// are withdrawn (a replay answers 410); export files holding them are deleted (a
/// download answers 410). `erased` counts what was done in each place. A customer
/// merged into another is refused with 409 naming the customer that holds its data.
#[utoipa::path(
    tag = "customers",
    operation_id = "erase_customer",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The anonymised customer and what was erased where", body = Erasure),
        (status = 409, description = "Already erased, or merged into another customer", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/erasure")]
pub async fn erase_customer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::PrivacyManage)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let actor = principal.audit_actor();
    let (record, erased, log_truncated) = state
        .db(move |conn| {
            let (record, erased) = transaction(conn, |conn| {
                let current = application::customers::visible(conn, &acting, customer)?;
                if current.row.erased_at.is_some() {
                    return Err(ApiError::Conflict("the customer was already erased".into()));
                }
                refuse_merged(&current)?;
                let now = persistence::now();
                let ids = with_merged(conn, customer)?;
                // The customers are changed first: a concurrent writer of a copy (an
                // export page, an idempotent response) that read them before waits on
                // these rows and then sees the erasure, or its copy was stored before
                // the places below are searched (`persistence::customers::erasure`).
                anonymise(conn, &current, now)?;
                let mut erased = DataPlaces {
                    customers: 1,
                    ..DataPlaces::default()
                };
                for id in &ids {
                    if *id != customer {
                        let merged = persistence::customers::find(conn, *id)?;
                        anonymise(conn, &merged, now)?;
                        erased.customers += 1;
                    }
                    erased.notes += persistence::notes::redact_all(conn, *id, ERASED_NOTE)?;
                    erased.consent_events += persistence::consents::redact_evidence(conn, *id)?;
                    erased.audit_events +=
                        audit::redact_changes(conn, "customer", &id.to_string())?;
                }
                for merge in merges::involving(conn, &ids)? {
                    let undo = merge.undo_data()?;
                    if !undo.erased {
                        merges::set_undo_data(conn, merge.id.0, &undo.without_personal_data())?;
                        erased.merge_records += 1;
                    }
                }
                erased.idempotent_responses =
                    persistence::idempotency::withdraw_concerning(conn, &ids, now)?;
                let files = persistence::files::containing_customers(conn, &ids)?;
                erased.export_files = persistence::files::delete_many(conn, &files)?;
                for id in &ids {
                    audit::record(
                        conn,
                        &actor,
                        NewAuditEvent {
                            action: "customer.erase",
                            resource_type: "customer",
                            resource_id: Some(id.to_string()),
                            changes: Some(if *id == customer {
                                serde_json::to_value(&erased)
                                    .map_err(|err| ApiError::Internal(err.to_string()))?
                            } else {
                                serde_json::json!({"erased_with": customer})
                            }),
                        },
                    )?;
                }
                Ok((persistence::customers::find(conn, customer)?, erased))
            })?;
            // After the commit, so that the log holds nothing older than the erasure.
            let log_truncated = persistence::db::truncate_wal(conn)?;
            Ok((record, erased, log_truncated))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Erasure {
        customer: Customer::from_record(&record)?,
        erased,
        log_truncated,
    }))
}
