//! Channel accounts: one per bot, number, page or mailbox, with the settings that say
//! what inbound messages do and the credentials (kept sealed) the provider gave.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::service::tickets::TicketChannel;
use crate::text::TextKind;
use crate::validation::{FieldViolation, Violations};

/// Longest account name.
pub const MAX_NAME_CHARS: usize = 100;
/// Highest automatic-answer threshold: BM25 scores of a short message stay far below.
pub const MAX_AUTO_ANSWER_SCORE: f64 = 100.0;
/// Longest e-mail subject.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest credential value (tokens and secrets are far shorter).
pub const MAX_CREDENTIAL_CHARS: usize = 1_000;

/// The kind of channel an account speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A Telegram bot.
    Telegram,
    /// A WhatsApp Business number on the WhatsApp Cloud API.
    Whatsapp,
    /// An Instagram professional account's direct messages.
    Instagram,
    /// An SMS line at the SMS provider (Kavenegar).
    Sms,
    /// A mailbox: sent from over SMTP, read over IMAP.
    Email,
    /// The chat widget on the business's own web site.
    WebChat,
}

snake_names!(ChannelKind {
    Telegram => "telegram",
    Whatsapp => "whatsapp",
    Instagram => "instagram",
    Sms => "sms",
    Email => "email",
    WebChat => "web_chat",
});

impl ChannelKind {
    /// The channel a ticket opened from this account's messages carries.
    pub fn ticket_channel(self) -> TicketChannel {
        match self {
            ChannelKind::Telegram => TicketChannel::Telegram,
            ChannelKind::Whatsapp => TicketChannel::Whatsapp,
            ChannelKind::Instagram => TicketChannel::Instagram,
            ChannelKind::Sms => TicketChannel::Sms,
            ChannelKind::Email => TicketChannel::Email,
            ChannelKind::WebChat => TicketChannel::Chat,
        }
    }

    /// The kind of address a correspondent has on this channel.
    pub fn contact_kind(self) -> crate::omnichannel::contacts::ContactKind {
        use crate::omnichannel::contacts::ContactKind;
        match self {
            ChannelKind::Telegram => ContactKind::Telegram,
            ChannelKind::Whatsapp | ChannelKind::Sms => ContactKind::Phone,
            ChannelKind::Instagram => ContactKind::Instagram,
            ChannelKind::Email => ContactKind::Email,
            ChannelKind::WebChat => ContactKind::WebVisitor,
        }
    }

    /// The consent channel sending through this account needs.
    pub fn consent_channel(self) -> crate::customers::ConsentChannel {
        match self {
            ChannelKind::Sms => crate::customers::ConsentChannel::Sms,
            ChannelKind::Email => crate::customers::ConsentChannel::Email,
            // A chat window is a messenger the customer opened themselves.
            ChannelKind::Telegram
            | ChannelKind::Whatsapp
            | ChannelKind::Instagram
            | ChannelKind::WebChat => crate::customers::ConsentChannel::Messenger,
        }
    }

    /// Longest reply: Telegram and WhatsApp take 4,096 characters; an SMS of Persian
    /// text is 70 characters a part, and a line rarely sends more than 8 parts; an
    /// e-mail is bounded only to keep a reply a reply; a chat line as a messenger's.
    pub fn max_reply_chars(self) -> usize {
        match self {
            ChannelKind::Telegram | ChannelKind::Whatsapp | ChannelKind::WebChat => 4_096,
            ChannelKind::Instagram => 1_000,
            ChannelKind::Sms => 536,
            ChannelKind::Email => 20_000,
        }
    }

    /// The credential fields the provider's scheme needs, all required.
    pub fn credential_fields(self) -> &'static [&'static str] {
        match self {
            // `secret_token` is what `setWebhook` registered and Telegram echoes back.
            ChannelKind::Telegram => &["bot_token", "secret_token"],
            // The app secret signs notifications; the verify token answers the
            // subscription handshake; the access token sends.
            ChannelKind::Whatsapp | ChannelKind::Instagram => {
                &["access_token", "app_secret", "verify_token"]
            }
            ChannelKind::Sms => &["api_key"],
            ChannelKind::Email => &["smtp_password"],
            // The widget is the business's own: no provider, nothing to prove.
            ChannelKind::WebChat => &[],
        }
    }

    /// Credential fields an account may leave out: an e-mail account that only sends
    /// has no IMAP password.
    pub fn optional_credential_fields(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Email => &["imap_password"],
            _ => &[],
        }
    }
}

/// What a message from a sender matching no customer and no lead does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownSender {
    /// A new lead is created for the sender (source: the channel).
    #[default]
    CreateLead,
    /// The conversation is kept without a customer or lead, for an agent to link.
    KeepUnlinked,
}

/// What a message from a customer does to tickets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketRule {
    /// Messages stay in the conversation.
    #[default]
    None,
    /// The conversation's open ticket gets the message as a customer message; without
    /// one a ticket is opened with it.
    OpenOrAttach,
}

