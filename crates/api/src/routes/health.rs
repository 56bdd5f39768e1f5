//! Liveness and readiness (P-6).

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(get_health, get_readiness), components(schemas(HealthStatus)))]
pub struct HealthApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_health).service(get_readiness);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "database": "sqlite", "migrations": "up_to_date"}))]
pub struct HealthStatus {
    /// `ok` when the check passed.
    pub status: String,
    /// Database backend in use (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// `up_to_date` when every migration is applied (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<String>,
}

/// Liveness: the process is up.
///
/// Answers 200 as long as the process serves HTTP, without touching the database: for a
/// load balancer or orchestrator to restart a hung process. No authentication.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_health",
    security(()),
    responses((status = 200, description = "The process is alive", body = HealthStatus))
)]
#[get("/api/v1/health")]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
        database: None,
        migrations: None,
    })
}

/// Readiness: the database answers and every migration is applied.
///
/// For a load balancer to send traffic only to instances that can serve it. No
/// authentication. Problems: 503 `service_unavailable` while the database is unreachable or
/// migrations are pending.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_readiness",
    security(()),
    responses(
        (status = 200, description = "Ready to serve traffic", body = HealthStatus),
        (status = 503, description = "Database unreachable or migrations pending", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/ready")]
pub async fn get_readiness(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.backend.name();
    let up_to_date = state
        .db(|conn| {
            persistence::migrations::is_up_to_date(conn)
                .map_err(|err| ApiError::Unavailable(err.to_string()))
        })
        .await?;
    if !up_to_date {
        return Err(ApiError::Unavailable("migrations pending".into()));
    }
    Ok(HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
        database: Some(backend.into()),
        migrations: Some("up_to_date".into()),
    }))
}
