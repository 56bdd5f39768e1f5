//! `reports.export`: computes a report as its `GET` would, for the user who asked (with
//! their visibility as it was then), and writes it as one row per period (and group)
//! into a stored file that `GET /api/v1/exports/{job_id}/file` serves. A report sums
//! orders and names no customer, so the file lists none for erasure.

use persistence::files::{FileWriter, NewFile, StoredFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{RowSink, WriteOptions};

use super::customer_export::{download_location, written, ExportResult};
use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;
use crate::reports::export::{
    cohort_table, kpi_table, sales_table, ReportExportRequest, ReportKind,
};

pub const REPORT_EXPORT: &str = "reports.export";

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

impl JobHandler for ReportExportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: ReportExportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let request = &payload.request;
        let mut conn = connection(ctx.pool())?;
        let table = match request.report {
            ReportKind::Sales => sales_table(
                &crate::reports::sales(
                    &mut conn,
                    &payload.acting,
                    request.range(),
                    request.group_by,
                )
                .map_err(JobError::invalid)?,
            ),
            ReportKind::Kpis => kpi_table(
                &crate::reports::kpis(&mut conn, &payload.acting, request.range())
                    .map_err(JobError::invalid)?,
            ),
            ReportKind::Cohorts => cohort_table(
                &crate::reports::cohorts(&mut conn, &payload.acting, request.range())
                    .map_err(JobError::invalid)?,
            ),
        };
        drop(conn);
        ctx.set_progress(0.5)?;
        let format = request.format.format();
        let mut file = FileWriter::create(
            connection(ctx.pool())?,
            NewFile {
                purpose: persistence::files::EXPORT_RESULT,
                file_name: &payload.file_name,
                content_type: format.content_type(),
                created_by: payload.acting.user_id,
            },
        )?;
        let options = WriteOptions {
            right_to_left: payload.right_to_left,
            sheet_name: "Report".to_string(),
        };
        let mut sink: Box<dyn RowSink + Send + '_> =
            tabular::writer(format, &mut file, &table.headers, &options).map_err(written)?;
        for row in &table.rows {
            sink.write_row(row).map_err(written)?;
        }
        sink.finish().map_err(written)?;
        let stored: StoredFile = file.finish()?;
        serde_json::to_value(ExportResult {
            file_id: stored.id.0,
            file_name: stored.file_name,
            content_type: stored.content_type,
            rows: table.rows.len() as u64,
            size_bytes: stored.size_bytes,
            download: download_location(ctx.job_id()),
        })
        .map_err(JobError::internal)
    }
}
