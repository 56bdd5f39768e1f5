//! Consent and data-subject rights: the consent ledger, the personal-data export
//! and erasure by anonymisation.
//!
//! Erasure removes every personal field, contact point, address, custom value, note text,
//! the free text of tasks, activities and tickets (their conversations and survey comments
//! too) and consent evidence, deletes the files attached to those tickets and the
//! behavioural events apps sent about the customer, empties the
//! search text so no search can find the person again, and redacts the changes of the
//! customer's audit events to their digests (the chain still verifies). It reaches every copy the product keeps: the customers merged
//! into the erased one (their own records stay for an undo), the documents a merge
//! record keeps for its undo, stored idempotent responses and export files (lead
//! exports included, which list the customers their converted leads became). The leads
//! converted into the customer are deleted with their custom values. What is not
//! personal stays, so counts, lifecycle, ownership, acquisition and (later) orders keep
//! adding up.

use chrono::{DateTime, Utc};
use domain::customers::{ConsentChannel, ConsentPurpose, CustomerInput};
use domain::validation::Violations;
use persistence::audit::{self, AuditEvent, NewAuditEvent};
use persistence::consents::{ConsentEventRow, ConsentStateRow};
use persistence::customers::history::{LifecycleTransitionRow, OwnerChangeRow};
use persistence::customers::{merges, CustomerRecord};
use persistence::db::DbConnection;
use persistence::notes::NoteRow;
use persistence::personnel::PersonnelRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::visible;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// What an erased customer is called.
pub const ERASED_NAME: &str = "—";
/// What an erased note says.
const ERASED_NOTE: &str = "[erased]";

/// A grant or withdrawal of consent, as the caller reports it.
#[derive(Debug, Clone)]
pub struct ConsentInput {
    pub channel: ConsentChannel,
    pub purpose: ConsentPurpose,
    pub granted: bool,
    /// How the customer said it, e.g. `web_form`, `phone_call`.
    pub source: String,
    /// Reference to the proof (form id, message id).
    pub evidence: Option<String>,
}

/// Records that a customer (visible to the caller, not erased) gave or withdrew consent.
pub fn record_consent(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    input: ConsentInput,
) -> AppResult<ConsentEventRow> {
    let mut v = Violations::default();
    let source = input.source.trim().to_string();
    if source.is_empty() || source.chars().count() > 50 {
        v.push("source", "invalid_length", "must be 1 to 50 characters");
    }
    let evidence = input
        .evidence
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    if evidence.as_ref().is_some_and(|e| e.chars().count() > 500) {
        v.push("evidence", "too_long", "must be at most 500 characters");
    }
    v.into_result().map_err(AppError::Invalid)?;
    let row = ConsentEventRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        channel: input.channel.as_str().to_string(),
        purpose: input.purpose.as_str().to_string(),
        granted: input.granted,
        source,
        evidence,
        recorded_by: acting.user_id.map(DbUuid),
        recorded_at: DbTime(persistence::now()),
    };
    crate::transaction(conn, |conn| {
        let record = visible(conn, acting, customer)?;
        if record.row.erased_at.is_some() {
            return Err(AppError::Conflict("the customer was erased".into()));
        }
        persistence::consents::record(conn, &row)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: if row.granted {
                    "customer.consent.grant"
                } else {
                    "customer.consent.withdraw"
                },
                resource_type: "customer",
                resource_id: Some(customer.to_string()),
                changes: Some(
                    serde_json::json!({"channel": row.channel, "purpose": row.purpose, "source": row.source}),
                ),
            },
        )?;
        Ok(row)
    })
}

/// A customer's consents: the current state per channel and purpose, and the ledger.
pub struct Consents {
    pub current: Vec<ConsentStateRow>,
    pub ledger: Vec<ConsentEventRow>,
}

/// The consents of `customer`, whom the caller has already been shown.
pub fn consents_of(conn: &mut DbConnection, customer: Uuid) -> AppResult<Consents> {
    Ok(Consents {
        current: persistence::consents::current(conn, customer)?,
        ledger: persistence::consents::ledger(conn, customer)?,
    })
}

/// The consents of a customer visible to the caller.
pub fn consents(conn: &mut DbConnection, acting: &Acting, customer: Uuid) -> AppResult<Consents> {
    visible(conn, acting, customer)?;
    consents_of(conn, customer)
}

