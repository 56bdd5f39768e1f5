//! Lifecycle rules (C-8) at work: the rules document, what a purchase does to its
//! customer's stage, and the daily churn check. Every automatic move is recorded in
//! the stage history with the rule's name as its reason (`rule:first_purchase`, ...);
//! manual changes keep the reason `manual`.

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::commerce::lifecycle::{LifecycleRule, LifecycleRules};
use domain::customers::LifecycleStage;
use domain::model_runs::{RunKind, RunParameters};
use persistence::audit::{self, NewAuditEvent};
use persistence::customers::history::{self, LifecycleTransitionRow};
use persistence::db::DbConnection;
use persistence::orders::{Lapse, PurchaseFacts};
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;

/// The id the rules document's ETag is made from.
pub const RULES_ID: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0c08);

/// Customers the churn check moves per transaction.
const CHURN_BATCH: i64 = 500;

/// The rules in force and their version (0 while the shipped defaults apply).
pub fn current(conn: &mut DbConnection) -> AppResult<(LifecycleRules, i64)> {
    match persistence::lifecycle_rules::find(conn)? {
        None => Ok((LifecycleRules::default(), 0)),
        Some(row) => Ok((
            serde_json::from_value(row.rules.0)
                .map_err(|err| AppError::Internal(format!("stored lifecycle rules: {err}")))?,
            row.version,
        )),
    }
}

/// Reading the rules needs `records:read`.
pub fn get(conn: &mut DbConnection, acting: &Acting) -> AppResult<(LifecycleRules, i64)> {
    acting.require(Permission::RecordsRead)?;
    current(conn)
}

/// Changes the rules (`crm:configure`) to what `edit` makes of them.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    precondition: &Precondition,
    edit: impl FnOnce(&LifecycleRules) -> AppResult<LifecycleRules>,
) -> AppResult<(LifecycleRules, i64)> {
    acting.require(Permission::CrmConfigure)?;
    crate::transaction(conn, |conn| {
        let (before, version) = current(conn)?;
        precondition.check(RULES_ID, version)?;
        let after = edit(&before)?.validated().map_err(AppError::Invalid)?;
        let json = |rules: &LifecycleRules| {
            serde_json::to_value(rules).map_err(|err| AppError::Internal(err.to_string()))
        };
        persistence::lifecycle_rules::save(conn, json(&after)?, version + 1)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "lifecycle_rules.update",
                resource_type: "lifecycle_rules",
                resource_id: None,
                changes: Some(domain::audit::changed_fields(
                    &json(&before)?,
                    &json(&after)?,
                )),
            },
        )?;
        Ok((after, version + 1))
    })
}

fn transition(
    customer: Uuid,
    from: &str,
    to: LifecycleStage,
    rule: LifecycleRule,
    acting: &Acting,
    at: DateTime<Utc>,
) -> LifecycleTransitionRow {
    LifecycleTransitionRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        from_stage: Some(from.to_string()),
        to_stage: to.as_str().to_string(),
        reason: rule.reason().to_string(),
        changed_by: acting.user_id.map(DbUuid),
        changed_at: DbTime(at),
    }
}

/// Recomputes the purchase facts of `customer` after one of its orders changed;
/// when that order `became_purchase` (placed paid, or paid later), gives the points
/// the loyalty rules grant for it and applies the rules to the customer's stage. The
/// caller holds the customer's lock.
pub fn after_order_change(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    order: &persistence::orders::OrderRow,
    became_purchase: bool,
) -> AppResult<PurchaseFacts> {
    let facts = persistence::orders::refresh_facts(conn, &[customer])?.remove(0);
    if !became_purchase {
        return Ok(facts);
    }
    let loyalty = crate::settings::current(conn)?.0.loyalty;
    crate::loyalty::earn_for_order(conn, &loyalty, order)?;
    // The customer's only purchase, whenever it was placed: a back-dated order or an
    // old one paid late rewards no referral for a customer who bought before.
    if facts.order_count == 1 {
        crate::loyalty::reward_referral(conn, &loyalty, customer, order)?;
    }
    let previous =
        persistence::orders::purchase_before(conn, customer, order.id.0, order.placed_at.0)?;
    let (rules, _) = current(conn)?;
    let row = persistence::customers::find_row(conn, customer)?;
    let stage = LifecycleStage::parse(&row.lifecycle_stage).ok_or_else(|| {
        AppError::Internal(format!(
            "customer {customer} has stage {:?}",
            row.lifecycle_stage
        ))
    })?;
    if let Some((to, rule)) = rules.after_purchase(stage, previous, order.placed_at.0) {
        let now = persistence::now();
        history::set_stage(conn, &[customer], to.as_str(), now)?;
        crate::customers::record_transitions(
            conn,
            acting,
            &[transition(
                customer,
                &row.lifecycle_stage,
                to,
                rule,
                acting,
                now,
            )],
        )?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "customer.lifecycle_rule",
                resource_type: "customer",
                resource_id: Some(customer.to_string()),
                changes: Some(serde_json::json!({
                    "lifecycle_stage": {"before": row.lifecycle_stage, "after": to.as_str()},
                    "rule": rule.reason(),
                    "order_id": order.id.0,
                })),
            },
        )?;
    }
    Ok(facts)
}

