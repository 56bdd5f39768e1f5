//! Tickets (V-1, V-2): creating, reading, changing, deleting and searching them within
//! the caller's visibility (owner and team, as customers), their conversation and
//! status history, and the SLA clock every change moves.
//!
//! **Who works a ticket**: the owner given, else the assignment rules for tickets,
//! else the creator's defaults; every assignment is recorded. **Its policy**: the first
//! active SLA policy it meets, chosen when it is created and again when a field a
//! policy may name (priority, category, channel, customer) changes; the due times are
//! counted on the business calendar and kept on the ticket. **Its clock** moves with
//! the conversation and the status (`domain::service::sla::SlaClock`): an agent reply
//! answers the first and next response, a customer message after a reply owes the
//! next one, `pending_customer` stops the clock, resolution meets the last target and
//! reopening owes it again. **A resolution** sends the customer a satisfaction survey
//! (`super::surveys`).

use chrono::{DateTime, Utc};
use domain::assignment::{Method, RecordKind};
use domain::authz::Permission;
use domain::customers::CustomFieldDefinition;
use domain::filter::{FieldSpec, ResolveContext, TypedValue};
use domain::notifications::{Link, LinkType, NotificationKind, Texts};
use domain::partners::{ShareAccess, SharedKind};
use domain::service::canned_answers::MAX_SUGGESTIONS;
use domain::service::sla::SlaClock;
use domain::service::surveys::{invitation, SURVEY_VALID_DAYS};
use domain::service::tickets::{
    search_text, MessageInput, MessageKind, TicketChannel, TicketInput, TicketPriority,
    TicketStatus, CATALOGUE,
};
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sla_policies::SlaPolicyRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::ticket_surveys::SurveyRow;
use persistence::tickets::{MessageRow, StatusChangeRow, TicketColumns, TicketRow};
use uuid::Uuid;

use super::canned_answers::{self, Suggestion};
use super::sla_policies;
use super::sla_schedule::schedule_at;
use super::ticket_catalogue::definitions;
use crate::acting::Acting;
use crate::administration::custom_fields;
use crate::assignment::engine::{self, Subject};
use crate::customers::{apply_defaults, check_assignment, Assigned};
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::search::{custom_field_specs, Search, SearchRequest, Searchable};
use crate::transaction;

/// The tickets catalogue of the search convention.
pub struct TicketSearch;

impl Searchable for TicketSearch {
    type Columns = TicketColumns;
    type Row = TicketRow;

    const CATALOGUE: &'static [FieldSpec] = CATALOGUE;

    // `q` is looked for in the ticket's Persian-normalised search text.
    const QUICK_SEARCH: &'static [&'static str] = &[];
    const OWN_QUICK_SEARCH: bool = true;

    fn sort_value(row: &TicketRow, field: &str) -> Option<TypedValue> {
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "number" => TypedValue::Integer(row.number),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            "updated_at" => TypedValue::Timestamp(row.updated_at.0),
            // A ticket without a due time sorts as null.
            "first_response_due_at" => {
                return row
                    .first_response_due_at
                    .map(|at| TypedValue::Timestamp(at.0))
            }
            "resolution_due_at" => {
                return row.resolution_due_at.map(|at| TypedValue::Timestamp(at.0))
            }
            _ => return None,
        })
    }

    fn id(row: &TicketRow) -> Uuid {
        row.id.0
    }
}

impl Assigned for TicketInput {
    const RECORDS: &'static str = "tickets";
    fn owner_id(&self) -> Option<Uuid> {
        self.owner_id
    }
    fn team_id(&self) -> Option<Uuid> {
        self.team_id
    }
    fn assign(&mut self, owner: Option<Uuid>, team: Option<Uuid>) {
        self.owner_id = owner;
        self.team_id = team;
    }
}

/// Checks a ticket search body against the catalogue and the ticket custom fields.
pub fn resolve_search(
    request: SearchRequest,
    definitions: &[CustomFieldDefinition],
    context: &ResolveContext,
) -> AppResult<Search<TicketSearch>> {
    let mut catalogue = CATALOGUE.to_vec();
    catalogue.extend(custom_field_specs(definitions));
    Search::resolve_with(request, context, &catalogue)
}

/// `input` checked by the ticket's rules and its custom values by their definitions.
pub fn checked(
    input: TicketInput,
    definitions: &[CustomFieldDefinition],
) -> Result<TicketInput, Vec<FieldViolation>> {
    let values = custom_fields::checked_values(&input.custom_fields, definitions);
    custom_fields::with_checked_values(input.validated(), values, |input, custom_fields| {
        TicketInput {
            custom_fields,
            ..input
        }
    })
}

fn stored<T>(value: Option<T>, what: &str, text: &str) -> AppResult<T> {
    value.ok_or_else(|| AppError::Internal(format!("stored ticket {what} {text}")))
}