/// Where a customer's personal data is held, place by place. In the personal-data
/// export: how many records in each place hold it now. In an erasure: how many were
/// erased, redacted, withdrawn or deleted there.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(example = json!({"customers": 2, "notes": 1, "consent_events": 1, "audit_events": 6, "merge_records": 1, "idempotent_responses": 2, "export_files": 1, "orders": 3, "deals": 1, "scores": 1, "leads": 0, "tasks": 2, "activities": 3, "tickets": 1, "ticket_surveys": 1, "ticket_attachments": 2, "segment_memberships": 3}))]
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
    /// Orders of those customers. Erasure empties their notes; the purchases stay, as
    /// records of the anonymised customer.
    pub orders: usize,
    /// Deals with those customers. Erasure empties their descriptions (free text that
    /// may name the person); the deals stay, with the anonymised customer.
    pub deals: usize,
    /// Quotes of those deals. Erasure empties their notes; the quotes stay, with the
    /// deals.
    pub quotes: usize,
    /// Those customers that hold model scores (RFM, CLV): a profile drawn from their
    /// purchases. Erasure removes the scores; the next run scores the anonymised
    /// customer again from the purchases that stay.
    pub scores: usize,
    /// Leads converted into those customers. Erasure deletes them and redacts their
    /// audit events.
    pub leads: usize,
    /// Tasks on those customers. Erasure replaces their title, empties their
    /// description and outcome and redacts their audit events; when and for whom they
    /// were stay.
    pub tasks: usize,
    /// Activities logged on those customers. Erasure empties their outcome and notes
    /// and redacts their audit events; what happened when stays.
    pub activities: usize,
    /// Service tickets of those customers. Erasure replaces their subject and every
    /// message's text, empties their description, tags, custom values and the notes of
    /// their time entries and redacts their audit events; their numbers, statuses, SLA
    /// figures and minutes spent stay. Tickets of an
    /// organization that name the person as their contact lose the link.
    pub tickets: usize,
    /// Satisfaction surveys of those tickets. Erasure empties their comments (the
    /// count is of the comments emptied); ratings stay.
    pub ticket_surveys: usize,
    /// Files attached to those tickets (they may show the person: a photo, an
    /// invoice). Erasure deletes them with their bytes.
    pub ticket_attachments: usize,
    /// Channel conversations of those customers (every channel, web chat included),
    /// with every message in and out. Erasure deletes them with their messages.
    pub conversations: usize,
    /// Messenger ids the customers were recognised by. Erasure deletes them, so a
    /// later message from the same id is a stranger's.
    pub contact_points: usize,
    /// Web chat visitors recognised as those customers or chatting in their
    /// conversations, with the name, e-mail and phone they typed in. Erasure deletes
    /// them, and their tokens read nothing more.
    pub web_chat_visitors: usize,
    /// Spells in customer segments, past and current (with their `segment.entered` and
    /// `segment.left` events). Erasure deletes them and the events; an erased customer
    /// never enters a segment again.
    pub segment_memberships: usize,
    /// Feedback about those customers (survey answers, reviews, marked texts).
    /// Erasure removes its words; scores, sentiment and what it concerns stay, so
    /// reports keep their counts.
    pub feedback: usize,
    /// Surveys sent to those customers, with the SERVQUAL levels and expectation
    /// factors they answered (numbers, no words). Erasure deletes the unanswered ones,
    /// so their links stop working; answered ones stay for the reports.
    pub survey_invitations: usize,
    /// Behavioural events apps and devices sent about those customers (what they did,
    /// where, with which device). Erasure deletes them and the facts drawn from them;
    /// the engagement score is 0 after.
    pub behavioural_events: usize,
    /// Loyalty ledger entries of those customers. Erasure empties their reasons (staff
    /// may have written about the person there); the points stay.
    pub loyalty_entries: usize,
    /// Workflow runs about those customers, with their step logs (what was done to
    /// them, the events that started them). Erasure deletes them.
    pub workflow_runs: usize,
    /// Price experiments those customers took part in: the variant (price) each was
    /// shown and when. Erasure deletes them; the experiments' figures lose them.
    pub price_exposures: usize,
    /// Referral codes of those customers. Erasure deletes them, so a code handed out
    /// no longer leads to the person.
    pub referral_codes: usize,
    /// Campaigns that reached those customers or passed them over: whether each was
    /// sent the message, opened it and clicked. Erasure deletes them; the campaigns'
    /// figures lose them.
    pub campaign_receipts: usize,
}

