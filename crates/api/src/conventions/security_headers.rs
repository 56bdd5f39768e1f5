//! Response headers that tell browsers and caches how to treat what the server sends:
//!
//! - `X-Content-Type-Options: nosniff` on every response, so that a browser never runs
//!   a JSON or text body as script or style.
//! - `Cache-Control: no-store` on every `/api/v1` response that does not set its own:
//!   token responses and anything about customers and users must not be kept by a
//!   shared or browser cache. The rule covers the whole API rather than a list of
//!   personal-data routes so that a new route cannot be forgotten; the few public
//!   answers (health, the OpenAPI document) are cheap to serve again.
//! - On the API documentation (`/docs`), a Content-Security-Policy that lets the
//!   vendored Swagger UI load only its own scripts, styles and images and talk only to
//!   this origin, and refuses framing (`frame-ancestors 'none'`, `X-Frame-Options:
//!   DENY`) and referrers. Every other response is data, never a page: its policy
//!   allows nothing at all.
//!
//! The middleware is the outermost layer, so every answer gets the headers, errors and
//! refusals of the inner layers included (they arrive rendered; see
//! [`respond`](super::request_id::respond)).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::Error;

use super::request_id::respond;

/// Swagger UI loads its bundle, preset, initializer, style sheets and icons from
/// `/docs/`, fetches the OpenAPI document and runs "try it out" requests against this
/// origin, and sets element styles from script (hence `'unsafe-inline'` for styles
/// only); its CSS embeds `data:` images. Nothing else is allowed.
pub const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// For every response that is not the documentation page: nothing to load, no framing.
pub const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware: adds the headers above.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Classified before the request is handed on, so the path need not be copied.
    let area = Area::of(req.path());
    let mut response = respond(req, next).await?;
    add(response.headers_mut(), area);
    Ok(response)
}

/// The part of the server a path belongs to, which decides the headers it gets.
#[derive(Clone, Copy)]
enum Area {
    Api,
    Docs,
    Other,
}

impl Area {
    fn of(path: &str) -> Area {
        if path.starts_with("/api/v1/") {
            Area::Api
        } else if path == "/docs" || path.starts_with("/docs/") {
            Area::Docs
        } else {
            Area::Other
        }
    }
}

fn add(headers: &mut HeaderMap, area: Area) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if matches!(area, Area::Api) && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let policy = if matches!(area, Area::Docs) {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        DOCS_POLICY
    } else {
        DATA_POLICY
    };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_answers_are_not_stored_unless_the_route_says_otherwise() {
        let mut api = HeaderMap::new();
        add(&mut api, Area::of("/api/v1/customers"));
        assert_eq!(api.get(CACHE_CONTROL).expect("header"), "no-store");
        assert_eq!(api.get(X_CONTENT_TYPE_OPTIONS).expect("header"), "nosniff");
        assert_eq!(
            api.get(CONTENT_SECURITY_POLICY).expect("header"),
            DATA_POLICY
        );

        let mut cached = HeaderMap::new();
        cached.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        add(&mut cached, Area::of("/api/v1/openapi.json"));
        assert_eq!(cached.get(CACHE_CONTROL).expect("header"), "max-age=60");

        let mut docs = HeaderMap::new();
        add(&mut docs, Area::of("/docs/swagger-ui.css"));
        assert!(!docs.contains_key(CACHE_CONTROL));
        assert_eq!(
            docs.get(CONTENT_SECURITY_POLICY).expect("header"),
            DOCS_POLICY
        );
        assert_eq!(docs.get(X_FRAME_OPTIONS).expect("header"), "DENY");
        assert_eq!(docs.get(REFERRER_POLICY).expect("header"), "no-referrer");
    }
}
