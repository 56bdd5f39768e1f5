//! Behavioural events (M-4): `ingest` stores what apps and devices send (`events:write`)
//! — one event or a batch of up to 1,000 in one transaction — each matched to its
//! customer by id (following merges), e-mail, phone or code, within the caller's
//! visibility; `definitions` keeps the event names with their schemas and engagement
//! weights; `engagement` reads a customer's facts and score for the 360 view and lists
//! their events.
//!
//! A batch is checked whole before anything is written: a broken rule anywhere (a bad
//! name, a property its definition refuses, a time out of range) is a 422 naming every
//! problem, and nothing is stored. An event whose customer cannot be found is not a
//! broken rule of the request — a device may know a user the CRM does not yet — so it
//! is answered `rejected` with its reason while the others are stored. An event sent
//! again with its id is answered `duplicate` and stored once.

pub mod definitions;
pub mod engagement;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::behaviour::engagement::mass;
use domain::behaviour::{CheckedEvent, CustomerIdentity, EventInput, MAX_BATCH};
use domain::validation::{FieldViolation, Violations};
use persistence::audit::{self, NewAuditEvent};
use persistence::behavioural_events::{EventRow, StatsDelta};
use persistence::customers::matching::{find_by_ids, find_by_key, CustomerKey};
use persistence::customers::CustomerRow;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acting::{Acting, Credential};
use crate::customers::import::MatchOn;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// What became of one sent event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngestStatus {
    /// Stored now.
    Accepted,
    /// Stored before, by an earlier request with the same event id.
    Duplicate,
    /// Not stored: its customer is unknown, ambiguous, erased or not visible.
    Rejected,
}

/// One sent event's outcome, in the order sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub id: Uuid,
    pub status: IngestStatus,
    /// The customer it is stored on (the survivor of merges); `None` when rejected.
    pub customer_id: Option<Uuid>,
    /// Why it was rejected (field `customer`).
    pub problem: Option<FieldViolation>,
}

/// Stores `events` (`events:write`): `field_of(i)` names event `i` in problems
/// (`events[3]`, or `""` for a lone event). See the module documentation.
pub fn ingest(
    conn: &mut DbConnection,
    acting: &Acting,
    events: Vec<EventInput>,
    field_of: impl Fn(usize) -> String,
) -> AppResult<Vec<Ingested>> {
    acting.require(Permission::EventsWrite)?;
    if events.is_empty() {
        return Err(AppError::field(
            "events",
            "required",
            "send at least one event",
        ));
    }
    if events.len() > MAX_BATCH {
        return Err(AppError::field(
            "events",
            "too_many",
            format!("a batch carries at most {MAX_BATCH} events"),
        ));
    }
    let now = persistence::now();
    let mut violations = Violations::default();
    // Each event that keeps the rules, with its place in the request.
    let mut checked = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let field = field_of(index);
        if let Some(mut event) = event.checked(&field, now, &mut violations) {
            if let Err(violation) = normalise_identity(&mut event.identity, &field) {
                violations.0.push(violation);
            }
            checked.push((index, event));
        }
    }
    let api_key = match &acting.credential {
        Credential::ApiKey { key_id, .. } => Some(*key_id),
        _ => None,
    };
    transaction(conn, |conn| {
        // The schemas are checked even when other rules are broken, so that one answer
        // names every problem.
        definitions::admit(conn, &checked, &field_of, violations)?;
        // Where each event's customer problem is reported: `events[3].customer`.
        let fields: Vec<String> = checked
            .iter()
            .map(|(index, _)| definitions::at(&field_of(*index), "customer"))
            .collect();
        let checked: Vec<CheckedEvent> = checked.into_iter().map(|(_, event)| event).collect();
        let customers = resolve_customers(conn, acting, &checked, &fields)?;
        let mut outcomes = Vec::with_capacity(checked.len());
        let mut rows = Vec::with_capacity(checked.len());
        let mut seen = HashSet::with_capacity(checked.len());
        for (event, customer) in checked.iter().zip(customers) {
            let outcome = match customer {
                Err(problem) => Ingested {
                    id: event.id,
                    status: IngestStatus::Rejected,
                    customer_id: None,
                    problem: Some(problem),
                },
                Ok((origin, holder)) => {
                    // The same id twice in one batch is one event.
                    if seen.insert(event.id) {
                        rows.push(event_row(event, origin, holder, now, api_key));
                    }
                    Ingested {
                        id: event.id,
                        status: IngestStatus::Duplicate,
                        customer_id: Some(holder),
                        problem: None,
                    }
                }
            };
            outcomes.push(outcome);
        }
        let inserted: HashSet<Uuid> = persistence::behavioural_events::insert(conn, &rows)?
            .into_iter()
            .collect();
        let stored: Vec<&EventRow> = rows
            .iter()
            .filter(|row| inserted.contains(&row.id.0))
            .collect();
        let mut deltas = stats_deltas(stored.iter().copied());
        persistence::behavioural_events::add_stats(conn, &mut deltas)?;
        crate::loyalty::earn_for_events(conn, &stored)?;
        crate::workflows::enrolment::on_behaviour(conn, acting, &stored)?;
        // Each inserted id is accepted once: a repeat later in the batch is a duplicate.
        let mut first = inserted;
        for outcome in &mut outcomes {
            if outcome.status == IngestStatus::Duplicate && first.remove(&outcome.id) {
                outcome.status = IngestStatus::Accepted;
            }
        }
        audit_ingest(conn, acting, &outcomes)?;
        Ok(outcomes)
    })
}

