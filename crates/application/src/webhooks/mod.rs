//! Outgoing webhooks: subscriptions (`crm:configure`, or a partner's user for its
//! partner's own; the signing secret sealed under the credential key, shown once), the
//! fan-out of every event published to the
//! outbox into one delivery per matching active subscription — written, with its job,
//! in the transaction of the change — and the `webhooks.deliver` job that signs and
//! sends each delivery per the Standard Webhooks specification, retries it with the
//! queue's exponential back-off, records every attempt, and switches off a
//! subscription whose deliveries keep being given up. A delivery can be replayed.

pub mod delivery;

use std::collections::{BTreeSet, HashSet};

use channels::secrets::CredentialCipher;
use domain::authz::Permission;
use domain::partners::SharedKind;
use domain::webhooks::{DeliveryStatus, SubscriptionInput, MAX_ATTEMPTS, MAX_SUBSCRIPTIONS};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::events::NewEvent;
use persistence::jobs::NewJob;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::webhooks::{DeliveryRow, SubscriptionRow};
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// The job kind that makes one delivery.
pub const WEBHOOK_DELIVER: &str = "webhooks.deliver";

/// The document a merge patch of a subscription applies to.
pub fn subscription_input(row: &SubscriptionRow) -> SubscriptionInput {
    SubscriptionInput {
        url: row.url.clone(),
        event_types: row.event_types(),
        description: row.description.clone(),
        active: row.active,
    }
}

/// A new subscription (`crm:configure`, or a partner's user for its partner: see
/// `managing`) and its secret, shown this once. Audited as
/// `webhook_subscription.create`, without the secret.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    cipher: &CredentialCipher,
    allow_private: bool,
    input: SubscriptionInput,
) -> AppResult<(SubscriptionRow, String)> {
    let partner = managing(acting)?;
    let input = input.validated(allow_private).map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        if persistence::webhooks::count(conn)? >= MAX_SUBSCRIPTIONS {
            return Err(AppError::Conflict(format!(
                "a business keeps at most {MAX_SUBSCRIPTIONS} webhook subscriptions"
            )));
        }
        let id = Uuid::now_v7();
        let secret = channels::webhooks::new_secret();
        let sealed = cipher.seal(id.as_bytes(), secret.as_bytes());
        let now = DbTime(persistence::now());
        let row = SubscriptionRow {
            id: DbUuid(id),
            url: input.url,
            event_types: DbJson(json!(input.event_types)),
            description: input.description,
            active: input.active,
            secret_key_id: sealed.key_id,
            secret_sealed: sealed.data,
            consecutive_failures: 0,
            disabled_reason: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
            partner_id: partner.map(DbUuid),
        };
        persistence::webhooks::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "webhook_subscription.create",
            "webhook_subscription",
            id,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok((row, secret))
    })
}

/// A subscription (as `managed` allows).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<SubscriptionRow> {
    managed(conn, acting, id)
}

/// Who may manage subscriptions: `crm:configure` every one (`None`), a partner's user
/// with `records:read` those of its partner (`Some`); anyone else none.
fn managing(acting: &Acting) -> AppResult<Option<Uuid>> {
    if acting.can(Permission::CrmConfigure) {
        return Ok(None);
    }
    match acting.partner_id {
        Some(partner) if acting.can(Permission::RecordsRead) => Ok(Some(partner)),
        _ => Err(AppError::Forbidden),
    }
}

/// Subscription `id` if the caller may manage it; another partner's, or the business's
/// own for a partner's user, is not found.
fn managed(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<SubscriptionRow> {
    let partner = managing(acting)?;
    let row = persistence::webhooks::find(conn, id)?;
    match partner {
        Some(partner) if row.partner_id != Some(DbUuid(partner)) => Err(AppError::NotFound),
        _ => Ok(row),
    }
}

/// One page of subscriptions in creation order (all with `crm:configure`, its
/// partner's for a partner's user).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<SubscriptionRow>> {
    let partner = managing(acting)?;
    Ok(persistence::webhooks::list(
        conn,
        partner,
        created_after(cursor)?,
        limit,
    )?)
}

