//! Merging duplicate customers (D-2) and undoing a merge; what is merged, moved and
//! restored, and when an undo is refused, is described in `application::customers::merge`.
//! Every customer a merge involves must be visible to the caller (404 otherwise).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use persistence::customers::merges::{MergeRow, MovedRow, MovedRows, RemovedLink};
use persistence::customers::CustomerRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Customer;
use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::ApiResult;
use crate::state::AppState;
use application::customers::merge::{self as service, MergeOrder};

#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "winner_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "loser_ids": ["0193a4e2-7c1d-7b3e-9f10-dddddddddddd"],
    "field_choices": {"birth_date": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd", "custom_fields.favourite_branch": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd"},
    "dry_run": true
}))]
pub struct MergeRequest {
    /// The customer that survives.
    pub winner_id: Uuid,
    /// The customers merged into the winner (1 to 20, of the winner's kind).
    pub loser_ids: Vec<Uuid>,
    /// Fields to take from another involved customer instead of the winner: field name
    /// (a scalar field of `CustomerInput`, or `custom_fields.<key>`) to customer id.
    /// Phones, e-mails, addresses, tags and groups are always combined; custom fields
    /// the winner lacks are filled from the losers.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub field_choices: BTreeMap<String, Uuid>,
    /// Show the merged customer and what would move without writing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// A row that moved from a loser to the winner.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedRecord {
    pub id: Uuid,
    /// The loser it belonged to.
    pub from_customer_id: Uuid,
}

/// What a merge moves to the winner, row by row.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeMoves {
    pub notes: Vec<MovedRecord>,
    /// Personnel links re-pointed at the winner.
    pub personnel: Vec<MovedRecord>,
    /// Personnel links dropped because the winner already had the same one; an undo
    /// recreates them.
    pub removed_personnel: Vec<MovedRecord>,
    pub lifecycle_transitions: Vec<MovedRecord>,
    pub owner_changes: Vec<MovedRecord>,
    /// Consent ledger events; the winner's current consents are recomputed from the
    /// merged ledger (latest event per channel and purpose).
    pub consent_events: Vec<MovedRecord>,
}

impl MergeMoves {
    fn new(moved: &MovedRows, removed: &[RemovedLink]) -> MergeMoves {
        let rows = |rows: &[MovedRow]| {
            rows.iter()
                .map(|row| MovedRecord {
                    id: row.id,
                    from_customer_id: row.from_customer_id,
                })
                .collect()
        };
        MergeMoves {
            notes: rows(&moved.notes),
            personnel: moved
                .personnel
                .iter()
                .map(|link| MovedRecord {
                    id: link.id,
                    from_customer_id: link.from_customer_id,
                })
                .collect(),
            removed_personnel: removed
                .iter()
                .map(|link| MovedRecord {
                    id: link.id,
                    from_customer_id: link.from_customer_id,
                })
                .collect(),
            lifecycle_transitions: rows(&moved.lifecycle_transitions),
            owner_changes: rows(&moved.owner_changes),
            consent_events: rows(&moved.consent_events),
        }
    }
}

/// The record of a merge.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerMerge {
    pub id: Uuid,
    /// The customer that survived.
    pub winner_id: Uuid,
    /// The customers merged into it; they keep `merged_into_id` until an undo.
    pub loser_ids: Vec<Uuid>,
    pub performed_by: Option<Uuid>,
    pub performed_at: DateTime<Utc>,
    /// Set once the merge was undone.
    pub undone_at: Option<DateTime<Utc>>,
    pub moved: MergeMoves,
}

impl CustomerMerge {
    fn from_row(row: &MergeRow) -> ApiResult<CustomerMerge> {
        let undo = row.undo_data()?;
        Ok(CustomerMerge {
            id: row.id.0,
            winner_id: row.customer_id.0,
            loser_ids: row.losers()?,
            performed_by: row.performed_by.map(|id| id.0),
            performed_at: row.performed_at.0,
            undone_at: row.undone_at.map(|at| at.0),
            moved: MergeMoves::new(&undo.moved, &undo.removed_personnel),
        })
    }
}

/// A merge (or its undo) as performed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeOutcome {
    pub merge: CustomerMerge,
    /// The surviving customer as it is now.
    pub customer: Customer,
}

/// What a merge would do (dry run); nothing was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergePreview {
    /// The surviving customer as the merge would leave it.
    pub customer: Customer,
    pub moved: MergeMoves,
}

impl MergeRequest {
    fn order(&self) -> MergeOrder {
        MergeOrder {
            winner_id: self.winner_id,
            loser_ids: self.loser_ids.clone(),
            field_choices: self.field_choices.clone(),
        }
    }
}

