//! The `peyvand` command line (P-6).

use std::net::TcpListener;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{DatabaseArgs, ServerConfig};

pub mod analyze;
pub mod audit;
pub mod create_admin;
pub mod demo_data;
pub mod import;

#[derive(Debug, Parser)]
#[command(name = "peyvand", version, about = "Peyvand smart CRM backend")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the HTTP API (and background workers).
    Serve(Box<ServerConfig>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create an administrator (prints a generated password when none is given).
    CreateAdmin(create_admin::CreateAdminArgs),
    /// Customer-base analytics over transaction files (CLV, P(alive), RFM).
    Analyze(analyze::AnalyzeCommand),
    /// Audit-log tools.
    Audit(audit::AuditCommand),
    /// Import customers, products or a purchase history from CSV or XLSX (all or nothing).
    Import(import::ImportCommand),
    /// Load a realistic Persian and English demo customer base (deterministic per seed).
    DemoData(demo_data::DemoDataArgs),
    /// Write the OpenAPI document to a file (or stdout with `-`).
    ExportOpenapi {
        #[arg(long, default_value = "openapi/v1.json")]
        out: PathBuf,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(config) => serve(*config),
        Command::Migrate(database) => {
            crate::telemetry::init(crate::config::LogFormat::Pretty);
            let pool = persistence::db::build_pool(&persistence::PoolConfig::new(database.url()))?;
            let applied = persistence::migrations::run_pending(&mut *pool.get()?)?;
            println!("applied {} migration(s)", applied.len());
            Ok(())
        }
        Command::CreateAdmin(args) => create_admin::run(args),
        Command::Analyze(command) => analyze::run(command),
        Command::Audit(command) => audit::run(command),
        Command::DemoData(args) => demo_data::run(args),
        Command::Import(command) => import::run(command),
        Command::ExportOpenapi { out } => {
            let json = serde_json::to_string_pretty(&crate::openapi::document())? + "\n";
            if out.as_os_str() == "-" {
                print!("{json}");
            } else {
                std::fs::write(&out, json)?;
            }
            Ok(())
        }
    }
}

/// On a database without users, creates the first admin from `PEYVAND_ADMIN_EMAIL` and
/// `PEYVAND_ADMIN_PASSWORD`. A generated password is printed to stdout this once; the
/// log only says that an admin was created.
fn ensure_first_admin(pool: &persistence::db::DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    let created = application::accounts::bootstrap::ensure_first_admin(
        &mut conn,
        std::env::var("PEYVAND_ADMIN_EMAIL").ok(),
        std::env::var("PEYVAND_ADMIN_PASSWORD").ok(),
    )?;
    if let Some((admin, credentials)) = created {
        tracing::info!(user_id = %admin.id.0, "created the first admin user");
        if credentials.generated {
            println!(
                "Created the first admin {}; one-time password: {}\nLog in and change it (POST /api/v1/users/me/password).",
                credentials.email, credentials.password
            );
        }
    }
    Ok(())
}

fn serve(config: ServerConfig) -> anyhow::Result<()> {
    crate::telemetry::init(config.log_format);
    let listener = TcpListener::bind(&config.bind)?;
    let state = crate::app::prepare_state(config)?;
    ensure_first_admin(&state.pool)?;
    tracing::info!(address = %listener.local_addr()?, backend = state.backend.name(), "serving");
    actix_web::rt::System::new()
        .block_on(async move { crate::app::serve(state, listener)?.await })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_show_when_the_configuration_is_printed() {
        use clap::Parser;
        use secrecy::ExposeSecret;

        let cli = Cli::try_parse_from([
            "peyvand",
            "serve",
            "--jwt-secret",
            "jwt-secret-that-must-not-leak-0123456789",
            "--metrics-token",
            "metrics-token-that-must-not-leak",
            "--log-format",
            "pretty",
        ])
        .expect("valid flags");
        let Command::Serve(config) = cli.command else {
            panic!("serve was parsed")
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("must-not-leak"), "{printed}");
        assert_eq!(config.log_format, crate::config::LogFormat::Pretty);
        let token = config.metrics_token.as_ref().expect("token");
        assert_eq!(token.expose_secret(), "metrics-token-that-must-not-leak");
    }

    #[test]
    fn an_unknown_log_format_is_refused() {
        use clap::Parser;

        assert!(Cli::try_parse_from(["peyvand", "serve", "--log-format", "xml"]).is_err());
    }
}
