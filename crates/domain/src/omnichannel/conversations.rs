//! Conversations and their messages: one conversation per sender and channel account,
//! in which every inbound and outbound message is kept.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::omnichannel::accounts::MAX_SUBJECT_CHARS;

/// Whether a message came from the customer or went to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

snake_names!(Direction {
    Inbound => "inbound",
    Outbound => "outbound",
});

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// An inbound message, stored.
    Received,
    /// An outbound message waiting to be sent.
    Queued,
    /// Handed to the provider.
    Sent,
    Delivered,
    Read,
    /// The provider could not deliver it.
    Failed,
    /// Not sent: the customer has not consented to the channel.
    Refused,
}

snake_names!(MessageStatus {
    Received => "received",
    Queued => "queued",
    Sent => "sent",
    Delivered => "delivered",
    Read => "read",
    Failed => "failed",
    Refused => "refused",
});

impl MessageStatus {
    /// Whether a provider's report of `next` may replace this status: reports arrive
    /// out of order, and a later state is never taken back by an earlier one.
    pub fn advances_to(self, next: MessageStatus) -> bool {
        let rank = |status: MessageStatus| match status {
            MessageStatus::Received | MessageStatus::Refused => None,
            MessageStatus::Queued => Some(0),
            MessageStatus::Sent => Some(1),
            MessageStatus::Delivered => Some(2),
            MessageStatus::Read => Some(3),
            MessageStatus::Failed => Some(4),
        };
        match (rank(self), rank(next)) {
            // A failure is final; a read message was delivered.
            (Some(current), Some(next)) => current != 4 && next > current,
            _ => false,
        }
    }
}

/// Whether a conversation awaits an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

snake_names!(ConversationStatus {
    Open => "open",
    Closed => "closed",
});

/// Longest stored message text: a long e-mail fits, a pasted book does not.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// A message text in stored form: control characters other than line breaks and tabs
/// removed (providers pass through what phones send), cut to [`MAX_MESSAGE_CHARS`].
pub fn stored_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(MAX_MESSAGE_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_reports_only_move_forward() {
        use MessageStatus::*;
        assert!(Sent.advances_to(Delivered));
        assert!(Sent.advances_to(Read));
        assert!(!Read.advances_to(Delivered));
        assert!(Delivered.advances_to(Failed));
        assert!(!Failed.advances_to(Delivered));
        assert!(!Received.advances_to(Sent));
    }

    #[test]
    fn reply_subjects_carry_one_re() {
        assert_eq!(reply_subject(Some("سفارش ۱۲")), "Re: سفارش ۱۲");
        assert_eq!(reply_subject(Some("RE: Re:  سفارش")), "Re: سفارش");
        assert_eq!(reply_subject(Some("پاسخ: سفارش")), "Re: سفارش");
        assert_eq!(reply_subject(None), "Re:");
        assert_eq!(reply_subject(Some("Refund")), "Re: Refund");
    }

    #[test]
    fn stored_text_drops_controls_and_nul() {
        assert_eq!(stored_text(" a\u{0}b\r\nc\u{7} "), "ab\nc");
        assert_eq!(stored_text(&"x".repeat(30_000)).len(), MAX_MESSAGE_CHARS);
    }
}

/// What an agent sends in a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "سلام، سفارش شما امروز ارسال شد."}))]
pub struct ReplyInput {
    pub body: String,
    /// An e-mail's subject; by default `Re:` and the subject of the customer's last
    /// e-mail. Other channels have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// What starts a conversation with a customer from the business's side: an SMS, an
/// e-mail or a message to a messenger id the customer wrote from before.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "channel_account_id": "0193a4e2-7c1d-7b3e-9f10-888888888888",
    "customer_id": "0193a4e2-7c1d-7b3e-9f10-666666666666",
    "body": "سلام، پیش‌فاکتور سفارش شما آماده است."
}))]
pub struct NewConversationInput {
    pub channel_account_id: uuid::Uuid,
    pub customer_id: uuid::Uuid,
    /// One of the customer's addresses on the channel (an e-mail, a phone number, a
    /// messenger id they wrote from); their primary one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// An e-mail's subject (required for e-mail, unless the template has one); other
    /// channels have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The text; or `template_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A message template filled in for the customer, instead of `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<uuid::Uuid>,
    /// The template's language: `fa` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<crate::omnichannel::templates::TemplateLanguage>,
}