/// A stored ticket as the input that would write it again (the document a merge patch
/// applies to).
pub fn input_of(row: &TicketRow) -> AppResult<TicketInput> {
    Ok(TicketInput {
        subject: row.subject.clone(),
        description: row.description.clone(),
        customer_id: row.customer_id.0,
        contact_id: row.contact_id.map(|id| id.0),
        channel: stored(TicketChannel::parse(&row.channel), "channel", &row.channel)?,
        category_id: row.category_id.map(|id| id.0),
        priority: stored(
            TicketPriority::parse(&row.priority),
            "priority",
            &row.priority,
        )?,
        status: status_of(row)?,
        owner_id: row.owner_id.map(|id| id.0),
        team_id: row.team_id.map(|id| id.0),
        order_id: row.order_id.map(|id| id.0),
        product_id: row.product_id.map(|id| id.0),
        tags: serde_json::from_value(row.tags.0.clone())
            .map_err(|err| AppError::Internal(format!("stored ticket tags: {err}")))?,
        custom_fields: match &row.custom_fields.0 {
            serde_json::Value::Object(values) => values.clone(),
            other => {
                return Err(AppError::Internal(format!(
                    "stored ticket custom fields {other}"
                )))
            }
        },
    })
}

pub fn status_of(row: &TicketRow) -> AppResult<TicketStatus> {
    stored(TicketStatus::parse(&row.status), "status", &row.status)
}

/// The ticket's SLA clock as stored.
pub fn clock_of(row: &TicketRow) -> SlaClock {
    SlaClock {
        first_response_due_at: row.first_response_due_at.map(|at| at.0),
        next_response_due_at: row.next_response_due_at.map(|at| at.0),
        resolution_due_at: row.resolution_due_at.map(|at| at.0),
        pickup_due_at: row.pickup_due_at.map(|at| at.0),
        first_response_breached: row.first_response_breached,
        next_response_breached: row.next_response_breached,
        resolution_breached: row.resolution_breached,
        paused_at: row.sla_paused_at.map(|at| at.0),
        paused_minutes: row.sla_paused_minutes,
        first_responded_at: row.first_responded_at.map(|at| at.0),
        resolved_at: row.resolved_at.map(|at| at.0),
    }
}

/// `row` with `clock` written into it, and the scan's next look at it.
pub fn set_clock(row: &mut TicketRow, clock: SlaClock) {
    row.first_response_due_at = clock.first_response_due_at.map(DbTime);
    row.next_response_due_at = clock.next_response_due_at.map(DbTime);
    row.resolution_due_at = clock.resolution_due_at.map(DbTime);
    row.pickup_due_at = clock.pickup_due_at.map(DbTime);
    row.first_response_breached = clock.first_response_breached;
    row.next_response_breached = clock.next_response_breached;
    row.resolution_breached = clock.resolution_breached;
    row.sla_breached = row.sla_breached || clock.any_breached();
    row.sla_paused_at = clock.paused_at.map(DbTime);
    row.sla_paused_minutes = clock.paused_minutes;
    row.first_responded_at = clock.first_responded_at.map(DbTime);
    row.resolved_at = clock.resolved_at.map(DbTime);
    row.sla_check_at = clock.check_at().map(DbTime);
}

/// `row` with the fields of validated `input` (status and clock apart).
fn write_input(
    mut row: TicketRow,
    input: &TicketInput,
    customer_name: &str,
) -> AppResult<TicketRow> {
    row.subject = input.subject.clone();
    row.description = input.description.clone();
    row.customer_id = DbUuid(input.customer_id);
    row.contact_id = input.contact_id.map(DbUuid);
    row.channel = input.channel.as_str().to_string();
    row.category_id = input.category_id.map(DbUuid);
    row.priority = input.priority.as_str().to_string();
    row.owner_id = input.owner_id.map(DbUuid);
    row.team_id = input.team_id.map(DbUuid);
    row.order_id = input.order_id.map(DbUuid);
    row.product_id = input.product_id.map(DbUuid);
    row.tags = DbJson(
        serde_json::to_value(&input.tags).map_err(|err| AppError::Internal(err.to_string()))?,
    );
    row.custom_fields = DbJson(serde_json::Value::Object(input.custom_fields.clone()));
    row.search_text = search_text(row.number, input, customer_name);
    Ok(row)
}

