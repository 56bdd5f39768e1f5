//! The customer write path shared by the HTTP routes, imports, merges and demo data:
//! rules of `domain::customers` plus the checks that need the database (referenced
//! users, teams, tiers, tags, groups, custom-field definitions), history rows
//! (lifecycle, owner) and the audit event, all inside the caller's transaction.

pub mod duplicates;
pub mod export;
pub mod import;
pub mod merge;
pub mod notes;
pub mod overview;
pub mod personnel;
pub mod privacy;
pub mod records;
pub mod search;
pub mod timeline;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use domain::authz::Visibility;
use domain::customers::{
    validate_custom_fields, validate_customer, CustomFieldDefinition, CustomFieldEntity,
    CustomValue, CustomerInput, LifecycleStage,
};
use domain::partners::{ShareAccess, SharedKind};
use domain::validation::{FieldViolation, Violations};
use persistence::audit::{self, DigestedEvent, NewAuditEvent};
use persistence::customers::history::{self, LifecycleTransitionRow, OwnerChangeRow};
use persistence::customers::{CustomerMeta, CustomerRecord, CustomerRow};
use persistence::db::DbConnection;
use persistence::events::NewEvent;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// A customer ready to be stored: normalised input and typed custom values.
#[derive(Debug, Clone)]
pub struct Checked {
    pub input: CustomerInput,
    pub custom: Vec<(String, CustomValue)>,
}

/// Who wrote the input being checked, which decides what its references may name.
#[derive(Debug, Clone, Copy)]
pub enum Author<'a> {
    /// Values already stored (a merge or its undo combines them): references only need
    /// to exist.
    Stored,
    /// A caller: a reference they add must also be one they may look up, so that a
    /// record they may not see answers exactly as a missing one and its id cannot be
    /// probed.
    Caller(&'a Acting),
}

/// The references a stored record already holds. Keeping one is no probe (the caller
/// was shown it on the record), so it is checked only for existence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldReferences {
    pub owner_id: Option<Uuid>,
    pub referred_by_user_id: Option<Uuid>,
    pub referred_by_customer_id: Option<Uuid>,
}

impl HeldReferences {
    pub fn of(row: &CustomerRow) -> HeldReferences {
        HeldReferences {
            owner_id: row.owner_id.map(|id| id.0),
            referred_by_user_id: row.referred_by_user_id.map(|id| id.0),
            referred_by_customer_id: row.referred_by_customer_id.map(|id| id.0),
        }
    }
}

/// Every rule on `input` (a new record, or a change of one holding `held`): the
/// domain's, then references and custom fields against the database. All violations
/// are reported together.
pub fn check(
    conn: &mut DbConnection,
    input: CustomerInput,
    held: HeldReferences,
    author: Author<'_>,
    today: NaiveDate,
    definitions: &[CustomFieldDefinition],
) -> AppResult<Checked> {
    check_many(conn, vec![(input, held)], author, today, definitions)?
        .pop()
        .ok_or_else(|| AppError::Internal("a checked customer went missing".into()))?
        .map_err(AppError::Invalid)
}

/// [`check`] for many inputs at once (imports): the same rules, with the records the
/// inputs refer to looked up together. One result per input, in order.
pub fn check_many(
    conn: &mut DbConnection,
    inputs: Vec<(CustomerInput, HeldReferences)>,
    author: Author<'_>,
    today: NaiveDate,
    definitions: &[CustomFieldDefinition],
) -> AppResult<Vec<Result<Checked, Vec<FieldViolation>>>> {
    let validated: Vec<(CustomerInput, HeldReferences, Violations, Vec<_>)> = inputs
        .into_iter()
        .map(|(input, held)| {
            let mut violations = Violations::default();
            let input = match validate_customer(input.clone(), today) {
                Ok(input) => input,
                Err(errors) => {
                    violations.0.extend(errors);
                    input
                }
            };
            let custom = match validate_custom_fields(&input.custom_fields, definitions) {
                Ok(custom) => custom,
                Err(errors) => {
                    violations.0.extend(errors);
                    Vec::new()
                }
            };
            (input, held, violations, custom)
        })
        .collect();
    let known = References::load(
        conn,
        validated.iter().map(|(input, _, _, _)| input),
        &author,
    )?;
    Ok(validated
        .into_iter()
        .map(|(input, held, mut violations, custom)| {
            violations
                .0
                .extend(known.violations(&input, &held, &author));
            violations.into_result().map(|()| Checked { input, custom })
        })
        .collect())
}

