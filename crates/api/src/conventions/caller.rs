//! Who is calling, decided cheaply before the handler runs (no database), for the
//! per-principal mechanisms in middleware: rate limits and idempotency keys.
//!
//! An access token is verified (signature, `exp`, `iss`, `aud`: CPU only) and names its
//! user; an API key is recognised by shape only (its prefix for rate limits, the hash
//! of its secret for idempotency, so a stored response is only replayed to the holder
//! of the same secret). A credential that cannot be verified counts as its client IP
//! address, so forged tokens cannot spend someone else's quota. The address is the TCP
//! peer's, or the one a trusted proxy forwarded (see [`super::client_address`]).

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::HttpRequest;
use uuid::Uuid;

use super::client_address::client_address_key;
use crate::auth::principal::API_KEY_HEADER;
use crate::state::AppState;
use application::accounts::api_key_format;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A valid access token of this user.
    User(Uuid),
    /// A well-shaped API key (verified later, by the handler).
    ApiKey { prefix: String, secret_hash: String },
    /// No credential.
    Anonymous { ip: String },
    /// A credential that did not verify; the handler will answer 401.
    Unverified { ip: String },
}

impl Caller {
    pub fn identify(req: &HttpRequest, state: &AppState) -> Caller {
        let ip = client_address_key(req, &state.config.trusted_proxies);
        match presented_credential(req.headers()) {
            None => Caller::Anonymous { ip },
            Some(credential) if credential.starts_with(api_key_format::KEY_MARKER) => {
                match api_key_format::parse(&credential) {
                    Some((prefix, secret_hash)) => Caller::ApiKey {
                        prefix,
                        secret_hash,
                    },
                    None => Caller::Unverified { ip },
                }
            }
            Some(token) => match state.tokens.verify(&token) {
                Ok(claims) => Caller::User(claims.sub),
                Err(_) => Caller::Unverified { ip },
            },
        }
    }

    /// The bucket of the rate limiter: one per user, API key or client address.
    pub fn rate_key(&self) -> String {
        match self {
            Caller::User(id) => format!("user:{id}"),
            Caller::ApiKey { prefix, .. } => format!("api_key_prefix:{prefix}"),
            Caller::Anonymous { ip } | Caller::Unverified { ip } => format!("ip:{ip}"),
        }
    }

    /// The scope idempotency keys live in; `None` for a credential that did not verify
    /// (the request is refused anyway and nothing must be replayed to it).
    pub fn idempotency_scope(&self) -> Option<String> {
        match self {
            Caller::User(id) => Some(format!("user:{id}")),
            Caller::ApiKey { secret_hash, .. } => Some(format!("api_key:{secret_hash}")),
            Caller::Anonymous { ip } => Some(format!("ip:{ip}")),
            Caller::Unverified { .. } => None,
        }
    }
}

/// The API key or bearer token the request carries, as the auth module reads them.
fn presented_credential(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = headers.get(API_KEY_HEADER) {
        return Some(key.to_str().unwrap_or("").trim().to_string());
    }
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}
