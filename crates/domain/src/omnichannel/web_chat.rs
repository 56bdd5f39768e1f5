//! The web chat widget (O-2): the sites it may run on, what a visitor gives when a chat
//! starts, and what a visitor's message is.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text::TextKind;
use crate::validation::{FieldViolation, Violations};

/// Most site origins an account may list.
pub const MAX_ORIGINS: usize = 20;
/// Messages a visitor may send a minute when the account does not say.
pub const DEFAULT_VISITOR_MESSAGES_PER_MINUTE: u32 = 20;
/// Highest per-visitor rate an account may allow: more is no longer a person typing.
pub const MAX_VISITOR_MESSAGES_PER_MINUTE: u32 = 120;
/// Longest visitor message, as a messenger's.
pub const MAX_MESSAGE_CHARS: usize = 4_096;
/// Longest visitor name.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest client message id.
pub const MAX_CLIENT_ID_CHARS: usize = 100;
/// Longest origin (a host name is at most 253 characters).
const MAX_ORIGIN_CHARS: usize = 300;

/// The settings of a `web_chat` account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "allowed_origins": ["https://shop.example.ir"],
    "visitor_messages_per_minute": 20
}))]
pub struct WebChatSettings {
    /// The origins (scheme, host and port, no path) of the pages the widget runs on,
    /// as browsers send them in `Origin`: a widget request from any other origin is
    /// refused. At least one, at most 20.
    pub allowed_origins: Vec<String>,
    /// Messages one visitor may send a minute (1 to 120); 20 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_messages_per_minute: Option<u32>,
}

impl WebChatSettings {
    /// Messages one visitor may send a minute.
    pub fn messages_per_minute(&self) -> u32 {
        self.visitor_messages_per_minute
            .unwrap_or(DEFAULT_VISITOR_MESSAGES_PER_MINUTE)
    }

    /// Whether a request from `origin` (an `Origin` header as sent) may use the widget.
    pub fn allows(&self, origin: &str) -> bool {
        normalize_origin(origin).is_ok_and(|origin| self.allowed_origins.contains(&origin))
    }

    /// The settings in stored form: origins normalised and deduplicated.
    pub(crate) fn check(&mut self, v: &mut Violations) {
        let field = "settings.web_chat.allowed_origins";
        if self.allowed_origins.is_empty() {
            v.push(field, "required", "name at least one site origin");
        }
        if self.allowed_origins.len() > MAX_ORIGINS {
            v.push(field, "too_many", format!("at most {MAX_ORIGINS} origins"));
        }
        let mut normalised: Vec<String> = Vec::with_capacity(self.allowed_origins.len());
        for (index, raw) in self.allowed_origins.iter().enumerate() {
            match normalize_origin(raw) {
                Ok(origin) if !normalised.contains(&origin) => normalised.push(origin),
                Ok(_) => {}
                Err(message) => v.push(format!("{field}[{index}]"), "invalid_origin", message),
            }
        }
        self.allowed_origins = normalised;
        if let Some(rate) = self.visitor_messages_per_minute {
            if !(1..=MAX_VISITOR_MESSAGES_PER_MINUTE).contains(&rate) {
                v.push(
                    "settings.web_chat.visitor_messages_per_minute",
                    "out_of_range",
                    format!("must be 1 to {MAX_VISITOR_MESSAGES_PER_MINUTE}"),
                );
            }
        }
    }
}

