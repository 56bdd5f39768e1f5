//! The 360 view (C-7): one call with the profile, owner, classification, personnel,
//! notes, lifecycle and owner history and consent, purchases and the newest orders,
//! the current model scores, deals, tasks, activities, service tickets and the newest
//! entries of the interaction timeline, the customer's sentiment and engagement, plus the sections later capabilities fill
//! (campaigns), present now as empty lists so clients can be written against
//! the final shape.

use actix_web::{get, web, HttpResponse};
use application::customers::overview::overview;
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::sentiment::SentimentLabel;
use domain::service::tickets::{TicketPriority, TicketStatus};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{Consents, Customer, LifecycleTransition, Note, OwnerChange, Personnel, Scores};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::routes::orders::Order;
use crate::state::AppState;

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

/// A product among those a customer bought most of.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductBought {
    pub product_id: Uuid,
    /// Absent when the product was deleted.
    pub sku: Option<String>,
    pub name: Option<String>,
    /// Units bought and kept (returns deducted).
    pub units: i64,
    /// What was paid for them, net of refunds.
    pub amount: i64,
}

/// A customer's purchase facts (purchases are paid, fulfilled or partly returned
/// orders), in integer minor units of the business currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Purchases {
    pub order_count: i64,
    /// Σ order totals less refunds.
    pub revenue: i64,
    /// revenue ÷ order_count, rounded down; null before the first purchase.
    pub average_order_value: Option<i64>,
    pub currency: String,
    pub first_order_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_order_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Up to five products, most paid for first.
    pub top_products: Vec<ProductBought>,
}

/// A ticket as the 360 view lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSummary {
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: TicketPriority,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub first_response_due_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolution_due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether any SLA target was breached.
    pub sla_breached: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl TicketSummary {
    fn from_row(row: &persistence::tickets::TicketRow) -> ApiResult<TicketSummary> {
        let input = application::service::tickets::input_of(row)?;
        Ok(TicketSummary {
            id: row.id.0,
            number: row.number,
            subject: input.subject,
            status: input.status,
            priority: input.priority,
            owner_id: input.owner_id,
            team_id: input.team_id,
            first_response_due_at: row.first_response_due_at.map(|at| at.0),
            resolution_due_at: row.resolution_due_at.map(|at| at.0),
            sla_breached: row.sla_breached,
            created_at: row.created_at.0,
            resolved_at: row.resolved_at.map(|at| at.0),
            closed_at: row.closed_at.map(|at| at.0),
        })
    }
}

/// How a customer feels, by the texts they wrote: messages on the channels and feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerSentiment {
    /// The mean sentiment score, from −1 (complaint) to 1 (praise), of the customer's
    /// inbound messages (automatic mail left out) and feedback texts of the last 90
    /// days; null when there is none. The search fields `sentiment` and
    /// `sentiment_score` filter on it.
    pub average_score: Option<f64>,
    /// The label of that mean.
    pub label: Option<SentimentLabel>,
    /// How many messages the mean is over.
    pub messages: i64,
    /// How many feedback texts it is over, besides messages marked as feedback.
    pub feedback: i64,
    /// The start of the 90 days.
    pub since: DateTime<Utc>,
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
    /// The leads the customer was converted from (those the caller may see), oldest
    /// first.
    pub leads: Vec<crate::routes::leads::Lead>,
    /// The ten newest open deals the caller may see (the rest: `POST /deals/search`
    /// with `customer_id`).
    pub open_deals: Vec<crate::routes::deals::Deal>,
    /// What the customer bought: purchase facts, top products.
    pub purchases: Purchases,
    /// The five newest orders, whatever their status, newest first.
    pub orders: Vec<Order>,
    /// Service tickets the caller may see: up to ten open ones, soonest resolution due
    /// first (those without a due time last), then up to five resolved or closed ones,
    /// latest changed first (the rest: `POST /tickets/search` with `customer_id`).
    pub tickets: Vec<TicketSummary>,
    /// The ten newest entries of the customer's timeline (`GET
    /// /customers/{id}/timeline`): activities, notes, tasks, orders, tickets and their
    /// messages, lifecycle, consent and owner changes, on every channel.
    pub recent_interactions: Vec<super::timeline::TimelineEntry>,
    /// Up to ten open tasks on the customer, its deals and its leads that the caller may
    /// see, soonest due first (those without a due time last).
    pub open_tasks: Vec<crate::routes::tasks::Task>,
    /// Up to ten activities logged on the same, latest first.
    pub recent_activities: Vec<crate::routes::activities::Activity>,
    /// Marketing campaigns that reached the customer.
    #[schema(value_type = Vec<Object>)]
    pub campaigns: Vec<serde_json::Value>,
    /// The scores of the current model runs (RFM segment, P(alive), CLV), each with its
    /// run; the same as the customer's `scores`.
    pub scores: Scores,
    /// The customer's loyalty account (balance, points earned, lots), one per
    /// programme; empty for a customer who never earned points.
    pub loyalty: Vec<crate::routes::loyalty::LoyaltyAccount>,
    pub sentiment: CustomerSentiment,
    /// What the customer's behavioural events add up to: the engagement score, how
    /// many, and per event name the count and first and last time.
    pub engagement: crate::routes::behavioural_events::CustomerEngagement,
}

