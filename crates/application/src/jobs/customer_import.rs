//! `customers.import`: reads the uploaded file kept with the job, checks every row and,
//! when none is rejected, writes them all in one transaction (see
//! `crate::customers::import`). Progress moves while rows are checked; the result is the
//! import's report. The upload is deleted and the job marked succeeded in the transaction
//! that writes the rows ([`JobContext::complete_within`]), so a worker killed after it
//! leaves a finished job and one killed before it leaves nothing written; a worker whose
//! lease ran out meanwhile rolls back instead of importing the file a second time.

use persistence::db::DbConnection;
use persistence::transaction::write_transaction;
use persistence::PersistenceError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{Format, InputSheet};
use uuid::Uuid;

use super::{connection, JobContext, JobError, JobFailure, JobHandler};
use crate::acting::Acting;
use crate::customers::import::{
    self, ColumnPlan, ImportContext, ImportOptions, Importer, BATCH_ROWS,
};

pub const CUSTOMER_IMPORT: &str = "customers.import";

/// Share of the progress bar the row checks take; writing takes the rest.
const CHECKING_SHARE: f64 = 0.8;

/// What a `customers.import` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportPayload {
    /// The upload, in `persistence::files`.
    pub file_id: Uuid,
    /// `csv` or `xlsx`.
    pub format: String,
    pub options: ImportOptions,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
    /// The business day the import was asked on, for rules such as "a birth date is not
    /// in the future".
    pub today: chrono::NaiveDate,
}

pub struct CustomerImportJob;

impl JobHandler for CustomerImportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: ImportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let sheet = read_upload(&mut conn, payload.file_id, &payload.format)?;
        let definitions = crate::customers::definitions(&mut conn)?;
        // Checked when the import was requested; only a custom field deleted since then
        // fails here.
        let plan = ColumnPlan::new(&sheet.headers, &payload.options, &definitions)
            .map_err(JobError::invalid)?;
        let mut importer = Importer::new(
            ImportContext {
                acting: payload.acting.clone(),
                options: payload.options,
                today: payload.today,
            },
            plan,
            definitions,
        );
        let started = std::time::Instant::now();
        let total = sheet.rows.len().max(1) as f64;
        let mut checked = 0;
        for batch in sheet.rows.chunks(BATCH_ROWS) {
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
            importer.add_rows(&mut conn, batch)?;
            checked += batch.len();
            ctx.set_progress(CHECKING_SHARE * checked as f64 / total)?;
        }
        let (report, writes) = importer.finish();
        let checked_in = started.elapsed();
        let result = serde_json::to_value(&report).map_err(JobError::internal)?;
        write_transaction(&mut conn, |conn| {
            if let Some(writes) = &writes {
                import::write(conn, &payload.acting, writes)?;
            }
            persistence::files::delete(conn, payload.file_id)?;
            ctx.complete_within(conn, result.clone())
        })?;
        // Phase times, so that a slow import shows whether checking or writing is slow.
        tracing::info!(
            rows = sheet.rows.len(),
            check_ms = checked_in.as_millis() as u64,
            write_ms = (started.elapsed() - checked_in).as_millis() as u64,
            "import finished"
        );
        Ok(result)
    }
}

/// The sheet of the upload kept as `file_id` in `format` (`csv` or `xlsx`).
pub(super) fn read_upload(
    conn: &mut DbConnection,
    file_id: Uuid,
    format: &str,
) -> Result<InputSheet, JobError> {
    let format = Format::from_name(format)
        .ok_or_else(|| JobError::internal(format!("unknown format {format:?}")))?;
    let bytes = persistence::files::read_all(conn, file_id).map_err(|err| match err {
        PersistenceError::NotFound => JobError::Permanent(JobFailure::for_user(
            "file_missing",
            "the uploaded file is gone: it was imported already or removed",
        )),
        other => other.into(),
    })?;
    tabular::read(&bytes, format, &import::READ_LIMITS).map_err(unreadable)
}

/// The upload is not a readable sheet: the reader's message says what to fix in the
/// file (it never holds internal text, except for an I/O error, which is logged only).
fn unreadable(err: tabular::TabularError) -> JobError {
    match err {
        tabular::TabularError::Io(io) => JobError::internal(io),
        other => JobError::Permanent(JobFailure::for_user("unreadable_file", other.to_string())),
    }
}
