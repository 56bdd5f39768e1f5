//! Retention rules, for those who answer for personal data (`privacy:manage`):
//! one rule per kind of data, a dry run that counts what the rules (or proposed ones)
//! would remove, and the application of the enabled rules by the daily
//! `retention.apply` job or on demand.
//!
//! A rule is applied a batch at a time, oldest rows first, each batch in its own
//! transaction with the audit event (`retention.apply`) that records it, so that a run
//! cut short by a crash has removed and recorded exactly what its finished batches
//! removed, and the next run goes on from there.
//!
//! What each kind reaches and what is kept of it: `domain::retention` and
//! `persistence::retention`.

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::retention::{cutoff, RetentionAction, RetentionKind, RetentionRuleInput};
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::retention::{Due, RetentionRuleRow, Watermark};
use persistence::sql_types::DbTime;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::transaction;

/// Rows removed per transaction: short enough not to hold locks for long, long enough
/// that a run's audit events stay few.
pub const BATCH: i64 = 1_000;

/// The fixed identity of a kind's rule, for its `ETag` and version checks.
pub fn rule_id(kind: RetentionKind) -> Uuid {
    let index = RetentionKind::ALL
        .iter()
        .position(|each| *each == kind)
        .unwrap_or_default();
    Uuid::from_u128(0x5245_5445_4e54_494f_4e00_0000_0000_0000 + index as u128)
}

/// A stored rule with its kind and action read back.
#[derive(Debug, Clone)]
pub struct RetentionRule {
    pub kind: RetentionKind,
    pub input: RetentionRuleInput,
    pub row: RetentionRuleRow,
}

impl RetentionRule {
    fn of(row: RetentionRuleRow) -> AppResult<RetentionRule> {
        let broken = || AppError::Internal(format!("stored retention rule `{}`", row.kind));
        let kind = RetentionKind::parse(&row.kind).ok_or_else(broken)?;
        let action = RetentionAction::parse(&row.action).ok_or_else(broken)?;
        Ok(RetentionRule {
            kind,
            input: RetentionRuleInput {
                keep_days: u32::try_from(row.keep_days).map_err(|_| broken())?,
                action,
                enabled: row.enabled,
            },
            row,
        })
    }
}

/// Every rule, in kind order (`privacy:manage`).
pub fn list(conn: &mut DbConnection, acting: &Acting) -> AppResult<Vec<RetentionRule>> {
    acting.require(Permission::PrivacyManage)?;
    persistence::retention::all(conn)?
        .into_iter()
        .map(RetentionRule::of)
        .collect()
}

/// The rule of `kind`, or `not_found`.
pub fn get(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: RetentionKind,
) -> AppResult<RetentionRule> {
    acting.require(Permission::PrivacyManage)?;
    RetentionRule::of(persistence::retention::find(conn, kind)?.ok_or(AppError::NotFound)?)
}

/// Sets the rule of `kind` (`privacy:manage`); answers it and whether it is new.
/// Audited as `retention_rule.create` or `retention_rule.update`.
pub fn put(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: RetentionKind,
    input: RetentionRuleInput,
    precondition: &Precondition,
) -> AppResult<(RetentionRule, bool)> {
    acting.require(Permission::PrivacyManage)?;
    input.validate(kind).map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let now = persistence::now();
        let current = persistence::retention::find(conn, kind)?;
        let created = current.is_none();
        let row = match current.clone() {
            Some(current) => {
                precondition.check(rule_id(kind), current.version)?;
                let row = RetentionRuleRow {
                    keep_days: input.keep_days as i32,
                    action: input.action.as_str().to_string(),
                    enabled: input.enabled,
                    // Another action walks other rows: it starts from the oldest.
                    watermark_at: if current.action == input.action.as_str() {
                        current.watermark_at
                    } else {
                        None
                    },
                    updated_at: DbTime(now),
                    version: current.version + 1,
                    ..current
                };
                persistence::retention::update(conn, &row)?;
                row
            }
            None => {
                if matches!(precondition, Precondition::Exists | Precondition::AnyOf(_)) {
                    return Err(AppError::Stale);
                }
                let row = RetentionRuleRow {
                    kind: kind.as_str().to_string(),
                    keep_days: input.keep_days as i32,
                    action: input.action.as_str().to_string(),
                    enabled: input.enabled,
                    watermark_at: None,
                    watermark_seq: None,
                    last_applied_at: None,
                    last_removed: None,
                    created_at: DbTime(now),
                    updated_at: DbTime(now),
                    version: 1,
                };
                persistence::retention::insert(conn, &row)?;
                row
            }
        };
        let before = current
            .as_ref()
            .map(RetentionRuleRow::audit_snapshot)
            .unwrap_or_else(|| json!({}));
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: if created {
                    "retention_rule.create"
                } else {
                    "retention_rule.update"
                },
                resource_type: "retention_rule",
                resource_id: Some(kind.as_str().to_string()),
                changes: Some(domain::audit::changed_fields(
                    &before,
                    &row.audit_snapshot(),
                )),
            },
        )?;
        Ok((RetentionRule::of(row)?, created))
    })
}

/// Removes the rule of `kind` (`privacy:manage`): that data is kept for ever again.
/// Audited as `retention_rule.delete`.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: RetentionKind,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::PrivacyManage)?;
    transaction(conn, |conn| {
        let current = persistence::retention::find(conn, kind)?.ok_or(AppError::NotFound)?;
        precondition.check(rule_id(kind), current.version)?;
        persistence::retention::delete(conn, kind)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "retention_rule.delete",
                resource_type: "retention_rule",
                resource_id: Some(kind.as_str().to_string()),
                changes: Some(domain::audit::changed_fields(
                    &current.audit_snapshot(),
                    &json!({}),
                )),
            },
        )?;
        Ok(())
    })
}

