//! Building and running the HTTP server.

use std::future::IntoFuture;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use futures_util::future::LocalBoxFuture;
use persistence::db::{build_pool, build_read_only_pool, DbConnection, PoolConfig};
use persistence::BackendKind;
use secrecy::ExposeSecret;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::TokenIssuer;
use crate::auth::signing_key::SigningKey;
use crate::config::ServerConfig;
use crate::conventions;
use crate::observability::{self, Metrics};
use crate::routes;
use crate::state::AppState;
use application::jobs::{JobRegistry, WorkerPool, WorkerSettings};

/// Opens the pool, applies pending migrations (P-4: migrations run at start) and loads
/// the token signing key.
pub fn prepare_state(config: ServerConfig) -> anyhow::Result<AppState> {
    let url = config.database.url();
    let backend = BackendKind::of_url(&url);
    let pool = build_pool(&PoolConfig {
        max_size: config.database.db_pool_size,
        ..PoolConfig::new(url)
    })?;
    {
        let mut conn = pool.get()?;
        let applied = persistence::migrations::run_pending(&mut conn)?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "applied migrations");
        }
    }
    let replica = match &config.replica_database_url {
        None => None,
        Some(replica) if BackendKind::of_url(replica) != backend => {
            anyhow::bail!("the replica database must use the same backend as the database")
        }
        Some(replica) => Some(build_read_only_pool(&PoolConfig {
            max_size: config.database.db_pool_size,
            ..PoolConfig::new(replica.clone())
        })?),
    };
    let signing_key = SigningKey::load(
        config.jwt_secret.as_ref().map(ExposeSecret::expose_secret),
        &config.database.data_dir,
    )?;
    let tokens = TokenIssuer::new(
        &signing_key,
        &config.jwt_issuer,
        &config.jwt_audience,
        config.access_token_ttl_secs,
    );
    let credentials = Arc::new(crate::credential_key::load(
        config
            .channel_keys
            .as_ref()
            .map(ExposeSecret::expose_secret),
        &config.database.data_dir,
    )?);
    let audit_anchor = Arc::new(crate::audit_key::load(&config.database.data_dir)?);
    let metrics = Arc::new(Metrics::new()?);
    Ok(AppState {
        credentials,
        audit_anchor,
        pool,
        replica,
        backend,
        config: Arc::new(config),
        tokens: Arc::new(tokens),
        metrics,
        principals: Default::default(),
        calendar: Default::default(),
    })
}

/// Makes sure the next occurrence of each recurring job is queued (every process does
/// it; the occurrence key keeps one). A failure is logged: the server still serves,
/// and the next process start or run schedules again.
fn schedule_recurring_jobs(pool: &persistence::DbPool) {
    type Schedule = fn(&mut DbConnection) -> application::AppResult<String>;
    let recurring: [(&str, Schedule); 11] = [
        ("churn check", |conn| {
            application::jobs::churn_check::schedule_next(conn, persistence::now())
                .map(|(run_at, _)| run_at.to_string())
        }),
        ("audit checkpoint", |conn| {
            application::jobs::audit_checkpoint::schedule_next(conn, persistence::now())
                .map(|run_at| run_at.to_string())
        }),
        ("loyalty expiry", |conn| {
            application::jobs::loyalty_expiry::schedule_next(conn, persistence::now(), None)
                .map(|run_at| run_at.to_string())
        }),
        ("loyalty tiers", |conn| {
            application::jobs::loyalty_tiers::schedule_next(conn, persistence::now())
                .map(|run_at| run_at.to_string())
        }),
        ("retention rules", |conn| {
            application::jobs::retention_apply::schedule_next(conn, persistence::now())
                .map(|run_at| run_at.to_string())
        }),
        ("workflow dates", |conn| {
            application::workflows::enrolment::schedule_dates(conn, persistence::now())
                .map(|run_at| run_at.to_string())
        }),
        ("scheduled workflows", |conn| {
            application::workflows::enrolment::schedule_all(conn, persistence::now())
                .map(|workflows| format!("{workflows} workflows"))
        }),
        ("stuck-deals check", |conn| {
            application::jobs::stuck_check::schedule_next(conn, persistence::now())
                .map(|(run_at, _)| run_at.to_string())
        }),
        ("SLA scan", |conn| {
            application::service::sla_schedule::schedule_next(conn).map(|next| format!("{next:?}"))
        }),
        ("model-run schedules", |conn| {
            application::analytics::schedules::queue_all(conn)
                .map(|schedules| format!("{schedules} schedules"))
        }),
        ("segment refreshes", |conn| {
            application::segments::membership::schedule_all(conn)
                .map(|segments| format!("{segments} segments"))
        }),
    ];
    for (job, schedule) in recurring {
        let scheduled = pool
            .get()
            .map_err(|err| err.to_string())
            .and_then(|mut conn| schedule(&mut conn).map_err(|err| err.to_string()));
        match scheduled {
            Ok(next) => tracing::info!(job, %next, "recurring job scheduled"),
            Err(error) => tracing::error!(job, %error, "scheduling a recurring job failed"),
        }
    }
}

