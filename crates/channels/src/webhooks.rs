//! Outgoing webhook deliveries as the Standard Webhooks specification has them: a JSON
//! POST with the headers `webhook-id` (the message id, the same on every attempt),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64
//! HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret, which is `whsec_` and the
//! base64 of its bytes).
//!
//! The target's name is resolved here, and an address the caller's rule does not allow
//! (loopback, private, link-local) is refused — checked on the addresses actually
//! connected to, so a
//! name that resolved to a public address when the subscription was made and to an
//! internal one now (DNS rebinding) is refused too. Redirects are not followed.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: 24 random bytes, as `whsec_` and their base64.
pub fn new_secret() -> String {
    let mut bytes = [0_u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header of `body` sent as message `id` at `timestamp`.
pub fn signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, DeliveryError> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| DeliveryError::Refused("the stored secret is not base64".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| DeliveryError::Refused("the stored secret is unusable".into()))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Why a delivery did not go through.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeliveryError {
    /// Trying again cannot help: the target is an address deliveries may not reach.
    #[error("{0}")]
    Refused(String),
    /// The target could not be reached, timed out or answered other than 2xx: a later
    /// attempt may succeed. The status, when it answered.
    #[error("{message}")]
    Failed {
        status: Option<u16>,
        message: String,
    },
}

/// One delivery.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    pub body: &'a str,
    pub secret: &'a str,
}

/// Resolves names to the addresses a delivery may connect to.
struct CheckedResolver {
    allowed: fn(IpAddr) -> bool,
}

impl ureq::Resolver for CheckedResolver {
    fn resolve(&self, netloc: &str) -> io::Result<Vec<SocketAddr>> {
        let addresses: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
        let allowed: Vec<SocketAddr> = addresses
            .iter()
            .copied()
            .filter(|address| (self.allowed)(address.ip()))
            .collect();
        if allowed.is_empty() && !addresses.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                PRIVATE_TARGET,
            ));
        }
        Ok(allowed)
    }
}

const PRIVATE_TARGET: &str = "the target resolves to an address deliveries may not reach";

/// Makes deliveries through one HTTP agent, so connections to a target are reused
/// from one delivery to the next.
pub struct Sender {
    agent: ureq::Agent,
}

impl Sender {
    /// Connecting only to addresses `allowed` lets through, each answer awaited at most
    /// `timeout`.
    pub fn new(allowed: fn(IpAddr) -> bool, timeout: Duration) -> Sender {
        Sender {
            agent: ureq::AgentBuilder::new()
                .resolver(CheckedResolver { allowed })
                .redirects(0)
                .timeout_connect(Duration::from_secs(5))
                .timeout(timeout)
                .user_agent("Peyvand-Webhooks/1")
                .build(),
        }
    }

    /// POSTs `delivery`; `Ok` with the status of a 2xx answer.
    pub fn deliver(&self, delivery: Delivery<'_>) -> Result<u16, DeliveryError> {
        let signature = signature(
            delivery.secret,
            delivery.id,
            delivery.timestamp,
            delivery.body,
        )?;
        let agent = &self.agent;
        let answer = agent
            .post(delivery.url)
            .set("content-type", "application/json")
            .set("webhook-id", delivery.id)
            .set("webhook-timestamp", &delivery.timestamp.to_string())
            .set("webhook-signature", &signature)
            .send_string(delivery.body);
        match answer {
            Ok(response) if (200..300).contains(&response.status()) => Ok(response.status()),
            Ok(response) => Err(DeliveryError::Failed {
                status: Some(response.status()),
                message: format!(
                    "answered {} (redirects are not followed)",
                    response.status()
                ),
            }),
            Err(ureq::Error::Status(status, _)) => Err(DeliveryError::Failed {
                status: Some(status),
                message: format!("answered {status}"),
            }),
            Err(ureq::Error::Transport(transport)) => {
                let text = transport.to_string();
                if text.contains(PRIVATE_TARGET) {
                    Err(DeliveryError::Refused(PRIVATE_TARGET.into()))
                } else {
                    Err(DeliveryError::Failed {
                        status: None,
                        message: format!("unreachable: {}", transport.kind()),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_signature_matches_the_reference_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1_614_265_330;
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, timestamp, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_new_secret_is_prefixed_base64_of_24_bytes() {
        let secret = new_secret();
        let bytes = STANDARD
            .decode(secret.strip_prefix(SECRET_PREFIX).expect("prefix"))
            .expect("base64");
        assert_eq!(bytes.len(), 24);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn a_name_resolving_to_loopback_is_refused_unless_allowed() {
        let delivery = Delivery {
            url: "http://localhost:9/hook",
            id: "msg_1",
            timestamp: 0,
            body: "{}",
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        };
        assert_eq!(
            Sender::new(|ip| !ip.is_loopback(), Duration::from_secs(1)).deliver(delivery),
            Err(DeliveryError::Refused(PRIVATE_TARGET.into()))
        );
        // Allowed, the (closed) port is simply unreachable.
        assert!(matches!(
            Sender::new(|_| true, Duration::from_secs(1)).deliver(delivery),
            Err(DeliveryError::Failed { status: None, .. })
        ));
    }
}
