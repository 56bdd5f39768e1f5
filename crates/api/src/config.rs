//! Server configuration: every setting is a flag with an environment-variable twin, so
//! the same binary is configured by flags locally and by the environment in production.

use std::convert::Infallible;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ipnet::IpNet;
use secrecy::SecretString;

/// Settings shared by every subcommand that opens the database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `postgres://...` for PostgreSQL; a file path (or `sqlite://path`) for SQLite.
    /// Unset: `<data-dir>/peyvand.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and the generated JWT signing key.
    #[arg(long, env = "PEYVAND_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Largest number of pooled database connections.
    #[arg(long, env = "PEYVAND_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
}

impl DatabaseArgs {
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => self
                .data_dir
                .join("peyvand.db")
                .to_string_lossy()
                .into_owned(),
        }
    }
}

/// Settings of `peyvand serve`.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address and port to listen on.
    #[arg(long, env = "PEYVAND_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// HTTP worker threads (default: number of cores).
    #[arg(long, env = "PEYVAND_HTTP_WORKERS")]
    pub http_workers: Option<usize>,

    /// A read-only replica of the database (a PostgreSQL standby, or a copy of the
    /// SQLite file) that reports and model runs read from; unset, they read from the
    /// database itself. Same backend as `--database-url`; its connections refuse writes.
    #[arg(long, env = "PEYVAND_REPLICA_DATABASE_URL", hide_env_values = true)]
    pub replica_database_url: Option<String>,

    /// Background job workers in this process (0 disables the worker pool).
    #[arg(long, env = "PEYVAND_JOB_WORKERS", default_value_t = 2)]
    pub job_workers: usize,

    /// Seconds a running job's lease lasts: its worker renews it every third of that,
    /// and a job whose lease ran out (its worker died) is taken over by another worker.
    /// Short leases recover sooner; a worker's pauses must stay well under a third.
    #[arg(long, env = "PEYVAND_JOB_LEASE_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub job_lease_seconds: u64,

    /// HMAC key for access tokens (at least 32 bytes). Unset: a key is generated on first
    /// start and kept in `<data-dir>/jwt-signing.key` with owner-only permissions.
    #[arg(long, env = "PEYVAND_JWT_SECRET", hide_env_values = true, value_parser = secret)]
    pub jwt_secret: Option<SecretString>,

    /// Telegram Bot API base URL (channel messages are sent there).
    #[arg(
        long,
        env = "PEYVAND_TELEGRAM_API_URL",
        default_value = "https://api.telegram.org"
    )]
    pub telegram_api_url: String,

    /// Meta Graph API base URL with its version (WhatsApp and Instagram messages).
    #[arg(
        long,
        env = "PEYVAND_META_GRAPH_URL",
        default_value = "https://graph.facebook.com/v21.0"
    )]
    pub meta_graph_url: String,

    /// Kavenegar SMS API base URL.
    #[arg(
        long,
        env = "PEYVAND_KAVENEGAR_API_URL",
        default_value = "https://api.kavenegar.com"
    )]
    pub kavenegar_api_url: String,

    /// Keys sealing the credentials of channel accounts: 64 hex digits each, separated
    /// by commas, the newest first. Without them a key is generated in the data
    /// directory on first start.
    #[arg(long, env = "PEYVAND_CHANNEL_KEYS", hide_env_values = true, value_parser = secret)]
    pub channel_keys: Option<SecretString>,

    /// Where clients outside reach this server (`https://crm.example.ir`): the links in
    /// messages sent to customers (one-click unsubscribe) start with it. By default the
    /// bind address over plain HTTP, which only a local setup can use.
    #[arg(long, env = "PEYVAND_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Let webhook subscriptions target loopback, private and link-local addresses
    /// (an endpoint on the business's own network, a local test receiver). Off, such
    /// targets are refused when subscribed and again, once resolved, at every delivery.
    #[arg(long, env = "PEYVAND_WEBHOOKS_ALLOW_PRIVATE_TARGETS")]
    pub webhooks_allow_private_targets: bool,

    /// `iss` claim of issued access tokens, checked on every request.
    #[arg(long, env = "PEYVAND_JWT_ISSUER", default_value = "peyvand")]
    pub jwt_issuer: String,

    /// `aud` claim of issued access tokens, checked on every request.
    #[arg(long, env = "PEYVAND_JWT_AUDIENCE", default_value = "peyvand-api")]
    pub jwt_audience: String,

    /// Lifetime of access tokens in seconds.
    #[arg(long, env = "PEYVAND_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl_secs: i64,

    /// Lifetime of refresh tokens in seconds.
    #[arg(long, env = "PEYVAND_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: i64,

    /// Requests per minute allowed to one user or API key (anonymous callers: per IP).
    #[arg(long, env = "PEYVAND_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,

    /// Reverse proxies whose `X-Forwarded-For` header is believed: addresses or CIDR
    /// blocks, comma separated (e.g. `10.0.0.0/8,127.0.0.1`). The client address used by
    /// rate limits and login throttling is then the nearest address in the header that is
    /// not a trusted proxy. Empty (the default): the header is ignored and the client is
    /// the TCP peer, because any client can set it.
    #[arg(
        long,
        env = "PEYVAND_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_proxy
    )]
    pub trusted_proxies: Vec<IpNet>,

    #[command(flatten)]
    pub login_throttle: LoginThrottleArgs,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "PEYVAND_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest accepted file upload (`multipart/form-data`, e.g. an import) in bytes.
    #[arg(long, env = "PEYVAND_MAX_UPLOAD_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Largest file attached to a ticket, in bytes (at most the upload limit).
    #[arg(
        long,
        env = "PEYVAND_MAX_ATTACHMENT_BYTES",
        default_value_t = domain::service::attachments::DEFAULT_MAX_BYTES
    )]
    pub max_attachment_bytes: usize,

    /// Origins allowed by CORS, comma separated; `*` allows any. Empty: CORS off.
    #[arg(
        long,
        env = "PEYVAND_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    /// Log format: `json` (default) or `pretty`.
    #[arg(long, env = "PEYVAND_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Seconds to let in-flight requests finish on shutdown.
    #[arg(long, env = "PEYVAND_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,

    /// Bearer token `GET /metrics` requires (`Authorization: Bearer <token>`). Unset:
    /// the endpoint is not served (404).
    #[arg(long, env = "PEYVAND_METRICS_TOKEN", hide_env_values = true, value_parser = secret)]
    pub metrics_token: Option<SecretString>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object a line, for log collectors.
    Json,
    /// Multi-line human-readable text, for a terminal.
    Pretty,
}

