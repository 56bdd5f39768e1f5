//! `peyvand create-admin`: adds an administrator without prompting (for scripts and for
//! recovering access).

use application::accounts::bootstrap::{insert_admin, AdminCredentials};
use application::AppError;
use clap::Args;
use persistence::audit::Actor;

use crate::config::DatabaseArgs;

#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// E-mail address the admin logs in with.
    #[arg(long)]
    pub email: String,

    /// Password (at least 12 characters). Unset: one is generated and printed once.
    #[arg(long, env = "PEYVAND_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

pub fn run(args: CreateAdminArgs) -> anyhow::Result<()> {
    let credentials = AdminCredentials::new(&args.email, args.password)?;
    let pool = persistence::db::build_pool(&persistence::PoolConfig::new(args.database.url()))?;
    let mut conn = pool.get()?;
    persistence::migrations::run_pending(&mut conn)?;
    let admin = insert_admin(&mut conn, &Actor::system(), &credentials, false)
        .map_err(|err| match err {
            AppError::Conflict(_) => {
                anyhow::anyhow!("a user with e-mail {} already exists", credentials.email)
            }
            other => other.into(),
        })?
        .ok_or_else(|| anyhow::anyhow!("the admin was not created"))?;
    println!("created admin {} ({})", credentials.email, admin.id.0);
    if credentials.generated {
        println!("one-time password: {}", credentials.password);
    }
    Ok(())
}