/// The settings of an account, none of them secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    #[serde(default)]
    pub unknown_sender: UnknownSender,
    #[serde(default)]
    pub ticket_rule: TicketRule,
    /// The provider's id of the number or account (WhatsApp's `phone_number_id`,
    /// the Instagram account id, the SMS line): shown to tell accounts apart, and the
    /// number or line replies are sent from.
    #[serde(default)]
    pub provider_account_id: Option<String>,
    /// Sent automatically, once per closed spell, to whoever writes outside the
    /// business calendar's working hours (after hours, weekends, holidays); none when
    /// absent.
    #[serde(default)]
    pub off_hours_reply: Option<String>,
    /// Answer a message automatically with the canned answer most like it when its
    /// similarity (the BM25 score `POST /canned-answers/suggest` shows) is at least
    /// this; none when absent. The answer is marked automatic in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_answer_min_score: Option<f64>,
    /// The mailbox's address and servers: required for an `email` account, refused
    /// for any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSettings>,
    /// The sites the chat widget runs on and how often a visitor may write: required
    /// for a `web_chat` account, refused for any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_chat: Option<crate::omnichannel::web_chat::WebChatSettings>,
}

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailSecurity {
    /// TLS from the first byte (SMTP submission on 465, IMAPS on 993).
    #[default]
    Tls,
    /// A plain connection upgraded with STARTTLS before anything is said (587, 143).
    Starttls,
    /// No encryption: only for a server on the same host or a test.
    None,
}

/// One mail server of a mailbox; its password is a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: MailSecurity,
    pub username: String,
}

/// The mailbox an `email` account sends from and reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "address": "support@example.ir",
    "display_name": "پشتیبانی نمونه",
    "smtp": {"host": "smtp.example.ir", "port": 465, "security": "tls", "username": "support@example.ir"},
    "imap": {"host": "imap.example.ir", "port": 993, "security": "tls", "username": "support@example.ir"}
}))]
pub struct EmailSettings {
    /// The address replies come from and customers write to.
    pub address: String,
    /// The name shown beside the address.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Where mail is sent (password: credential `smtp_password`).
    pub smtp: MailServer,
    /// Where mail is read, if it is (password: credential `imap_password`).
    #[serde(default)]
    pub imap: Option<MailServer>,
    /// The IMAP folder read; `INBOX` when absent.
    #[serde(default)]
    pub mailbox: Option<String>,
}

/// Longest host name (RFC 1035).
const MAX_HOST_CHARS: usize = 253;

fn check_server(v: &mut Violations, field: &str, server: &mut MailServer) {
    v.required_line(&format!("{field}.host"), &mut server.host, MAX_HOST_CHARS);
    if server
        .host
        .contains(|c: char| c.is_whitespace() || c == '/' || c == '@')
    {
        v.push(
            format!("{field}.host"),
            "invalid_host",
            "must be a host name or an IP address",
        );
    }
    if server.port == 0 {
        v.push(
            format!("{field}.port"),
            "out_of_range",
            "must be 1 to 65535",
        );
    }
    v.required_line(
        &format!("{field}.username"),
        &mut server.username,
        MAX_CREDENTIAL_CHARS,
    );
}

impl EmailSettings {
    fn check(&mut self, v: &mut Violations) {
        match crate::validation::normalize_email(&self.address) {
            Some(address) => self.address = address,
            None => v.push(
                "settings.email.address",
                "invalid_format",
                "must be an e-mail address",
            ),
        }
        v.tidy_line(
            "settings.email.display_name",
            &mut self.display_name,
            MAX_NAME_CHARS,
        );
        check_server(v, "settings.email.smtp", &mut self.smtp);
        if let Some(imap) = &mut self.imap {
            check_server(v, "settings.email.imap", imap);
        }
        v.tidy_line("settings.email.mailbox", &mut self.mailbox, MAX_NAME_CHARS);
    }
}

/// What creates or changes an account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "telegram",
    "name": "ربات پشتیبانی",
    "settings": {"unknown_sender": "create_lead", "ticket_rule": "open_or_attach"},
    "credentials": {"bot_token": "123456:ABC-DEF", "secret_token": "a-long-random-secret"}
}))]
pub struct ChannelAccountInput {
    pub kind: ChannelKind,
    pub name: String,
    #[serde(default = "active_by_default")]
    pub active: bool,
    #[serde(default)]
    pub settings: ChannelSettings,
    /// The provider credentials, write-only (never returned): `telegram` takes
    /// `bot_token` and `secret_token` (the one given to `setWebhook`); `whatsapp` and
    /// `instagram` take `access_token`, `app_secret` and `verify_token`; `sms` takes
    /// `api_key`; `email` takes `smtp_password` (and `imap_password` when it reads mail);
    /// `web_chat` takes none. Required on create but for `web_chat`; given on a change,
    /// they replace the stored ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Map<String, serde_json::Value>>,
}

fn active_by_default() -> bool {
    true
}

/// Credentials as they are sealed: field → value.
pub type Credentials = std::collections::BTreeMap<String, String>;