/// Merge customers.
///
/// Merges `loser_ids` (1 to 20 customers of the winner's kind) into `winner_id` in one
/// transaction: the winner gets the merged document (its own fields unless `field_choices`
/// takes one from a loser; phones, e-mails, addresses, tags and groups are combined; it is
/// validated like any change), the losers' notes, personnel links (a link the winner
/// already has is dropped), lifecycle and owner history and consent ledger move to the
/// winner, and the losers are marked `merged_into_id` and leave lists and searches. The
/// merge record keeps what is needed to undo it. With `dry_run: true` nothing is written
/// and the answer (200) shows the merged customer and what would move.
///
/// Needs `records:delete` (admins and managers); every customer must be within the caller's
/// record visibility (404 `not_found` otherwise). Audited as `customer.merge`; safe to
/// retry with an `Idempotency-Key`.
///
/// Problems: 409 `conflict` when a customer was already merged or erased; 422
/// `validation_failed` for an empty or over-long `loser_ids`, the winner among the losers
/// (`is_winner`), a loser listed twice (`duplicate`) or of another kind (`kind_mismatch`),
/// a `field_choices` entry that names no field or an uninvolved customer, or a merged
/// document that breaks a field rule.
#[utoipa::path(
    tag = "customers",
    operation_id = "merge_customers",
    request_body = MergeRequest,
    responses(
        (status = 201, description = "Merged", body = MergeOutcome, headers(("Location" = String, description = "The merge record"))),
        (status = 200, description = "Dry run: what the merge would do", body = MergePreview),
        (status = 404, description = "A customer is missing or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A customer was already merged or erased", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/merge")]
pub async fn merge_customers(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<MergeRequest>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsDelete)?;
    let request = body.0;
    let order = request.order();
    let acting = principal.0.clone();
    let today = state.today().await?;
    if request.dry_run {
        let preview = state
            .db(move |conn| {
                let plan = service::preview(conn, &acting, &order, today)?;
                let mut meta = plan.winner.meta();
                meta.version += 1;
                meta.updated_at = persistence::now();
                let merged =
                    CustomerRecord::from_input(&meta, &plan.merged.input, &plan.merged.custom);
                Ok(MergePreview {
                    customer: Customer::from_record(&merged)?,
                    moved: MergeMoves::new(&plan.moved, &plan.removed_personnel),
                })
            })
            .await?;
        return Ok(HttpResponse::Ok().json(preview));
    }
    let outcome = state
        .db(move |conn| {
            let (merge, customer) = service::merge(conn, &acting, &order, today)?;
            Ok(MergeOutcome {
                merge: CustomerMerge::from_row(&merge)?,
                customer: Customer::from_record(&customer)?,
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/customers/merges/{}", outcome.merge.id),
        ))
        .json(outcome))
}

/// Get a merge.
///
/// Who merged which customers into which, when, everything that moved, and whether the
/// merge was undone.
///
/// Needs `records:read`; the winner and the losers must be within the caller's record
/// visibility (404 `not_found` otherwise).
#[utoipa::path(
    tag = "customers",
    operation_id = "get_customer_merge",
    params(("merge_id" = Uuid, Path, description = "Merge id")),
    responses((status = 200, description = "The merge", body = CustomerMerge))
)]
#[get("/api/v1/customers/merges/{merge_id}")]
pub async fn get_customer_merge(
    state: web::Data<AppState>,
    principal: Principal,
    merge_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let id = merge_id.into_inner();
    let acting = principal.0.clone();
    let merge = state
        .db(move |conn| {
            let (merge, ..) = service::visible_merge(conn, &acting, id)?;
            CustomerMerge::from_row(&merge)
        })
        .await?;
    Ok(HttpResponse::Ok().json(merge))
}

/// Undo a merge.
///
/// Restores the winner's document (fields edited since the merge keep their current value),
/// moves every moved row back to its customer, recreates dropped personnel links and brings
/// the losers back into lists and searches, in one transaction. A personnel link whose
/// organization or person was deleted since is not restored.
///
/// Needs `records:delete` (admins and managers); every customer involved must be within the
/// caller's record visibility (404 `not_found` otherwise). Audited as
/// `customer.merge.undo`.
///
/// Problems: 409 `conflict` when the merge was already undone, the winner was erased or
/// merged into another customer since, a later merge into the winner is still in effect
/// (undo that first), or a loser was erased or deleted since; and when what the undo would
/// restore clashes with what was written since: a code another customer holds now, a
/// personnel link made again, or an earlier value that breaks a rule changed since (a
/// select option withdrawn, say).
#[utoipa::path(
    tag = "customers",
    operation_id = "undo_customer_merge",
    params(("merge_id" = Uuid, Path, description = "Merge id")),
    responses(
        (status = 200, description = "Undone", body = MergeOutcome),
        (status = 409, description = "The merge cannot be undone (see `detail`)", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/merges/{merge_id}/undo")]
pub async fn undo_customer_merge(
    state: web::Data<AppState>,
    principal: Principal,
    merge_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsDelete)?;
    let id = merge_id.into_inner();
    let acting = principal.0.clone();
    let today = state.today().await?;
    let outcome = state
        .db(move |conn| {
            let (merge, customer) = service::undo_merge(conn, &acting, id, today)?;
            Ok(MergeOutcome {
                merge: CustomerMerge::from_row(&merge)?,
                customer: Customer::from_record(&customer)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}
