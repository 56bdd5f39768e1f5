//! HTTP routes, one module per resource. Each module has `configure` (registers its
//! handlers) and an `#[derive(OpenApi)]` type listing its operations.

use actix_web::web;
use utoipa::OpenApi;

pub mod api_keys;
pub mod audit_events;
pub mod auth;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod teams;
pub mod users;

/// Registers every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    auth::configure(cfg);
    users::configure(cfg);
    teams::configure(cfg);
    api_keys::configure(cfg);
    jobs::configure(cfg);
    audit_events::configure(cfg);
    metrics::configure(cfg);
}

/// The OpenAPI fragments of every route module.
pub fn openapi_parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        health::HealthApi::openapi(),
        auth::AuthApi::openapi(),
        users::UsersApi::openapi(),
        teams::TeamsApi::openapi(),
        api_keys::ApiKeysApi::openapi(),
        jobs::JobsApi::openapi(),
        audit_events::AuditEventsApi::openapi(),
    ]
}
