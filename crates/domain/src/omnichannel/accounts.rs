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
}

snake_names!(ChannelKind {
    Telegram => "telegram",
    Whatsapp => "whatsapp",
    Instagram => "instagram",
    Sms => "sms",
});

impl ChannelKind {
    /// The channel a ticket opened from this account's messages carries.
    pub fn ticket_channel(self) -> TicketChannel {
        match self {
            ChannelKind::Telegram => TicketChannel::Telegram,
            ChannelKind::Whatsapp => TicketChannel::Whatsapp,
            ChannelKind::Instagram => TicketChannel::Instagram,
            ChannelKind::Sms => TicketChannel::Sms,
        }
    }

    /// The consent channel sending through this account needs.
    pub fn consent_channel(self) -> crate::customers::ConsentChannel {
        match self {
            ChannelKind::Sms => crate::customers::ConsentChannel::Sms,
            ChannelKind::Telegram | ChannelKind::Whatsapp | ChannelKind::Instagram => {
                crate::customers::ConsentChannel::Messenger
            }
        }
    }

    /// Longest reply: Telegram and WhatsApp take 4,096 characters; an SMS of Persian
    /// text is 70 characters a part, and a line rarely sends more than 8 parts.
    pub fn max_reply_chars(self) -> usize {
        match self {
            ChannelKind::Telegram | ChannelKind::Whatsapp => 4_096,
            ChannelKind::Instagram => 1_000,
            ChannelKind::Sms => 536,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    /// `api_key`. Required on create; given on a change, they replace the stored ones.
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
    let mut checked = Credentials::new();
    for (name, value) in credentials {
        let field = format!("credentials.{name}");
        if !fields.contains(&name.as_str()) {
            v.push(
                field,
                "unknown_field",
                format!("a {} account takes {}", kind.as_str(), fields.join(", ")),
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
        let credentials = match &self.credentials {
            Some(given) => match check_credentials(self.kind, given) {
                Ok(checked) => Some(checked),
                Err(violations) => {
                    v.0.extend(violations);
                    None
                }
            },
            None => {
                if credentials_required {
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