/// What one rule reaches at `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindPreview {
    pub kind: RetentionKind,
    pub action: RetentionAction,
    pub keep_days: u32,
    /// Data aged before this instant is reached.
    pub cutoff: DateTime<Utc>,
    /// Rows that would be deleted or anonymised.
    pub rows: i64,
    /// The age of the oldest of them.
    pub oldest: Option<DateTime<Utc>>,
}

/// Counts what the given rules would remove now, changing nothing (`privacy:manage`).
/// Without rules, the stored enabled ones are counted.
pub fn dry_run(
    conn: &mut DbConnection,
    acting: &Acting,
    proposed: Option<Vec<(RetentionKind, RetentionRuleInput)>>,
) -> AppResult<Vec<KindPreview>> {
    acting.require(Permission::PrivacyManage)?;
    let stored = persistence::retention::all(conn)?
        .into_iter()
        .map(RetentionRule::of)
        .collect::<AppResult<Vec<_>>>()?;
    let rules: Vec<(RetentionKind, RetentionRuleInput, Watermark)> = match proposed {
        Some(proposed) => {
            let mut violations = Vec::new();
            for (index, (kind, input)) in proposed.iter().enumerate() {
                if let Err(broken) = input.validate(*kind) {
                    violations.extend(broken.into_iter().map(|mut violation| {
                        violation.field = format!("rules[{index}].{}", violation.field);
                        violation
                    }));
                }
                if proposed[..index].iter().any(|(earlier, _)| earlier == kind) {
                    violations.push(domain::validation::FieldViolation::new(
                        format!("rules[{index}].kind"),
                        "duplicate",
                        "one rule per kind",
                    ));
                }
            }
            if !violations.is_empty() {
                return Err(AppError::Invalid(violations));
            }
            proposed
                .into_iter()
                .map(|(kind, input)| {
                    // A stored rule's progress counts only for the same action.
                    let watermark = stored
                        .iter()
                        .find(|rule| rule.kind == kind && rule.input.action == input.action)
                        .map(|rule| rule.row.watermark())
                        .unwrap_or_default();
                    (kind, input, watermark)
                })
                .collect()
        }
        None => stored
            .into_iter()
            .filter(|rule| rule.input.enabled)
            .map(|rule| (rule.kind, rule.input, rule.row.watermark()))
            .collect(),
    };
    let now = persistence::now();
    rules
        .into_iter()
        .map(|(kind, input, watermark)| {
            let cutoff = cutoff(now, input.keep_days);
            let Due { rows, oldest } =
                persistence::retention::due(conn, kind, input.action, cutoff, watermark)?;
            Ok(KindPreview {
                kind,
                action: input.action,
                keep_days: input.keep_days,
                cutoff,
                rows,
                oldest,
            })
        })
        .collect()
}

/// What applying one rule removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub kind: RetentionKind,
    pub action: RetentionAction,
    pub cutoff: DateTime<Utc>,
    pub rows: usize,
    pub batches: usize,
}

/// Applies every enabled rule as of `now`, a batch per transaction, each batch audited
/// as `retention.apply` by the system. `keep_going` is asked between batches; when it
/// says no, the run stops where it is (its finished batches stay done).
pub fn apply(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    keep_going: &dyn Fn() -> bool,
) -> AppResult<Option<Vec<Applied>>> {
    let rules = persistence::retention::all(conn)?
        .into_iter()
        .map(RetentionRule::of)
        .collect::<AppResult<Vec<_>>>()?;
    let mut applied = Vec::new();
    for rule in rules.into_iter().filter(|rule| rule.input.enabled) {
        let (kind, action) = (rule.kind, rule.input.action);
        let cutoff = cutoff(now, rule.input.keep_days);
        let mut watermark = rule.row.watermark();
        let mut done = Applied {
            kind,
            action,
            cutoff,
            rows: 0,
            batches: 0,
        };
        loop {
            if !keep_going() {
                return Ok(None);
            }
            let batch = transaction(conn, |conn| {
                let batch = persistence::retention::apply_batch(
                    conn, kind, action, cutoff, watermark, BATCH,
                )?;
                let removed = done.rows + batch.removed;
                persistence::retention::record_progress(
                    conn,
                    kind,
                    batch.watermark,
                    now,
                    removed as i64,
                )?;
                if batch.removed > 0 {
                    let mut changes = json!({
                        "action": action,
                        "cutoff": cutoff,
                        "rows": batch.removed,
                    });
                    if !batch.records.is_empty() {
                        changes["ids"] = json!(batch.records);
                    }
                    audit::record(
                        conn,
                        &Actor::system(),
                        NewAuditEvent {
                            action: "retention.apply",
                            resource_type: "retention_rule",
                            resource_id: Some(kind.as_str().to_string()),
                            changes: Some(changes),
                        },
                    )?;
                }
                Ok(batch)
            })?;
            done.rows += batch.removed;
            done.batches += 1;
            watermark = batch.watermark;
            if !batch.more {
                break;
            }
        }
        tracing::info!(
            kind = kind.as_str(),
            action = action.as_str(),
            rows = done.rows,
            "retention rule applied"
        );
        applied.push(done);
    }
    Ok(Some(applied))
}
