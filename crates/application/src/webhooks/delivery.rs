//! The `webhooks.deliver` job: one delivery signed and sent, its attempt recorded, a
//! failure tried again by the queue's back-off until it is given up.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use channels::secrets::{CredentialCipher, Sealed};
use channels::webhooks::{Delivery, DeliveryError, Sender};
use domain::webhooks::{DeliveryStatus, DISABLE_AFTER_FAILURES, MAX_ATTEMPTS, TIMEOUT_SECS};
use persistence::db::DbConnection;
use persistence::webhooks::{DeliveryRow, SubscriptionRow};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::jobs::{connection, JobContext, JobError, JobFailure, JobHandler};
use crate::transaction;

fn sealing_failed(err: channels::secrets::SecretError) -> AppError {
    AppError::Internal(format!("webhook secret: {err}"))
}

/// Makes deliveries: the `webhooks.deliver` job.
pub struct WebhookDeliverJob {
    cipher: Arc<CredentialCipher>,
    /// One agent for every delivery; it connects only to the addresses targets may
    /// resolve to.
    sender: Sender,
}

impl WebhookDeliverJob {
    /// With `allow_private`, targets on loopback and private networks are called too.
    pub fn new(cipher: Arc<CredentialCipher>, allow_private: bool) -> WebhookDeliverJob {
        let allowed: fn(IpAddr) -> bool = if allow_private {
            |_| true
        } else {
            domain::webhooks::is_public
        };
        WebhookDeliverJob {
            cipher,
            sender: Sender::new(allowed, Duration::from_secs(TIMEOUT_SECS)),
        }
    }

    fn secret(&self, subscription: &SubscriptionRow) -> AppResult<String> {
        let plain = self
            .cipher
            .open(
                subscription.id.0.as_bytes(),
                &Sealed {
                    key_id: subscription.secret_key_id.clone(),
                    data: subscription.secret_sealed.clone(),
                },
            )
            .map_err(sealing_failed)?;
        String::from_utf8(plain).map_err(|_| AppError::Internal("webhook secret: not UTF-8".into()))
    }
}

/// Records a delivery given up, counted on its subscription (which may switch off).
fn give_up(
    conn: &mut DbConnection,
    delivery: &DeliveryRow,
    status: Option<u16>,
    error: &str,
) -> AppResult<()> {
    transaction(conn, |conn| {
        persistence::webhooks::record_attempt(
            conn,
            delivery.id.0,
            DeliveryStatus::Failed.as_str(),
            status.map(i32::from),
            Some(error),
            persistence::now(),
        )?;
        let switched_off = persistence::webhooks::count_outcome(
            conn,
            delivery.subscription_id.0,
            false,
            DISABLE_AFTER_FAILURES,
            &format!(
                "{DISABLE_AFTER_FAILURES} deliveries in a row were given up; the last: {error}"
            ),
        )?;
        if switched_off {
            tracing::warn!(subscription = %delivery.subscription_id.0, "webhook subscription switched off");
        }
        Ok(())
    })
}

impl JobHandler for WebhookDeliverJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["delivery_id"].clone())
            .map_err(|err| JobError::internal(format!("delivery id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let delivery = match persistence::webhooks::find_delivery(&mut conn, id) {
            // Its subscription was deleted.
            Err(persistence::PersistenceError::NotFound) => {
                return Ok(json!({"delivery_id": id, "status": "deleted"}))
            }
            other => other?,
        };
        if delivery.status != DeliveryStatus::Pending.as_str() {
            return Ok(json!({"delivery_id": id, "status": delivery.status}));
        }
        let subscription = persistence::webhooks::find(&mut conn, delivery.subscription_id.0)?;
        if !subscription.active {
            give_up(
                &mut conn,
                &delivery,
                None,
                "the subscription is switched off",
            )?;
            return Ok(json!({"delivery_id": id, "status": "failed"}));
        }
        let secret = self.secret(&subscription)?;
        // The target is called with no transaction open: a slow one holds no locks.
        let outcome = self.sender.deliver(Delivery {
            url: &subscription.url,
            id: &delivery.id.0.to_string(),
            timestamp: persistence::now().timestamp(),
            body: &delivery.body,
            secret: &secret,
        });
        match outcome {
            Ok(status) => {
                transaction(&mut conn, |conn| {
                    persistence::webhooks::record_attempt(
                        conn,
                        id,
                        DeliveryStatus::Succeeded.as_str(),
                        Some(i32::from(status)),
                        None,
                        persistence::now(),
                    )?;
                    persistence::webhooks::count_outcome(
                        conn,
                        subscription.id.0,
                        true,
                        DISABLE_AFTER_FAILURES,
                        "",
                    )?;
                    Ok(())
                })?;
                Ok(json!({"delivery_id": id, "status": "succeeded", "response_status": status}))
            }
            Err(DeliveryError::Refused(reason)) => {
                give_up(&mut conn, &delivery, None, &reason)?;
                Ok(json!({"delivery_id": id, "status": "failed", "error": reason}))
            }
            Err(DeliveryError::Failed { status, message }) if ctx.attempt() >= MAX_ATTEMPTS => {
                give_up(&mut conn, &delivery, status, &message)?;
                Err(JobError::Permanent(JobFailure::internal(
                    "webhook_failed",
                    message,
                )))
            }
            Err(DeliveryError::Failed { status, message }) => {
                persistence::webhooks::record_attempt(
                    &mut conn,
                    id,
                    DeliveryStatus::Pending.as_str(),
                    status.map(i32::from),
                    Some(&message),
                    persistence::now(),
                )?;
                Err(JobError::Retryable(JobFailure::internal(
                    "webhook_failed",
                    message,
                )))
            }
        }
    }
}
