//! What every provider's webhook is reduced to: the messages customers sent and the
//! delivery states of messages the business sent.

use chrono::{DateTime, Utc};

/// Who sent an inbound message, in the provider's own terms (normalised later, as
/// customer fields are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A phone number as the provider wrote it (SMS, WhatsApp's `wa_id`).
    Phone(String),
    /// An e-mail address.
    Email(String),
    /// A Telegram user: its numeric id (stable) and its @username (changeable).
    Telegram {
        user_id: i64,
        username: Option<String>,
    },
    /// An Instagram-scoped user id.
    Instagram(String),
}

/// One message a customer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The provider's id of the message: a replayed delivery carries the same one.
    pub provider_message_id: String,
    pub sender: Sender,
    /// The name the sender goes by on the channel, if the provider tells.
    pub sender_name: Option<String>,
    /// The text; a message without text is described (e.g. `[photo]`).
    pub text: String,
    pub sent_at: DateTime<Utc>,
    /// A phone number the sender shared as their own (Telegram's contact button).
    pub shared_phone: Option<String>,
}

/// Where a message the business sent stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Sent,
    Delivered,
    Read,
    Failed,
}

/// A provider's report on a message the business sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub provider_message_id: String,
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
    /// The provider's reason for a failure.
    pub error: Option<String>,
}

/// Everything one webhook request carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbound {
    pub messages: Vec<InboundMessage>,
    pub deliveries: Vec<DeliveryUpdate>,
}

/// A body that is not what the provider sends.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a {provider} payload: {reason}")]
pub struct PayloadError {
    pub provider: &'static str,
    pub reason: String,
}

impl PayloadError {
    pub(crate) fn new(provider: &'static str, reason: impl ToString) -> PayloadError {
        PayloadError {
            provider,
            reason: reason.to_string(),
        }
    }
}

/// A Unix time in seconds as an instant; out-of-range values are refused.
pub(crate) fn from_unix(
    provider: &'static str,
    seconds: i64,
) -> Result<DateTime<Utc>, PayloadError> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| PayloadError::new(provider, format!("time {seconds} is out of range")))
}
