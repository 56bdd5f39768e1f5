//! `customers.export`: pages through a customer search with keyset pagination (never the
//! whole table at once), streams each page's rows into the format's writer, and streams
//! the file into the database as it grows. The result names the stored file, which
//! `GET /api/v1/exports/{job_id}/file` serves.
//!
//! The file lists the customers it holds (`persistence::files`), page by page before
//! their rows are written, so that an erasure finds and deletes it. A customer erased
//! between reading a page and listing it would escape that; the page's customers are
//! therefore checked again once listed, and if one was erased meanwhile the file is
//! discarded and the attempt retried.

use domain::filter::ResolveContext;
use persistence::customers::search as customer_search;
use persistence::files::{FileWriter, NewFile, StoredFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{RowSink, WriteOptions};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{connection, JobContext, JobError, JobFailure, JobHandler};
use crate::acting::Acting;
use crate::customers::export::{self, ExportRequest};
use crate::customers::search;

pub const CUSTOMER_EXPORT: &str = "customers.export";

/// Customers read per page.
const PAGE_ROWS: usize = 500;

/// What a `customers.export` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportPayload {
    pub request: ExportRequest,
    /// Resolved from the request and its `Accept-Language`.
    pub right_to_left: bool,
    /// The download's name.
    pub file_name: String,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
}

/// The result of a `customers.export` or `orders.export` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "file_id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd",
    "file_name": "customers-20261124-101500.xlsx",
    "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "rows": 1520,
    "size_bytes": 84213,
    "download": "/api/v1/exports/0193a4e2-7c1d-7b3e-9f10-cccccccccccc/file"
}))]
pub struct ExportResult {
    pub file_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    /// Rows written: customers, orders or order lines.
    pub rows: u64,
    pub size_bytes: i64,
    /// Where to download the file.
    pub download: String,
}

/// `GET` location of an export's file.
pub fn download_location(job_id: Uuid) -> String {
    format!("/api/v1/exports/{job_id}/file")
}

pub struct CustomerExportJob;

impl JobHandler for CustomerExportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: ExportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let request = &payload.request;
        let format = request.format.format();
        let scope = payload.acting.scope();
        let mut conn = connection(ctx.pool())?;
        let fields = search::CustomerFields::load(&mut conn)?;
        let definitions = &fields.custom;
        // Both were checked when the export was requested; only a custom field deleted
        // since then fails here.
        let columns = export::columns(
            request.columns.as_deref(),
            request.include_custom_fields,
            definitions,
        )
        .map_err(JobError::invalid)?;
        // Relative dates resolve now, in the business's time zone and week.
        let calendar = crate::settings::calendar(&mut conn)?;
        let context = ResolveContext::new(persistence::now(), calendar.local());
        // The search refers to a custom field deleted since: the message names it.
        let mut search =
            search::resolve(request.search(), &fields, &context).map_err(JobError::invalid)?;
        search.limit = PAGE_ROWS;
        let total =
            customer_search::count(&mut conn, &search.criteria, search::terms(&search), &scope)
                .map_err(crate::error::AppError::from)?
                .max(1) as f64;

        let mut file = FileWriter::create(
            connection(ctx.pool())?,
            NewFile {
                purpose: persistence::files::EXPORT_RESULT,
                file_name: &payload.file_name,
                content_type: format.content_type(),
                created_by: payload.acting.user_id,
            },
        )?;
        let file_id = file.id();
        let headers: Vec<String> = columns.iter().map(export::ExportColumn::name).collect();
        let options = WriteOptions {
            right_to_left: payload.right_to_left,
            sheet_name: "Customers".to_string(),
        };
        let mut sink: Box<dyn RowSink + Send + '_> =
            tabular::writer(format, &mut file, &headers, &options).map_err(written)?;
        let dates = request.calendar.date_style();
        let mut rows: u64 = 0;
        loop {
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
            let mut records = search::fetch(&mut conn, &search, &scope)?;
            let more = records.len() > search.limit;
            records.truncate(search.limit);
            let ids: Vec<Uuid> = records.iter().map(|record| record.row.id.0).collect();
            let read_before_erasure: Vec<Uuid> = records
                .iter()
                .filter(|record| record.row.erased_at.is_none())
                .map(|record| record.row.id.0)
                .collect();
            hold_customers(&mut conn, file_id, &ids, &read_before_erasure)?;
            let tags = export::tag_names(&mut conn, &records)?;
            for record in &records {
                let cells = export::cells(record, &columns, dates, definitions, &tags)?;
                sink.write_row(&cells).map_err(written)?;
            }
            rows += records.len() as u64;
            ctx.set_progress(rows as f64 / total)?;
            match records.last() {
                Some(last) if more => search.after = Some(search.keyset_after(last)),
                _ => break,
            }
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

/// Lists `customers` as held by file `file_id` before their rows are written, so that
/// an erasure committed from now on finds the file. Of them, `read_before_erasure` were
/// read while not erased: if one has been erased since, the erasure may have looked for
/// files before this one listed it, so the file is discarded and the attempt retried.
pub(super) fn hold_customers(
    conn: &mut persistence::db::DbConnection,
    file_id: Uuid,
    customers: &[Uuid],
    read_before_erasure: &[Uuid],
) -> Result<(), JobError> {
    persistence::files::record_customers(conn, file_id, customers)?;
    let erased_since = persistence::customers::erasure::erased_among(conn, read_before_erasure)?;
    if let Some(erased) = erased_since.first() {
        persistence::files::delete(conn, file_id)?;
        return Err(JobError::Retryable(JobFailure::internal(
            "concurrent_update",
            format!("customer {erased} was erased while the export read it; starting again"),
        )));
    }
    Ok(())
}

/// Writing failed: the database behind the file (retry) or the file format itself, whose
/// message (e.g. a limit of the format) is meant for the user.
pub(super) fn written(err: tabular::TabularError) -> JobError {
    match err {
        tabular::TabularError::Io(io) => {
            JobError::Retryable(JobFailure::internal(super::STORAGE_ERROR, io))
        }
        other => JobError::Permanent(JobFailure::for_user("file_format_error", other.to_string())),
    }
}