/// E-mails, phones and codes as customers store them (the customer import's rules).
fn normalise_identity(identity: &mut CustomerIdentity, field: &str) -> Result<(), FieldViolation> {
    let (key, value, name) = match identity {
        CustomerIdentity::Id(_) => return Ok(()),
        CustomerIdentity::Email(value) => (MatchOn::Email, value, "email"),
        CustomerIdentity::Phone(value) => (MatchOn::Phone, value, "phone"),
        CustomerIdentity::Code(value) => (MatchOn::Code, value, "code"),
    };
    let field = if field.is_empty() {
        format!("customer.{name}")
    } else {
        format!("{field}.customer.{name}")
    };
    match key.normalize(value) {
        Some(stored) => {
            *value = stored;
            Ok(())
        }
        None => Err(FieldViolation::new(
            field,
            "invalid_format",
            format!("is not a valid {name}"),
        )),
    }
}

/// Per event, `(the customer named, the customer holding its records now)`, or why no
/// customer the caller may see is meant.
fn resolve_customers(
    conn: &mut DbConnection,
    acting: &Acting,
    events: &[CheckedEvent],
    fields: &[String],
) -> AppResult<Vec<Result<(Uuid, Uuid), FieldViolation>>> {
    let mut ids = Vec::new();
    let mut values: HashMap<CustomerKey, Vec<String>> = HashMap::new();
    for event in events {
        match &event.identity {
            CustomerIdentity::Id(id) => ids.push(*id),
            CustomerIdentity::Email(value) => values
                .entry(CustomerKey::Email)
                .or_default()
                .push(value.clone()),
            CustomerIdentity::Phone(value) => values
                .entry(CustomerKey::Phone)
                .or_default()
                .push(value.clone()),
            CustomerIdentity::Code(value) => values
                .entry(CustomerKey::Code)
                .or_default()
                .push(value.clone()),
        }
    }
    // Live customers by key; several for one value make it ambiguous.
    let mut by_key: HashMap<(CustomerKey, String), Vec<CustomerRow>> = HashMap::new();
    for (key, mut wanted) in values {
        wanted.sort();
        wanted.dedup();
        for (value, row) in find_by_key(conn, key, &wanted)? {
            let rows = by_key.entry((key, value)).or_default();
            if !rows.iter().any(|known| known.id == row.id) {
                rows.push(row);
            }
        }
    }
    ids.sort();
    ids.dedup();
    let mut by_id: HashMap<Uuid, CustomerRow> = HashMap::new();
    let mut wanted = ids;
    // Merges chain (A into B, B into C); a bound keeps a corrupt cycle finite.
    for _ in 0..32 {
        if wanted.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for row in find_by_ids(conn, &wanted)? {
            if let Some(winner) = row.merged_into_id {
                if !by_id.contains_key(&winner.0) {
                    next.push(winner.0);
                }
            }
            by_id.insert(row.id.0, row);
        }
        wanted = next;
    }
    let holder = |id: Uuid| -> Option<&CustomerRow> {
        let mut row = by_id.get(&id)?;
        for _ in 0..32 {
            match row.merged_into_id {
                Some(next) => row = by_id.get(&next.0)?,
                None => return Some(row),
            }
        }
        None
    };
    let scope = acting.scope();
    Ok(events
        .iter()
        .zip(fields)
        .map(|(event, field)| {
            let field = field.as_str();
            let (origin, row) = match &event.identity {
                CustomerIdentity::Id(id) => match holder(*id) {
                    Some(row) => (*id, row),
                    None => return Err(not_found(field)),
                },
                identity => {
                    let (key, value) = match identity {
                        CustomerIdentity::Email(value) => (CustomerKey::Email, value),
                        CustomerIdentity::Phone(value) => (CustomerKey::Phone, value),
                        CustomerIdentity::Code(value) => (CustomerKey::Code, value),
                        CustomerIdentity::Id(_) => unreachable!("matched above"),
                    };
                    let visible: Vec<&CustomerRow> = by_key
                        .get(&(key, value.clone()))
                        .map(|rows| rows.iter().filter(|row| scope.can_see(row)).collect())
                        .unwrap_or_default();
                    match visible.as_slice() {
                        [] => return Err(not_found(field)),
                        [row] => (row.id.0, *row),
                        _ => {
                            return Err(FieldViolation::new(
                                field,
                                "ambiguous",
                                "several customers have this key; name the customer by id",
                            ))
                        }
                    }
                }
            };
            if !scope.can_see(row) {
                return Err(not_found(field));
            }
            if row.erased_at.is_some() {
                return Err(FieldViolation::new(
                    field,
                    "erased",
                    "the customer's personal data was erased",
                ));
            }
            Ok((origin, row.id.0))
        })
        .collect())
}