/// Ids per query when looking references up: SQLite binds each one separately.
const IDS_PER_QUERY: usize = 5_000;

/// Which of the users, teams, labels and customers that inputs refer to exist, and
/// which of those customers a calling author may see.
#[derive(Default)]
struct References {
    users: HashSet<Uuid>,
    teams: HashSet<Uuid>,
    tiers: HashSet<Uuid>,
    tags: HashSet<Uuid>,
    groups: HashSet<Uuid>,
    customers: HashSet<Uuid>,
    visible_customers: HashSet<Uuid>,
}

impl References {
    fn load<'a>(
        conn: &mut DbConnection,
        inputs: impl Iterator<Item = &'a CustomerInput>,
        author: &Author<'_>,
    ) -> AppResult<References> {
        let (mut users, mut teams, mut labels, mut customers) = (
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
        );
        for input in inputs {
            users.extend(input.owner_id.into_iter().chain(input.referred_by_user_id));
            teams.extend(input.team_id);
            labels.extend(
                input
                    .tier_id
                    .iter()
                    .chain(&input.tag_ids)
                    .chain(&input.group_ids),
            );
            customers.extend(input.referred_by_customer_id);
        }
        let mut known = References::default();
        for chunk in Vec::from_iter(users).chunks(IDS_PER_QUERY) {
            known
                .users
                .extend(persistence::users::teams_of(conn, chunk)?.into_keys());
        }
        for chunk in Vec::from_iter(teams).chunks(IDS_PER_QUERY) {
            known
                .teams
                .extend(persistence::teams::existing_ids(conn, chunk)?);
        }
        for chunk in Vec::from_iter(labels).chunks(IDS_PER_QUERY) {
            for label in persistence::labels::find_many(conn, chunk)? {
                match label.kind.as_str() {
                    persistence::labels::TIER => known.tiers.insert(label.id.0),
                    persistence::labels::TAG => known.tags.insert(label.id.0),
                    persistence::labels::GROUP => known.groups.insert(label.id.0),
                    _ => false,
                };
            }
        }
        for chunk in Vec::from_iter(customers).chunks(IDS_PER_QUERY) {
            known
                .customers
                .extend(persistence::customers::existing_ids(conn, chunk)?);
            if let Author::Caller(acting) = author {
                known
                    .visible_customers
                    .extend(persistence::customers::search::visible_ids(
                        conn,
                        chunk,
                        &acting.scope(),
                    )?);
            }
        }
        Ok(known)
    }

    /// The references of `input` that do not exist or, for a caller, that they may not
    /// look up and the record did not already hold: both answer the same violation.
    fn violations(
        &self,
        input: &CustomerInput,
        held: &HeldReferences,
        author: &Author<'_>,
    ) -> Vec<FieldViolation> {
        let missing = |field: &str, what: &str| {
            FieldViolation::new(field, "not_found", format!("no {what} with this id"))
        };
        let user_hidden = |id: Uuid, held: Option<Uuid>| match author {
            Author::Caller(acting) if !acting.reads_users() => {
                Some(id) != acting.user_id && Some(id) != held
            }
            _ => false,
        };
        let mut v = Vec::new();
        for (field, id, held) in [
            ("owner_id", input.owner_id, held.owner_id),
            (
                "referred_by_user_id",
                input.referred_by_user_id,
                held.referred_by_user_id,
            ),
        ] {
            if id.is_some_and(|id| !self.users.contains(&id) || user_hidden(id, held)) {
                v.push(missing(field, "user"));
            }
        }
        if input.team_id.is_some_and(|id| !self.teams.contains(&id)) {
            v.push(missing("team_id", "team"));
        }
        if input.tier_id.is_some_and(|id| !self.tiers.contains(&id)) {
            v.push(missing("tier_id", persistence::labels::TIER));
        }
        for (field, kind, ids, known) in [
            (
                "tag_ids",
                persistence::labels::TAG,
                &input.tag_ids,
                &self.tags,
            ),
            (
                "group_ids",
                persistence::labels::GROUP,
                &input.group_ids,
                &self.groups,
            ),
        ] {
            for (index, id) in ids.iter().enumerate() {
                if !known.contains(id) {
                    v.push(missing(&format!("{field}[{index}]"), kind));
                }
            }
        }
        let customer_hidden = |id: Uuid| match author {
            Author::Caller(_) => {
                !self.visible_customers.contains(&id) && Some(id) != held.referred_by_customer_id
            }
            Author::Stored => false,
        };
        if input
            .referred_by_customer_id
            .is_some_and(|id| !self.customers.contains(&id) || customer_hidden(id))
        {
            v.push(missing("referred_by_customer_id", "customer"));
        }
        v
    }
}

