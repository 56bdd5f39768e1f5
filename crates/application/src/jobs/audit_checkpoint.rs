//! `audit.checkpoint`: anchors the audit chain's end every hour. It signs the newest
//! event (sequence number and hash) with the checkpoint key, stores the checkpoint in the
//! database and writes it to the anchor file beside the key, outside the database, so
//! that whoever can change the database but not the server's data directory cannot cut
//! the newest events off the chain unnoticed (see `persistence::audit`). Occurrences are
//! keyed by the hour; every process schedules the next at start and each run schedules
//! the one after.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Timelike, Utc};
use persistence::audit::Checkpoint;
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::sql_types::DbTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{connection, JobContext, JobError, JobHandler};
use crate::error::{AppError, AppResult};

pub const AUDIT_CHECKPOINT: &str = "audit.checkpoint";

/// The checkpoint key and the anchor file the checkpoints are also written to.
pub struct AuditAnchor {
    key: Vec<u8>,
    file: PathBuf,
}

impl std::fmt::Debug for AuditAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditAnchor")
            .field("key", &"[REDACTED]")
            .field("file", &self.file)
            .finish()
    }
}

/// The anchor file's form of a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
struct AnchorFile {
    seq: i64,
    event_hash: String,
    created_at: DateTime<Utc>,
    signature: String,
}

impl AuditAnchor {
    pub fn new(key: Vec<u8>, file: PathBuf) -> AuditAnchor {
        AuditAnchor { key, file }
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Signs the chain's end, stores the checkpoint and writes it to the anchor file
    /// unless the file names a later event already; answers the checkpoint.
    pub fn checkpoint(&self, conn: &mut DbConnection) -> AppResult<Option<Checkpoint>> {
        let Some(checkpoint) = persistence::audit::checkpoint(conn, &self.key)? else {
            return Ok(None);
        };
        let newer = read_anchor(&self.file)?.is_none_or(|kept| kept.seq < checkpoint.seq);
        if newer {
            write_anchor(&self.file, &checkpoint)?;
        }
        Ok(Some(checkpoint))
    }

    /// The checkpoint in the anchor file, if there is one.
    pub fn anchored(&self) -> AppResult<Option<Checkpoint>> {
        read_anchor(&self.file)
    }
}

/// The checkpoint kept in the anchor file `file`; none when there is no file yet.
pub fn read_anchor(file: &Path) -> AppResult<Option<Checkpoint>> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(AppError::Internal(format!(
                "reading the audit anchor {}: {err}",
                file.display()
            )))
        }
    };
    let kept: AnchorFile = serde_json::from_str(&text).map_err(|err| {
        AppError::Internal(format!(
            "the audit anchor {} is damaged: {err}",
            file.display()
        ))
    })?;
    Ok(Some(Checkpoint {
        seq: kept.seq,
        event_hash: kept.event_hash,
        created_at: DbTime(kept.created_at),
        signature: kept.signature,
    }))
}

/// Replaces the anchor file by writing a new one beside it and renaming it over the old,
/// so a crash leaves one or the other, never half a file.
fn write_anchor(file: &Path, checkpoint: &Checkpoint) -> AppResult<()> {
    let failed =
        |err: std::io::Error| AppError::Internal(format!("writing the audit anchor: {err}"));
    let text = serde_json::to_string(&AnchorFile {
        seq: checkpoint.seq,
        event_hash: checkpoint.event_hash.clone(),
        created_at: checkpoint.created_at.0,
        signature: checkpoint.signature.clone(),
    })
    .map_err(|err| AppError::Internal(format!("audit anchor to JSON: {err}")))?;
    let partial = file.with_extension("partial");
    let mut out = fs::File::create(&partial).map_err(failed)?;
    out.write_all(text.as_bytes()).map_err(failed)?;
    out.sync_all().map_err(failed)?;
    fs::rename(&partial, file).map_err(failed)
}

/// Schedules the checkpoint at the next full hour unless it exists; answers its start.
pub fn schedule_next(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let hour = now
        .with_minute(0)
        .and_then(|at| at.with_second(0))
        .and_then(|at| at.with_nanosecond(0))
        .unwrap_or(now);
    let run_at = hour + chrono::Duration::hours(1);
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: AUDIT_CHECKPOINT,
            payload: json!({}),
            run_at,
            max_attempts: 3,
            created_by: None,
        },
        &format!("{AUDIT_CHECKPOINT}:{}", run_at.timestamp()),
    )?;
    Ok(run_at)
}

pub struct AuditCheckpointJob(pub std::sync::Arc<AuditAnchor>);

impl JobHandler for AuditCheckpointJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let mut conn = connection(ctx.pool())?;
        let checkpoint = self.0.checkpoint(&mut conn)?;
        let next = schedule_next(&mut conn, persistence::now())?;
        Ok(json!({"seq": checkpoint.map(|checkpoint| checkpoint.seq), "next_run_at": next}))
    }
}