/// The lifecycle and owner history of a customer.
pub struct History {
    pub transitions: Vec<LifecycleTransitionRow>,
    pub owner_changes: Vec<OwnerChangeRow>,
}

/// The history of `customer`, whom the caller has already been shown.
pub fn history_of(conn: &mut DbConnection, customer: Uuid) -> AppResult<History> {
    Ok(History {
        transitions: persistence::customers::history::transitions(conn, customer)?,
        owner_changes: persistence::customers::history::owner_changes(conn, customer)?,
    })
}

/// Everything held about a person (data-subject access request).
pub struct PersonalData {
    pub generated_at: DateTime<Utc>,
    pub record: CustomerRecord,
    /// Customers merged into this one (directly or through a chain of merges).
    pub merged: Vec<CustomerRecord>,
    /// Notes on the customer and on the merged customers.
    pub notes: Vec<NoteRow>,
    pub personnel: Vec<PersonnelRow>,
    pub consents: Consents,
    pub history: History,
    /// Audit events about the customer and the merged customers, each with the id of
    /// the customer it is about.
    pub audit_events: Vec<(Uuid, AuditEvent)>,
    /// Orders of the customer and the merged customers, with their lines.
    pub orders: Vec<persistence::orders::OrderRecord>,
    /// Quotes of the deals with the customer and the merged customers, with their
    /// lines and the status they have today.
    pub quotes: Vec<crate::sales::quotes::QuoteDetails>,
    /// Leads converted into the customer or the merged customers: who they were before
    /// they were customers.
    pub leads: Vec<persistence::leads::LeadRow>,
    /// Tasks on the customer and the merged customers.
    pub tasks: Vec<persistence::tasks::TaskRow>,
    /// Activities logged on the customer and the merged customers.
    pub activities: Vec<persistence::activities::ActivityRow>,
    /// Tickets of the customer and the merged customers, each with its conversation,
    /// its satisfaction surveys and its attachments (what they are, not their content).
    pub tickets: Vec<TicketData>,
    /// Channel conversations of the customer and the merged customers, each with its
    /// messages, oldest first.
    pub conversations: Vec<(
        persistence::conversations::ConversationRow,
        Vec<persistence::conversations::MessageRow>,
    )>,
    /// Messenger ids (kind, value) the customer and the merged customers are known by.
    pub contact_points: Vec<(String, String)>,
    /// Chats started in the web chat widget as the customer or the merged customers,
    /// with what the visitor said about themselves.
    pub web_chat_visitors: Vec<persistence::web_chat_visitors::VisitorRow>,
    /// Spells of the customer and the merged customers in segments, oldest first.
    pub segment_memberships: Vec<persistence::segments::MembershipRow>,
    /// Feedback about the customer and the merged customers, oldest first.
    pub feedback: Vec<persistence::feedback::FeedbackRow>,
    /// Surveys sent to the customer and the merged customers, oldest first.
    pub survey_invitations: Vec<persistence::feedback_surveys::InvitationRow>,
    /// Their SERVQUAL answers and expectation-factor ratings.
    pub servqual_answers: Vec<persistence::feedback_surveys::ServqualAnswerRow>,
    pub factor_ratings: Vec<persistence::feedback_surveys::FactorRatingRow>,
    /// Behavioural events about the customer and the merged customers, oldest first.
    pub behavioural_events: Vec<persistence::behavioural_events::EventRow>,
    /// The loyalty ledger of the customer and the merged customers, oldest first.
    pub loyalty_entries: Vec<persistence::loyalty::EntryRow>,
    /// Workflow runs about the customer and the merged customers, each with its step
    /// log, oldest first.
    pub workflow_runs: Vec<(
        persistence::workflows::RunRow,
        Vec<persistence::workflows::StepRow>,
    )>,
    /// The price experiments the customer and the merged customers took part in, oldest
    /// first.
    pub price_exposures: Vec<persistence::price_experiments::ExposureRow>,
    /// The referral codes of the customer and the merged customers.
    pub referral_codes: Vec<persistence::loyalty::ReferralCodeRow>,
    /// The campaigns that reached the customer and the merged customers, oldest first.
    pub campaign_receipts: Vec<persistence::campaigns::RecipientRow>,
    pub held_in: DataPlaces,
}

