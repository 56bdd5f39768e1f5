//! Outgoing webhooks: subscriptions of a partner's or an app's endpoint to event types of
//! the outbox, and the rules of delivering to it — which targets may be called, how
//! often a failing delivery is tried again, and when a subscription that keeps failing
//! is switched off.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// The event types a subscription may name; `*` names them all.
pub const EVENT_TYPES: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.lifecycle_changed",
    "lead.created",
    "lead.updated",
    "lead.status_changed",
    "lead.converted",
    "order.placed",
    "deal.created",
    "deal.updated",
    "deal.stage_changed",
    "ticket.created",
    "ticket.sla_breached",
    "segment.entered",
    "segment.left",
    "feedback.received",
    "feedback.negative",
    "workflow.webhook",
];

/// Every event type.
pub const ALL_EVENTS: &str = "*";

/// Longest target URL.
pub const MAX_URL_CHARS: usize = 2_000;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Most subscriptions a business keeps: each event fans out to every matching one.
pub const MAX_SUBSCRIPTIONS: i64 = 100;

/// Attempts of one delivery before it is given up: the first and seven retries, spread
/// by the job queue's exponential back-off over about a day.
pub const MAX_ATTEMPTS: i32 = 8;
/// Deliveries given up in a row after which a subscription is switched off.
pub const DISABLE_AFTER_FAILURES: i32 = 5;
/// Seconds a target has to answer.
pub const TIMEOUT_SECS: u64 = 10;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The target answered 2xx.
    Succeeded,
    /// Given up after the last attempt, or refused for good (a private target).
    Failed,
}

snake_names!(DeliveryStatus {
    Pending => "pending",
    Succeeded => "succeeded",
    Failed => "failed",
});

/// A subscription as written (`POST /webhook-subscriptions`, and the document a merge
/// patch applies to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.example.ir/peyvand",
    "event_types": ["customer.created", "order.placed"],
    "description": "همگام‌سازی با انبار"
}))]
pub struct SubscriptionInput {
    /// `https://` (or `http://`) endpoint that receives the events as POSTs.
    pub url: String,
    /// Event types delivered, e.g. `customer.created`; `["*"]` for all.
    pub event_types: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Off: nothing is delivered (and nothing queued) until it is switched on again.
    #[serde(default = "active")]
    pub active: bool,
}

fn active() -> bool {
    true
}