/// Get a customer's 360-degree view.
///
/// Everything about a customer in one call, for a customer page: the customer with its
/// owner, tier, tags and groups, its consents, lifecycle and owner history, its people (for
/// an organization) or organizations (for a person), the ten newest notes, its purchases
/// (order count, revenue net of refunds, average order value, first and last purchase,
/// top products) and five newest orders, its current model scores (RFM segment,
/// P(alive), CLV, each with its run), the leads it was converted from, its ten newest
/// open deals, up to ten open tasks and ten latest activities on it and on the deals and
/// leads the caller may see, its service tickets the caller may see (up to ten open ones,
/// soonest due first, then the five latest resolved or closed), the ten newest entries
/// of its interaction timeline, its sentiment (the mean score of the messages it wrote
/// on the channels in the last 90 days, and their count), its engagement (the score of
/// its behavioural events and per event name their count and first and last time), its
/// loyalty account (balance, points earned, lots), and the sections of capabilities
/// that fill them (campaigns), empty until those are in use.
///
/// Needs `records:read`; the customer must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one).
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
    let calendar = state.calendar().await?.local();
    let acting = principal.0.clone();
    let (found, currency) = state
        .db(move |conn| {
            let currency = application::settings::currency(conn)?;
            Ok((overview(conn, &acting, customer)?, currency))
        })
        .await?;
    let purchases = &found.purchases;
    let summary = |id: &Uuid| {
        found
            .labels
            .iter()
            .find(|l| l.id.0 == *id)
            .map(|l| LabelSummary {
                id: l.id.0,
                name: l.name.clone(),
            })
    };
    let record = &found.record;
    let overview = CustomerOverview {
        owner: found.owner.as_ref().map(|user| UserSummary {
            id: user.id.0,
            display_name: user.display_name.clone(),
            email: user.email.clone(),
        }),
        tier: record.row.tier_id.and_then(|id| summary(&id.0)),
        tags: record.tag_ids.iter().filter_map(summary).collect(),
        groups: record.group_ids.iter().filter_map(summary).collect(),
        personnel: found.personnel.iter().map(Personnel::from).collect(),
        recent_notes: found
            .recent_notes
            .iter()
            .map(Note::from_row)
            .collect::<ApiResult<_>>()?,
        lifecycle_history: found
            .history
            .transitions
            .iter()
            .map(LifecycleTransition::from)
            .collect(),
        owner_history: found
            .history
            .owner_changes
            .iter()
            .map(OwnerChange::from)
            .collect(),
        consents: Consents::from_rows(&found.consents),
        customer: Customer::from_record(record)?,
        open_deals: found
            .open_deals
            .iter()
            .map(crate::routes::deals::Deal::from_details)
            .collect::<ApiResult<_>>()?,
        purchases: Purchases {
            order_count: purchases.facts.order_count,
            revenue: purchases.facts.revenue,
            average_order_value: purchases.average_order_value,
            currency: currency.code().to_string(),
            first_order_at: purchases.facts.first_order_at,
            last_order_at: purchases.facts.last_order_at,
            top_products: purchases
                .top_products
                .iter()
                .map(|(bought, row)| ProductBought {
                    product_id: bought.product_id,
                    sku: row.as_ref().map(|row| row.sku.clone()),
                    name: row.as_ref().map(|row| row.name.clone()),
                    units: bought.units,
                    amount: bought.amount,
                })
                .collect(),
        },
        orders: purchases
            .latest_orders
            .iter()
            .map(Order::from_record)
            .collect::<ApiResult<_>>()?,
        leads: found
            .leads
            .iter()
            .map(crate::routes::leads::Lead::from_row)
            .collect::<ApiResult<_>>()?,
        tickets: found
            .open_tickets
            .iter()
            .chain(&found.closed_tickets)
            .map(TicketSummary::from_row)
            .collect::<ApiResult<_>>()?,
        recent_interactions: found
            .recent_interactions
            .iter()
            .cloned()
            .map(super::timeline::TimelineEntry::from)
            .collect(),
        open_tasks: found
            .open_tasks
            .iter()
            .map(|row| crate::routes::tasks::Task::from_row(row, &calendar))
            .collect::<ApiResult<_>>()?,
        recent_activities: found
            .recent_activities
            .iter()
            .map(crate::routes::activities::Activity::from_row)
            .collect::<ApiResult<_>>()?,
        campaigns: Vec::new(),
        scores: Scores::of(&record.scores()),
        loyalty: (found.loyalty.earned_total > 0)
            .then(|| found.loyalty.into())
            .into_iter()
            .collect(),
        sentiment: CustomerSentiment {
            average_score: found.sentiment.average_score,
            label: found.sentiment.label,
            messages: found.sentiment.messages,
            feedback: found.sentiment.feedback,
            since: found.sentiment.since,
        },
        engagement: found.engagement.into(),
    };
    Ok(HttpResponse::Ok().json(overview))
}