/// The records a ticket names must exist and fit together: the customer visible to
/// the caller when it is given (an agent works a ticket whose customer someone else
/// owns), the contact a person of its personnel, the order the customer's, the category
/// and product real. Answers the customer's name.
fn check_references(
    conn: &mut DbConnection,
    acting: &Acting,
    input: &TicketInput,
    customer_given: bool,
) -> AppResult<String> {
    let customer = if customer_given {
        crate::customers::visible(conn, acting, input.customer_id)
    } else {
        persistence::customers::find(conn, input.customer_id).map_err(AppError::from)
    }
    .map_err(|err| match err {
        AppError::NotFound => AppError::field(
            "customer_id",
            "not_found",
            "no customer you can see has this id",
        ),
        other => other,
    })?;
    let mut problems = Vec::new();
    if let Some(contact) = input.contact_id {
        let listed = persistence::personnel::of_organization(conn, input.customer_id)?
            .iter()
            .any(|link| link.person_id.0 == contact);
        if !listed {
            problems.push(FieldViolation::new(
                "contact_id",
                "not_personnel",
                "the contact must be a person listed in the customer's personnel",
            ));
        }
    }
    if let Some(order) = input.order_id {
        match persistence::orders::find(conn, order) {
            Ok(record) if record.row.customer_id.0 == input.customer_id => {}
            Ok(_) | Err(persistence::PersistenceError::NotFound) => {
                problems.push(FieldViolation::new(
                    "order_id",
                    "not_found",
                    "no order of this customer has this id",
                ))
            }
            Err(other) => return Err(other.into()),
        }
    }
    if let Some(product) = input.product_id {
        if persistence::products::find_many(conn, &[product])?.is_empty() {
            problems.push(FieldViolation::new(
                "product_id",
                "not_found",
                "no product has this id",
            ));
        }
    }
    if let Some(category) = input.category_id {
        match persistence::ticket_categories::find(conn, category) {
            Ok(_) => {}
            Err(persistence::PersistenceError::NotFound) => problems.push(FieldViolation::new(
                "category_id",
                "not_found",
                "no ticket category has this id",
            )),
            Err(other) => return Err(other.into()),
        }
    }
    if problems.is_empty() {
        Ok(customer.row.display_name)
    } else {
        Err(AppError::Invalid(problems))
    }
}

/// Queues the SLA scan for the ticket's check time, if it has one.
fn watch(conn: &mut DbConnection, row: &TicketRow) -> AppResult<()> {
    if let Some(at) = row.sla_check_at {
        schedule_at(conn, at.0)?;
    }
    Ok(())
}

/// Records a move of the ticket's status.
fn record_status(
    conn: &mut DbConnection,
    acting: &Acting,
    ticket: Uuid,
    from: Option<TicketStatus>,
    to: TicketStatus,
    reason: Option<&str>,
) -> AppResult<()> {
    persistence::tickets::record_status(
        conn,
        &StatusChangeRow {
            id: DbUuid(Uuid::now_v7()),
            ticket_id: DbUuid(ticket),
            from_status: from.map(|status| status.as_str().to_string()),
            to_status: to.as_str().to_string(),
            changed_by: acting.user_id.map(DbUuid),
            changed_at: DbTime(persistence::now()),
            reason: reason.map(str::to_string),
        },
    )?;
    Ok(())
}

/// What a move from `from` to `to` at `now` does to the ticket's clock and dates.
fn move_status(
    conn: &mut DbConnection,
    row: &mut TicketRow,
    from: TicketStatus,
    to: TicketStatus,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if from == to {
        return Ok(());
    }
    let calendar = crate::settings::calendar(conn)?;
    let targets = policy_of(conn, row)?
        .map(|policy| sla_policies::targets_of(&policy))
        .unwrap_or_default();
    let mut clock = clock_of(row);
    if from == TicketStatus::PendingCustomer {
        clock = clock.resume(&calendar, now);
    }
    match to {
        TicketStatus::PendingCustomer => clock = clock.pause(now),
        TicketStatus::Resolved => clock = clock.resolved(now),
        TicketStatus::Closed => {
            clock = clock.resolved(now);
            row.closed_at = Some(DbTime(now));
        }
        TicketStatus::Reopened => {
            clock = clock.reopened(&calendar, targets, now);
            row.closed_at = None;
            row.reopen_count += 1;
        }
        TicketStatus::New | TicketStatus::Open | TicketStatus::OnHold => {}
    }
    set_clock(row, clock);
    row.status = to.as_str().to_string();
    Ok(())
}

/// Asks the customer of a ticket just resolved how satisfied they are: a survey with a
/// random token (only its hash is stored), valid for [`SURVEY_VALID_DAYS`], credited
/// to the owner, team, category and channel the ticket has now, and an automatic
/// message with its link for the conversation. Surveys of an earlier resolution still
/// open end now: the customer is asked about this one.
fn send_survey(conn: &mut DbConnection, row: &TicketRow, now: DateTime<Utc>) -> AppResult<()> {
    persistence::ticket_surveys::expire_open(conn, row.id.0, now)?;
    let token = crate::accounts::random_token(32);
    persistence::ticket_surveys::insert(
        conn,
        &SurveyRow {
            id: DbUuid(Uuid::now_v7()),
            ticket_id: row.id,
            token_hash: crate::accounts::sha256_hex(&token),
            agent_id: row.owner_id,
            team_id: row.team_id,
            category_id: row.category_id,
            channel: row.channel.clone(),
            created_at: DbTime(now),
            expires_at: DbTime(now + chrono::Duration::days(SURVEY_VALID_DAYS)),
            answered_at: None,
            rating: None,
            comment: None,
            follow_up: None,
        },
    )?;
    persistence::tickets::insert_message(
        conn,
        &MessageRow {
            id: DbUuid(Uuid::now_v7()),
            ticket_id: row.id,
            kind: MessageKind::Automatic.as_str().to_string(),
            author_id: None,
            body: invitation(&token),
            mentions: DbJson(serde_json::json!([])),
            created_at: DbTime(now),
        },
    )?;
    Ok(())
}

