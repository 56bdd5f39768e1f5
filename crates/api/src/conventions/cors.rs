//! CORS from `ServerConfig::cors_origins` (`docs/security.md`): none configured means no CORS
//! headers at all (browsers then refuse cross-origin calls); `*` allows any origin but
//! without credentials, as the Fetch standard requires; otherwise only the listed
//! origins, with credentials. The headers clients need to read are exposed.

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::Condition;

use super::idempotency::IDEMPOTENCY_KEY_HEADER;
use super::rate_limit::{RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET};
use super::request_id::REQUEST_ID_HEADER;

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_SECS: usize = 600;

/// The CORS middleware for the configured origins, switched off when there are none
/// (an empty `Cors` would reject every request that carries an `Origin`, same-origin
/// form posts included).
pub fn cors(origins: &[String]) -> Condition<Cors> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Condition::new(false, Cors::default());
    }
    let exposed = [
        header::ETAG,
        header::LOCATION,
        header::RETRY_AFTER,
        RATE_LIMIT_LIMIT,
        RATE_LIMIT_REMAINING,
        RATE_LIMIT_RESET,
        REQUEST_ID_HEADER,
        HeaderName::from_static("idempotent-replayed"),
    ];
    let base = Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            IDEMPOTENCY_KEY_HEADER,
            REQUEST_ID_HEADER,
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers(exposed)
        .max_age(PREFLIGHT_MAX_AGE_SECS);
    let cors = if origins.contains(&"*") {
        base.allow_any_origin()
    } else {
        origins
            .into_iter()
            .fold(base.supports_credentials(), |cors, origin| {
                cors.allowed_origin(origin)
            })
    };
    Condition::new(true, cors)
}