/// A ticket in the personal-data export: the ticket, its messages, surveys and
/// attachments.
pub type TicketData = (
    persistence::tickets::TicketRow,
    Vec<persistence::tickets::MessageRow>,
    Vec<persistence::ticket_surveys::SurveyRow>,
    Vec<persistence::ticket_attachments::AttachmentRow>,
);

/// The customer `root` and every customer merged into it.
fn with_merged(conn: &mut DbConnection, root: Uuid) -> AppResult<Vec<Uuid>> {
    let mut ids = vec![root];
    ids.extend(persistence::customers::erasure::merged_away(conn, root)?);
    Ok(ids)
}

/// Refuses a customer merged into another: its data lives on in that customer, whose
/// export and erasure reach it too.
fn refuse_merged(record: &CustomerRecord) -> AppResult<()> {
    match record.row.merged_into_id {
        Some(winner) => Err(AppError::Conflict(format!(
            "the customer was merged into customer {}, which holds its data; erase that customer",
            winner.0
        ))),
        None => Ok(()),
    }
}

/// Gathers everything held about a customer visible to the caller, and where.
pub fn personal_data(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
) -> AppResult<PersonalData> {
    let record = visible(conn, acting, customer)?;
    refuse_merged(&record)?;
    let ids = with_merged(conn, customer)?;
    let mut personnel = persistence::personnel::of_organization(conn, customer)?;
    personnel.extend(persistence::personnel::of_person(conn, customer)?);
    let mut merged = Vec::new();
    let mut notes = Vec::new();
    let mut consent_events = 0;
    let mut audit_events = Vec::new();
    let mut orders = Vec::new();
    let mut leads = Vec::new();
    let mut deals = 0;
    let mut quotes = Vec::new();
    let today = crate::settings::calendar(conn)?.today(persistence::now());
    let mut tasks = Vec::new();
    let mut activities = Vec::new();
    let mut tickets = Vec::new();
    let mut conversations = Vec::new();
    let mut contact_points = Vec::new();
    let mut web_chat_visitors = Vec::new();
    let mut segment_memberships = Vec::new();
    let mut feedback = Vec::new();
    let mut survey_invitations = Vec::new();
    let mut servqual_answers = Vec::new();
    let mut factor_ratings = Vec::new();
    let mut behavioural_events = Vec::new();
    let mut loyalty_entries = Vec::new();
    let mut workflow_runs = Vec::new();
    let mut price_exposures = Vec::new();
    let mut referral_codes = Vec::new();
    let mut campaign_receipts = Vec::new();
    for id in &ids {
        campaign_receipts.extend(persistence::campaigns::recipients_of(conn, *id)?);
        referral_codes.extend(persistence::loyalty::referral_code_of(conn, *id)?);
        price_exposures.extend(crate::price_experiments::exposures_of(conn, *id)?);
        for run in persistence::workflows::of_customer(conn, *id)? {
            let steps = persistence::workflows::steps_of(conn, run.id.0)?;
            workflow_runs.push((run, steps));
        }
        loyalty_entries.extend(persistence::loyalty::all_of_customer(conn, *id)?);
        behavioural_events.extend(persistence::behavioural_events::all_of_customer(conn, *id)?);
        feedback.extend(persistence::feedback::of_customer(conn, *id)?);
        survey_invitations.extend(persistence::feedback_surveys::invitations_of_customer(
            conn, *id,
        )?);
        let (answers, factors) = persistence::feedback_surveys::answers_of_customer(conn, *id)?;
        servqual_answers.extend(answers);
        factor_ratings.extend(factors);
        if *id != customer {
            merged.push(persistence::customers::find(conn, *id)?);
        }
        segment_memberships.extend(crate::segments::membership::of_customer(conn, *id)?);
        conversations.extend(persistence::conversations::all_of_customer(conn, *id)?);
        contact_points.extend(persistence::contact_points::of_customer(conn, *id)?);
        web_chat_visitors.extend(persistence::web_chat_visitors::of_customer(conn, *id)?);
        for lead in persistence::leads::converted_into(conn, *id)? {
            // A lead converted into a person and an organization both merged here.
            if !leads
                .iter()
                .any(|known: &persistence::leads::LeadRow| known.id == lead.id)
            {
                leads.push(lead);
            }
        }
        let deal_ids = persistence::deals::ids_of_customer(conn, *id)?;
        deals += deal_ids.len();
        for quote in persistence::quotes::of_deals(conn, &deal_ids)? {
            quotes.push(crate::sales::quotes::QuoteDetails::of(quote, today)?);
        }
        let rows = persistence::orders::latest_of_customer(conn, *id, i64::MAX)?;
        orders.extend(persistence::orders::with_lines(conn, rows)?);
        notes.extend(persistence::notes::all_of(conn, *id)?);
        tasks.extend(persistence::tasks::all_of_customer(conn, *id)?);
        activities.extend(persistence::activities::all_of_customer(conn, *id)?);
        for ticket in persistence::tickets::all_of_customer(conn, *id)? {
            let messages = persistence::tickets::all_messages(conn, ticket.id.0)?;
            let surveys = persistence::ticket_surveys::of_ticket(conn, ticket.id.0)?;
            let attachments = persistence::ticket_attachments::of_tickets(conn, &[ticket.id.0])?;
            tickets.push((ticket, messages, surveys, attachments));
        }
        consent_events += persistence::consents::ledger(conn, *id)?.len();
        let events = persistence::audit::list(
            conn,
            &persistence::audit::AuditQuery {
                filter: persistence::audit::AuditFilter {
                    resource_type: Some("customer".into()),
                    resource_id: Some(id.to_string()),
                    ..Default::default()
                },
                limit: 10_000,
                ..Default::default()
            },
        )?;
        audit_events.extend(events.into_iter().map(|event| (*id, event)));
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
        orders: orders.len(),
        deals,
        quotes: quotes.len(),
        scores: persistence::scores::scored_among(conn, &ids)?,
        leads: leads.len(),
        tasks: tasks.len(),
        activities: activities.len(),
        tickets: tickets.len(),
        ticket_surveys: tickets.iter().map(|(_, _, surveys, _)| surveys.len()).sum(),
        ticket_attachments: tickets
            .iter()
            .map(|(_, _, _, attachments)| attachments.len())
            .sum(),
        conversations: conversations.len(),
        contact_points: contact_points.len(),
        web_chat_visitors: web_chat_visitors.len(),
        segment_memberships: segment_memberships.len(),
        feedback: feedback.len(),
        survey_invitations: survey_invitations.len(),
        behavioural_events: behavioural_events.len(),
        loyalty_entries: loyalty_entries.len(),
        workflow_runs: workflow_runs.len(),
        price_exposures: price_exposures.len(),
        referral_codes: referral_codes.len(),
        campaign_receipts: campaign_receipts.len(),
    };
    Ok(PersonalData {
        generated_at: persistence::now(),
        consents: consents_of(conn, customer)?,
        history: history_of(conn, customer)?,
        record,
        merged,
        notes,
        personnel,
        audit_events,
        orders,
        quotes,
        leads,
        tasks,
        activities,
        tickets,
        conversations,
        contact_points,
        web_chat_visitors,
        segment_memberships,
        feedback,
        survey_invitations,
        servqual_answers,
        factor_ratings,
        behavioural_events,
        loyalty_entries,
        workflow_runs,
        price_exposures,
        referral_codes,
        campaign_receipts,
        held_in,
    })
}

