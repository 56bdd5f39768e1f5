//! `reports.export`: computes a report as its `GET` would, for the user who asked (with
//! their visibility as it was then), and writes it as one row per period (and group,
//! and stage of a funnel), per group of a profitability report or per lapsed buyer into
//! a stored file that `GET /api/v1/exports/{job_id}/file` serves. The lapsed buyers are
//! read and written a page at a time, as their `GET` pages them.
//!
//! A file that names customers (a referrer, a customer of a profitability report, a
//! lapsed buyer) lists them (`persistence::files`) before their rows are written, so
//! that an erasure finds and deletes it; one erased between reading and listing
//! discards the file and retries the attempt, as for a customer export.

use persistence::files::{FileWriter, NewFile, StoredFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{RowSink, WriteOptions};

use super::customer_export::{download_location, hold_customers, written, ExportResult};
use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;
use crate::error::AppError;
use crate::reports::export::{ReportExportRequest, ReportFile};

pub const REPORT_EXPORT: &str = "reports.export";

/// Lapsed buyers read per page.
const PAGE_ROWS: i64 = 500;

/// What a `reports.export` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportExportPayload {
    pub request: ReportExportRequest,
    /// Resolved from the request and its `Accept-Language`.
    pub right_to_left: bool,
    /// The download's name.
    pub file_name: String,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
}

pub struct ReportExportJob;

/// A report that fails its own rules (checked when the export was asked for, so only a
/// change since, such as a product deleted) fails the job; anything else is retried.
fn report_failed(err: AppError) -> JobError {
    match err {
        AppError::Invalid(_) => JobError::invalid(err),
        other => other.into(),
    }
}

impl JobHandler for ReportExportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: ReportExportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let acting = &payload.acting;
        let query = payload
            .request
            .query()
            .map_err(|violations| JobError::invalid(AppError::Invalid(violations)))?;
        let mut conn = connection(ctx.pool())?;
        let mut report =
            ReportFile::open(&mut conn, acting, query, PAGE_ROWS).map_err(report_failed)?;
        // The file holds a connection of its own while it grows; pages take another only
        // while they are read.
        drop(conn);
        ctx.set_progress(0.5)?;
        let format = payload.request.format.format();
        let mut file = FileWriter::create(
            connection(ctx.pool())?,
            NewFile {
                purpose: persistence::files::EXPORT_RESULT,
                file_name: &payload.file_name,
                content_type: format.content_type(),
                created_by: acting.user_id,
            },
        )?;
        let file_id = file.id();
        let options = WriteOptions {
            right_to_left: payload.right_to_left,
            sheet_name: "Report".to_string(),
        };
        let mut sink: Box<dyn RowSink + Send + '_> =
            tabular::writer(format, &mut file, &report.headers, &options).map_err(written)?;
        let mut rows: u64 = 0;
        loop {
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
            let mut conn = connection(ctx.pool())?;
            let Some(page) = report.next_page(&mut conn, acting).map_err(report_failed)? else {
                break;
            };
            hold_customers(
                &mut conn,
                file_id,
                &page.customers.ids,
                &page.customers.read_unerased,
            )?;
            drop(conn);
            for row in &page.rows {
                sink.write_row(row).map_err(written)?;
            }
            rows += page.rows.len() as u64;
        }
        sink.finish().map_err(written)?;
        let stored: StoredFile = file.finish()?;
        serde_json::to_value(ExportResult {
            file_id: stored.id.0,
            file_name: stored.file_name,
            content_type: stored.content_type,
            rows,
            size_bytes: stored.size_bytes,
            download: download_location(ctx.job_id()),
        })
        .map_err(JobError::internal)
    }
}