/// Checks `credentials` for an account of `kind`: every field present, a string of
/// one line, no unknown field.
pub fn check_credentials(
    kind: ChannelKind,
    credentials: &serde_json::Map<String, serde_json::Value>,
) -> Result<Credentials, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let fields = kind.credential_fields();
    let optional = kind.optional_credential_fields();
    let mut checked = Credentials::new();
    for (name, value) in credentials {
        let field = format!("credentials.{name}");
        if !fields.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            let known: Vec<&str> = fields.iter().chain(optional).copied().collect();
            v.push(
                field,
                "unknown_field",
                format!("a {} account takes {}", kind.as_str(), known.join(", ")),
            );
            continue;
        }
        match value.as_str().map(str::trim) {
            Some("") | None => v.push(field, "required", "must be a non-empty string"),
            Some(text) if text.chars().count() > MAX_CREDENTIAL_CHARS => v.push(
                field,
                "too_long",
                format!("must be at most {MAX_CREDENTIAL_CHARS} characters"),
            ),
            Some(text) => {
                if v.check_text(&field, text, TextKind::SingleLine) {
                    checked.insert(name.clone(), text.to_string());
                }
            }
        }
    }
    for name in fields {
        if !credentials.contains_key(*name) {
            v.push(format!("credentials.{name}"), "required", "is required");
        }
    }
    v.into_result().map(|()| checked)
}

impl ChannelAccountInput {
    /// The input in stored form and its credentials checked; `credentials_required`
    /// on create.
    pub fn validated(
        mut self,
        credentials_required: bool,
    ) -> Result<(ChannelAccountInput, Option<Credentials>), Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_line(
            "settings.provider_account_id",
            &mut self.settings.provider_account_id,
            MAX_NAME_CHARS,
        );
        v.tidy_text(
            "settings.off_hours_reply",
            &mut self.settings.off_hours_reply,
            self.kind.max_reply_chars(),
        );
        if let Some(score) = self.settings.auto_answer_min_score {
            if !(score.is_finite() && score > 0.0 && score <= MAX_AUTO_ANSWER_SCORE) {
                v.push(
                    "settings.auto_answer_min_score",
                    "out_of_range",
                    format!("must be above 0 and at most {MAX_AUTO_ANSWER_SCORE}"),
                );
            }
        }
        match (self.kind, &mut self.settings.email) {
            (ChannelKind::Email, Some(email)) => email.check(&mut v),
            (ChannelKind::Email, None) => v.push(
                "settings.email",
                "required",
                "an email account needs its address and SMTP server",
            ),
            (_, Some(_)) => v.push(
                "settings.email",
                "not_allowed",
                "only an email account takes mail settings",
            ),
            (_, None) => {}
        }
        match (self.kind, &mut self.settings.web_chat) {
            (ChannelKind::WebChat, Some(web_chat)) => web_chat.check(&mut v),
            (ChannelKind::WebChat, None) => v.push(
                "settings.web_chat",
                "required",
                "a web_chat account needs the origins of the sites its widget runs on",
            ),
            (_, Some(_)) => v.push(
                "settings.web_chat",
                "not_allowed",
                "only a web_chat account takes web chat settings",
            ),
            (_, None) => {}
        }
        let credentials = match &self.credentials {
            Some(given) => match check_credentials(self.kind, given) {
                Ok(checked) => Some(checked),
                Err(violations) => {
                    v.0.extend(violations);
                    None
                }
            },
            None => {
                if credentials_required && !self.kind.credential_fields().is_empty() {
                    v.push(
                        "credentials",
                        "required",
                        "a new account needs its credentials",
                    );
                }
                None
            }
        };
        v.into_result().map(|()| (self, credentials))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(credentials: serde_json::Value) -> ChannelAccountInput {
        serde_json::from_value(serde_json::json!({
            "kind": "whatsapp", "name": "  Support   line ", "credentials": credentials
        }))
        .unwrap()
    }

    #[test]
    fn credentials_are_checked_per_kind() {
        let (input, credentials) = input(serde_json::json!({
            "access_token": "EAAG", "app_secret": "s", "verify_token": "v"
        }))
        .validated(true)
        .unwrap();
        assert_eq!(input.name, "Support line");
        assert_eq!(credentials.unwrap().len(), 3);

        let errors = super::tests::input(serde_json::json!({
            "access_token": "EAAG", "bot_token": "x", "verify_token": "a\nb"
        }))
        .validated(true)
        .unwrap_err();
        let fields: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert!(fields.contains(&("credentials.bot_token", "unknown_field")));
        assert!(fields.contains(&("credentials.app_secret", "required")));
        assert!(fields
            .iter()
            .any(|(field, _)| *field == "credentials.verify_token"));
    }

    #[test]
    fn a_new_account_needs_credentials() {
        let account: ChannelAccountInput = serde_json::from_value(serde_json::json!({
            "kind": "sms", "name": "Line"
        }))
        .unwrap();
        let errors = account.clone().validated(true).unwrap_err();
        assert_eq!(errors[0].field, "credentials");
        assert!(account.validated(false).is_ok());
    }
}
