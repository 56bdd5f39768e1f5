//! Telegram Bot API webhooks. When the webhook is registered with `setWebhook`'s
//! `secret_token`, Telegram sends it back in the `X-Telegram-Bot-Api-Secret-Token`
//! header of every update; a request without the right one is not Telegram's.
//! Updates are JSON `Update` objects; only messages in private chats with the bot are
//! customers writing in.

use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::inbound::{from_unix, Inbound, InboundMessage, PayloadError, Sender};

/// The header Telegram repeats the webhook's secret token in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

const PROVIDER: &str = "telegram";

/// Whether `given` (the header) is the secret token the webhook was registered with,
/// compared in constant time.
pub fn secret_matches(expected: &str, given: Option<&str>) -> bool {
    match given {
        Some(given) if !expected.is_empty() => {
            bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    }
}

#[derive(Deserialize)]
struct Update {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    date: i64,
    text: Option<String>,
    caption: Option<String>,
    contact: Option<Contact>,
    photo: Option<serde_json::Value>,
    document: Option<serde_json::Value>,
    voice: Option<serde_json::Value>,
    sticker: Option<serde_json::Value>,
    location: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    is_bot: bool,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Contact {
    phone_number: String,
    user_id: Option<i64>,
}

/// The customer messages of an `Update`: none for updates of other kinds, group chats
/// and bots.
pub fn parse(body: &[u8]) -> Result<Inbound, PayloadError> {
    let update: Update =
        serde_json::from_slice(body).map_err(|err| PayloadError::new(PROVIDER, err))?;
    let mut inbound = Inbound::default();
    let Some(message) = update.message else {
        return Ok(inbound);
    };
    let Some(from) = message.from.as_ref() else {
        return Ok(inbound);
    };
    if message.chat.kind != "private" || from.is_bot {
        return Ok(inbound);
    }
    // A contact the user shared is theirs only when it carries their own user id.
    let shared_phone = message
        .contact
        .as_ref()
        .filter(|contact| contact.user_id == Some(from.id))
        .map(|contact| contact.phone_number.clone());
    let text = message
        .text
        .clone()
        .or_else(|| message.caption.clone())
        .unwrap_or_else(|| describe(&message).to_string());
    let name = [Some(from.first_name.as_str()), from.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    inbound.messages.push(InboundMessage {
        // Message ids are unique per chat; the update id names the delivery.
        provider_message_id: format!("{}:{}", message.chat.id, message.message_id),
        sender: Sender::Telegram {
            user_id: from.id,
            username: from.username.clone(),
        },
        sender_name: (!name.trim().is_empty()).then(|| name.trim().to_string()),
        text,
        sent_at: from_unix(PROVIDER, message.date)?,
        shared_phone,
    });
    Ok(inbound)
}

fn describe(message: &Message) -> &'static str {
    if message.contact.is_some() {
        "[contact]"
    } else if message.photo.is_some() {
        "[photo]"
    } else if message.voice.is_some() {
        "[voice]"
    } else if message.document.is_some() {
        "[document]"
    } else if message.sticker.is_some() {
        "[sticker]"
    } else if message.location.is_some() {
        "[location]"
    } else {
        "[message]"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATE: &str = r#"{"update_id":10000,"message":{"message_id":1365,
        "from":{"id":1111111,"is_bot":false,"first_name":"علی","last_name":"رضایی","username":"ali_r","language_code":"fa"},
        "chat":{"id":1111111,"first_name":"علی","type":"private"},
        "date":1733300000,"text":"سلام، سفارشم کی می‌رسد؟"}}"#;

    #[test]
    fn a_private_text_message_is_read() {
        let inbound = parse(UPDATE.as_bytes()).unwrap();
        assert_eq!(inbound.messages.len(), 1);
        let message = &inbound.messages[0];
        assert_eq!(message.provider_message_id, "1111111:1365");
        assert_eq!(message.sender_name.as_deref(), Some("علی رضایی"));
        assert_eq!(
            message.sender,
            Sender::Telegram {
                user_id: 1111111,
                username: Some("ali_r".into())
            }
        );
        assert_eq!(message.sent_at.timestamp(), 1733300000);
    }

    #[test]
    fn group_messages_and_other_updates_are_not_customer_messages() {
        let group = UPDATE.replace(r#""type":"private""#, r#""type":"group""#);
        assert!(parse(group.as_bytes()).unwrap().messages.is_empty());
        let callback = r#"{"update_id":5,"callback_query":{"id":"1"}}"#;
        assert!(parse(callback.as_bytes()).unwrap().messages.is_empty());
        assert!(parse(b"[]").is_err());
    }

    #[test]
    fn only_an_own_shared_contact_gives_a_phone() {
        let own = r#"{"update_id":1,"message":{"message_id":2,"from":{"id":7,"is_bot":false,"first_name":"A"},
            "chat":{"id":7,"type":"private"},"date":1733300000,
            "contact":{"phone_number":"989121234567","first_name":"A","user_id":7}}}"#;
        let message = &parse(own.as_bytes()).unwrap().messages[0];
        assert_eq!(message.shared_phone.as_deref(), Some("989121234567"));
        assert_eq!(message.text, "[contact]");
        let other = own.replace(r#""user_id":7"#, r#""user_id":8"#);
        assert_eq!(
            parse(other.as_bytes()).unwrap().messages[0].shared_phone,
            None
        );
    }

    #[test]
    fn the_secret_token_must_match_exactly() {
        assert!(secret_matches("s3cret-token", Some("s3cret-token")));
        assert!(!secret_matches("s3cret-token", Some("s3cret-tokem")));
        assert!(!secret_matches("s3cret-token", None));
        assert!(!secret_matches("", Some("")));
    }
}