/// The anonymised form of `record`: kind, ownership, classification, lifecycle and
/// acquisition stay; everything that identifies the person goes.
fn anonymised(record: &CustomerRecord) -> AppResult<CustomerInput> {
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
    conn: &mut DbConnection,
    current: &CustomerRecord,
    now: DateTime<Utc>,
) -> AppResult<()> {
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
pub struct Erasure {
    /// The anonymised customer.
    pub record: CustomerRecord,
    /// What was erased, redacted, withdrawn or deleted, place by place.
    pub erased: DataPlaces,
    /// SQLite only: whether the write-ahead log, which still held earlier versions of
    /// the erased data, was copied into the database and truncated.
    pub log_truncated: Option<bool>,
}

/// Erases a customer visible to the caller, and every customer merged into it, by
/// anonymisation, in one transaction (module documentation: what is reached).
pub fn erase(conn: &mut DbConnection, acting: &Acting, customer: Uuid) -> AppResult<Erasure> {
    let (record, erased) = crate::transaction(conn, |conn| {
        let current = visible(conn, acting, customer)?;
        if current.row.erased_at.is_some() {
            return Err(AppError::Conflict("the customer was already erased".into()));
        }
        refuse_merged(&current)?;
        let now = persistence::now();
        let ids = with_merged(conn, customer)?;
        // The customers are changed first: a concurrent writer of a copy (an export
        // page, an idempotent response) that read them before waits on these rows and
        // then sees the erasure, or its copy was stored before the places below are
        // searched (`persistence::customers::erasure`).
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
            erased.audit_events += audit::redact_changes(conn, "customer", &id.to_string())?;
            erased.orders += persistence::orders::ids_of_customer(conn, *id)?.len();
            persistence::orders::erase_notes(conn, *id)?;
            for lead in persistence::leads::converted_into(conn, *id)? {
                persistence::leads::delete(conn, lead.id.0)?;
                persistence::assignment::delete_history(conn, "lead", &[lead.id.0])?;
                audit::redact_changes(conn, "lead", &lead.id.0.to_string())?;
                erased.leads += 1;
            }
            erased.deals += persistence::deals::erase_descriptions(conn, *id)?;
            let deal_ids = persistence::deals::ids_of_customer(conn, *id)?;
            erased.quotes += persistence::quotes::erase_notes(conn, &deal_ids)?;
            for task in persistence::tasks::all_of_customer(conn, *id)? {
                audit::redact_changes(conn, "task", &task.id.0.to_string())?;
            }
            erased.tasks += persistence::tasks::redact_all(conn, *id, ERASED_NOTE)?;
            for activity in persistence::activities::all_of_customer(conn, *id)? {
                audit::redact_changes(conn, "activity", &activity.id.0.to_string())?;
            }
            erased.activities += persistence::activities::redact_all(conn, *id)?;
            let ticket_ids = persistence::tickets::ids_of_customer(conn, *id)?;
            for ticket in &ticket_ids {
                audit::redact_changes(conn, "ticket", &ticket.to_string())?;
            }
            erased.ticket_surveys +=
                persistence::ticket_surveys::erase_comments(conn, &ticket_ids)?;
            let files = persistence::ticket_attachments::file_ids_of(conn, &ticket_ids)?;
            // The attachment rows go with their files (the foreign key cascades).
            erased.ticket_attachments += persistence::files::delete_many(conn, &files)?;
            persistence::ticket_time_entries::erase_notes(conn, &ticket_ids)?;
            erased.tickets += persistence::tickets::redact_all(conn, *id, ERASED_NOTE)?;
            erased.tickets += persistence::tickets::forget_contact(conn, *id)?;
            // Before the conversations, whose deletion would take them uncounted.
            erased.web_chat_visitors +=
                persistence::web_chat_visitors::delete_of_customer(conn, *id)?;
            erased.conversations += persistence::conversations::delete_of_customer(conn, *id)?;
            erased.contact_points += persistence::contact_points::delete_of_customer(conn, *id)?;
            erased.segment_memberships += crate::segments::membership::erase(conn, *id)?;
            erased.feedback += persistence::feedback::redact_customer(conn, *id)?;
            erased.survey_invitations +=
                persistence::feedback_surveys::delete_unanswered_of_customer(conn, *id)?;
            erased.behavioural_events +=
                persistence::behavioural_events::delete_of_customer(conn, *id)?;
            erased.loyalty_entries += persistence::loyalty::redact_customer(conn, *id)?;
            erased.workflow_runs += persistence::workflows::delete_of_customer(conn, *id)?;
            erased.price_exposures +=
                persistence::price_experiments::delete_exposures_of(conn, *id)?;
            erased.referral_codes += persistence::loyalty::delete_referral_code(conn, *id)?;
            erased.campaign_receipts += persistence::campaigns::delete_recipients_of(conn, *id)?;
        }
        for merge in merges::involving(conn, &ids)? {
            let undo = merge.undo_data()?;
            if !undo.erased {
                merges::set_undo_data(conn, merge.id.0, &undo.without_personal_data())?;
                erased.merge_records += 1;
            }
        }
        erased.scores = persistence::scores::scored_among(conn, &ids)?;
        persistence::scores::clear_of(conn, &ids)?;
        erased.idempotent_responses =
            persistence::idempotency::withdraw_concerning(conn, &ids, now)?;
        let files = persistence::files::containing_customers(conn, &ids)?;
        erased.export_files = persistence::files::delete_many(conn, &files)?;
        let actor = acting.audit_actor();
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
                            .map_err(|err| AppError::Internal(err.to_string()))?
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
    Ok(Erasure {
        record,
        erased,
        log_truncated,
    })
}
