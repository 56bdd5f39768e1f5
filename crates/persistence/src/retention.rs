//! Retention rules and the rows they reach. Every kind is walked oldest first
//! along an index on the date that ages it, a batch at a time, so that a run's cost
//! grows with what it removes, not with what is kept. Anonymising leaves rows behind;
//! the rule's watermark (the age of the last row anonymised, or the last audit event's
//! sequence number) lets the next run start where this one stopped.

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use domain::retention::{RetentionAction, RetentionKind, REMOVED_TEXT};
use uuid::Uuid;

use crate::audit;
use crate::db::{DbConnection, MultiBackend};
use crate::schema::{
    audit_events, behavioural_events, leads, messages, retention_rules, stored_files, tickets,
    webhook_deliveries,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = retention_rules, treat_none_as_null = true)]
pub struct RetentionRuleRow {
    /// `domain::retention::RetentionKind`.
    pub kind: String,
    pub keep_days: i32,
    /// `domain::retention::RetentionAction`.
    pub action: String,
    pub enabled: bool,
    pub watermark_at: Option<DbTime>,
    pub watermark_seq: Option<i64>,
    pub last_applied_at: Option<DbTime>,
    pub last_removed: Option<i64>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl RetentionRuleRow {
    /// What the audit trail records of a rule.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "keep_days": self.keep_days,
            "action": self.action,
            "enabled": self.enabled,
        })
    }

    pub fn watermark(&self) -> Watermark {
        Watermark {
            at: self.watermark_at.map(|at| at.0),
            seq: self.watermark_seq,
        }
    }
}

/// Every rule, in kind order.
pub fn all(conn: &mut DbConnection) -> Result<Vec<RetentionRuleRow>, PersistenceError> {
    Ok(retention_rules::table
        .order(retention_rules::kind)
        .select(RetentionRuleRow::as_select())
        .load(conn)?)
}

