//! Meta's webhooks, shared by the WhatsApp Cloud API and Instagram messaging.
//!
//! - Subscription: Meta calls the endpoint with `GET ?hub.mode=subscribe&
//!   hub.verify_token=…&hub.challenge=…`; the endpoint answers the challenge when the
//!   verify token is the one configured for the app.
//! - Notifications: `POST` with the JSON payload and `X-Hub-Signature-256:
//!   sha256=<hex>`, the HMAC-SHA256 of the raw body under the app secret.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::inbound::{
    from_unix, DeliveryState, DeliveryUpdate, Inbound, InboundMessage, PayloadError, Sender,
};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Whether `header` is `sha256=` and the hex HMAC-SHA256 of `body` under `app_secret`,
/// compared in constant time.
pub fn signature_valid(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|value| value.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature header value for `body`, as Meta computes it.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC accepts any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The challenge to echo when a subscription request carries the configured verify
/// token, `None` otherwise.
pub fn subscription_challenge(
    verify_token: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Option<String> {
    let token_matches = match token {
        Some(token) if !verify_token.is_empty() => {
            bool::from(verify_token.as_bytes().ct_eq(token.as_bytes()))
        }
        _ => false,
    };
    (mode == Some("subscribe") && token_matches)
        .then(|| challenge.map(str::to_string))
        .flatten()
}

#[derive(Deserialize)]
struct Envelope<E> {
    object: String,
    #[serde(default = "Vec::new")]
    entry: Vec<E>,
}

#[derive(Deserialize)]
struct WhatsappEntry {
    #[serde(default)]
    changes: Vec<WhatsappChange>,
}

#[derive(Deserialize)]
struct WhatsappChange {
    field: String,
    value: WhatsappValue,
}

#[derive(Deserialize)]
struct WhatsappValue {
    #[serde(default)]
    contacts: Vec<WhatsappContact>,
    #[serde(default)]
    messages: Vec<WhatsappMessage>,
    #[serde(default)]
    statuses: Vec<WhatsappStatus>,
}

#[derive(Deserialize)]
struct WhatsappContact {
    wa_id: String,
    profile: Option<WhatsappProfile>,
}

#[derive(Deserialize)]
struct WhatsappProfile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct WhatsappMessage {
    from: String,
    id: String,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    text: Option<WhatsappText>,
    button: Option<WhatsappText>,
}

#[derive(Deserialize)]
struct WhatsappText {
    #[serde(alias = "text")]
    body: String,
}

#[derive(Deserialize)]
struct WhatsappStatus {
    id: String,
    status: String,
    timestamp: String,
    #[serde(default)]
    errors: Vec<WhatsappError>,
}

#[derive(Deserialize)]
struct WhatsappError {
    code: Option<i64>,
    title: Option<String>,
}

const WHATSAPP: &str = "whatsapp";
const INSTAGRAM: &str = "instagram";

fn seconds(
    provider: &'static str,
    text: &str,
) -> Result<chrono::DateTime<chrono::Utc>, PayloadError> {
    let seconds = text
        .parse::<i64>()
        .map_err(|_| PayloadError::new(provider, format!("timestamp {text:?} is not a number")))?;
    from_unix(provider, seconds)
}

/// The messages and delivery statuses of a WhatsApp Cloud API notification.
pub fn parse_whatsapp(body: &[u8]) -> Result<Inbound, PayloadError> {
    let envelope: Envelope<WhatsappEntry> =
        serde_json::from_slice(body).map_err(|err| PayloadError::new(WHATSAPP, err))?;
    if envelope.object != "whatsapp_business_account" {
        return Err(PayloadError::new(
            WHATSAPP,
            format!(
                "object {:?} is not whatsapp_business_account",
                envelope.object
            ),
        ));
    }
    let mut inbound = Inbound::default();
    for change in envelope.entry.into_iter().flat_map(|entry| entry.changes) {
        if change.field != "messages" {
            continue;
        }
        let value = change.value;
        for message in value.messages {
            let sender_name = value
                .contacts
                .iter()
                .find(|contact| contact.wa_id == message.from)
                .and_then(|contact| contact.profile.as_ref()?.name.clone());
            let text = match (&message.text, &message.button) {
                (Some(text), _) | (None, Some(text)) => text.body.clone(),
                (None, None) => format!("[{}]", message.kind),
            };
            inbound.messages.push(InboundMessage {
                provider_message_id: message.id,
                sender: Sender::Phone(format!("+{}", message.from.trim_start_matches('+'))),
                sender_name,
                text,
                sent_at: seconds(WHATSAPP, &message.timestamp)?,
                shared_phone: None,
            });
        }
        for status in value.statuses {
            let state = match status.status.as_str() {
                "sent" => DeliveryState::Sent,
                "delivered" => DeliveryState::Delivered,
                "read" => DeliveryState::Read,
                "failed" => DeliveryState::Failed,
                _ => continue,
            };
            let error = status.errors.first().map(|error| {
                format!(
                    "{} {}",
                    error.code.map(|code| code.to_string()).unwrap_or_default(),
                    error.title.clone().unwrap_or_default()
                )
                .trim()
                .to_string()
            });
            inbound.deliveries.push(DeliveryUpdate {
                provider_message_id: status.id,
                state,
                at: seconds(WHATSAPP, &status.timestamp)?,
                error,
            });
        }
    }
    Ok(inbound)
}

#[derive(Deserialize)]
struct InstagramEntry {
    #[serde(default)]
    messaging: Vec<InstagramEvent>,
}

#[derive(Deserialize)]
struct InstagramEvent {
    sender: InstagramParty,
    timestamp: i64,
    message: Option<InstagramMessage>,
}

#[derive(Deserialize)]
struct InstagramParty {
    id: String,
}

#[derive(Deserialize)]
struct InstagramMessage {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
}

/// The messages of an Instagram messaging notification; echoes of the business's own
/// messages are left out.
pub fn parse_instagram(body: &[u8]) -> Result<Inbound, PayloadError> {
    let envelope: Envelope<InstagramEntry> =
        serde_json::from_slice(body).map_err(|err| PayloadError::new(INSTAGRAM, err))?;
    if envelope.object != "instagram" {
        return Err(PayloadError::new(
            INSTAGRAM,
            format!("object {:?} is not instagram", envelope.object),
        ));
    }
    let mut inbound = Inbound::default();
    for event in envelope.entry.into_iter().flat_map(|entry| entry.messaging) {
        let Some(message) = event.message else {
            continue;
        };
        if message.is_echo {
            continue;
        }
        let text = message.text.clone().unwrap_or_else(|| {
            if message.attachments.is_empty() {
                "[message]".to_string()
            } else {
                "[attachment]".to_string()
            }
        });
        // Instagram times are in milliseconds.
        inbound.messages.push(InboundMessage {
            provider_message_id: message.mid,
            sender: Sender::Instagram(event.sender.id),
            sender_name: None,
            text,
            sent_at: from_unix(INSTAGRAM, event.timestamp.div_euclid(1000))?,
            shared_phone: None,
        });
    }
    Ok(inbound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHATSAPP_BODY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sara"},"wa_id":"989121234567"}],"messages":[{"from":"989121234567","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1733300000","text":{"body":"Hi"},"type":"text"}]},"field":"messages"}]}]}"#;

    #[test]
    fn signature_is_the_hmac_of_the_raw_body() {
        let secret = b"app-secret";
        let header = sign(secret, WHATSAPP_BODY.as_bytes());
        assert!(signature_valid(
            secret,
            WHATSAPP_BODY.as_bytes(),
            Some(&header)
        ));
        assert!(!signature_valid(
            b"other",
            WHATSAPP_BODY.as_bytes(),
            Some(&header)
        ));
        let tampered = WHATSAPP_BODY.replace("Hi", "Ho");
        assert!(!signature_valid(secret, tampered.as_bytes(), Some(&header)));
        assert!(!signature_valid(secret, WHATSAPP_BODY.as_bytes(), None));
        let bare = header.trim_start_matches("sha256=");
        assert!(!signature_valid(
            secret,
            WHATSAPP_BODY.as_bytes(),
            Some(bare)
        ));
        assert!(!signature_valid(
            secret,
            WHATSAPP_BODY.as_bytes(),
            Some("sha256=zz")
        ));
    }

    #[test]
    fn subscription_echoes_the_challenge_for_the_right_token() {
        let ok = subscription_challenge("vt", Some("subscribe"), Some("vt"), Some("1158201444"));
        assert_eq!(ok.as_deref(), Some("1158201444"));
        assert_eq!(
            subscription_challenge("vt", Some("subscribe"), Some("vx"), Some("1")),
            None
        );
        assert_eq!(
            subscription_challenge("vt", Some("other"), Some("vt"), Some("1")),
            None
        );
        assert_eq!(
            subscription_challenge("", Some("subscribe"), Some(""), Some("1")),
            None
        );
    }

    #[test]
    fn whatsapp_messages_and_statuses_are_read() {
        let inbound = parse_whatsapp(WHATSAPP_BODY.as_bytes()).unwrap();
        let message = &inbound.messages[0];
        assert_eq!(message.sender, Sender::Phone("+989121234567".into()));
        assert_eq!(message.sender_name.as_deref(), Some("Sara"));
        assert_eq!(message.text, "Hi");
        let statuses = r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.X","status":"failed","timestamp":"1733300001","recipient_id":"989121234567","errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]}"#;
        let inbound = parse_whatsapp(statuses.as_bytes()).unwrap();
        assert_eq!(inbound.deliveries[0].state, DeliveryState::Failed);
        assert_eq!(
            inbound.deliveries[0].error.as_deref(),
            Some("131047 Re-engagement message")
        );
        assert!(parse_whatsapp(br#"{"object":"page","entry":[]}"#).is_err());
    }

    #[test]
    fn instagram_messages_skip_echoes() {
        let body = r#"{"object":"instagram","entry":[{"id":"17841400000000000","time":1733300000000,"messaging":[
            {"sender":{"id":"IGSID1"},"recipient":{"id":"17841400000000000"},"timestamp":1733300000123,"message":{"mid":"m_1","text":"سلام"}},
            {"sender":{"id":"17841400000000000"},"recipient":{"id":"IGSID1"},"timestamp":1733300000999,"message":{"mid":"m_2","text":"hi","is_echo":true}}]}]}"#;
        let inbound = parse_instagram(body.as_bytes()).unwrap();
        assert_eq!(inbound.messages.len(), 1);
        assert_eq!(
            inbound.messages[0].sender,
            Sender::Instagram("IGSID1".into())
        );
        assert_eq!(inbound.messages[0].sent_at.timestamp(), 1733300000);
    }
}