/// Reopens a resolved or closed ticket for `reason` (a low satisfaction rating), in
/// the caller's transaction: the move recorded, the clock owing the resolution again,
/// audited as `ticket.reopen`. Answers whether it moved (a ticket already open again
/// stays as it is).
pub fn reopen(conn: &mut DbConnection, acting: &Acting, id: Uuid, reason: &str) -> AppResult<bool> {
    let current = persistence::tickets::find_for_update(conn, id)?;
    let status = status_of(&current)?;
    if !matches!(status, TicketStatus::Resolved | TicketStatus::Closed) {
        return Ok(false);
    }
    let mut row = current.clone();
    let now = persistence::now();
    move_status(conn, &mut row, status, TicketStatus::Reopened, now)?;
    record_status(
        conn,
        acting,
        id,
        Some(status),
        TicketStatus::Reopened,
        Some(reason),
    )?;
    let row = persistence::tickets::update(conn, &row)?;
    watch(conn, &row)?;
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "ticket.reopen",
        "ticket",
        id,
        &serde_json::json!({"status": current.status}),
        &serde_json::json!({"status": row.status, "reason": reason}),
    )?;
    Ok(true)
}

/// The ticket's SLA policy, if it has one that still exists.
pub fn policy_of(conn: &mut DbConnection, row: &TicketRow) -> AppResult<Option<SlaPolicyRow>> {
    match row.sla_policy_id {
        Some(id) => match persistence::sla_policies::find(conn, id.0) {
            Ok(policy) => Ok(Some(policy)),
            Err(persistence::PersistenceError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        },
        None => Ok(None),
    }
}

/// Chooses the stored ticket's policy again and, when it is another, counts its due
/// times under the new targets; answers whether it changed.
fn apply_policy(conn: &mut DbConnection, row: &mut TicketRow, fresh: bool) -> AppResult<bool> {
    let policy = sla_policies::choose(conn, row.id.0)?;
    let chosen = policy.as_ref().map(|p| p.id);
    if !fresh && chosen == row.sla_policy_id {
        return Ok(false);
    }
    let calendar = crate::settings::calendar(conn)?;
    let targets = policy
        .as_ref()
        .map(sla_policies::targets_of)
        .unwrap_or_default();
    let clock = if fresh {
        SlaClock::start(&calendar, targets, row.created_at.0)
    } else {
        clock_of(row).retarget(&calendar, targets, row.created_at.0)
    };
    row.sla_policy_id = chosen;
    set_clock(row, clock);
    Ok(true)
}

/// Creates a ticket (`records:write`) for a customer the caller sees: numbered, its
/// owner given or chosen by the rules, its SLA policy chosen and due times set, its
/// status recorded, audited as `ticket.create`, its owner notified.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: TicketInput,
) -> AppResult<TicketRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let definitions = definitions(conn)?;
        let mut input = checked(input, &definitions).map_err(AppError::Invalid)?;
        if !matches!(input.status, TicketStatus::New | TicketStatus::Open) {
            return Err(AppError::field(
                "status",
                "invalid_transition",
                "a ticket starts as new or open",
            ));
        }
        let customer_name = check_references(conn, acting, &input, true)?;
        let owner_given = input.owner_id.is_some();
        if owner_given {
            apply_defaults(conn, &mut input, acting)?;
            check_assignment(conn, acting, &input)?;
        }
        let now = DbTime(persistence::now());
        let number = persistence::tickets::next_number(conn)?;
        let mut row = write_input(blank(number, acting, now), &input, &customer_name)?;
        row.status = input.status.as_str().to_string();
        persistence::tickets::insert(conn, &row, &input.tags)?;
        crate::partners::access::after_create(
            conn,
            acting,
            SharedKind::Ticket,
            row.id.0,
            crate::service::ticket_catalogue::catalogue,
        )?;
        record_status(conn, acting, row.id.0, None, input.status, None)?;
        if !owner_given {
            assign_created(conn, acting, &mut row, &mut input)?;
        } else {
            let decision = engine::by_hand(
                input.owner_id.unwrap_or_default(),
                input.team_id,
                Method::Manual,
                "owner given on create",
            );
            engine::record(conn, acting, RecordKind::Ticket, row.id.0, &decision)?;
        }
        apply_policy(conn, &mut row, true)?;
        persistence::tickets::rewrite(conn, &row)?;
        watch(conn, &row)?;
        crate::events::publish(
            conn,
            acting,
            &[persistence::events::NewEvent::new(
                "ticket.created",
                "ticket",
                row.id.0,
                serde_json::json!({
                    "ticket_id": row.id.0,
                    "number": row.number,
                    "customer_id": row.customer_id.0,
                    "channel": row.channel,
                    "priority": row.priority,
                }),
                row.created_at.0,
            )],
        )?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.create",
            "ticket",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        owner_set(conn, acting, &row)?;
        Ok(row)
    })
}

