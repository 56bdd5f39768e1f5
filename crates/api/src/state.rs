//! Shared application state handed to every handler.

use std::sync::Arc;

use actix_web::web;
use persistence::db::{DbConnection, DbPool};
use persistence::BackendKind;

use crate::auth::jwt::TokenIssuer;
use crate::auth::principal_cache::PrincipalCache;
use crate::config::ServerConfig;
use crate::error::{ApiError, ApiResult};
use crate::observability::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub backend: BackendKind,
    pub config: Arc<ServerConfig>,
    /// Issues and verifies access tokens with the server's signing key.
    pub tokens: Arc<TokenIssuer>,
    /// Prometheus registry of this server (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Account facts of recently seen principals (see `auth::principal_cache`).
    pub principals: PrincipalCache,
}

impl AppState {
    /// Today's date in the business time zone (Asia/Tehran, L-4): what "in the future"
    /// means for birth dates and similar.
    pub fn today(&self) -> chrono::NaiveDate {
        business_today()
    }

    /// Runs blocking diesel work on actix's blocking thread pool with a pooled
    /// connection, so the async executor never waits on the database and a connection is
    /// never held across an `.await`.
    pub async fn db<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        // The blocking thread logs in the request's span too.
        let span = tracing::Span::current();
        web::block(move || {
            let _in_request = span.enter();
            let mut conn = pool
                .get()
                .map_err(|err| ApiError::Unavailable(format!("database pool: {err}")))?;
            work(&mut conn)
        })
        .await?
    }
}

/// Today's date in the business time zone (Asia/Tehran, L-4), for work that runs
/// outside a request (jobs).
fn business_today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tehran)
        .date_naive()
}
