//! The 360 view (C-7): one call with the profile, owner, classification, personnel,
//! notes, lifecycle and owner history and consent, plus the sections later capabilities
//! fill (deals, orders, tickets, interactions, campaigns, scores, loyalty), present now
//! as empty lists so clients can be written against the final shape.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use persistence::db::DbConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Customer;
use super::notes::Note;
use super::personnel::Personnel;
use super::privacy::{consents_of, Consents};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// Notes included in the overview; the rest are paged at `/customers/{id}/notes`.
const RECENT_NOTES: i64 = 10;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LabelSummary {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleTransition {
    pub from_stage: Option<String>,
    pub to_stage: String,
    /// `created`, `manual`, `import`, `merge`, or the automation rule that moved it.
    pub reason: String,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerChange {
    pub from_owner_id: Option<Uuid>,
    pub to_owner_id: Option<Uuid>,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOverview {
    pub customer: Customer,
    pub owner: Option<UserSummary>,
    pub tier: Option<LabelSummary>,
    pub tags: Vec<LabelSummary>,
    pub groups: Vec<LabelSummary>,
    /// For an organization its people; for a person the organizations they work at.
    pub personnel: Vec<Personnel>,
    /// The ten newest notes.
    pub recent_notes: Vec<Note>,
    pub lifecycle_history: Vec<LifecycleTransition>,
    pub owner_history: Vec<OwnerChange>,
    pub consents: Consents,
    /// Open deals (sales pipeline); empty until the sales capability is enabled.
    #[schema(value_type = Vec<Object>)]
    pub open_deals: Vec<serde_json::Value>,
    /// Orders, newest first; empty until orders are recorded.
    #[schema(value_type = Vec<Object>)]
    pub orders: Vec<serde_json::Value>,
    /// Open and recent service tickets; empty until the service capability is enabled.
    #[schema(value_type = Vec<Object>)]
    pub tickets: Vec<serde_json::Value>,
    /// Recent interactions on all channels (calls, e-mails, messages, visits).
    #[schema(value_type = Vec<Object>)]
    pub recent_interactions: Vec<serde_json::Value>,
    /// Marketing campaigns that reached the customer.
    #[schema(value_type = Vec<Object>)]
    pub campaigns: Vec<serde_json::Value>,
    /// Latest model scores (RFM segment, CLV, churn risk, sentiment), one per model.
    #[schema(value_type = Vec<Object>)]
    pub scores: Vec<serde_json::Value>,
    /// Loyalty accounts and balances.
    #[schema(value_type = Vec<Object>)]
    pub loyalty: Vec<serde_json::Value>,
}

pub fn lifecycle_history(
    conn: &mut DbConnection,
    customer: Uuid,
) -> ApiResult<Vec<LifecycleTransition>> {
    Ok(
        persistence::customers::history::transitions(conn, customer)?
            .into_iter()
            .map(|row| LifecycleTransition {
                from_stage: row.from_stage,
                to_stage: row.to_stage,
                reason: row.reason,
                changed_by: row.changed_by.map(|id| id.0),
                changed_at: row.changed_at.0,
            })
            .collect(),
    )
}

pub fn owner_history(conn: &mut DbConnection, customer: Uuid) -> ApiResult<Vec<OwnerChange>> {
    Ok(
        persistence::customers::history::owner_changes(conn, customer)?
            .into_iter()
            .map(|row| OwnerChange {
                from_owner_id: row.from_owner_id.map(|id| id.0),
                to_owner_id: row.to_owner_id.map(|id| id.0),
                changed_by: row.changed_by.map(|id| id.0),
                changed_at: row.changed_at.0,
            })
            .collect(),
    )
}

/// The 360-degree view of a customer.
#[utoipa::path(
    tag = "customers",
    operation_id = "get_customer_overview",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The customer's 360 view", body = CustomerOverview))
)]
#[get("/api/v1/customers/{id}/overview")]
pub async fn get_customer_overview(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsRead)?;
    let customer = id.into_inner();
    let acting = principal.0.clone();
    let overview = state
        .db(move |conn| {
            let record = application::customers::visible(conn, &acting, customer)?;
            let owner = match record.row.owner_id {
                Some(owner) => {
                    persistence::users::find(conn, owner.0)
                        .ok()
                        .map(|user| UserSummary {
                            id: user.id.0,
                            display_name: user.display_name,
                            email: user.email,
                        })
                }
                None => None,
            };
            let mut label_ids = record.tag_ids.clone();
            label_ids.extend(&record.group_ids);
            label_ids.extend(record.row.tier_id.map(|id| id.0));
            let labels = persistence::labels::find_many(conn, &label_ids)?;
            let summary = |id: &Uuid| {
                labels.iter().find(|l| l.id.0 == *id).map(|l| LabelSummary {
                    id: l.id.0,
                    name: l.name.clone(),
                })
            };
            let personnel = persistence::personnel::of_customer(
                conn,
                customer,
                record.row.kind == "organization",
            )?;
            Ok(CustomerOverview {
                owner,
                tier: record.row.tier_id.and_then(|id| summary(&id.0)),
                tags: record.tag_ids.iter().filter_map(summary).collect(),
                groups: record.group_ids.iter().filter_map(summary).collect(),
                personnel: personnel.iter().map(Personnel::from).collect(),
                recent_notes: persistence::notes::list(conn, customer, None, RECENT_NOTES)?
                    .iter()
                    .take(RECENT_NOTES as usize)
                    .map(Note::from_row)
                    .collect::<ApiResult<_>>()?,
                lifecycle_history: lifecycle_history(conn, customer)?,
                owner_history: owner_history(conn, customer)?,
                consents: consents_of(conn, customer)?,
                customer: Customer::from_record(&record)?,
                open_deals: Vec::new(),
                orders: Vec::new(),
                tickets: Vec::new(),
                recent_interactions: Vec::new(),
                campaigns: Vec::new(),
                scores: Vec::new(),
                loyalty: Vec::new(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(overview))
}
