//! The 360 view (C-7): a customer with its owner, classification labels, personnel,
//! newest notes, lifecycle and owner history and consents, open tasks and recent
//! activities, open and latest closed tickets, the newest entries of its timeline and
//! the sentiment of the messages it wrote, read in one go.

use chrono::{DateTime, TimeDelta, Utc};
use domain::sentiment::{SentimentLabel, CUSTOMER_WINDOW_DAYS};
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use persistence::labels::LabelRow;
use persistence::notes::NoteRow;
use persistence::personnel::PersonnelRow;
use persistence::users::UserRow;
use uuid::Uuid;

use super::privacy::{consents_of, history_of, Consents, History};
use super::readable;
use crate::acting::Acting;
use crate::error::AppResult;

/// Notes included in the overview; the rest are paged separately.
pub const RECENT_NOTES: i64 = 10;
/// Open deals included in the overview; the rest are in the deal search.
pub const OPEN_DEALS: usize = 10;
/// Open tasks and activities included in the overview; the rest are searched.
pub const RECENT_WORK: i64 = 10;
/// Open tickets included in the overview; the rest are in the ticket search.
pub const OPEN_TICKETS: i64 = 10;
/// Resolved and closed tickets included in the overview.
pub const CLOSED_TICKETS: i64 = 5;
/// Timeline entries included in the overview; the rest are paged separately.
pub const RECENT_INTERACTIONS: usize = 10;

/// How a customer feels, by the texts they wrote (`persistence::customers::sentiment`).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSentiment {
    /// The start of the window: [`CUSTOMER_WINDOW_DAYS`] days before now.
    pub since: DateTime<Utc>,
    /// The mean sentiment score of their inbound messages (automatic mail left out) and
    /// feedback texts since then; `None` when there is none.
    pub average_score: Option<f64>,
    /// The label of that mean, by the rule of a single message's score.
    pub label: Option<SentimentLabel>,
    /// How many messages the mean is over.
    pub messages: i64,
    /// How many feedback texts it is over (besides messages marked as feedback).
    pub feedback: i64,
}

/// The sentiment of `customer`'s texts of the last [`CUSTOMER_WINDOW_DAYS`]
/// days, computed by the database.
pub fn sentiment_of(conn: &mut DbConnection, customer: Uuid) -> AppResult<CustomerSentiment> {
    let since = persistence::now() - TimeDelta::days(CUSTOMER_WINDOW_DAYS);
    let facts = persistence::customers::sentiment::of_customer(conn, customer, since)?;
    Ok(CustomerSentiment {
        since,
        average_score: facts.average_score,
        label: facts.average_score.map(analytics::sentiment::label_of),
        messages: facts.messages,
        feedback: facts.feedback,
    })
}

/// What the 360 view shows of a customer.
pub struct Overview {
    pub record: CustomerRecord,
    /// The owner, if one is set and still exists.
    pub owner: Option<UserRow>,
    /// The tier, tags and groups the customer carries.
    pub labels: Vec<LabelRow>,
    /// For an organization its people; for a person the organizations they work at.
    pub personnel: Vec<PersonnelRow>,
    /// The newest notes, at most [`RECENT_NOTES`].
    pub recent_notes: Vec<NoteRow>,
    pub history: History,
    pub consents: Consents,
    /// Purchase facts, top products and the newest orders.
    pub purchases: crate::commerce::orders::PurchaseSummary,
    /// The leads the customer was before it was one (those the caller may see).
    pub leads: Vec<persistence::leads::LeadRow>,
    /// The newest open deals the caller may see, at most [`OPEN_DEALS`].
    pub open_deals: Vec<crate::sales::deals::DealDetails>,
    /// Open tasks on the customer, its deals and those leads, soonest due first, at
    /// most [`RECENT_WORK`].
    pub open_tasks: Vec<persistence::tasks::TaskRow>,
    /// The newest activities on the same, at most [`RECENT_WORK`].
    pub recent_activities: Vec<persistence::activities::ActivityRow>,
    /// The open tickets the caller may see, soonest resolution due first, at most
    /// [`OPEN_TICKETS`].
    pub open_tickets: Vec<persistence::tickets::TicketRow>,
    /// The resolved and closed ones, latest changed first, at most [`CLOSED_TICKETS`].
    pub closed_tickets: Vec<persistence::tickets::TicketRow>,
    /// The newest entries of the customer's timeline, at most [`RECENT_INTERACTIONS`].
    pub recent_interactions: Vec<domain::timeline::Entry>,
    pub sentiment: CustomerSentiment,
    pub engagement: crate::behaviour::engagement::Engagement,
    pub loyalty: crate::loyalty::Account,
}

/// The 360 view of a customer visible to the caller.
pub fn overview(conn: &mut DbConnection, acting: &Acting, customer: Uuid) -> AppResult<Overview> {
    let record = readable(conn, acting, customer)?;
    let owner = match record.row.owner_id {
        Some(owner) => persistence::users::find(conn, owner.0).ok(),
        None => None,
    };
    let mut label_ids = record.tag_ids.clone();
    label_ids.extend(&record.group_ids);
    label_ids.extend(record.row.tier_id.map(|id| id.0));
    let labels = persistence::labels::find_many(conn, &label_ids)?;
    let personnel =
        persistence::personnel::of_customer(conn, customer, record.row.kind == "organization")?;
    let mut recent_notes = persistence::notes::list(conn, customer, None, RECENT_NOTES)?;
    recent_notes.truncate(RECENT_NOTES as usize);
    let leads: Vec<persistence::leads::LeadRow> =
        persistence::leads::converted_into(conn, customer)?
            .into_iter()
            .filter(|lead| crate::sales::leads::can_see(acting, lead))
            .collect();
    // Whatever hangs off the customer, its visible deals and leads is visible through
    // them, so no further check is needed on the tasks and activities.
    let (_, deals) = super::timeline::related(conn, acting, customer)?;
    let lead_ids: Vec<Uuid> = leads.iter().map(|lead| lead.id.0).collect();
    let open_tasks =
        persistence::tasks::open_on(conn, &[customer], &lead_ids, &deals, RECENT_WORK)?;
    let recent_activities =
        persistence::activities::latest_on(conn, &[customer], &lead_ids, &deals, RECENT_WORK)?;
    let open_statuses = domain::service::tickets::TicketStatus::OPEN.map(|status| status.as_str());
    let (open_tickets, closed_tickets) = persistence::tickets::of_customer(
        conn,
        customer,
        &acting.scope(),
        &open_statuses,
        OPEN_TICKETS,
        CLOSED_TICKETS,
    )?;
    let recent_interactions = super::timeline::latest(conn, acting, customer, RECENT_INTERACTIONS)?;
    Ok(Overview {
        engagement: crate::behaviour::engagement::of_customer(conn, customer)?,
        loyalty: crate::loyalty::account_of(conn, customer, persistence::now())?,
        sentiment: sentiment_of(conn, customer)?,
        recent_interactions,
        open_tickets,
        closed_tickets,
        open_tasks,
        recent_activities,
        owner,
        labels,
        personnel,
        recent_notes,
        history: history_of(conn, customer)?,
        consents: consents_of(conn, customer)?,
        purchases: crate::commerce::orders::summary(conn, customer)?,
        leads,
        open_deals: crate::sales::deals::open_of_customer(conn, acting, customer, OPEN_DEALS)?,
        record,
    })
}
