//! The tamper-evident audit log (D-4). Events are recorded inside the transaction of the
//! change they describe, numbered without gaps, and each carries a SHA-256 hash over its
//! content and the previous event's hash, so editing or deleting any event breaks every
//! later link.
//!
//! Linking an event needs the chain's end, so linking is serialised. SQLite serialises
//! write transactions anyway and links events inside them. On PostgreSQL a lock held
//! from the append through the commit would also serialise the commits of every write
//! (one order at a time, no group commit), so a transaction stores its events in
//! `audit_pending`, unlinked, and they are *sealed* into the chain right after its
//! commit ([`seal_after_commit`], called by [`crate::transaction::write_transaction`]): a short
//! transaction under an advisory lock that links every pending event it finds, oldest
//! first. Readers of the log seal first ([`seal_pending`]), so a committed change's
//! event is always listed, and an event whose sealing was cut short (a crash between
//! the commit and the seal) is sealed by the next write or read. A bulk change (an
//! import) links its events inside its transaction under the same lock instead.
//!
//! The hash covers a digest of `changes` rather than the changes themselves. Erasure of
//! a person can therefore replace the personal data in their events' changes with
//! `{"redacted": true, "digest": ...}` ([`redact_changes`]) and the chain still verifies,
//! while any other edit still breaks it.
//!
//! A chain cut short at its end still links. So the chain's end is *anchored*: a signed
//! [`Checkpoint`] names an event by sequence number and hash, signed (HMAC-SHA256) with
//! a key kept outside the database, and [`verify`] checks that every checkpoint it is
//! given still names an event of the chain with that hash. Removing the newest events
//! then breaks the chain at the first one removed; a checkpoint forged to match a
//! shortened chain fails its signature.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{audit_checkpoints, audit_events, audit_pending};
use crate::sql_types::{sqlite_timestamp, DbJson, DbTime, DbUuid};
use crate::PersistenceError;

/// Hash that the first event chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Events read per round trip by [`verify`]; memory stays flat however long the log is.
const VERIFY_BATCH: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEvent {
    pub seq: i64,
    pub id: DbUuid,
    pub occurred_at: DbTime,
    pub actor_type: String,
    pub actor_id: Option<DbUuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub changes: Option<DbJson>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Who did something: a user, an API key (acting for its owner) or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub actor_type: &'static str,
    pub actor_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Actor {
            actor_type: "system",
            actor_id: None,
            request_id: None,
        }
    }
}

/// A change about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<String>,
    pub changes: Option<Value>,
}

/// Records one event. Must run inside the write transaction of the change it records.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    event: NewAuditEvent<'_>,
) -> Result<(), PersistenceError> {
    record_many(conn, actor, vec![event])
}

/// Appends `action` on one resource with the fields that differ between `before` and
/// `after` (D-4's before/after), inside the write transaction of that change.
pub fn record_change(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    resource_type: &str,
    resource_id: Uuid,
    before: &Value,
    after: &Value,
) -> Result<(), PersistenceError> {
    record(
        conn,
        actor,
        NewAuditEvent {
            action,
            resource_type,
            resource_id: Some(resource_id.to_string()),
            changes: Some(domain::audit::changed_fields(before, after)),
        },
    )
}

/// Rows per multi-row `INSERT` of events: 12 columns each stays under SQLite's 32,766
/// bound values.
const APPEND_CHUNK: usize = 2_000;

/// An event with the digest of its changes computed. The digest is the costly part of
/// hashing an event and needs nothing from the chain, so bulk writers compute it ahead,
/// off the thread that holds the connection ([`NewAuditEvent::digested`]).
#[derive(Debug, Clone)]
pub struct DigestedEvent<'a> {
    event: NewAuditEvent<'a>,
    changes_digest: String,
}

impl<'a> NewAuditEvent<'a> {
    pub fn digested(self) -> DigestedEvent<'a> {
        let changes_digest = self
            .changes
            .as_ref()
            .map(changes_digest)
            .unwrap_or_default();
        DigestedEvent {
            event: self,
            changes_digest,
        }
    }
}

