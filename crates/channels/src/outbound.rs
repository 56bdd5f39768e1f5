//! Sending through the providers' HTTP APIs, each as documented:
//!
//! - Telegram Bot API: `POST {base}/bot<token>/sendMessage` with `chat_id` and `text`,
//!   answering `{"ok": true, "result": {"message_id": …}}`.
//! - WhatsApp Cloud API: `POST {base}/<phone_number_id>/messages` with a bearer access
//!   token and `{"messaging_product": "whatsapp", "to", "type": "text", "text":
//!   {"body"}}`, answering `{"messages": [{"id": "wamid…"}]}`.
//! - Instagram messaging: `POST {base}/me/messages` with a bearer access token and
//!   `{"recipient": {"id"}, "message": {"text"}}`, answering `{"message_id"}`.
//! - Kavenegar: `POST {base}/v1/<api_key>/sms/send.json` with form fields `receptor`,
//!   `sender` and `message`, answering `{"return": {"status": 200}, "entries":
//!   [{"messageid": …}]}`.
//!
//! The base URLs are the providers' own in production and a local server speaking the
//! same API in tests.

use std::time::Duration;

use serde_json::{json, Value};

/// Where each provider's API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUrls {
    pub telegram: String,
    /// Meta's Graph API, version included (WhatsApp and Instagram).
    pub meta_graph: String,
    pub kavenegar: String,
}

impl Default for ProviderUrls {
    fn default() -> Self {
        ProviderUrls {
            telegram: "https://api.telegram.org".into(),
            meta_graph: "https://graph.facebook.com/v21.0".into(),
            kavenegar: "https://api.kavenegar.com".into(),
        }
    }
}

/// Why a send did not go through.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The provider refused the message for good (a bad recipient, a revoked token):
    /// sending it again would fail again.
    #[error("the provider refused the message: {0}")]
    Refused(String),
    /// The provider could not be reached or failed on its side: a later attempt may
    /// succeed.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

/// One message to send: to whom (the provider's address of the recipient) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundText<'a> {
    pub to: &'a str,
    pub text: &'a str,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
}

/// Sorts a failed call: 4xx (but 408 and 429) is the provider's final word.
fn failed(provider: &str, error: ureq::Error) -> SendError {
    match error {
        ureq::Error::Status(status, response) => {
            let body = response.into_string().unwrap_or_default();
            let body: String = body.chars().take(300).collect();
            if (400..500).contains(&status) && status != 408 && status != 429 {
                SendError::Refused(format!("{provider} answered {status}: {body}"))
            } else {
                SendError::Unavailable(format!("{provider} answered {status}: {body}"))
            }
        }
        ureq::Error::Transport(transport) => {
            SendError::Unavailable(format!("{provider} unreachable: {transport}"))
        }
    }
}

fn read_json(provider: &str, response: ureq::Response) -> Result<Value, SendError> {
    response
        .into_json::<Value>()
        .map_err(|err| SendError::Unavailable(format!("{provider} answered no JSON: {err}")))
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Sends a Telegram text to the chat `message.to`; answers the provider id in the form
/// inbound messages use (`<chat id>:<message id>`).
pub fn telegram(
    urls: &ProviderUrls,
    bot_token: &str,
    message: OutboundText<'_>,
) -> Result<String, SendError> {
    let url = format!("{}/bot{}/sendMessage", urls.telegram, bot_token);
    let response = agent()
        .post(&url)
        .send_json(json!({"chat_id": message.to, "text": message.text}))
        .map_err(|err| failed("Telegram", err))?;
    let answer = read_json("Telegram", response)?;
    if answer["ok"] != json!(true) {
        return Err(SendError::Refused(format!("Telegram answered {answer}")));
    }
    let id = id_text(&answer["result"]["message_id"])
        .ok_or_else(|| SendError::Unavailable(format!("Telegram answered {answer}")))?;
    Ok(format!("{}:{id}", message.to))
}

/// Sends a WhatsApp text from the number `phone_number_id` to `message.to` (E.164);
/// answers the `wamid`.
pub fn whatsapp(
    urls: &ProviderUrls,
    access_token: &str,
    phone_number_id: &str,
    message: OutboundText<'_>,
) -> Result<String, SendError> {
    let url = format!("{}/{}/messages", urls.meta_graph, phone_number_id);
    let response = agent()
        .post(&url)
        .set("Authorization", &format!("Bearer {access_token}"))
        .send_json(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to.trim_start_matches('+'),
            "type": "text",
            "text": {"preview_url": false, "body": message.text},
        }))
        .map_err(|err| failed("WhatsApp", err))?;
    let answer = read_json("WhatsApp", response)?;
    id_text(&answer["messages"][0]["id"])
        .ok_or_else(|| SendError::Unavailable(format!("WhatsApp answered {answer}")))
}

/// Sends an Instagram direct message to the Instagram-scoped id `message.to`; answers
/// the `message_id`.
pub fn instagram(
    urls: &ProviderUrls,
    access_token: &str,
    message: OutboundText<'_>,
) -> Result<String, SendError> {
    let url = format!("{}/me/messages", urls.meta_graph);
    let response = agent()
        .post(&url)
        .set("Authorization", &format!("Bearer {access_token}"))
        .send_json(json!({"recipient": {"id": message.to}, "message": {"text": message.text}}))
        .map_err(|err| failed("Instagram", err))?;
    let answer = read_json("Instagram", response)?;
    id_text(&answer["message_id"])
        .ok_or_else(|| SendError::Unavailable(format!("Instagram answered {answer}")))
}

/// Sends an SMS from the line `sender` to `message.to` (E.164); answers Kavenegar's
/// `messageid`.
pub fn kavenegar(
    urls: &ProviderUrls,
    api_key: &str,
    sender: &str,
    message: OutboundText<'_>,
) -> Result<String, SendError> {
    let url = format!("{}/v1/{}/sms/send.json", urls.kavenegar, api_key);
    // Kavenegar takes Iranian numbers in the national form.
    let receptor = match message.to.strip_prefix("+98") {
        Some(national) => format!("0{national}"),
        None => message.to.trim_start_matches('+').to_string(),
    };
    let response = agent()
        .post(&url)
        .send_form(&[
            ("receptor", receptor.as_str()),
            ("sender", sender),
            ("message", message.text),
        ])
        .map_err(|err| failed("Kavenegar", err))?;
    let answer = read_json("Kavenegar", response)?;
    if answer["return"]["status"] != json!(200) {
        return Err(SendError::Refused(format!(
            "Kavenegar answered {}",
            answer["return"]
        )));
    }
    id_text(&answer["entries"][0]["messageid"])
        .ok_or_else(|| SendError::Unavailable(format!("Kavenegar answered {answer}")))
}