fn blank(number: i64, acting: &Acting, now: DbTime) -> TicketRow {
    TicketRow {
        id: DbUuid(Uuid::now_v7()),
        number,
        subject: String::new(),
        description: None,
        customer_id: DbUuid(Uuid::nil()),
        contact_id: None,
        channel: String::new(),
        category_id: None,
        priority: String::new(),
        status: String::new(),
        owner_id: None,
        team_id: None,
        order_id: None,
        product_id: None,
        tags: DbJson(serde_json::json!([])),
        custom_fields: DbJson(serde_json::json!({})),
        search_text: String::new(),
        sla_policy_id: None,
        first_response_due_at: None,
        next_response_due_at: None,
        resolution_due_at: None,
        pickup_due_at: None,
        first_response_breached: false,
        next_response_breached: false,
        resolution_breached: false,
        sla_breached: false,
        sla_paused_at: None,
        sla_paused_minutes: 0,
        sla_check_at: None,
        first_responded_at: None,
        resolved_at: None,
        closed_at: None,
        reassignments: 0,
        escalated_at: None,
        reopen_count: 0,
        message_count: 0,
        last_message_at: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
        version: 1,
        merged_into_id: None,
        time_spent_minutes: 0,
    }
}

/// A new ticket without an owner: the first assignment rule for tickets that finds an
/// available agent, else the creator's defaults; recorded either way.
fn assign_created(
    conn: &mut DbConnection,
    acting: &Acting,
    row: &mut TicketRow,
    input: &mut TicketInput,
) -> AppResult<()> {
    let subject = Subject {
        kind: RecordKind::Ticket,
        id: row.id.0,
        city: None,
        province: None,
        excluded: &[],
    };
    let decision = match engine::decide(conn, &subject)? {
        Some(decision) => Some(decision),
        None => {
            apply_defaults(conn, input, acting)?;
            input.owner_id.map(|owner| {
                engine::by_hand(
                    owner,
                    input.team_id,
                    Method::Default,
                    "no assignment rule applied: the creator's defaults",
                )
            })
        }
    };
    if let Some(decision) = decision {
        row.owner_id = Some(DbUuid(decision.user_id));
        row.team_id = decision.team_id.map(DbUuid);
        engine::record(conn, acting, RecordKind::Ticket, row.id.0, &decision)?;
    }
    Ok(())
}

/// Tells the ticket's owner that it was handed to them (unless they took it
/// themselves).
pub fn owner_set(conn: &mut DbConnection, acting: &Acting, row: &TicketRow) -> AppResult<()> {
    crate::notifications::notify_assigned(
        conn,
        acting,
        row.owner_id.map(|id| id.0),
        Texts::ticket_assigned(row.number, &row.subject),
        link(row),
    )
}

pub fn link(row: &TicketRow) -> Link {
    Link {
        kind: LinkType::Ticket,
        id: row.id.0,
    }
}

/// Whether the caller may see a ticket: by its owner and team, as a customer.
pub fn can_see(acting: &Acting, row: &TicketRow) -> bool {
    let scope = acting.scope();
    domain::authz::can_see(
        scope.visibility,
        scope.user_id,
        scope.team_id,
        row.owner_id.map(|id| id.0),
        row.team_id.map(|id| id.0),
    )
}

/// The ticket `id` if the caller may see and change it (by owner and team, or a
/// partner's share with write access); one it may only read is forbidden, any other is
/// not found.
pub fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TicketRow> {
    reach(conn, acting, id, ShareAccess::Write)
}

/// The ticket `id` if the caller may see it (a partner's share of either access will
/// do); any other is not found.
pub fn readable(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TicketRow> {
    reach(conn, acting, id, ShareAccess::Read)
}

fn reach(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    need: ShareAccess,
) -> AppResult<TicketRow> {
    let row = persistence::tickets::find(conn, id)?;
    let owned = can_see(acting, &row);
    crate::partners::access::admit(conn, acting, SharedKind::Ticket, id, owned, need)?;
    Ok(row)
}

/// A ticket (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TicketRow> {
    acting.require(Permission::RecordsRead)?;
    readable(conn, acting, id)
}