pub fn find(
    conn: &mut DbConnection,
    kind: RetentionKind,
) -> Result<Option<RetentionRuleRow>, PersistenceError> {
    Ok(retention_rules::table
        .find(kind.as_str())
        .select(RetentionRuleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &RetentionRuleRow) -> Result<(), PersistenceError> {
    diesel::insert_into(retention_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes `row` over the stored rule of its kind.
pub fn update(conn: &mut DbConnection, row: &RetentionRuleRow) -> Result<(), PersistenceError> {
    diesel::update(retention_rules::table.find(&row.kind))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, kind: RetentionKind) -> Result<(), PersistenceError> {
    diesel::delete(retention_rules::table.find(kind.as_str())).execute(conn)?;
    Ok(())
}

/// Records a batch's progress on the rule (if it still exists): the new watermark and
/// how much the current run has removed so far.
pub fn record_progress(
    conn: &mut DbConnection,
    kind: RetentionKind,
    watermark: Watermark,
    applied_at: DateTime<Utc>,
    removed: i64,
) -> Result<(), PersistenceError> {
    diesel::update(retention_rules::table.find(kind.as_str()))
        .set((
            retention_rules::watermark_at.eq(watermark.at.map(DbTime)),
            retention_rules::watermark_seq.eq(watermark.seq),
            retention_rules::last_applied_at.eq(Some(DbTime(applied_at))),
            retention_rules::last_removed.eq(Some(removed)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Where anonymising of a kind stopped (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermark {
    pub at: Option<DateTime<Utc>>,
    pub seq: Option<i64>,
}

/// What a rule would reach now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Due {
    pub rows: i64,
    /// The age of the oldest row reached.
    pub oldest: Option<DateTime<Utc>>,
}

/// One batch of a rule, done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Rows deleted or anonymised.
    pub removed: usize,
    /// The ids of the leads or tickets reached (other kinds are counted only).
    pub records: Vec<Uuid>,
    pub watermark: Watermark,
    /// Whether due rows may remain after this batch.
    pub more: bool,
}

/// Counts what `kind` under `action` reaches before `cutoff`, after `watermark`.
pub fn due(
    conn: &mut DbConnection,
    kind: RetentionKind,
    action: RetentionAction,
    cutoff: DateTime<Utc>,
    watermark: Watermark,
) -> Result<Due, PersistenceError> {
    let anonymise = action == RetentionAction::Anonymise;
    let from = watermark.at.map(DbTime);
    let cutoff = DbTime(cutoff);
    let (rows, oldest): (i64, Option<DbTime>) = match kind {
        RetentionKind::Messages => messages_reached(cutoff, anonymise, from)
            .select((count_star(), min(messages::occurred_at)))
            .first(conn)?,
        RetentionKind::BehaviouralEvents => events_reached(cutoff)
            .select((count_star(), min(behavioural_events::occurred_at)))
            .first(conn)?,
        RetentionKind::ClosedTickets => tickets_reached(cutoff, anonymise, from)
            .select((count_star(), min(tickets::closed_at)))
            .first(conn)?,
        RetentionKind::InactiveLeads => leads_reached(cutoff, anonymise, from)
            .select((count_star(), min(leads::updated_at)))
            .first(conn)?,
        RetentionKind::AuditDetail => {
            let mut query = audit_events::table
                .filter(audit_events::occurred_at.lt(cutoff))
                .filter(audit_events::changes.is_not_null())
                .into_boxed();
            if let Some(seq) = watermark.seq {
                query = query.filter(audit_events::seq.gt(seq));
            }
            query
                .select((count_star(), min(audit_events::occurred_at)))
                .first(conn)?
        }
        RetentionKind::ExportFiles => files_reached(cutoff)
            .select((count_star(), min(stored_files::created_at)))
            .first(conn)?,
        RetentionKind::WebhookDeliveries => deliveries_reached(cutoff)
            .select((count_star(), min(webhook_deliveries::created_at)))
            .first(conn)?,
    };
    Ok(Due {
        rows,
        oldest: oldest.map(|at| at.0),
    })
}

/// Files the `export_files` kind reaches: exports' results and uploaded import files,
/// both copies of records.
const RETAINED_FILE_PURPOSES: [&str; 2] =
    [crate::files::EXPORT_RESULT, crate::files::IMPORT_UPLOAD];

/// A delivery still to be attempted is never removed.
const PENDING_DELIVERY: &str = "pending";

// What each kind reaches before `cutoff`; anonymising skips rows already anonymised and
// those before the watermark `from`.

fn messages_reached(
    cutoff: DbTime,
    anonymise: bool,
    from: Option<DbTime>,
) -> messages::BoxedQuery<'static, MultiBackend> {
    let mut query = messages::table
        .filter(messages::occurred_at.lt(cutoff))
        .into_boxed();
    if anonymise {
        query = query.filter(messages::body.ne(REMOVED_TEXT));
        if let Some(from) = from {
            query = query.filter(messages::occurred_at.ge(from));
        }
    }
    query
}

fn events_reached(cutoff: DbTime) -> behavioural_events::BoxedQuery<'static, MultiBackend> {
    behavioural_events::table
        .filter(behavioural_events::occurred_at.lt(cutoff))
        .into_boxed()
}

fn tickets_reached(
    cutoff: DbTime,
    anonymise: bool,
    from: Option<DbTime>,
) -> tickets::BoxedQuery<'static, MultiBackend> {
    let mut query = tickets::table
        .filter(tickets::status.eq("closed"))
        .filter(tickets::closed_at.lt(cutoff))
        .into_boxed();
    if anonymise {
        query = query.filter(tickets::subject.ne(REMOVED_TEXT));
        if let Some(from) = from {
            query = query.filter(tickets::closed_at.ge(from));
        }
    }
    query
}

fn leads_reached(
    cutoff: DbTime,
    anonymise: bool,
    from: Option<DbTime>,
) -> leads::BoxedQuery<'static, MultiBackend> {
    let mut query = leads::table
        .filter(leads::status.ne("converted"))
        .filter(leads::updated_at.lt(cutoff))
        .into_boxed();
    if anonymise {
        query = query.filter(leads::display_name.ne(REMOVED_TEXT));
        if let Some(from) = from {
            query = query.filter(leads::updated_at.ge(from));
        }
    }
    query
}

fn files_reached(cutoff: DbTime) -> stored_files::BoxedQuery<'static, MultiBackend> {
    stored_files::table
        .filter(stored_files::purpose.eq_any(RETAINED_FILE_PURPOSES))
        .filter(stored_files::created_at.lt(cutoff))
        .into_boxed()
}

fn deliveries_reached(cutoff: DbTime) -> webhook_deliveries::BoxedQuery<'static, MultiBackend> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.ne(PENDING_DELIVERY))
        .filter(webhook_deliveries::created_at.lt(cutoff))
        .into_boxed()
}

/// Deletes or anonymises up to `limit` of the oldest rows `kind` reaches before
/// `cutoff`, after `watermark`. Runs inside the caller's transaction, with the audit
/// event that records it.
pub fn apply_batch(
    conn: &mut DbConnection,
    kind: RetentionKind,
    action: RetentionAction,
    cutoff: DateTime<Utc>,
    watermark: Watermark,
    limit: i64,
) -> Result<Batch, PersistenceError> {
    let anonymise = action == RetentionAction::Anonymise;
    let from = watermark.at.map(DbTime);
    let before = DbTime(cutoff);
    let full = |found: usize| found as i64 == limit;
    // A kind that is only ever deleted leaves no watermark and names no records.
    let deleted = |removed: usize, found: usize| Batch {
        removed,
        records: Vec::new(),
        watermark,
        more: full(found),
    };
    match kind {
        RetentionKind::Messages => {
            let rows: Vec<(DbUuid, DbTime)> = messages_reached(before, anonymise, from)
                .order((messages::occurred_at, messages::id))
                .limit(limit)
                .select((messages::id, messages::occurred_at))
                .load(conn)?;
            let ids: Vec<DbUuid> = rows.iter().map(|(id, _)| *id).collect();
            let removed = if anonymise {
                diesel::update(messages::table.filter(messages::id.eq_any(&ids)))
                    .set((
                        messages::body.eq(REMOVED_TEXT),
                        messages::subject.eq(None::<String>),
                        messages::error.eq(None::<String>),
                    ))
                    .execute(conn)?
            } else {
                diesel::delete(messages::table.filter(messages::id.eq_any(&ids))).execute(conn)?
            };
            Ok(Batch {
                removed,
                records: Vec::new(),
                watermark: advanced(watermark, anonymise, rows.last().map(|(_, at)| at.0)),
                more: full(rows.len()),
            })
        }
        RetentionKind::BehaviouralEvents => {
            let ids: Vec<DbUuid> = events_reached(before)
                .order((behavioural_events::occurred_at, behavioural_events::id))
                .limit(limit)
                .select(behavioural_events::id)
                .load(conn)?;
            // The per-customer counts built from the events stay: aggregates are kept.
            let removed = diesel::delete(
                behavioural_events::table.filter(behavioural_events::id.eq_any(&ids)),
            )
            .execute(conn)?;
            Ok(deleted(removed, ids.len()))
        }
        RetentionKind::ClosedTickets => {
            let rows: Vec<(DbUuid, Option<DbTime>)> = tickets_reached(before, anonymise, from)
                .order((tickets::closed_at, tickets::id))
                .limit(limit)
                .select((tickets::id, tickets::closed_at))
                .load(conn)?;
            let ids: Vec<Uuid> = rows.iter().map(|(id, _)| id.0).collect();
            // Attachments are files of their own; their rows would go with the ticket
            // but the files would stay.
            let files = crate::ticket_attachments::file_ids_of(conn, &ids)?;
            crate::files::delete_many(conn, &files)?;
            for id in &ids {
                audit::redact_changes(conn, "ticket", &id.to_string())?;
            }
            let removed = if anonymise {
                crate::ticket_surveys::erase_comments(conn, &ids)?;
                crate::ticket_time_entries::erase_notes(conn, &ids)?;
                crate::tickets::redact(conn, &ids, REMOVED_TEXT)?
            } else {
                crate::assignment::delete_history(conn, "ticket", &ids)?;
                crate::tickets::delete_many(conn, &ids)?
            };
            Ok(Batch {
                removed,
                more: full(ids.len()),
                records: ids,
                watermark: advanced(
                    watermark,
                    anonymise,
                    rows.last().and_then(|(_, at)| at.map(|at| at.0)),
                ),
            })
        }
        RetentionKind::InactiveLeads => {
            let rows: Vec<(DbUuid, DbTime)> = leads_reached(before, anonymise, from)
                .order((leads::updated_at, leads::id))
                .limit(limit)
                .select((leads::id, leads::updated_at))
                .load(conn)?;
            let ids: Vec<Uuid> = rows.iter().map(|(id, _)| id.0).collect();
            for id in &ids {
                audit::redact_changes(conn, "lead", &id.to_string())?;
                // A lead's own conversations name the sender's address.
                crate::conversations::delete_of_lead(conn, *id)?;
            }
            let removed = if anonymise {
                crate::leads::anonymise(conn, &ids, REMOVED_TEXT)?
            } else {
                crate::assignment::delete_history(conn, "lead", &ids)?;
                crate::leads::delete_many(conn, &ids)?
            };
            Ok(Batch {
                removed,
                more: full(ids.len()),
                records: ids,
                watermark: advanced(watermark, anonymise, rows.last().map(|(_, at)| at.0)),
            })
        }
        RetentionKind::AuditDetail => {
            let mut query = audit_events::table
                .order(audit_events::seq)
                .limit(limit)
                .select((
                    audit_events::seq,
                    audit_events::occurred_at,
                    audit_events::changes,
                ))
                .into_boxed();
            if let Some(seq) = watermark.seq {
                query = query.filter(audit_events::seq.gt(seq));
            }
            let events: Vec<(i64, DbTime, Option<DbJson>)> = query.load(conn)?;
            let mut removed = 0;
            let mut last = watermark.seq;
            // The chain's order is the walk's: it stops at the first event still kept,
            // so an event sealed late is reached by a later run.
            let mut reached_kept = false;
            for (seq, occurred_at, changes) in &events {
                if occurred_at.0 >= cutoff {
                    reached_kept = true;
                    break;
                }
                if let Some(DbJson(changes)) = changes {
                    if audit::redact_event(conn, *seq, changes)? {
                        removed += 1;
                    }
                }
                last = Some(*seq);
            }
            Ok(Batch {
                removed,
                records: Vec::new(),
                watermark: Watermark {
                    at: watermark.at,
                    seq: last,
                },
                more: !reached_kept && full(events.len()),
            })
        }
        RetentionKind::ExportFiles => {
            let ids: Vec<DbUuid> = files_reached(before)
                .order((stored_files::created_at, stored_files::id))
                .limit(limit)
                .select(stored_files::id)
                .load(conn)?;
            let ids: Vec<Uuid> = ids.into_iter().map(|id| id.0).collect();
            Ok(deleted(crate::files::delete_many(conn, &ids)?, ids.len()))
        }
        RetentionKind::WebhookDeliveries => {
            let ids: Vec<DbUuid> = deliveries_reached(before)
                .order((webhook_deliveries::created_at, webhook_deliveries::id))
                .limit(limit)
                .select(webhook_deliveries::id)
                .load(conn)?;
            let removed = diesel::delete(
                webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)),
            )
            .execute(conn)?;
            Ok(deleted(removed, ids.len()))
        }
    }
}

/// The watermark after anonymising rows up to `last` (deleting leaves none behind).
fn advanced(watermark: Watermark, anonymise: bool, last: Option<DateTime<Utc>>) -> Watermark {
    match (anonymise, last) {
        (true, Some(at)) => Watermark {
            at: Some(at),
            seq: watermark.seq,
        },
        _ => watermark,
    }
}
