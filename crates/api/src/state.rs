//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use domain::business_calendar::BusinessCalendar;
use domain::filter::ResolveContext;
use moka::sync::Cache;
use persistence::db::{DbConnection, DbPool};
use persistence::principal_events::PrincipalEvent;
use persistence::BackendKind;

use crate::auth::jwt::TokenIssuer;
use crate::auth::principal_cache::PrincipalCache;
use crate::config::ServerConfig;
use crate::error::{ApiError, ApiResult};
use crate::observability::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    /// The read-only replica's pool (`--replica-database-url`), if there is one.
    pub replica: Option<DbPool>,
    pub backend: BackendKind,
    pub config: Arc<ServerConfig>,
    /// Issues and verifies access tokens with the server's signing key.
    pub tokens: Arc<TokenIssuer>,
    /// Prometheus registry of this server (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Account facts of recently seen principals (see `auth::principal_cache`).
    pub principals: PrincipalCache,
    /// The business calendar of the stored settings.
    pub calendar: CalendarCache,
    /// Seals and opens the credentials of channel accounts.
    pub credentials: Arc<channels::secrets::CredentialCipher>,
    /// Signs and keeps the audit chain's checkpoints.
    pub audit_anchor: Arc<application::jobs::audit_checkpoint::AuditAnchor>,
}

/// How long this process trusts the business calendar it loaded: a settings change made
/// here applies at once, one made through another server within this time.
pub const CALENDAR_FRESHNESS: Duration = Duration::from_secs(30);

/// The business calendar, loaded from the settings at most once per
/// [`CALENDAR_FRESHNESS`], so "today" costs no database round trip.
#[derive(Clone)]
pub struct CalendarCache(Cache<(), Arc<BusinessCalendar>>);

impl Default for CalendarCache {
    fn default() -> Self {
        CalendarCache(
            Cache::builder()
                .max_capacity(1)
                .time_to_live(CALENDAR_FRESHNESS)
                .build(),
        )
    }
}

impl AppState {
    /// The business calendar (time zone, week, working hours, holidays) of the settings.
    pub async fn calendar(&self) -> ApiResult<Arc<BusinessCalendar>> {
        if let Some(calendar) = self.calendar.0.get(&()) {
            return Ok(calendar);
        }
        let calendar = Arc::new(
            self.db(|conn| Ok(application::settings::calendar(conn)?))
                .await?,
        );
        self.calendar.0.insert((), calendar.clone());
        Ok(calendar)
    }

    /// The account of `user_id` changed: this process forgets what it cached of it,
    /// and the other processes sharing the database are told to.
    pub async fn user_changed(&self, user_id: uuid::Uuid) {
        self.principals.invalidate(&user_id);
        self.announce(PrincipalEvent::UserChanged { user_id }).await;
    }

    /// `sessions` were revoked: their access tokens stop working here at once, and in
    /// the other processes as soon as they hear of it.
    pub async fn sessions_ended(&self, sessions: Vec<uuid::Uuid>) {
        if sessions.is_empty() {
            return;
        }
        self.principals.end_sessions(&sessions);
        self.announce(PrincipalEvent::SessionsEnded { sessions })
            .await;
    }

    /// A failed announcement leaves the other processes to the cache's lifetime.
    async fn announce(&self, event: PrincipalEvent) {
        let announced = self
            .db(move |conn| Ok(persistence::principal_events::announce(conn, &event)?))
            .await;
        if let Err(error) = announced {
            tracing::warn!(%error, "announcing a principal change failed");
        }
    }

    /// Forgets the cached calendar: the settings changed.
    pub fn settings_changed(&self) {
        self.calendar.0.invalidate_all();
    }

    /// Today's date in the business time zone: what "in the future" means for birth
    /// dates and similar.
    pub async fn today(&self) -> ApiResult<chrono::NaiveDate> {
        Ok(self.calendar().await?.today(chrono::Utc::now()))
    }

    /// Now, in the business's time zone and week: where relative dates in searches
    /// ("this month") resolve.
    pub async fn resolve_context(&self) -> ApiResult<ResolveContext> {
        let local = self.calendar().await?.local();
        Ok(ResolveContext::new(persistence::now(), local))
    }

    /// Runs blocking diesel work on actix's blocking thread pool with a pooled
    /// connection, so the async executor never waits on the database and a connection is
    /// never held across an `.await`.
    pub async fn db<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        Self::on(self.pool.clone(), work).await
    }

    /// [`AppState::db`] on the read-only replica when there is one (reports): `work`
    /// must only read, and may see the primary's latest writes a little late.
    pub async fn db_read<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        Self::on(self.replica.as_ref().unwrap_or(&self.pool).clone(), work).await
    }

    async fn on<T, F>(pool: DbPool, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
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