/// Fills the owner (the acting user) and team (the owner's) when not given.
pub fn apply_defaults<T: Assigned>(
    conn: &mut DbConnection,
    input: &mut T,
    acting: &Acting,
) -> AppResult<()> {
    apply_defaults_many(conn, std::slice::from_mut(input), acting)
}

/// A record handed to an owner and a team (a customer, a lead): the assignment rules
/// and defaults are the same for every kind.
pub trait Assigned {
    /// What the records are called in a refusal ("customers", "leads").
    const RECORDS: &'static str;
    fn owner_id(&self) -> Option<Uuid>;
    fn team_id(&self) -> Option<Uuid>;
    fn assign(&mut self, owner: Option<Uuid>, team: Option<Uuid>);
}

impl Assigned for CustomerInput {
    const RECORDS: &'static str = "customers";
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

impl Assigned for domain::sales::leads::LeadInput {
    const RECORDS: &'static str = "leads";
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

/// [`apply_defaults`] for many inputs, with the owners' teams looked up together.
pub fn apply_defaults_many<T: Assigned>(
    conn: &mut DbConnection,
    inputs: &mut [T],
    acting: &Acting,
) -> AppResult<()> {
    for input in inputs.iter_mut() {
        if input.owner_id().is_none() {
            let team = input.team_id();
            input.assign(acting.user_id, team);
        }
    }
    let owners: BTreeSet<Uuid> = inputs
        .iter()
        .filter(|input| input.team_id().is_none())
        .filter_map(|input| input.owner_id())
        .collect();
    let mut teams = HashMap::new();
    for chunk in Vec::from_iter(owners).chunks(IDS_PER_QUERY) {
        teams.extend(persistence::users::teams_of(conn, chunk)?);
    }
    for input in inputs.iter_mut().filter(|input| input.team_id().is_none()) {
        let owner = input.owner_id();
        let team = owner.and_then(|owner| teams.get(&owner).copied().flatten());
        input.assign(owner, team);
    }
    Ok(())
}

/// Owners and teams a caller may hand customers to: anyone with `all` visibility;
/// otherwise themselves (and, with `team`, their team mates), so that nobody assigns a
/// record into a scope they cannot see.
pub fn check_assignment<T: Assigned>(
    conn: &mut DbConnection,
    acting: &Acting,
    input: &T,
) -> AppResult<()> {
    check_assignments(conn, acting, &[input])?
        .pop()
        .unwrap_or_default()
        .into_result()
        .map_err(AppError::Invalid)
}

/// [`check_assignment`] for many inputs, with the owners' teams looked up together; the
/// violations of each input, in order.
pub fn check_assignments<T: Assigned>(
    conn: &mut DbConnection,
    acting: &Acting,
    inputs: &[&T],
) -> AppResult<Vec<Violations>> {
    let assignments: Vec<(Option<Uuid>, Option<Uuid>)> = inputs
        .iter()
        .map(|input| (input.owner_id(), input.team_id()))
        .collect();
    assignment_violations(conn, acting, &assignments, T::RECORDS)
}

/// The rule of [`check_assignment`] for any owned `records` (customers, deals): the
/// violations of each `(owner_id, team_id)` pair, in order.
pub fn assignment_violations(
    conn: &mut DbConnection,
    acting: &Acting,
    assignments: &[(Option<Uuid>, Option<Uuid>)],
    records: &str,
) -> AppResult<Vec<Violations>> {
    let scope = acting.scope();
    if scope.visibility == Visibility::All {
        return Ok(vec![Violations::default(); assignments.len()]);
    }
    let others: BTreeSet<Uuid> = assignments
        .iter()
        .filter_map(|(owner, _)| *owner)
        .filter(|owner| *owner != scope.user_id)
        .collect();
    let mut teams = HashMap::new();
    if scope.visibility == Visibility::Team && scope.team_id.is_some() {
        for chunk in Vec::from_iter(others).chunks(IDS_PER_QUERY) {
            teams.extend(persistence::users::teams_of(conn, chunk)?);
        }
    }
    Ok(assignments
        .iter()
        .map(|(owner, team)| {
            let mut v = Violations::default();
            if let Some(owner) = owner.filter(|owner| *owner != scope.user_id) {
                let same_team = scope.visibility == Visibility::Team
                    && scope.team_id.is_some()
                    && teams.get(&owner).copied().flatten() == scope.team_id;
                if !same_team {
                    v.push(
                        "owner_id",
                        "not_allowed",
                        format!("you may assign {records} only to yourself or, with team visibility, your team"),
                    );
                }
            }
            if team.is_some() && *team != scope.team_id {
                v.push(
                    "team_id",
                    "not_allowed",
                    format!("you may assign {records} only to your own team"),
                );
            }
            v
        })
        .collect())
}

/// The audit view of a customer: its input document (custom fields and all).
fn snapshot(input: &CustomerInput) -> serde_json::Value {
    serde_json::to_value(input).unwrap_or_default()
}

/// The bookkeeping of a customer `acting` creates at `now`.
fn new_meta(acting: &Acting, now: chrono::DateTime<chrono::Utc>) -> CustomerMeta {
    CustomerMeta {
        id: Uuid::now_v7(),
        created_by: acting.user_id,
        created_at: now,
        updated_at: now,
        lifecycle_changed_at: now,
        version: 1,
        erased_at: None,
        merged_into_id: None,
        facts: Default::default(),
        scores: Default::default(),
    }
}

/// The audit event of creating customer `id` from `input`.
fn creation_event(id: Uuid, input: &CustomerInput) -> NewAuditEvent<'static> {
    NewAuditEvent {
        action: "customer.create",
        resource_type: "customer",
        resource_id: Some(id.to_string()),
        changes: Some(domain::audit::changed_fields(
            &serde_json::json!({}),
            &snapshot(input),
        )),
    }
}

/// The outbox event `event_type` (`customer.created`, `.updated`, `.deleted`) about
/// customer `id`: its id and, for a change, the names of the fields that changed —
/// never their values, which may be personal data.
pub(crate) fn customer_event(
    event_type: &str,
    id: Uuid,
    changed: Option<Vec<String>>,
    at: chrono::DateTime<chrono::Utc>,
) -> NewEvent {
    let mut payload = serde_json::json!({"customer_id": id});
    if let Some(changed) = changed {
        payload["changed"] = serde_json::json!(changed);
    }
    NewEvent::new(event_type, "customer", id, payload, at)
}

/// Stores lifecycle transitions and announces each change of an existing customer's
/// stage as `customer.lifecycle_changed` (`from`, `to`, `reason`); a customer's first
/// stage is announced by `customer.created`.
pub fn record_transitions(
    conn: &mut DbConnection,
    acting: &Acting,
    rows: &[LifecycleTransitionRow],
) -> AppResult<()> {
    history::record_transitions(conn, rows)?;
    let changes: Vec<NewEvent> = rows
        .iter()
        .filter_map(|row| {
            let from = row.from_stage.as_ref()?;
            Some(NewEvent::new(
                "customer.lifecycle_changed",
                "customer",
                row.customer_id.0,
                serde_json::json!({
                    "customer_id": row.customer_id.0,
                    "from": from,
                    "to": row.to_stage,
                    "reason": row.reason,
                }),
                row.changed_at.0,
            ))
        })
        .collect();
    crate::events::publish(conn, acting, &changes)
}

/// Stores a new, checked customer with its first lifecycle entry and audit event.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    checked: &Checked,
    reason: &str,
) -> AppResult<CustomerRecord> {
    let now = persistence::now();
    let meta = new_meta(acting, now);
    let record = CustomerRecord::from_input(&meta, &checked.input, &checked.custom);
    persistence::customers::insert(conn, &record, &checked.custom)?;
    record_transitions(
        conn,
        acting,
        &[transition(
            meta.id,
            None,
            checked.input.lifecycle_stage,
            reason,
            acting,
        )],
    )?;
    audit::record(
        conn,
        &acting.audit_actor(),
        creation_event(meta.id, &checked.input),
    )?;
    crate::events::publish(
        conn,
        acting,
        &[customer_event("customer.created", meta.id, None, now)],
    )?;
    crate::partners::access::after_create(
        conn,
        acting,
        SharedKind::Customer,
        meta.id,
        search::catalogue,
    )?;
    Ok(record)
}

