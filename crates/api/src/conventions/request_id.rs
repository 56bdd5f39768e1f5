//! `X-Request-Id` on every response (`docs/API-CONVENTIONS.md`): a well-formed id sent by the client
//! (1 to 128 visible ASCII characters) is echoed, otherwise a UUIDv7 is generated.
//!
//! Handlers and other middleware read it with the [`RequestId`] extractor or from the
//! request extensions, e.g. for the audit log:
//!
//! ```ignore
//! async fn create(principal: Principal, request_id: RequestId, ...) -> ApiResult<HttpResponse> {
//!     let actor = principal.audit_actor();
//! ```
//!
//! The middleware is the outermost layer so the id exists before anything logs and is
//! on every response, errors included.

use std::fmt;
use std::future::{ready, Ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied id that is echoed.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of `request` (set by the middleware; a fresh one outside it).
    pub fn of(request: &HttpRequest) -> RequestId {
        request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(RequestId::generate)
    }

    fn generate() -> RequestId {
        RequestId(uuid::Uuid::now_v7().to_string())
    }

    /// The client's id when it is 1..=128 visible ASCII characters (no spaces, so it
    /// cannot smuggle anything into logs).
    fn from_client(value: &HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        let valid = (1..=MAX_REQUEST_ID_LEN).contains(&bytes.len())
            && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
        valid.then(|| RequestId(String::from_utf8_lossy(bytes).into_owned()))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = Ready<Result<RequestId, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(RequestId::of(req)))
    }
}

/// Middleware: assigns the id and puts it on the response.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(RequestId::from_client)
        .unwrap_or_else(RequestId::generate);
    req.extensions_mut().insert(id.clone());
    let mut response = respond(req, next).await?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(response)
}

/// Calls the rest of the chain. Handlers' and extractors' errors arrive here already
/// rendered as responses (actix renders them where they occur, inside the language
/// scope); the middleware in this module never fail, and actix-cors renders its own
/// refusals, so nothing that escapes as an `Err` misses these headers in practice.
pub(crate) async fn respond(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_echoed_only_when_well_formed() {
        let ok = HeaderValue::from_static("abc-123_XYZ");
        assert_eq!(
            RequestId::from_client(&ok).map(|id| id.0),
            Some("abc-123_XYZ".to_string())
        );
        for bad in ["", "has space", &"x".repeat(129)] {
            assert_eq!(
                RequestId::from_client(&HeaderValue::from_str(bad).unwrap()),
                None,
                "{bad:?}"
            );
        }
    }
}