/// Changes a subscription (as `managed` allows): `edit` turns its document into the new
/// one, checked as a new subscription's. Switching it on clears the failures that
/// switched it off.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    allow_private: bool,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&SubscriptionInput) -> AppResult<SubscriptionInput>,
) -> AppResult<SubscriptionRow> {
    let current = managed(conn, acting, id)?;
    precondition.check(id, current.version)?;
    let after = edit(&subscription_input(&current))?
        .validated(allow_private)
        .map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let switched_on = after.active && !current.active;
        let row = SubscriptionRow {
            url: after.url,
            event_types: DbJson(json!(after.event_types)),
            description: after.description,
            active: after.active,
            consecutive_failures: if switched_on {
                0
            } else {
                current.consecutive_failures
            },
            disabled_reason: if after.active {
                None
            } else {
                current.disabled_reason.clone()
            },
            ..current.clone()
        };
        // Refused as stale when the subscription changed since it was read above.
        let row = persistence::webhooks::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "webhook_subscription.update",
            "webhook_subscription",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a subscription and its deliveries (as `managed` allows); their jobs find
/// nothing to send.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    transaction(conn, |conn| {
        let current = managed(conn, acting, id)?;
        precondition.check(id, current.version)?;
        persistence::webhooks::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "webhook_subscription.delete",
            "webhook_subscription",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// One page of a subscription's deliveries (as `managed` allows), of `status` when given.
pub fn deliveries(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    status: Option<DeliveryStatus>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<DeliveryRow>> {
    managed(conn, acting, id)?;
    Ok(persistence::webhooks::deliveries(
        conn,
        id,
        status.map(DeliveryStatus::as_str),
        created_after(cursor)?,
        limit,
    )?)
}

/// Sends a delivery of subscription `id` again (as `managed` allows): the same
/// `webhook-id` and body, a fresh round of attempts. One still waiting is a conflict.
/// Audited as `webhook_delivery.replay`.
pub fn replay(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    delivery: Uuid,
) -> AppResult<DeliveryRow> {
    transaction(conn, |conn| {
        managed(conn, acting, id)?;
        let found = persistence::webhooks::find_delivery(conn, delivery)?;
        if found.subscription_id.0 != id {
            return Err(AppError::NotFound);
        }
        if !persistence::webhooks::reopen_delivery(conn, delivery)? {
            return Err(AppError::Conflict(
                "the delivery is still waiting for its next attempt".into(),
            ));
        }
        queue_delivery(conn, delivery, acting.user_id)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "webhook_delivery.replay",
                resource_type: "webhook_subscription",
                resource_id: Some(id.to_string()),
                changes: Some(json!({"delivery_id": delivery})),
            },
        )?;
        Ok(persistence::webhooks::find_delivery(conn, delivery)?)
    })
}

fn queue_delivery(conn: &mut DbConnection, delivery: Uuid, by: Option<Uuid>) -> AppResult<()> {
    persistence::jobs::enqueue(
        conn,
        NewJob {
            kind: WEBHOOK_DELIVER,
            payload: json!({"delivery_id": delivery}),
            run_at: persistence::now(),
            max_attempts: MAX_ATTEMPTS,
            created_by: by,
        },
    )?;
    Ok(())
}

/// The body every attempt of a delivery of `event` sends.
fn body_of(event: &NewEvent) -> String {
    json!({
        "type": event.event_type,
        "timestamp": event.occurred_at.0,
        "data": {
            "event_id": event.id.0,
            "subject": {"kind": event.subject_kind, "id": event.subject_id.0},
            "payload": event.payload.0,
        },
    })
    .to_string()
}

/// The event type of a workflow's `call_webhook` step.
pub const WORKFLOW_WEBHOOK: &str = "workflow.webhook";