/// Customers prepared and written per step of [`create_many`].
const CREATE_STEP: usize = 2_000;

/// Many new customers in one go (imports, demo data): bulk loads per table, one
/// lifecycle row and one audit event per customer.
///
/// Building the rows and audit documents is this process's CPU work and storing them is
/// the database's, so a helper thread prepares the next step while the current one is
/// written (on PostgreSQL that takes about a fifth off a 100,000-row import).
pub fn create_many(
    conn: &mut DbConnection,
    acting: &Acting,
    checked: &[Checked],
    reason: &str,
) -> AppResult<Vec<Uuid>> {
    std::thread::scope(|scope| {
        let (prepared, steps) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for step in checked.chunks(CREATE_STEP) {
                // A closed channel means the writer failed; the rest is not needed.
                if prepared
                    .send(prepare_creates(acting, step, reason))
                    .is_err()
                {
                    break;
                }
            }
        });
        let mut ids = Vec::with_capacity(checked.len());
        for step in steps {
            ids.extend(write_creates(conn, acting, step)?);
        }
        Ok(ids)
    })
}

/// One step of [`create_many`], ready to store.
struct PreparedCreates<'a> {
    checked: &'a [Checked],
    records: Vec<CustomerRecord>,
    transitions: Vec<LifecycleTransitionRow>,
    events: Vec<DigestedEvent<'static>>,
}