/// Purchases at or after this instant are not in the current `clv` run's P(alive): the
/// end of its calibration period, or when the run was asked for if that is earlier (a
/// purchase later that day came after the run read the history). `None` before the
/// first such run.
fn scoring_cutoff(conn: &mut DbConnection) -> AppResult<Option<DateTime<Utc>>> {
    let Some(run) = persistence::model_runs::latest_succeeded(conn, RunKind::Clv.as_str())? else {
        return Ok(None);
    };
    let Ok(RunParameters::Clv(clv)) = RunParameters::from_stored(RunKind::Clv, run.parameters.0)
    else {
        return Err(AppError::Internal(
            "a clv run without clv parameters".into(),
        ));
    };
    let local = crate::settings::calendar(conn)?.local();
    clv.calibration_end
        .checked_add_days(chrono::Days::new(1))
        .and_then(|next| local.start_of_day(next))
        .map(|end| Some(end.min(run.created_at.0)))
        .ok_or_else(|| AppError::Internal(format!("no end of day for {}", clv.calibration_end)))
}

/// What a churn check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChurnCheck {
    /// Customers moved to `churned`.
    pub churned: usize,
}

/// Moves every customer who has lapsed to `churned`, in batches of one transaction
/// each, as the system: by P(alive) in the current `clv` run when the rules say so and
/// such a run exists, otherwise by a last purchase older than the churn window.
/// Running it twice moves nobody the second time.
pub fn check_churn(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<ChurnCheck> {
    let acting = Acting::system(crate::i18n::Lang::Fa);
    let (rules, _) = current(conn)?;
    let Some(cutoff) = rules.churned_before(now) else {
        return Ok(ChurnCheck::default());
    };
    let lapse = match rules.churn.p_alive_below {
        Some(threshold) => match scoring_cutoff(conn)? {
            Some(since) => Lapse::Unlikely { threshold, since },
            None => Lapse::LastPurchaseBefore(cutoff),
        },
        None => Lapse::LastPurchaseBefore(cutoff),
    };
    let stages: Vec<&str> = LifecycleRules::CHURNABLE
        .iter()
        .map(|stage| stage.as_str())
        .collect();
    let mut result = ChurnCheck::default();
    let mut after = None;
    loop {
        let moved = crate::transaction(conn, |conn| {
            let ids =
                persistence::orders::lapsed_customers(conn, &stages, lapse, after, CHURN_BATCH)?;
            persistence::customers::lock_for_update(conn, &ids)?;
            // Read again under the lock: an order may have come in meanwhile.
            let lapsed = persistence::orders::still_lapsed(conn, &ids, &stages, lapse)?;
            let moment = persistence::now();
            let ids_moved: Vec<Uuid> = lapsed.iter().map(|(id, _)| *id).collect();
            history::set_stage(conn, &ids_moved, LifecycleStage::Churned.as_str(), moment)?;
            let transitions: Vec<LifecycleTransitionRow> = lapsed
                .iter()
                .map(|(id, stage)| {
                    transition(
                        *id,
                        stage,
                        LifecycleStage::Churned,
                        LifecycleRule::Churn,
                        &acting,
                        moment,
                    )
                })
                .collect();
            crate::customers::record_transitions(conn, &acting, &transitions)?;
            audit::record_many(
                conn,
                &acting.audit_actor(),
                lapsed
                    .iter()
                    .map(|(id, stage)| NewAuditEvent {
                        action: "customer.lifecycle_rule",
                        resource_type: "customer",
                        resource_id: Some(id.to_string()),
                        changes: Some(serde_json::json!({
                            "lifecycle_stage": {"before": stage, "after": "churned"},
                            "rule": LifecycleRule::Churn.reason(),
                        })),
                    })
                    .collect(),
            )?;
            Ok((ids.last().copied(), ids_moved.len(), ids.len()))
        })?;
        let (last, churned, seen) = moved;
        result.churned += churned;
        if (seen as i64) < CHURN_BATCH {
            return Ok(result);
        }
        after = last;
    }
}
