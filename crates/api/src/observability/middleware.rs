//! Request metrics, the request span and the request log line.
//!
//! Everything logged while a request is served — by the handler, on the blocking pool
//! (`AppState::db` enters the span there) or when an error is rendered — happens inside
//! the `request` span, so every line carries the request id, method, route pattern and,
//! once authenticated, the principal's user id.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tracing::Instrument;

use crate::conventions::request_id::RequestId;
use crate::state::AppState;

/// Label of requests that matched no route (404s for unknown paths): one series for all
/// of them instead of one per probed path.
const UNMATCHED_ROUTE: &str = "unmatched";

/// Middleware: runs the request in its span, counts and times it by route pattern and
/// logs one line with its status and latency — never the raw path, query string,
/// headers or body, which may carry ids, tokens or personal data.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method,
        route = %route,
        principal = tracing::field::Empty,
    );
    // The request must not be cloned before routing (actix needs it unshared to record
    // the matched path), so an error that escaped the inner layers is passed on as it is
    // and only its status is taken here.
    let response = next
        .call(req)
        .instrument(span.clone())
        .await
        .map(ServiceResponse::map_into_boxed_body);
    let elapsed = started.elapsed();
    let status = match &response {
        Ok(response) => response.status(),
        Err(err) => err.as_response_error().status_code(),
    }
    .as_u16();
    if let Some(state) = state {
        state
            .metrics
            .observe_request(method, &route, status, elapsed.as_secs_f64());
    }
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(target: "http", status, latency_ms, "request"));
    response
}

/// Standard methods by name; anything else (which clients can invent freely) as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
