//! `peyvand audit verify`: walks the audit log's hash chain (D-4) and reports the first
//! broken link. Exit status 0 when the chain is intact, 1 when it is broken.

use anyhow::{bail, Context};

use crate::config::DatabaseArgs;
use application::jobs::ChainVerification;

#[derive(clap::Args, Debug)]
pub struct AuditCommand {
    #[command(subcommand)]
    pub command: AuditSubcommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AuditSubcommand {
    /// Check every event's hash and link; print the number of events checked and
    /// "chain intact", or the first broken sequence number and why (exit status 1).
    Verify(DatabaseArgs),
}

pub fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command.command {
        AuditSubcommand::Verify(database) => {
            let report = verify(&database)?;
            println!("{}", describe(&report));
            if let Some(seq) = report.first_broken_seq {
                bail!("the audit chain is broken at seq {seq}");
            }
            Ok(())
        }
    }
}

/// Reads the chain without changing anything (no migrations are applied). With the
/// checkpoint key of the data directory, the checkpoints' signatures are checked and
/// the anchor file's checkpoint too.
pub fn verify(database: &DatabaseArgs) -> anyhow::Result<ChainVerification> {
    let pool = persistence::db::build_pool(&persistence::PoolConfig {
        max_size: 1,
        ..persistence::PoolConfig::new(database.url())
    })?;
    let mut conn = pool.get().context("connecting to the database")?;
    let anchor = crate::audit_key::existing(&database.data_dir)?;
    let anchors: Vec<_> = match &anchor {
        Some(anchor) => anchor
            .anchored()
            .map_err(|err| anyhow::anyhow!("{err}"))?
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    Ok(persistence::audit::verify(
        &mut conn,
        anchor.as_ref().map(|anchor| anchor.key()),
        &anchors,
    )
    .context("reading the audit log")?
    .into())
}

/// The one-line summary printed by the command.
pub fn describe(report: &ChainVerification) -> String {
    match (report.first_broken_seq, &report.reason) {
        (Some(seq), reason) => format!(
            "{} event(s) checked; first broken link at seq {seq}: {}",
            report.events_checked,
            reason.as_deref().unwrap_or("unknown reason")
        ),
        (None, _) => match report.anchored_seq {
            Some(seq) => format!(
                "{} event(s) checked; chain intact, anchored at seq {seq}",
                report.events_checked
            ),
            None => format!("{} event(s) checked; chain intact", report.events_checked),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_the_count_and_the_broken_link() {
        let intact = ChainVerification {
            events_checked: 7,
            intact: true,
            first_broken_seq: None,
            reason: None,
            anchored_seq: None,
        };
        assert_eq!(describe(&intact), "7 event(s) checked; chain intact");
        let anchored = ChainVerification {
            anchored_seq: Some(5),
            ..intact
        };
        assert_eq!(
            describe(&anchored),
            "7 event(s) checked; chain intact, anchored at seq 5"
        );
        let broken = ChainVerification {
            events_checked: 2,
            intact: false,
            first_broken_seq: Some(3),
            reason: Some("content does not match its hash".into()),
            anchored_seq: None,
        };
        assert_eq!(
            describe(&broken),
            "2 event(s) checked; first broken link at seq 3: content does not match its hash"
        );
    }
}