/// A secret from a flag or the environment, wrapped so that printing the configuration
/// (`Debug`, a log line, a panic message) shows `[REDACTED]` instead of it.
fn secret(value: &str) -> Result<SecretString, Infallible> {
    Ok(SecretString::from(value))
}

/// A trusted proxy: one address or a CIDR block.
fn parse_proxy(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR block"))
}

/// Login throttling: failed logins lock an e-mail address, and (with a higher limit) a
/// client address, for a while that doubles with each lockout. The state is in the
/// database, so every server process enforces it.
#[derive(Debug, Clone, Args)]
pub struct LoginThrottleArgs {
    /// Failed logins for one e-mail address within the window that lock it.
    #[arg(
        long = "login-max-failures-per-account",
        env = "PEYVAND_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_failures_per_account: u32,

    /// Failed logins from one client address within the window that lock it.
    #[arg(
        long = "login-max-failures-per-address",
        env = "PEYVAND_LOGIN_MAX_FAILURES_PER_ADDRESS",
        default_value_t = 50,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_failures_per_address: u32,

    /// Seconds over which failed logins add up.
    #[arg(
        long = "login-failure-window",
        env = "PEYVAND_LOGIN_FAILURE_WINDOW",
        default_value_t = 900,
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    pub failure_window_secs: u32,

    /// Seconds of the first lockout; each further lockout of the same account or address
    /// lasts twice as long as the one before.
    #[arg(
        long = "login-lockout",
        env = "PEYVAND_LOGIN_LOCKOUT",
        default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    pub lockout_secs: u32,

    /// Longest lockout in seconds.
    #[arg(
        long = "login-max-lockout",
        env = "PEYVAND_LOGIN_MAX_LOCKOUT",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u32).range(1..=604_800)
    )]
    pub max_lockout_secs: u32,
}

impl From<&LoginThrottleArgs> for application::accounts::login_throttle::LoginThrottle {
    fn from(args: &LoginThrottleArgs) -> Self {
        application::accounts::login_throttle::ThrottleLimits {
            max_failures_per_account: args.max_failures_per_account,
            max_failures_per_address: args.max_failures_per_address,
            failure_window_secs: args.failure_window_secs,
            lockout_secs: args.lockout_secs,
            max_lockout_secs: args.max_lockout_secs,
        }
        .into()
    }
}

impl ServerConfig {
    /// Where the messaging providers' APIs are, without a trailing slash.
    /// The server's public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    pub fn provider_urls(&self) -> channels::outbound::ProviderUrls {
        let base = |url: &str| url.trim_end_matches('/').to_string();
        channels::outbound::ProviderUrls {
            telegram: base(&self.telegram_api_url),
            meta_graph: base(&self.meta_graph_url),
            kavenegar: base(&self.kavenegar_api_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_addresses_or_blocks() {
        assert_eq!(parse_proxy("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_proxy(" 127.0.0.1 ").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_proxy("::1").unwrap().to_string(), "::1/128");
        assert!(parse_proxy("proxy.local").is_err());
        assert!(parse_proxy("10.0.0.0/33").is_err());
    }
}