fn prepare_creates<'a>(
    acting: &Acting,
    checked: &'a [Checked],
    reason: &str,
) -> PreparedCreates<'a> {
    let now = persistence::now();
    let records: Vec<CustomerRecord> = checked
        .iter()
        .map(|item| CustomerRecord::from_input(&new_meta(acting, now), &item.input, &item.custom))
        .collect();
    let transitions = records
        .iter()
        .zip(checked)
        .map(|(record, item)| {
            transition(
                record.row.id.0,
                None,
                item.input.lifecycle_stage,
                reason,
                acting,
            )
        })
        .collect();
    let events = records
        .iter()
        .zip(checked)
        .map(|(record, item)| creation_event(record.row.id.0, &item.input).digested())
        .collect();
    PreparedCreates {
        checked,
        records,
        transitions,
        events,
    }
}

fn write_creates(
    conn: &mut DbConnection,
    acting: &Acting,
    step: PreparedCreates<'_>,
) -> AppResult<Vec<Uuid>> {
    let custom: Vec<&[(String, CustomValue)]> =
        step.checked.iter().map(|c| c.custom.as_slice()).collect();
    persistence::customers::insert_many(conn, &step.records, &custom)?;
    record_transitions(conn, acting, &step.transitions)?;
    audit::record_digested(conn, &acting.audit_actor(), step.events)?;
    let now = persistence::now();
    let created: Vec<NewEvent> = step
        .records
        .iter()
        .map(|r| customer_event("customer.created", r.row.id.0, None, now))
        .collect();
    crate::events::publish(conn, acting, &created)?;
    let ids: Vec<Uuid> = step.records.iter().map(|r| r.row.id.0).collect();
    crate::partners::access::apply_rules(conn, SharedKind::Customer, &ids, search::catalogue)?;
    Ok(ids)
}

/// Replaces `current` with checked content, recording lifecycle and owner changes and
/// the audit event `action` (`customer.update`, `customer.merge`, ...).
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    current: &CustomerRecord,
    checked: &Checked,
    action: &str,
) -> AppResult<CustomerRecord> {
    update_many(conn, acting, &[(current, checked)], action)?;
    Ok(persistence::customers::find(conn, current.row.id.0)?)
}