/// Changes a ticket visible to the caller (`records:write`): `edit` turns its current
/// document into the new one, checked as a new ticket's. A status moves only as
/// [`TicketStatus::can_become`] allows, and its move is recorded and moves the clock.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&TicketInput) -> AppResult<TicketInput>,
) -> AppResult<TicketRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::tickets::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        let before = input_of(&current)?;
        let definitions = definitions(conn)?;
        let mut after = checked(edit(&before)?, &definitions).map_err(AppError::Invalid)?;
        if !before.status.can_become(after.status)
            || after.status == TicketStatus::New && before.status != TicketStatus::New
        {
            return Err(AppError::field(
                "status",
                "invalid_transition",
                format!(
                    "a {} ticket cannot become {}",
                    before.status.as_str(),
                    after.status.as_str()
                ),
            ));
        }
        // A merged ticket lives on in the one it was merged into: it stays closed.
        if current.merged_into_id.is_some() && after.status != before.status {
            return Err(AppError::field(
                "status",
                "merged",
                "the ticket was merged into another and stays closed",
            ));
        }
        if after.owner_id.is_none() {
            after.owner_id = before.owner_id;
        }
        if after.owner_id != before.owner_id || after.team_id != before.team_id {
            check_assignment(conn, acting, &after)?;
        }
        let customer_name = check_references(
            conn,
            acting,
            &after,
            after.customer_id != before.customer_id,
        )?;
        let mut row = write_input(current.clone(), &after, &customer_name)?;
        if after.tags != before.tags {
            persistence::tickets::write_tags(conn, id, &after.tags)?;
        }
        let now = persistence::now();
        if after.status != before.status {
            move_status(conn, &mut row, before.status, after.status, now)?;
            record_status(conn, acting, id, Some(before.status), after.status, None)?;
            if after.status == TicketStatus::Resolved {
                send_survey(conn, &row, now)?;
            }
        }
        // What a policy may be chosen by changed: the policy may be another. The row is
        // written first so that the database judges the new values.
        let routed = after.priority != before.priority
            || after.category_id != before.category_id
            || after.channel != before.channel
            || after.customer_id != before.customer_id
            || after.tags != before.tags
            || after.custom_fields != before.custom_fields;
        let mut row = persistence::tickets::update(conn, &row)?;
        crate::partners::access::apply_rules(
            conn,
            SharedKind::Ticket,
            &[id],
            crate::service::ticket_catalogue::catalogue,
        )?;
        if routed && after.status.is_open() && apply_policy(conn, &mut row, false)? {
            persistence::tickets::rewrite(conn, &row)?;
        }
        watch(conn, &row)?;
        if let Some(owner) = after
            .owner_id
            .filter(|owner| Some(*owner) != before.owner_id)
        {
            let decision = engine::by_hand(owner, after.team_id, Method::Manual, "owner changed");
            engine::record(conn, acting, RecordKind::Ticket, id, &decision)?;
        }
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.update",
            "ticket",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        if row.owner_id != current.owner_id {
            owner_set(conn, acting, &row)?;
        }
        Ok(row)
    })
}

/// Deletes a ticket visible to the caller (`records:delete`) with its conversation,
/// attachments, time entries, history and breaches.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::RecordsDelete)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::tickets::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        // Attachment rows go with the ticket; their stored bytes must be deleted too.
        let files = persistence::ticket_attachments::file_ids_of(conn, &[id])?;
        persistence::files::delete_many(conn, &files)?;
        persistence::tickets::delete(conn, id)?;
        persistence::assignment::delete_history(conn, RecordKind::Ticket.as_str(), &[id])?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.delete",
            "ticket",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// The next page of a ticket search (`records:read`) among the tickets the caller may
/// see.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<TicketSearch>,
) -> AppResult<Vec<TicketRow>> {
    acting.require(Permission::RecordsRead)?;
    let terms = search
        .q
        .as_deref()
        .map(domain::persian::search_terms)
        .unwrap_or_default();
    Ok(persistence::tickets::search(
        conn,
        &search.criteria,
        &terms,
        &acting.scope(),
        search.after.as_ref(),
        search.fetch_limit(),
    )?)
}

