//! `leads.export`: pages through a lead search with keyset pagination within the
//! caller's visibility (never the whole table at once), writes each page's leads into
//! the format's writer and streams the file into the database as it grows. The result
//! names the stored file, which `GET /api/v1/exports/{job_id}/file` serves.
//!
//! A lead is personal data, and a converted lead belongs to its customer's: the file
//! lists the customers its converted leads became (`persistence::files`), page by page
//! before their rows are written, so that the customer's erasure finds and deletes it,
//! as for a customer export.

use domain::filter::ResolveContext;
use persistence::files::{FileWriter, NewFile, StoredFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{RowSink, WriteOptions};
use uuid::Uuid;

use super::customer_export::{download_location, hold_customers, written, ExportResult};
use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;
use crate::sales::lead_export::{self, LeadExportRequest};
use crate::sales::leads;

pub const LEAD_EXPORT: &str = "leads.export";

/// Leads read per page.
const PAGE_ROWS: usize = 500;

/// What a `leads.export` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeadExportPayload {
    pub request: LeadExportRequest,
    /// Resolved from the request and its `Accept-Language`.
    pub right_to_left: bool,
    /// The download's name.
    pub file_name: String,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
}

pub struct LeadExportJob;

impl JobHandler for LeadExportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: LeadExportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let request = &payload.request;
        let acting = &payload.acting;
        let format = request.format.format();
        let mut conn = connection(ctx.pool())?;
        let definitions = leads::definitions(&mut conn)?;
        // Both were checked when the export was requested; only a custom field deleted
        // since then fails here, with a message naming it.
        let columns = lead_export::columns(request.columns.as_deref(), &definitions)
            .map_err(JobError::invalid)?;
        // Relative dates resolve now, in the business's time zone and week.
        let calendar = crate::settings::calendar(&mut conn)?;
        let context = ResolveContext::new(persistence::now(), calendar.local());
        let mut search = leads::resolve_search(request.search(), &definitions, &context)
            .map_err(JobError::invalid)?;
        search.limit = PAGE_ROWS;
        let total = leads::count(&mut conn, acting, &search)?.max(1) as f64;
        // The file holds a connection of its own while it grows; pages take another only
        // while they are read, so two exports never hold a small pool for their whole run.
        drop(conn);

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
        let headers: Vec<String> = columns.iter().map(|column| column.name()).collect();
        let options = WriteOptions {
            right_to_left: payload.right_to_left,
            sheet_name: "Leads".to_string(),
        };
        let mut sink: Box<dyn RowSink + Send + '_> =
            tabular::writer(format, &mut file, &headers, &options).map_err(written)?;
        let mut rows: u64 = 0;
        loop {
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
            let mut conn = connection(ctx.pool())?;
            let mut page = leads::search(&mut conn, acting, &search)?;
            let more = page.len() > search.limit;
            page.truncate(search.limit);
            let mut customers: Vec<Uuid> = page
                .iter()
                .flat_map(|lead| [lead.converted_customer_id, lead.converted_organization_id])
                .flatten()
                .map(|id| id.0)
                .collect();
            customers.sort();
            customers.dedup();
            let labels = persistence::customers::labels_of(&mut conn, &customers)?;
            let read_before_erasure: Vec<Uuid> = labels
                .iter()
                .filter(|(_, label)| !label.erased)
                .map(|(id, _)| *id)
                .collect();
            hold_customers(&mut conn, file_id, &customers, &read_before_erasure)?;
            drop(conn);
            for lead in &page {
                sink.write_row(&lead_export::cells(lead, &columns)?)
                    .map_err(written)?;
            }
            rows += page.len() as u64;
            ctx.set_progress(rows as f64 / total)?;
            match page.last() {
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