/// Starts serving on `listener`, with `ServerConfig::job_workers` background job
/// workers beside it. Awaiting the returned [`RunningServer`] finishes when the server
/// stops: SIGINT/SIGTERM (or [`RunningServer::handle`]) stop it gracefully, letting
/// in-flight requests finish, and then the job workers finish (or release) the job at
/// hand.
pub fn serve(state: AppState, listener: TcpListener) -> std::io::Result<RunningServer> {
    let config = state.config.clone();
    let job_pool = state.pool.clone();
    let principals = state.principals.clone();
    let replica = state.replica.clone();
    let mut registry = JobRegistry::builtin();
    registry.register(
        application::omnichannel::outbound::MESSAGE_SEND,
        application::omnichannel::outbound::MessageSendJob::new(
            state.credentials.clone(),
            config.provider_urls(),
            config.public_url(),
        ),
    );
    registry.register(
        application::jobs::AUDIT_VERIFY,
        application::jobs::AuditVerifyJob(Some(state.audit_anchor.clone())),
    );
    registry.register(
        application::jobs::audit_checkpoint::AUDIT_CHECKPOINT,
        application::jobs::audit_checkpoint::AuditCheckpointJob(state.audit_anchor.clone()),
    );
    registry.register(
        application::campaigns::CAMPAIGN_SEND,
        application::campaigns::CampaignSendJob::new(config.public_url()),
    );
    registry.register(
        application::webhooks::WEBHOOK_DELIVER,
        application::webhooks::delivery::WebhookDeliverJob::new(
            state.credentials.clone(),
            config.webhooks_allow_private_targets,
        ),
    );
    registry.register(
        application::omnichannel::mailbox::MAILBOX_FETCH,
        application::omnichannel::mailbox::MailboxFetchJob::new(state.credentials.clone()),
    );
    let openapi = crate::openapi::document();
    let data = web::Data::new(state);
    let rate_limits = web::Data::new(conventions::rate_limit::RateLimits::new(
        config.rate_limit_per_minute,
    ));
    let widget_limits = web::Data::new(conventions::rate_limit::QuotaLimits::default());
    let app_config = config.clone();
    let mut server = HttpServer::new(move || {
        let config = &app_config;
        // `wrap` adds layers outside the previous ones: the last is the outermost.
        App::new()
            .app_data(data.clone())
            .app_data(rate_limits.clone())
            .app_data(widget_limits.clone())
            .app_data(conventions::extractors::json_config(config.max_body_bytes))
            .app_data(conventions::extractors::query_config())
            .app_data(conventions::extractors::path_config())
            .configure(routes::configure)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", openapi.clone()))
            .default_service(web::to(conventions::extractors::no_route))
            .wrap(from_fn(conventions::idempotency::idempotency))
            .wrap(from_fn(conventions::parameters::refuse_control_characters))
            .wrap(from_fn(conventions::rate_limit::rate_limit))
            .wrap(from_fn(conventions::request_limits::request_limits))
            .wrap(conventions::cors::cors(&config.cors_origins))
            .wrap(from_fn(conventions::language::request_language))
            .wrap(from_fn(observability::observe))
            .wrap(from_fn(conventions::request_id::request_id))
            .wrap(from_fn(conventions::security_headers::security_headers))
    })
    .shutdown_timeout(config.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(30));
    if let Some(workers) = config.http_workers {
        server = server.workers(workers);
    }
    let server = server.listen(listener)?.run();
    let workers = match config.job_workers {
        0 => None,
        workers => Some({
            schedule_recurring_jobs(&job_pool);
            let settings = WorkerSettings {
                lock_timeout: Duration::from_secs(config.job_lease_seconds),
                replica: replica.clone(),
                ..WorkerSettings::new(workers)
            };
            WorkerPool::start(job_pool, registry, settings)?
        }),
    };
    let listening = crate::auth::principal_cache::listen(config.database.url(), principals)?;
    Ok(RunningServer {
        server,
        workers,
        listening,
    })
}

/// The HTTP server and its job workers.
pub struct RunningServer {
    server: Server,
    workers: Option<WorkerPool>,
    /// Applies the other processes' principal changes (PostgreSQL).
    listening: Option<crate::auth::principal_cache::Listening>,
}

impl RunningServer {
    /// Stops the server from elsewhere (e.g. a test), as a signal would.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }
}

impl IntoFuture for RunningServer {
    type Output = std::io::Result<()>;
    type IntoFuture = LocalBoxFuture<'static, std::io::Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let outcome = self.server.await;
            if let Some(listening) = self.listening {
                if actix_web::rt::task::spawn_blocking(move || listening.stop())
                    .await
                    .is_err()
                {
                    tracing::error!("stopping the principal listener failed");
                }
            }
            if let Some(workers) = self.workers {
                // Joining the worker threads blocks; keep it off the async executor.
                if actix_web::rt::task::spawn_blocking(move || workers.stop())
                    .await
                    .is_err()
                {
                    tracing::error!("stopping the job workers failed");
                }
            }
            outcome
        })
    }
}