/// [`update`] for many customers (imports): the same history and audit rows, written
/// with multi-row inserts.
pub fn update_many(
    conn: &mut DbConnection,
    acting: &Acting,
    changes: &[(&CustomerRecord, &Checked)],
    action: &str,
) -> AppResult<()> {
    let now = persistence::now();
    let mut transitions = Vec::new();
    let mut owner_changes = Vec::new();
    let mut events = Vec::with_capacity(changes.len());
    let mut outbox = Vec::with_capacity(changes.len());
    let mut records = Vec::with_capacity(changes.len());
    for (current, checked) in changes {
        let before = current.to_input()?;
        let mut meta = current.meta();
        meta.updated_at = now;
        meta.version += 1;
        if before.lifecycle_stage != checked.input.lifecycle_stage {
            meta.lifecycle_changed_at = now;
            transitions.push(transition(
                meta.id,
                Some(before.lifecycle_stage),
                checked.input.lifecycle_stage,
                "manual",
                acting,
            ));
        }
        if before.owner_id != checked.input.owner_id {
            owner_changes.push(OwnerChangeRow {
                id: DbUuid(Uuid::now_v7()),
                customer_id: DbUuid(meta.id),
                from_owner_id: before.owner_id.map(DbUuid),
                to_owner_id: checked.input.owner_id.map(DbUuid),
                changed_by: acting.user_id.map(DbUuid),
                changed_at: DbTime(now),
            });
        }
        let changes = domain::audit::changed_fields(&snapshot(&before), &snapshot(&checked.input));
        outbox.push(customer_event(
            "customer.updated",
            meta.id,
            Some(
                changes
                    .as_object()
                    .map(|fields| fields.keys().cloned().collect())
                    .unwrap_or_default(),
            ),
            now,
        ));
        events.push(NewAuditEvent {
            action,
            resource_type: "customer",
            resource_id: Some(meta.id.to_string()),
            changes: Some(changes),
        });
        records.push(CustomerRecord::from_input(
            &meta,
            &checked.input,
            &checked.custom,
        ));
    }
    let versioned: Vec<(&CustomerRecord, i64)> = records
        .iter()
        .zip(changes)
        .map(|(record, (current, _))| (record, current.row.version))
        .collect();
    let custom: Vec<&[(String, CustomValue)]> = changes
        .iter()
        .map(|(_, checked)| checked.custom.as_slice())
        .collect();
    persistence::customers::update_many(conn, &versioned, &custom)?;
    record_transitions(conn, acting, &transitions)?;
    history::record_owner_changes(conn, &owner_changes)?;
    audit::record_many(conn, &acting.audit_actor(), events)?;
    crate::events::publish(conn, acting, &outbox)?;
    let ids: Vec<Uuid> = records.iter().map(|r| r.row.id.0).collect();
    crate::partners::access::apply_rules(conn, SharedKind::Customer, &ids, search::catalogue)
}

fn transition(
    customer: Uuid,
    from: Option<LifecycleStage>,
    to: LifecycleStage,
    reason: &str,
    acting: &Acting,
) -> LifecycleTransitionRow {
    LifecycleTransitionRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        from_stage: from.map(|stage| stage.as_str().to_string()),
        to_stage: to.as_str().to_string(),
        reason: reason.to_string(),
        changed_by: acting.user_id.map(DbUuid),
        changed_at: DbTime(persistence::now()),
    }
}

/// The custom-field definitions every customer write is checked against: the
/// customers' (products have their own).
pub fn definitions(conn: &mut DbConnection) -> AppResult<Vec<CustomFieldDefinition>> {
    Ok(
        persistence::custom_fields::all(conn, CustomFieldEntity::Customer)?
            .iter()
            .map(|row| row.definition())
            .collect::<Result<_, _>>()?,
    )
}

/// The customer `id` if `acting` may see it; one it may not see is not found, exactly
/// as a missing one.
pub use persistence::customers::MAX_MERGE_HOPS;

/// The records `id` stands for, from its own to the customer it was finally merged
/// into (last), each one the caller may see (404 otherwise).
pub fn merge_chain(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
) -> AppResult<Vec<CustomerRecord>> {
    let mut chain = vec![visible(conn, acting, id)?];
    for _ in 0..MAX_MERGE_HOPS {
        match chain.last().and_then(|record| record.row.merged_into_id) {
            Some(winner) => chain.push(visible(conn, acting, winner.0)?),
            None => return Ok(chain),
        }
    }
    Err(AppError::Internal(format!(
        "customer {id} is merged more than {MAX_MERGE_HOPS} times over"
    )))
}

/// The customer `id` if the caller may see and change it (by owner and team, or a
/// partner's share with write access); one it may only read is forbidden, any other
/// is not found.
pub fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CustomerRecord> {
    reach(conn, acting, id, ShareAccess::Write)
}

/// The customer `id` if the caller may see it (a partner's share of either access
/// will do); any other is not found.
pub fn readable(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CustomerRecord> {
    reach(conn, acting, id, ShareAccess::Read)
}

fn reach(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    need: ShareAccess,
) -> AppResult<CustomerRecord> {
    let record = persistence::customers::find(conn, id)?;
    let owned = acting.scope().can_see(&record.row);
    crate::partners::access::admit(conn, acting, SharedKind::Customer, id, owned, need)?;
    Ok(record)
}