/// Unknown and invisible customers are answered alike, so a key cannot probe for
/// customers outside the caller's visibility.
fn not_found(field: &str) -> FieldViolation {
    FieldViolation::new(field, "not_found", "no customer you may see has this key")
}

fn event_row(
    event: &CheckedEvent,
    origin: Uuid,
    holder: Uuid,
    now: DateTime<Utc>,
    api_key: Option<Uuid>,
) -> EventRow {
    EventRow {
        id: DbUuid(event.id),
        customer_id: DbUuid(holder),
        origin_customer_id: DbUuid(origin),
        event_name: event.name.clone(),
        properties: DbJson(Value::Object(event.properties.clone())),
        occurred_at: DbTime(event.occurred_at),
        received_at: DbTime(now),
        api_key_id: api_key.map(DbUuid),
        mass: mass(event.occurred_at),
    }
}

/// What `rows` add to each customer's facts about each name.
fn stats_deltas<'a>(rows: impl Iterator<Item = &'a EventRow>) -> Vec<StatsDelta> {
    let mut deltas: HashMap<(Uuid, &str), StatsDelta> = HashMap::new();
    for row in rows {
        let at = row.occurred_at.0;
        deltas
            .entry((row.customer_id.0, row.event_name.as_str()))
            .and_modify(|delta| {
                delta.count += 1;
                delta.first_at = delta.first_at.min(at);
                delta.last_at = delta.last_at.max(at);
                delta.mass += row.mass;
            })
            .or_insert_with(|| StatsDelta {
                customer_id: row.customer_id.0,
                event_name: row.event_name.clone(),
                count: 1,
                first_at: at,
                last_at: at,
                mass: row.mass,
            });
    }
    deltas.into_values().collect()
}

/// One audit event per request: how many were stored, of which names, for how many
/// customers (events are many; their senders are what the log answers for).
fn audit_ingest(conn: &mut DbConnection, acting: &Acting, outcomes: &[Ingested]) -> AppResult<()> {
    let count = |status| outcomes.iter().filter(|o| o.status == status).count();
    let customers: HashSet<Uuid> = outcomes.iter().filter_map(|o| o.customer_id).collect();
    audit::record(
        conn,
        &acting.audit_actor(),
        NewAuditEvent {
            action: "behavioural_events.ingest",
            resource_type: "behavioural_event",
            resource_id: None,
            changes: Some(json!({
                "accepted": count(IngestStatus::Accepted),
                "duplicate": count(IngestStatus::Duplicate),
                "rejected": count(IngestStatus::Rejected),
                "customers": customers.len(),
            })),
        },
    )?;
    Ok(())
}