/// Adds a message to the conversation of a ticket the caller sees (`records:write`)
/// and answers the ticket as it now stands with the message.
///
/// An agent reply answers the first and next response and opens a `new` ticket; a
/// customer message owes a next response, takes a ticket waiting for the customer back
/// to `open`, and reopens a resolved or closed one. A note changes nothing but tells
/// the colleagues it mentions. Nobody but the customer writes to a closed ticket, and
/// nobody to a ticket merged into another (409).
pub fn add_message(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    input: MessageInput,
) -> AppResult<(TicketRow, MessageRow)> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::tickets::find_for_update(conn, id)?;
        if let Some(into) = current.merged_into_id {
            return Err(AppError::Conflict(format!(
                "the ticket was merged into ticket {}; write there",
                into.0
            )));
        }
        let status = status_of(&current)?;
        if status == TicketStatus::Closed && input.kind == MessageKind::Agent {
            return Err(AppError::Conflict(
                "the ticket is closed; reopen it before replying".into(),
            ));
        }
        for (index, user) in input.mentions.iter().enumerate() {
            if !persistence::users::is_active_user(conn, *user)? {
                return Err(AppError::field(
                    format!("mentions[{index}]"),
                    "not_found",
                    "no active user has this id",
                ));
            }
        }
        let now = persistence::now();
        let message = MessageRow {
            id: DbUuid(Uuid::now_v7()),
            ticket_id: DbUuid(id),
            kind: input.kind.as_str().to_string(),
            author_id: acting.user_id.map(DbUuid),
            body: input.body,
            mentions: DbJson(serde_json::json!(input.mentions)),
            created_at: DbTime(now),
        };
        persistence::tickets::insert_message(conn, &message)?;
        let mut row = current.clone();
        let next = match input.kind {
            MessageKind::Agent => {
                let clock = clock_of(&row).agent_replied(now);
                set_clock(&mut row, clock);
                (status == TicketStatus::New).then_some((TicketStatus::Open, "first reply"))
            }
            MessageKind::Customer => match status {
                TicketStatus::Resolved | TicketStatus::Closed => {
                    Some((TicketStatus::Reopened, "the customer wrote again"))
                }
                TicketStatus::PendingCustomer => {
                    Some((TicketStatus::Open, "the customer answered"))
                }
                _ => None,
            },
            MessageKind::Note | MessageKind::Automatic => None,
        };
        if let Some((to, why)) = next {
            move_status(conn, &mut row, status, to, now)?;
            record_status(conn, acting, id, Some(status), to, Some(why))?;
        }
        if input.kind == MessageKind::Customer {
            let calendar = crate::settings::calendar(conn)?;
            let targets = policy_of(conn, &row)?
                .map(|policy| sla_policies::targets_of(&policy))
                .unwrap_or_default();
            let clock = clock_of(&row).customer_wrote(&calendar, targets, now);
            set_clock(&mut row, clock);
        }
        if matches!(input.kind, MessageKind::Customer | MessageKind::Agent) {
            row.message_count += 1;
            row.last_message_at = Some(DbTime(now));
        }
        let row = persistence::tickets::update(conn, &row)?;
        watch(conn, &row)?;
        // The text may hold personal data: the trail keeps who wrote what kind of
        // message when, not its words.
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket.message",
            "ticket",
            id,
            &serde_json::json!({"status": current.status}),
            &serde_json::json!({"status": row.status, "message_id": message.id.0, "kind": message.kind}),
        )?;
        for user in &input.mentions {
            if Some(*user) != acting.user_id {
                crate::notifications::notify(
                    conn,
                    *user,
                    NotificationKind::Mention,
                    Texts::ticket_mention(row.number, &row.subject),
                    Some(link(&row)),
                    Some(format!("ticket-mention:{}:{user}", message.id.0)),
                )?;
            }
        }
        Ok((row, message))
    })
}