/// An origin as browsers serialise it (RFC 6454): lower-case `http` or `https`, the
/// host, and the port only when it is not the scheme's default. Anything more (a path,
/// a query, user info) or less (no host) is refused with the reason.
pub fn normalize_origin(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_ORIGIN_CHARS {
        return Err("must be an origin such as https://shop.example.ir");
    }
    let lower = raw.to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or("must start with http:// or https://")?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err("the scheme must be http or https"),
    };
    // One trailing slash is how people copy an address bar; a path is not.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@', '\\']) {
        return Err("must be scheme, host and port only: no path, query or user");
    }
    let (host, port) = match rest.rsplit_once(':') {
        // An IPv6 literal (`[::1]`) has colons of its own.
        Some((host, port)) if !port.contains(']') => {
            let port: u16 = port
                .parse()
                .ok()
                .filter(|port| *port > 0)
                .ok_or("the port must be 1 to 65535")?;
            (host, Some(port))
        }
        _ => (rest, None),
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && !host.starts_with(['.', '-'])
            && !host.ends_with(['.', '-'])
            && !host.contains("..")
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    if !host_ok {
        return Err("the host must be a host name or an IP address");
    }
    Ok(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// What a visitor tells about themselves when a chat starts; all optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "مریم احمدی", "email": "maryam@example.ir", "phone": "0912 345 6789"}))]
pub struct VisitorInput {
    #[serde(default)]
    pub name: Option<String>,
    /// Recognises the visitor as the customer or lead with this e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Recognises the visitor as the customer or lead with this phone (any Iranian
    /// format).
    #[serde(default)]
    pub phone: Option<String>,
}

impl VisitorInput {
    /// The input in stored form: the name tidied, the e-mail and phone normalised as
    /// customers' are.
    pub fn validated(mut self) -> Result<VisitorInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.tidy_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_line("email", &mut self.email, 254);
        v.tidy_line("phone", &mut self.phone, 40);
        if v.is_empty() {
            if let Some(email) = &self.email {
                match crate::validation::normalize_email(email) {
                    Some(email) => self.email = Some(email),
                    None => v.push("email", "invalid_format", "must be an e-mail address"),
                }
            }
            if let Some(phone) = &self.phone {
                match crate::iran::normalize_phone(phone) {
                    Ok(phone) => self.phone = Some(phone.e164),
                    Err(_) => v.push("phone", "invalid_format", "must be a phone number"),
                }
            }
        }
        v.into_result().map(|()| self)
    }
}

/// A message a visitor sends.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"client_message_id": "c-1", "text": "سلام، سفارشم کی می‌رسد؟"}))]
pub struct WidgetMessageInput {
    /// The widget's own id of the message: sending it again (a retry after a lost
    /// answer) stores nothing new and answers the message stored first.
    pub client_message_id: String,
    pub text: String,
}

impl WidgetMessageInput {
    /// The input in stored form: the id one line, the text trimmed and within length.
    pub fn validated(mut self) -> Result<WidgetMessageInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if self.client_message_id.trim() != self.client_message_id {
            v.push(
                "client_message_id",
                "invalid_format",
                "must not start or end with spaces",
            );
        }
        if v.check_text(
            "client_message_id",
            &self.client_message_id,
            TextKind::SingleLine,
        ) {
            if self.client_message_id.is_empty() {
                v.push("client_message_id", "required", "must not be blank");
            } else if self.client_message_id.chars().count() > MAX_CLIENT_ID_CHARS {
                v.push(
                    "client_message_id",
                    "too_long",
                    format!("must be at most {MAX_CLIENT_ID_CHARS} characters"),
                );
            }
        }
        let mut text = Some(std::mem::take(&mut self.text));
        v.tidy_text("text", &mut text, MAX_MESSAGE_CHARS);
        match text {
            Some(text) => self.text = text,
            None => v.push("text", "required", "a message needs text"),
        }
        v.into_result().map(|()| self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_as_browsers_send_them() {
        assert_eq!(
            normalize_origin(" HTTPS://Shop.Example.IR/ ").as_deref(),
            Ok("https://shop.example.ir")
        );
        assert_eq!(
            normalize_origin("https://shop.example.ir:443").as_deref(),
            Ok("https://shop.example.ir")
        );
        assert_eq!(
            normalize_origin("http://localhost:8080").as_deref(),
            Ok("http://localhost:8080")
        );
        assert_eq!(
            normalize_origin("http://[::1]:3000").as_deref(),
            Ok("http://[::1]:3000")
        );
        for bad in [
            "",
            "shop.example.ir",
            "ftp://shop.example.ir",
            "https://shop.example.ir/chat",
            "https://shop.example.ir?x=1",
            "https://user@shop.example.ir",
            "https://",
            "https://shop..ir",
            "https://shop.example.ir:0",
            "https://shop.example.ir:99999",
            "https://sh op.ir",
            "https://[zz]:1",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_need_an_origin_and_a_sane_rate() {
        let mut settings = WebChatSettings {
            allowed_origins: vec![
                "https://a.ir".into(),
                "HTTPS://A.IR".into(),
                "https://b.ir/x".into(),
            ],
            visitor_messages_per_minute: Some(0),
        };
        let mut v = Violations::default();
        settings.check(&mut v);
        let fields: Vec<&str> = v.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "settings.web_chat.allowed_origins[2]",
                "settings.web_chat.visitor_messages_per_minute"
            ]
        );
        assert_eq!(settings.allowed_origins, ["https://a.ir"]);
        assert!(settings.allows("https://a.ir"));
        assert!(!settings.allows("https://a.ir.evil.ir"));
        assert_eq!(settings.messages_per_minute(), 0);

        let mut empty = WebChatSettings {
            allowed_origins: Vec::new(),
            visitor_messages_per_minute: None,
        };
        let mut v = Violations::default();
        empty.check(&mut v);
        assert_eq!(v.0[0].code, "required");
        assert_eq!(
            empty.messages_per_minute(),
            DEFAULT_VISITOR_MESSAGES_PER_MINUTE
        );
    }

    #[test]
    fn visitor_and_message_input_is_checked() {
        let visitor = VisitorInput {
            name: Some("  مریم   احمدی ".into()),
            email: Some("Maryam@Example.IR".into()),
            phone: Some("0912 345 6789".into()),
        }
        .validated()
        .unwrap();
        assert_eq!(visitor.name.as_deref(), Some("مریم احمدی"));
        assert_eq!(visitor.email.as_deref(), Some("maryam@example.ir"));
        assert_eq!(visitor.phone.as_deref(), Some("+989123456789"));
        let errors = VisitorInput {
            name: Some("a\u{0}".into()),
            email: Some("nope".into()),
            phone: None,
        }
        .validated()
        .unwrap_err();
        assert_eq!(errors[0].field, "name");

        let message = WidgetMessageInput {
            client_message_id: "c-1".into(),
            text: "  سلام \n".into(),
        }
        .validated()
        .unwrap();
        assert_eq!(message.text, "سلام");
        let errors = WidgetMessageInput {
            client_message_id: String::new(),
            text: "x".repeat(MAX_MESSAGE_CHARS + 1),
        }
        .validated()
        .unwrap_err();
        let fields: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("client_message_id", "required"), ("text", "too_long")]
        );
    }
}