/// Records `events` in order with multi-row inserts, so a bulk change (an import) costs
/// a few round trips instead of a few per event. Must run inside the write transaction
/// of the changes recorded.
pub fn record_many(
    conn: &mut DbConnection,
    actor: &Actor,
    events: Vec<NewAuditEvent<'_>>,
) -> Result<(), PersistenceError> {
    let events = events.into_iter().map(NewAuditEvent::digested).collect();
    record_digested(conn, actor, events)
}

/// [`record_many`] for events whose digests are already computed.
pub fn record_digested(
    conn: &mut DbConnection,
    actor: &Actor,
    events: Vec<DigestedEvent<'_>>,
) -> Result<(), PersistenceError> {
    if events.is_empty() {
        return Ok(());
    }
    let occurred_at = DbTime(crate::now());
    // `now_v7` is monotonic within the process, so the ids keep the events' order
    // until they are sealed.
    let rows = events
        .into_iter()
        .map(
            |DigestedEvent {
                 event,
                 changes_digest,
             }| PendingEvent {
                id: DbUuid(Uuid::now_v7()),
                occurred_at,
                actor_type: actor.actor_type.to_string(),
                actor_id: actor.actor_id.map(DbUuid),
                action: event.action.to_string(),
                resource_type: event.resource_type.to_string(),
                resource_id: event.resource_id,
                changes: event.changes.map(DbJson),
                request_id: actor.request_id.clone(),
                changes_digest,
            },
        )
        .collect::<Vec<_>>();
    match conn {
        DbConnection::Sqlite(_) => link(conn, rows),
        // A bulk change (an import) is one long transaction, rare enough that holding the
        // chain until its commit queues nobody for long, and sealing its events later
        // would write them twice.
        DbConnection::Postgres(_) if rows.len() >= BULK_EVENTS => {
            take_seal_lock(conn, true)?;
            link(conn, rows)
        }
        DbConnection::Postgres(_) => {
            for chunk in rows.chunks(APPEND_CHUNK) {
                crate::copy_rows!(conn, audit_pending::table, chunk)?;
            }
            RECORDED_PENDING.set(true);
            Ok(())
        }
    }
}