/// One page of a visible ticket's conversation, oldest first (`records:read`).
pub fn messages(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<MessageRow>> {
    acting.require(Permission::RecordsRead)?;
    readable(conn, acting, id)?;
    Ok(persistence::tickets::messages(
        conn,
        id,
        created_after(cursor)?,
        limit + 1,
    )?)
}

/// What happened to a visible ticket (`records:read`): its status moves, its SLA
/// breaches and its assignments (with their reasons), each oldest first.
pub struct TicketHistory {
    pub statuses: Vec<StatusChangeRow>,
    pub breaches: Vec<persistence::tickets::BreachRow>,
    pub assignments: Vec<persistence::assignment::AssignmentRow>,
}

/// Assignments of one ticket shown in its history: re-assignments are capped far
/// below this.
const HISTORY_ASSIGNMENTS: i64 = 200;

pub fn history(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TicketHistory> {
    acting.require(Permission::RecordsRead)?;
    readable(conn, acting, id)?;
    let mut assignments = persistence::assignment::history(
        conn,
        RecordKind::Ticket.as_str(),
        id,
        None,
        HISTORY_ASSIGNMENTS,
    )?;
    assignments.reverse();
    Ok(TicketHistory {
        statuses: persistence::tickets::status_history(conn, id)?,
        breaches: persistence::tickets::breaches(conn, id)?,
        assignments,
    })
}

/// Customer messages a ticket's suggestions read: the latest say what is asked now.
const SUGGESTION_MESSAGES: i64 = 10;

/// Canned answers for a visible ticket (`records:read`), best first: ranked by their
/// similarity to the subject, the description and the customer's latest messages.
pub fn suggested_answers(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    limit: usize,
) -> AppResult<Vec<Suggestion>> {
    acting.require(Permission::RecordsRead)?;
    if !(1..=MAX_SUGGESTIONS).contains(&limit) {
        return Err(AppError::bad_parameter(
            "limit",
            "out_of_range",
            format!("must be between 1 and {}", MAX_SUGGESTIONS),
        ));
    }
    let row = visible(conn, acting, id)?;
    let mut text = row.subject.clone();
    if let Some(description) = &row.description {
        text.push('\n');
        text.push_str(description);
    }
    for message in persistence::tickets::latest_messages(
        conn,
        id,
        MessageKind::Customer.as_str(),
        SUGGESTION_MESSAGES,
    )? {
        text.push('\n');
        text.push_str(&message.body);
    }
    canned_answers::suggest(conn, acting, &text, limit)
}

/// Merges ticket `id` into ticket `into` (`records:write`, both visible to the caller):
/// the source's messages, attachments, time entries and tags move to the target, whose
/// message count and time add up; the source is closed with the reason "merged into
/// #N" and points at the target; each ticket gets an automatic message saying so.
/// Audited as `ticket.merge` on both. Answers the source and the target as they now
/// stand.
///
/// Problems: 404 for a source the caller cannot see; 422 on `into` for the ticket
/// itself (`same_ticket`), a ticket the caller cannot see (`not_found`), a ticket that
/// was itself merged (`merged`) or one of another customer (`other_customer`); 409 for a
/// source merged already or a closed target.
pub fn merge(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    into: Uuid,
) -> AppResult<(TicketRow, TicketRow)> {
    acting.require(Permission::RecordsWrite)?;
    if id == into {
        return Err(AppError::field(
            "into",
            "same_ticket",
            "a ticket cannot be merged into itself",
        ));
    }
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        visible(conn, acting, into).map_err(|err| match err {
            AppError::NotFound => {
                AppError::field("into", "not_found", "no ticket you can see has this id")
            }
            other => other,
        })?;
        // Locked in id order, so that two merges of the same pair cannot deadlock.
        let (first, second) = if id < into { (id, into) } else { (into, id) };
        let first = persistence::tickets::find_for_update(conn, first)?;
        let second = persistence::tickets::find_for_update(conn, second)?;
        let (source, target) = if first.id.0 == id {
            (first, second)
        } else {
            (second, first)
        };
        if let Some(merged) = source.merged_into_id {
            return Err(AppError::Conflict(format!(
                "the ticket was merged into ticket {} already",
                merged.0
            )));
        }
        if target.merged_into_id.is_some() {
            return Err(AppError::field(
                "into",
                "merged",
                "that ticket was itself merged into another; merge into that one",
            ));
        }
        if target.customer_id != source.customer_id {
            return Err(AppError::field(
                "into",
                "other_customer",
                "only tickets of the same customer can be merged",
            ));
        }
        if status_of(&target)? == TicketStatus::Closed {
            return Err(AppError::Conflict(
                "the target ticket is closed; reopen it before merging into it".into(),
            ));
        }
        persistence::tickets::move_messages(conn, id, into)?;
        persistence::ticket_attachments::move_all(conn, id, into)?;
        persistence::ticket_time_entries::move_all(conn, id, into)?;
        let now = persistence::now();
        let (on_source, on_target) =
            domain::service::tickets::merge_messages(source.number, target.number);
        for (ticket, body) in [(id, on_source), (into, on_target)] {
            persistence::tickets::insert_message(
                conn,
                &MessageRow {
                    id: DbUuid(Uuid::now_v7()),
                    ticket_id: DbUuid(ticket),
                    kind: MessageKind::Automatic.as_str().to_string(),
                    author_id: acting.user_id.map(DbUuid),
                    body,
                    mentions: DbJson(serde_json::json!([])),
                    created_at: DbTime(now),
                },
            )?;
        }

        let before = input_of(&target)?;
        let tags = domain::service::tickets::merged_tags(&before.tags, &input_of(&source)?.tags);
        let mut merged = target.clone();
        if tags != before.tags {
            let customer = persistence::customers::find(conn, before.customer_id)?;
            merged = write_input(
                merged,
                &TicketInput { tags, ..before },
                &customer.row.display_name,
            )?;
            let tags: Vec<String> = serde_json::from_value(merged.tags.0.clone())
                .map_err(|err| AppError::Internal(err.to_string()))?;
            persistence::tickets::write_tags(conn, into, &tags)?;
        }
        merged.message_count += source.message_count;
        merged.last_message_at = merged.last_message_at.max(source.last_message_at);
        merged.time_spent_minutes += source.time_spent_minutes;
        let merged = persistence::tickets::update(conn, &merged)?;

        let mut closed = source.clone();
        let from = status_of(&source)?;
        move_status(conn, &mut closed, from, TicketStatus::Closed, now)?;
        let reason = format!("merged into #{}", target.number);
        record_status(
            conn,
            acting,
            id,
            Some(from),
            TicketStatus::Closed,
            Some(&reason),
        )?;
        closed.merged_into_id = Some(DbUuid(into));
        closed.message_count = 0;
        closed.time_spent_minutes = 0;
        let closed = persistence::tickets::update(conn, &closed)?;
        watch(conn, &closed)?;

        let actor = acting.audit_actor();
        audit::record_change(
            conn,
            &actor,
            "ticket.merge",
            "ticket",
            id,
            &serde_json::json!({"status": source.status}),
            &serde_json::json!({"status": closed.status, "merged_into_id": into}),
        )?;
        audit::record_change(
            conn,
            &actor,
            "ticket.merge",
            "ticket",
            into,
            &target.audit_snapshot(),
            &merged.audit_snapshot(),
        )?;
        Ok((closed, merged))
    })
}
