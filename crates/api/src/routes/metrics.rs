//! `GET /metrics`: Prometheus text exposition (P-6). Outside `/api/v1` and the OpenAPI
//! document: it is for the operator's scraper, not for API clients.
//!
//! Protection: the endpoint exists only when `PEYVAND_METRICS_TOKEN` (`--metrics-token`)
//! is set, and then scrapers must send `Authorization: Bearer <token>` (401 otherwise).
//! Without a token it answers 404 like any unknown path: the figures (request counts
//! per route, pool and queue sizes) describe the deployment and its load, which is not
//! for anyone who can reach the API.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use persistence::jobs::JobStatus;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};
use crate::observability::PoolFigures;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_metrics);
}

#[get("/metrics")]
pub async fn get_metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let Some(expected) = state
        .config
        .metrics_token
        .as_ref()
        .map(ExposeSecret::expose_secret)
        .filter(|token| !token.is_empty())
    else {
        return Err(ApiError::NotFound);
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ApiError::Unauthenticated);
    }
    let pool_state = state.pool.state();
    let pool = PoolFigures {
        connections: pool_state.connections,
        idle: pool_state.idle_connections,
        max: state.pool.max_size(),
    };
    let counts = state
        .db(|conn| Ok(persistence::jobs::count_by_status(conn)?))
        .await?;
    let job_counts: Vec<(&str, i64)> = JobStatus::ALL
        .iter()
        .map(|status| {
            let count = counts
                .iter()
                .find(|(name, _)| name == status.as_str())
                .map_or(0, |(_, count)| *count);
            (status.as_str(), count)
        })
        .collect();
    let text = state
        .metrics
        .render(pool, &job_counts)
        .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, prometheus::TEXT_FORMAT))
        .body(text))
}