impl SubscriptionInput {
    /// Trimmed and checked; `allow_private` lets a target name a loopback or private
    /// address (a test receiver, an endpoint on the business's own network).
    pub fn validated(
        mut self,
        allow_private: bool,
    ) -> Result<SubscriptionInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        self.url = self.url.trim().to_string();
        // A NUL or control character is named as in every other text field (the URL
        // parser would percent-encode it and pass it on).
        if v.check_text("url", &self.url, crate::text::TextKind::SingleLine) {
            if let Err((code, message)) = check_url(&self.url, allow_private) {
                v.push("url", code, message);
            }
        }
        if self.event_types.is_empty() {
            v.push(
                "event_types",
                "required",
                "name at least one event type, or \"*\"",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, event) in self.event_types.iter().enumerate() {
            let field = format!("event_types[{i}]");
            if event != ALL_EVENTS && !EVENT_TYPES.contains(&event.as_str()) {
                v.push(
                    field,
                    "invalid_value",
                    format!(
                        "not an event type; use \"*\" or one of {}",
                        EVENT_TYPES.join(", ")
                    ),
                );
            } else if !seen.insert(event.clone()) {
                v.push(field, "duplicate", "name each event type once");
            }
        }
        v.tidy_line("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        v.into_result().map(|()| self)
    }

    /// Whether it wants events of `event_type`.
    pub fn wants(event_types: &[String], event_type: &str) -> bool {
        event_types
            .iter()
            .any(|wanted| wanted == ALL_EVENTS || wanted == event_type)
    }
}

/// The target's shape: an absolute `http`/`https` URL with a host, no credentials in
/// it, and — unless allowed — not a literal loopback, private or link-local address.
/// Names are checked again, once resolved, when each delivery is made.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), (&'static str, String)> {
    if url.is_empty() {
        return Err(("required", "give the endpoint's URL".into()));
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(("too_long", format!("at most {MAX_URL_CHARS} characters")));
    }
    let parsed = url::Url::parse(url)
        .map_err(|err| ("invalid_format", format!("not an absolute URL: {err}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(("invalid_format", "use an https:// (or http://) URL".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err((
            "invalid_format",
            "credentials do not belong in the URL; deliveries are signed".into(),
        ));
    }
    let host = match parsed.host() {
        Some(host) => host,
        None => return Err(("invalid_format", "the URL has no host".into())),
    };
    let literal = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(name) => (name.eq_ignore_ascii_case("localhost")
            || name.ends_with(".localhost"))
        .then_some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
    };
    match literal {
        Some(ip) if !allow_private && !is_public(ip) => Err((
            "private_address",
            "the target is a loopback, private or link-local address".into(),
        )),
        _ => Ok(()),
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC
/// 1918, unique local), link-local (cloud metadata lives there), carrier-grade NAT,
/// unspecified, multicast, broadcast or documentation space — the targets a server
/// must not be made to call (server-side request forgery).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, events: &[&str]) -> SubscriptionInput {
        SubscriptionInput {
            url: url.into(),
            event_types: events.iter().map(|e| e.to_string()).collect(),
            description: None,
            active: true,
        }
    }

    fn codes(result: Result<SubscriptionInput, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect()
    }

    #[test]
    fn a_subscription_names_a_public_http_target_and_known_events() {
        assert!(input(" https://hooks.example.ir/a ", &["order.placed"])
            .validated(false)
            .is_ok());
        assert!(input("http://hooks.example.ir", &["*"])
            .validated(false)
            .is_ok());
        for (url, code) in [
            ("", "url:required"),
            ("ftp://example.ir/x", "url:invalid_format"),
            ("/relative", "url:invalid_format"),
            ("https://user:pass@example.ir", "url:invalid_format"),
            ("http://127.0.0.1:8080/hook", "url:private_address"),
            ("http://localhost/hook", "url:private_address"),
            ("http://10.1.2.3/hook", "url:private_address"),
            (
                "http://169.254.169.254/latest/meta-data",
                "url:private_address",
            ),
            ("http://[::1]/hook", "url:private_address"),
            ("http://[::ffff:192.168.1.1]/hook", "url:private_address"),
            ("http://100.64.0.1/hook", "url:private_address"),
            ("https://hooks.example.ir/a\u{0}b", "url:nul_character"),
        ] {
            assert_eq!(codes(input(url, &["*"]).validated(false)), [code], "{url}");
        }
        assert!(input("http://127.0.0.1:8080/hook", &["*"])
            .validated(true)
            .is_ok());
        assert_eq!(
            codes(input("https://example.ir", &["order.shipped", "*", "*"]).validated(false)),
            ["event_types[0]:invalid_value", "event_types[2]:duplicate"]
        );
        assert_eq!(
            codes(input("https://example.ir", &[]).validated(false)),
            ["event_types:required"]
        );
    }

    #[test]
    fn public_addresses_are_told_from_internal_ones() {
        for public in ["8.8.8.8", "185.143.232.1", "2a01:4f8::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for internal in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.100.100.100",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
    }

    #[test]
    fn a_subscription_wants_its_event_types_or_all() {
        let named = vec!["order.placed".to_string()];
        assert!(SubscriptionInput::wants(&named, "order.placed"));
        assert!(!SubscriptionInput::wants(&named, "customer.created"));
        assert!(SubscriptionInput::wants(
            &["*".to_string()],
            "customer.created"
        ));
    }
}