/// A `call_webhook` step of run `run` of `workflow` about a customer or lead: a
/// `workflow.webhook` event in the outbox (so the change feed has it too) and one
/// delivery of it, with its job, to `subscription` alone, whatever event types the
/// subscription lists. An inactive or deleted subscription breaks the step's rule.
/// Answers the delivery's id.
pub(crate) fn call_from_workflow(
    conn: &mut DbConnection,
    subscription: Uuid,
    workflow: Uuid,
    run: Uuid,
    (subject_kind, subject): (&str, Uuid),
    data: Option<&serde_json::Value>,
) -> AppResult<Uuid> {
    let target = match persistence::webhooks::find(conn, subscription) {
        Err(persistence::PersistenceError::NotFound) => {
            return Err(AppError::field(
                "subscription_id",
                "not_found",
                "the webhook subscription was deleted",
            ))
        }
        other => other?,
    };
    if !SubscriptionInput::wants(&target.event_types(), WORKFLOW_WEBHOOK) {
        return Err(AppError::field(
            "subscription_id",
            "not_subscribed",
            "the webhook subscription no longer lists workflow.webhook (or *)",
        ));
    }
    if !target.active {
        return Err(AppError::field(
            "subscription_id",
            "inactive",
            "the webhook subscription is switched off",
        ));
    }
    let now = persistence::now();
    let event = NewEvent::new(
        WORKFLOW_WEBHOOK,
        subject_kind,
        subject,
        json!({"workflow_id": workflow, "run_id": run, "data": data}),
        now,
    );
    persistence::events::append(conn, std::slice::from_ref(&event))?;
    let delivery = DeliveryRow {
        id: DbUuid(Uuid::now_v7()),
        subscription_id: target.id,
        event_id: event.id,
        event_type: event.event_type.clone(),
        body: body_of(&event),
        status: DeliveryStatus::Pending.as_str().to_string(),
        attempts: 0,
        response_status: None,
        error: None,
        created_at: DbTime(now),
        last_attempt_at: None,
        delivered_at: None,
    };
    persistence::webhooks::insert_deliveries(conn, std::slice::from_ref(&delivery))?;
    queue_delivery(conn, delivery.id.0, None)?;
    Ok(delivery.id.0)
}

/// One delivery, with its job, per event of `events` and active subscription that
/// wants it; in the caller's transaction (the events' own).
pub(crate) fn fan_out(conn: &mut DbConnection, events: &[NewEvent]) -> AppResult<()> {
    let subscriptions = persistence::webhooks::active(conn)?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    let shared = shared_with_partners(conn, &subscriptions, events)?;
    let wanted: Vec<(DbUuid, Vec<String>, Option<Uuid>)> = subscriptions
        .into_iter()
        .map(|row| (row.id, row.event_types(), row.partner_id.map(|id| id.0)))
        .collect();
    let now = DbTime(persistence::now());
    let mut rows = Vec::new();
    for event in events {
        let mut body = None;
        for (subscription, types, partner) in &wanted {
            let seen = partner.is_none_or(|p| shared.contains(&(p, event.subject_id.0)));
            if seen && SubscriptionInput::wants(types, &event.event_type) {
                rows.push(DeliveryRow {
                    id: DbUuid(Uuid::now_v7()),
                    subscription_id: *subscription,
                    event_id: event.id,
                    event_type: event.event_type.clone(),
                    body: body.get_or_insert_with(|| body_of(event)).clone(),
                    status: DeliveryStatus::Pending.as_str().to_string(),
                    attempts: 0,
                    response_status: None,
                    error: None,
                    created_at: now,
                    last_attempt_at: None,
                    delivered_at: None,
                });
            }
        }
    }
    persistence::webhooks::insert_deliveries(conn, &rows)?;
    for row in &rows {
        queue_delivery(conn, row.id.0, None)?;
    }
    Ok(())
}

/// The `(partner, record)` pairs among `events`' subjects that the partners of
/// `subscriptions` hold a share of now: a partner's subscription is sent only the
/// events about a customer, lead, deal or ticket shared with it.
fn shared_with_partners(
    conn: &mut DbConnection,
    subscriptions: &[SubscriptionRow],
    events: &[NewEvent],
) -> AppResult<HashSet<(Uuid, Uuid)>> {
    let partners: BTreeSet<Uuid> = subscriptions
        .iter()
        .filter_map(|row| row.partner_id.map(|id| id.0))
        .collect();
    let mut shared = HashSet::new();
    for partner in partners {
        for kind in SharedKind::ALL {
            let ids: Vec<Uuid> = events
                .iter()
                .filter(|event| event.subject_kind == kind.as_str())
                .map(|event| event.subject_id.0)
                .collect();
            if ids.is_empty() {
                continue;
            }
            for id in persistence::record_shares::shared_among(conn, partner, *kind, &ids)? {
                shared.insert((partner, id));
            }
        }
    }
    Ok(shared)
}
