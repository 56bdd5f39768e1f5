//! The SMS provider, Kavenegar. Its panel forwards each message received on the
//! business's line to a URL as form fields `messageid`, `from`, `to` and `message`, and
//! reports delivery of sent messages to another with `messageid` and a numeric
//! `status`. Kavenegar signs neither, so the URLs themselves are the secret: each
//! channel account's webhook path carries a long random key.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::inbound::{DeliveryState, DeliveryUpdate, InboundMessage, Sender};

/// A received message as Kavenegar forwards it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedSms {
    pub messageid: String,
    pub from: String,
    /// The business's line the message was sent to.
    pub to: String,
    pub message: String,
}

impl ReceivedSms {
    /// The message, received at `now` (Kavenegar sends no time).
    pub fn into_inbound(self, now: DateTime<Utc>) -> InboundMessage {
        InboundMessage {
            provider_message_id: self.messageid,
            sender: Sender::Phone(self.from),
            sender_name: None,
            text: self.message,
            sent_at: now,
            shared_phone: None,
        }
    }
}

/// A delivery report as Kavenegar sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct SmsDeliveryReport {
    pub messageid: String,
    pub status: i64,
}

impl SmsDeliveryReport {
    /// The report as a delivery update; `None` for the in-between states (queued,
    /// scheduled), which change nothing for the CRM.
    pub fn into_update(self, now: DateTime<Utc>) -> Option<DeliveryUpdate> {
        let (state, error) = match self.status {
            4 | 5 => (DeliveryState::Sent, None),
            10 => (DeliveryState::Delivered, None),
            6 => (DeliveryState::Failed, Some("6 failed at the operator")),
            11 => (DeliveryState::Failed, Some("11 undeliverable")),
            13 => (DeliveryState::Failed, Some("13 cancelled")),
            14 => (DeliveryState::Failed, Some("14 blocked by the recipient")),
            100 => (DeliveryState::Failed, Some("100 unknown message id")),
            _ => return None,
        };
        Some(DeliveryUpdate {
            provider_message_id: self.messageid,
            state,
            at: now,
            error: error.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_codes_map_to_states() {
        let now = Utc::now();
        let report = |status| SmsDeliveryReport {
            messageid: "8792343".into(),
            status,
        };
        assert_eq!(
            report(10).into_update(now).unwrap().state,
            DeliveryState::Delivered
        );
        assert_eq!(
            report(11).into_update(now).unwrap().state,
            DeliveryState::Failed
        );
        assert_eq!(
            report(4).into_update(now).unwrap().state,
            DeliveryState::Sent
        );
        assert!(report(1).into_update(now).is_none());
    }
}