/// The subject of an answer to an e-mail titled `subject`: `Re: ` once, however many
/// times the thread went back and forth.
pub fn reply_subject(subject: Option<&str>) -> String {
    let mut rest = subject.unwrap_or("").trim();
    loop {
        let lower = rest.to_lowercase();
        let stripped = ["re:", "re :", "پاسخ:"]
            .iter()
            .find(|prefix| lower.starts_with(*prefix))
            .map(|prefix| rest[prefix.len()..].trim_start());
        match stripped {
            Some(shorter) => rest = shorter,
            None => break,
        }
    }
    if rest.is_empty() {
        "Re:".to_string()
    } else {
        format!("Re: {rest}")
    }
}

impl ReplyInput {
    /// The body in stored form: trimmed, no control characters but line breaks and
    /// tabs, within the channel's length.
    pub fn validated(
        mut self,
        kind: crate::omnichannel::accounts::ChannelKind,
    ) -> Result<ReplyInput, Vec<crate::validation::FieldViolation>> {
        let mut v = crate::validation::Violations::default();
        let max = kind.max_reply_chars();
        let mut body = Some(std::mem::take(&mut self.body));
        v.tidy_text("body", &mut body, max);
        match body {
            Some(body) => self.body = body,
            None => v.push("body", "required", "a message needs a body"),
        }
        if kind == crate::omnichannel::accounts::ChannelKind::Email {
            v.tidy_line("subject", &mut self.subject, MAX_SUBJECT_CHARS);
        } else if self.subject.is_some() {
            v.push("subject", "not_allowed", "only an e-mail has a subject");
        }
        v.into_result().map(|()| self)
    }
}

/// Whether a reply to a customer may go out on a channel given their consent for
/// service messages there: someone who wrote in may be answered unless they withdrew
/// consent for the channel (`Some(false)`); never asked (`None`) is no refusal.
pub fn may_reply(service_consent: Option<bool>) -> bool {
    service_consent != Some(false)
}

#[cfg(test)]
mod reply_tests {
    use super::*;
    use crate::omnichannel::accounts::ChannelKind;

    #[test]
    fn replies_are_checked_against_the_channel() {
        let reply = ReplyInput {
            body: "  سلام  ".into(),
            subject: None,
        };
        assert_eq!(reply.validated(ChannelKind::Sms).unwrap().body, "سلام");
        let long = ReplyInput {
            body: "ب".repeat(600),
            subject: None,
        };
        assert_eq!(
            long.clone().validated(ChannelKind::Sms).unwrap_err()[0].code,
            "too_long"
        );
        assert!(long.validated(ChannelKind::Telegram).is_ok());
        let blank = ReplyInput {
            body: " \n ".into(),
            subject: None,
        };
        assert_eq!(
            blank.validated(ChannelKind::Telegram).unwrap_err()[0].code,
            "required"
        );
        let nul = ReplyInput {
            body: "a\u{0}b".into(),
            subject: None,
        };
        assert!(nul.validated(ChannelKind::Telegram).is_err());
        let titled = ReplyInput {
            body: "سلام".into(),
            subject: Some("  سفارش  ".into()),
        };
        assert_eq!(
            titled
                .clone()
                .validated(ChannelKind::Email)
                .unwrap()
                .subject,
            Some("سفارش".into())
        );
        assert_eq!(
            titled.validated(ChannelKind::Sms).unwrap_err()[0].code,
            "not_allowed"
        );
    }

    #[test]
    fn only_a_withdrawal_stops_a_reply() {
        assert!(may_reply(None));
        assert!(may_reply(Some(true)));
        assert!(!may_reply(Some(false)));
    }
}
