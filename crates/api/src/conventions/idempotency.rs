//! `Idempotency-Key` on `POST` (`docs/API-CONVENTIONS.md`), as middleware, so every create endpoint has
//! it without a line of its own:
//!
//! * the key (1 to 255 printable ASCII characters, else 400) is scoped to the caller
//!   (see [`super::caller`]) and stored with a SHA-256 of method, path and body;
//! * the same key with the same request replays the stored status, body and `Location`
//!   / `ETag` / `Content-Type`, with `Idempotent-Replayed: true`;
//! * the same key with another request is 422 `idempotency_key_reused`;
//! * while the first request is still running, a duplicate gets 409
//!   `idempotency_in_progress`;
//! * 2xx and 4xx outcomes are kept for 24 hours; a 5xx is forgotten so the client can
//!   retry;
//! * an outcome that concerns a customer whose personal data was erased (its id is in
//!   the path or the response) is withdrawn: the same request then gets 410 `gone`
//!   rather than the data again or a second run.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};
use persistence::idempotency::{self, Claim, StoredResponse};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::caller::Caller;
use super::json_body::read_body;
use crate::error::ApiError;
use crate::state::AppState;

pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");
pub const MAX_KEY_LEN: usize = 255;

/// Response headers that are part of the stored outcome.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::LOCATION, header::ETAG, header::CONTENT_TYPE];

/// Middleware: see the module documentation.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(state), Some(raw_key), true) = (
        state,
        req.headers().get(&IDEMPOTENCY_KEY_HEADER).cloned(),
        req.method() == Method::POST,
    ) else {
        return super::request_id::respond(req, next).await;
    };
    let key = match valid_key(&raw_key) {
        Ok(key) => key,
        Err(err) => return Ok(req.error_response(err)),
    };
    let Some(scope) = Caller::identify(req.request(), &state).idempotency_scope() else {
        return super::request_id::respond(req, next).await;
    };
    let payload = req.take_payload();
    let body = match read_body(req.request(), payload).await {
        Ok(body) => body,
        Err(err) => return Ok(req.error_response(err)),
    };
    let hash = request_hash(req.method(), &req.uri().to_string(), &body);
    let path = req.path().to_string();
    let claim = {
        let (scope, key, path) = (scope.clone(), key.clone(), path.clone());
        state
            .db(move |conn| {
                Ok(idempotency::claim(
                    conn,
                    &scope,
                    &key,
                    &hash,
                    &path,
                    persistence::now(),
                )?)
            })
            .await
    };
    match claim {
        Err(err) => Ok(req.error_response(err)),
        Ok(Claim::Mismatch) => Ok(req.error_response(ApiError::IdempotencyKeyReused)),
        Ok(Claim::InProgress) => Ok(req.error_response(ApiError::IdempotencyInProgress)),
        Ok(Claim::Replay(stored)) => Ok(req.into_response(replay(stored))),
        Ok(Claim::Withdrawn) => Ok(req.error_response(ApiError::Gone(
            "the response to this request was withdrawn because it concerned a customer whose personal data was erased".into(),
        ))),
        Ok(Claim::Started) => {
            req.set_payload(Payload::from(body));
            let response = super::request_id::respond(req, next).await?;
            Ok(record(&state, scope, key, &path, response).await)
        }
    }
}

fn valid_key(value: &HeaderValue) -> Result<String, ApiError> {
    let bytes = value.as_bytes();
    if (1..=MAX_KEY_LEN).contains(&bytes.len()) && bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    } else {
        Err(ApiError::bad_parameter(
            "Idempotency-Key",
            "malformed_request",
            format!("the key must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
        ))
    }
}

fn request_hash(method: &Method, uri: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(uri.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            response.insert_header((name, value));
        }
    }
    response.insert_header((IDEMPOTENT_REPLAYED_HEADER, HeaderValue::from_static("true")));
    response.body(stored.body)
}

/// Every UUID written out in `text` (hyphenated, either case), the way a path or a JSON
/// body names a resource.
fn mentioned_ids(text: &str) -> Vec<Uuid> {
    const LEN: usize = 36;
    let bytes = text.as_bytes();
    let mut ids = Vec::new();
    let mut at = 0;
    while at + LEN <= bytes.len() {
        // A 36-byte input parses only in the hyphenated form.
        match Uuid::try_parse_ascii(&bytes[at..at + LEN]) {
            Ok(id) => {
                ids.push(id);
                at += LEN;
            }
            Err(_) => at += 1,
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Stores a 2xx/4xx outcome for replay or releases the key after a 5xx; the response
/// is passed on unchanged either way.
async fn record(
    state: &AppState,
    scope: String,
    key: String,
    path: &str,
    response: ServiceResponse<BoxBody>,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    // A body that cannot be read back (a stream that failed) is not replayable.
    let bytes = body::to_bytes(body).await.ok();
    let storable = (status.is_success() || status.is_client_error()) && bytes.is_some();
    let outcome = match &bytes {
        Some(bytes) if storable => Some(StoredResponse {
            status: status.as_u16(),
            body: String::from_utf8_lossy(bytes).into_owned(),
            headers: REPLAYED_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = head.headers().get(name)?.to_str().ok()?;
                    Some((name.as_str().to_string(), value.to_string()))
                })
                .collect(),
        }),
        _ => None,
    };
    let mut mentioned = mentioned_ids(path);
    if let Some(outcome) = &outcome {
        mentioned.extend(mentioned_ids(&outcome.body));
    }
    let saved = state
        .db(move |conn| match outcome {
            Some(outcome) => Ok(idempotency::complete(
                conn, &scope, &key, &outcome, &mentioned,
            )?),
            None => Ok(idempotency::release(conn, &scope, &key)?),
        })
        .await;
    if let Err(err) = saved {
        // The response itself succeeded; a retry will at worst see `in progress` until
        // the claim is considered abandoned.
        tracing::error!(error = %err, "storing an idempotent response failed");
    }
    let response = head
        .set_body(bytes.unwrap_or_default())
        .map_into_boxed_body();
    ServiceResponse::new(request, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_up_to_255() {
        assert!(valid_key(&HeaderValue::from_static("order-42 retry")).is_ok());
        assert!(valid_key(&HeaderValue::from_static("")).is_err());
        assert!(valid_key(&HeaderValue::from_str(&"k".repeat(256)).unwrap()).is_err());
    }

    #[test]
    fn ids_are_found_in_paths_and_bodies_whatever_their_case() {
        let a = "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa";
        let b = "0193A4E2-7C1D-7B3E-9F10-BBBBBBBBBBBB";
        let text = format!("/api/v1/customers/{b}/notes {{\"id\":\"{a}\",\"n\":\"x-{a}z\"}}");
        let found = mentioned_ids(&text);
        assert_eq!(found.len(), 2);
        assert!(found.contains(&Uuid::parse_str(a).unwrap()));
        assert!(found.contains(&Uuid::parse_str(b).unwrap()));
        assert!(mentioned_ids("no ids here, not even 0193a4e2-7c1d-7b3e-9f10").is_empty());
    }

    #[test]
    fn the_hash_covers_method_path_and_body() {
        let a = request_hash(&Method::POST, "/api/v1/teams", b"{}");
        assert_eq!(a, request_hash(&Method::POST, "/api/v1/teams", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/api/v1/teams", b"{ }"));
        assert_ne!(a, request_hash(&Method::POST, "/api/v1/users", b"{}"));
    }
}