thread_local! {
    /// Whether this thread recorded events into `audit_pending` since the write
    /// transaction that holds them began: a transaction runs on one thread, so the
    /// commit knows without asking the database whether it has anything to seal.
    static RECORDED_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the transaction that just ended on this thread recorded pending events;
/// resets the answer for the next one.
pub(crate) fn take_recorded_pending() -> bool {
    RECORDED_PENDING.replace(false)
}

/// Events from which one recording links them into the chain at once on PostgreSQL.
const BULK_EVENTS: usize = 100;

/// An event recorded and not yet linked into the chain.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_pending, treat_none_as_default_value = false)]
struct PendingEvent {
    id: DbUuid,
    occurred_at: DbTime,
    actor_type: String,
    actor_id: Option<DbUuid>,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    changes: Option<DbJson>,
    request_id: Option<String>,
    changes_digest: String,
}

/// Appends `events` to the chain in the order given, after the log's last event. The
/// caller holds the chain: a SQLite write transaction, or the sealing lock.
fn link(conn: &mut DbConnection, events: Vec<PendingEvent>) -> Result<(), PersistenceError> {
    let last: Option<(i64, String)> = audit_events::table
        .select((audit_events::seq, audit_events::hash))
        .order(audit_events::seq.desc())
        .first(conn)
        .optional()?;
    let (mut seq, mut prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut rows = Vec::with_capacity(events.len());
    for pending in events {
        let mut row = AuditEvent {
            seq,
            id: pending.id,
            occurred_at: pending.occurred_at,
            actor_type: pending.actor_type,
            actor_id: pending.actor_id,
            action: pending.action,
            resource_type: pending.resource_type,
            resource_id: pending.resource_id,
            changes: pending.changes,
            request_id: pending.request_id,
            prev_hash,
            hash: String::new(),
        };
        row.hash = chain_hash(&row, &pending.changes_digest);
        prev_hash = row.hash.clone();
        seq += 1;
        rows.push(row);
    }
    for chunk in rows.chunks(APPEND_CHUNK) {
        crate::copy_rows!(conn, audit_events::table, chunk)?;
    }
    Ok(())
}

/// Arbitrary constant naming the advisory lock that serialises sealing on PostgreSQL.
const SEAL_LOCK_KEY: i64 = 0x5045_5956_4155_4454;

#[derive(QueryableByName)]
struct LockTaken {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    taken: bool,
}

/// Seals after a write transaction that recorded events committed (PostgreSQL): if no
/// other connection is sealing, links every pending event. A connection that is sealing links every
/// event committed before its last look, and the next write or read seals the rest, so
/// writers never queue behind each other here. Errors are logged, not returned: the
/// change itself is committed, and its events stay pending until the next seal.
pub fn seal_after_commit(conn: &mut DbConnection) {
    if let Err(err) = seal(conn, false) {
        tracing::warn!(error = %err, "audit events stay pending until the next seal");
    }
}

/// Links every pending event into the chain, waiting for a connection that is sealing;
/// called before reading the log so that every committed change's event is there.
/// Returns how many events it linked. Does nothing inside a transaction (whose own
/// events are not committed yet) and on SQLite (where nothing is ever pending).
pub fn seal_pending(conn: &mut DbConnection) -> Result<usize, PersistenceError> {
    seal(conn, true)
}

/// Takes the chain's advisory lock until the end of the current transaction: waiting
/// for it, or only if it is free (answering whether it was taken).
fn take_seal_lock(conn: &mut DbConnection, wait: bool) -> Result<bool, PersistenceError> {
    let function = if wait {
        "SELECT true AS taken FROM (SELECT pg_advisory_xact_lock($1)) AS locked"
    } else {
        "SELECT pg_try_advisory_xact_lock($1) AS taken"
    };
    let lock: LockTaken = diesel::sql_query(function)
        .bind::<diesel::sql_types::BigInt, _>(SEAL_LOCK_KEY)
        .get_result(conn)?;
    Ok(lock.taken)
}

fn seal(conn: &mut DbConnection, wait: bool) -> Result<usize, PersistenceError> {
    if !matches!(conn, DbConnection::Postgres(_)) || crate::db::in_transaction(conn) {
        return Ok(0);
    }
    let pending: bool = diesel::select(diesel::dsl::exists(
        audit_pending::table.select(audit_pending::id),
    ))
    .get_result(conn)?;
    if !pending {
        return Ok(0);
    }
    conn.transaction(|conn| {
        if !take_seal_lock(conn, wait)? {
            return Ok(0);
        }
        // Losing this commit in a crash loses nothing: the pending rows it deletes come
        // back with it and are sealed again. So the sealer does not wait for its WAL
        // flush, and the time under the lock stays short.
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
        let mut sealed = 0;
        loop {
            let batch: Vec<PendingEvent> = audit_pending::table
                .select(PendingEvent::as_select())
                .order(audit_pending::id)
                .limit(APPEND_CHUNK as i64)
                .load(conn)?;
            let count = batch.len();
            if count == 0 {
                return Ok(sealed);
            }
            // By id, not by a range: a transaction that commits meanwhile may add events
            // below the largest id seen, and they must stay until sealed.
            let ids: Vec<DbUuid> = batch.iter().map(|event| event.id).collect();
            link(conn, batch)?;
            diesel::delete(audit_pending::table.filter(audit_pending::id.eq_any(ids)))
                .execute(conn)?;
            sealed += count;
            if count < APPEND_CHUNK {
                return Ok(sealed);
            }
        }
    })
}

/// SHA-256 over every field but the hash itself, in a fixed textual form.
pub fn content_hash(event: &AuditEvent) -> String {
    let changes = event
        .changes
        .as_ref()
        .map(|c| changes_digest(&c.0))
        .unwrap_or_default();
    chain_hash(event, &changes)
}

/// [`content_hash`] with the digest of the event's changes given.
fn chain_hash(event: &AuditEvent, changes: &str) -> String {
    let mut hasher = Sha256::new();
    let parts = [
        event.prev_hash.as_str(),
        &event.seq.to_string(),
        &event.id.0.to_string(),
        &sqlite_timestamp(&event.occurred_at.0),
        &event.actor_type,
        &event
            .actor_id
            .map(|id| id.0.to_string())
            .unwrap_or_default(),
        &event.action,
        &event.resource_type,
        event.resource_id.as_deref().unwrap_or(""),
        changes,
        event.request_id.as_deref().unwrap_or(""),
    ];
    for part in parts {
        // Length-prefix each part so that moving text between fields changes the hash.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// SHA-256 of the canonical form of `changes`, or the digest a redacted document keeps.
fn changes_digest(changes: &Value) -> String {
    if let Some(digest) = redacted_digest(changes) {
        return digest.to_string();
    }
    hex::encode(Sha256::digest(
        domain::audit::canonical_json(changes).as_bytes(),
    ))
}

fn redacted_digest(changes: &Value) -> Option<&str> {
    let object = changes.as_object()?;
    if object.len() == 2 && object.get("redacted") == Some(&Value::Bool(true)) {
        object.get("digest")?.as_str()
    } else {
        None
    }
}

/// Replaces the changes of every event about `resource_type`/`resource_id` with their
/// digest (erasure); returns how many events were redacted. Runs inside the erasure's
/// transaction.
pub fn redact_changes(
    conn: &mut DbConnection,
    resource_type: &str,
    resource_id: &str,
) -> Result<usize, PersistenceError> {
    let events: Vec<(i64, Option<DbJson>)> = audit_events::table
        .filter(audit_events::resource_type.eq(resource_type))
        .filter(audit_events::resource_id.eq(resource_id))
        .select((audit_events::seq, audit_events::changes))
        .load(conn)?;
    let mut redacted = 0;
    // Events not sealed yet carry the same personal data.
    let pending: Vec<(DbUuid, Option<DbJson>)> = audit_pending::table
        .filter(audit_pending::resource_type.eq(resource_type))
        .filter(audit_pending::resource_id.eq(resource_id))
        .select((audit_pending::id, audit_pending::changes))
        .load(conn)?;
    for (id, changes) in pending {
        if let Some(replacement) = changes.and_then(|DbJson(changes)| redacted_form(&changes)) {
            diesel::update(audit_pending::table.find(id))
                .set(audit_pending::changes.eq(Some(DbJson(replacement))))
                .execute(conn)?;
            redacted += 1;
        }
    }
    for (seq, changes) in events {
        if let Some(replacement) = changes.and_then(|DbJson(changes)| redacted_form(&changes)) {
            diesel::update(audit_events::table.find(seq))
                .set(audit_events::changes.eq(Some(DbJson(replacement))))
                .execute(conn)?;
            redacted += 1;
        }
    }
    Ok(redacted)
}

/// Replaces the changes of the sealed event `seq`, whose changes are `changes`, with
/// their digest (retention of audit detail); answers whether it was not redacted yet.
pub fn redact_event(
    conn: &mut DbConnection,
    seq: i64,
    changes: &Value,
) -> Result<bool, PersistenceError> {
    let Some(replacement) = redacted_form(changes) else {
        return Ok(false);
    };
    diesel::update(audit_events::table.find(seq))
        .set(audit_events::changes.eq(Some(DbJson(replacement))))
        .execute(conn)?;
    Ok(true)
}

/// What `changes` become when redacted, or `None` when they already are.
fn redacted_form(changes: &Value) -> Option<Value> {
    if redacted_digest(changes).is_some() {
        return None;
    }
    Some(serde_json::json!({"redacted": true, "digest": changes_digest(changes)}))
}

/// Which events the audit-log listing shows; every condition is optional, combined
/// with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events by this user (directly or through one of their API keys).
    pub actor_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub action: Option<String>,
    /// At or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// A page of the audit-log listing; `before_seq` is the keyset cursor (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Newest events first, `limit + 1` rows so the caller can tell whether more follow.
pub fn list(
    conn: &mut DbConnection,
    query: &AuditQuery,
) -> Result<Vec<AuditEvent>, PersistenceError> {
    seal_pending(conn)?;
    let mut select = audit_events::table
        .select(AuditEvent::as_select())
        .into_boxed();
    let filter = &query.filter;
    if let Some(actor_id) = filter.actor_id {
        select = select.filter(audit_events::actor_id.eq(DbUuid(actor_id)));
    }
    if let Some(resource_type) = &filter.resource_type {
        select = select.filter(audit_events::resource_type.eq(resource_type.clone()));
    }
    if let Some(resource_id) = &filter.resource_id {
        select = select.filter(audit_events::resource_id.eq(resource_id.clone()));
    }
    if let Some(action) = &filter.action {
        select = select.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(since) = filter.since {
        select = select.filter(audit_events::occurred_at.ge(DbTime(since)));
    }
    if let Some(until) = filter.until {
        select = select.filter(audit_events::occurred_at.lt(DbTime(until)));
    }
    if let Some(before) = query.before_seq {
        select = select.filter(audit_events::seq.lt(before));
    }
    Ok(select
        .order(audit_events::seq.desc())
        .limit(query.limit + 1)
        .load(conn)?)
}

/// One event by its id.
pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<AuditEvent>, PersistenceError> {
    seal_pending(conn)?;
    Ok(audit_events::table
        .select(AuditEvent::as_select())
        .filter(audit_events::id.eq(DbUuid(id)))
        .first(conn)
        .optional()?)
}

/// Outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events_checked: u64,
    /// The first event whose link is broken, and why.
    pub first_broken: Option<(i64, &'static str)>,
    /// The newest checkpoint found intact: the chain reaches at least that far.
    pub anchored_seq: Option<i64>,
}

/// A signed statement that the chain reached event `seq` with hash `event_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    pub seq: i64,
    pub event_hash: String,
    pub created_at: DbTime,
    /// Hex HMAC-SHA256 of [`checkpoint_message`] under the checkpoint key.
    pub signature: String,
}

impl Checkpoint {
    /// A checkpoint of event `seq` with hash `event_hash`, signed with `key` at `at`.
    pub fn signed(key: &[u8], seq: i64, event_hash: String, at: DateTime<Utc>) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            seq,
            event_hash,
            created_at: DbTime(at),
            signature: String::new(),
        };
        checkpoint.signature = hex::encode(checkpoint.mac(key).finalize().into_bytes());
        checkpoint
    }

    fn mac(&self, key: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(checkpoint_message(self).as_bytes());
        mac
    }

    /// Whether the signature is `key`'s over this checkpoint (compared in constant time).
    pub fn is_signed_by(&self, key: &[u8]) -> bool {
        hex::decode(&self.signature)
            .is_ok_and(|signature| self.mac(key).verify_slice(&signature).is_ok())
    }
}

/// What a checkpoint's signature covers: its purpose, the event and the time.
fn checkpoint_message(checkpoint: &Checkpoint) -> String {
    format!(
        "peyvand audit checkpoint\n{}\n{}\n{}",
        checkpoint.seq,
        checkpoint.event_hash,
        checkpoint.created_at.0.timestamp_micros()
    )
}

/// Seals the pending events and signs the chain's end with `key`, unless a checkpoint
/// names it already; answers the newest checkpoint (none while the log is empty).
pub fn checkpoint(
    conn: &mut DbConnection,
    key: &[u8],
) -> Result<Option<Checkpoint>, PersistenceError> {
    seal_pending(conn)?;
    let end: Option<(i64, String)> = audit_events::table
        .select((audit_events::seq, audit_events::hash))
        .order(audit_events::seq.desc())
        .first(conn)
        .optional()?;
    let Some((seq, hash)) = end else {
        return Ok(None);
    };
    if let Some(existing) = find_checkpoint(conn, seq)? {
        return Ok(Some(existing));
    }
    let signed = Checkpoint::signed(key, seq, hash, crate::now());
    match diesel::insert_into(audit_checkpoints::table)
        .values(&signed)
        .execute(conn)
    {
        Ok(_) => Ok(Some(signed)),
        // Another process signed the same end at the same moment: keep theirs.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(find_checkpoint(conn, seq)?),
        Err(err) => Err(err.into()),
    }
}

fn find_checkpoint(
    conn: &mut DbConnection,
    seq: i64,
) -> Result<Option<Checkpoint>, PersistenceError> {
    Ok(audit_checkpoints::table
        .find(seq)
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()?)
}

/// The newest checkpoint stored in the database.
pub fn newest_checkpoint(conn: &mut DbConnection) -> Result<Option<Checkpoint>, PersistenceError> {
    Ok(audit_checkpoints::table
        .order(audit_checkpoints::seq.desc())
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()?)
}

/// Walks the whole log in sequence order and reports the first broken link: a gap in the
/// numbering, a `prev_hash` that is not the previous event's hash, or a hash that does
/// not match the event's content. Then the `anchors` (checkpoints kept outside the
/// database) and the newest checkpoint stored in it: each must be signed by `key` (when
/// the key is known) and name an event of the chain with its hash, so a chain whose
/// newest events were removed is broken at the first one missing.
pub fn verify(
    conn: &mut DbConnection,
    key: Option<&[u8]>,
    anchors: &[Checkpoint],
) -> Result<ChainReport, PersistenceError> {
    seal_pending(conn)?;
    let mut checkpoints: Vec<Checkpoint> = anchors.to_vec();
    checkpoints.extend(newest_checkpoint(conn)?);
    let mut report = walk(conn)?;
    if report.first_broken.is_some() {
        return Ok(report);
    }
    let chain_end = i64::try_from(report.events_checked).unwrap_or(i64::MAX);
    checkpoints.sort_by_key(|checkpoint| checkpoint.seq);
    for checkpoint in &checkpoints {
        if key.is_some_and(|key| !checkpoint.is_signed_by(key)) {
            report.first_broken = Some((
                checkpoint.seq.min(chain_end + 1),
                "a checkpoint's signature does not verify: it was not signed with this server's key",
            ));
            return Ok(report);
        }
        if checkpoint.seq > chain_end {
            report.first_broken = Some((
                chain_end + 1,
                "events were removed from the end: a signed checkpoint names a later event",
            ));
            return Ok(report);
        }
        let hash: Option<String> = audit_events::table
            .find(checkpoint.seq)
            .select(audit_events::hash)
            .first(conn)
            .optional()?;
        if hash.as_deref() != Some(checkpoint.event_hash.as_str()) {
            report.first_broken = Some((
                checkpoint.seq,
                "the event a signed checkpoint names was replaced",
            ));
            return Ok(report);
        }
        report.anchored_seq = Some(checkpoint.seq);
    }
    Ok(report)
}

/// The walk of [`verify`] over the chain's links.
fn walk(conn: &mut DbConnection) -> Result<ChainReport, PersistenceError> {
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1_i64;
    let mut checked = 0_u64;
    loop {
        let batch: Vec<AuditEvent> = audit_events::table
            .select(AuditEvent::as_select())
            .filter(audit_events::seq.ge(expected_seq))
            .order(audit_events::seq.asc())
            .limit(VERIFY_BATCH)
            .load(conn)?;
        if batch.is_empty() {
            return Ok(ChainReport {
                events_checked: checked,
                first_broken: None,
                anchored_seq: None,
            });
        }
        for event in batch {
            let broken = if event.seq != expected_seq {
                Some("sequence gap: an event was removed")
            } else if event.prev_hash != expected_prev {
                Some("prev_hash does not match the previous event")
            } else if content_hash(&event) != event.hash {
                Some("content does not match its hash")
            } else {
                None
            };
            if let Some(reason) = broken {
                return Ok(ChainReport {
                    events_checked: checked,
                    first_broken: Some((expected_seq.min(event.seq), reason)),
                    anchored_seq: None,
                });
            }
            checked += 1;
            expected_seq += 1;
            expected_prev = event.hash;
        }
    }
}
