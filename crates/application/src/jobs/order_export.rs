//! `orders.export`: pages through an order search with keyset pagination within the
//! caller's visibility (never the whole table at once), writes each page's orders, or
//! their lines, into the format's writer and streams the file into the database as it
//! grows. The result names the stored file, which `GET /api/v1/exports/{job_id}/file`
//! serves.
//!
//! The file holds the customers' codes and names, so, as for a customer export, it
//! lists the customers it holds (`persistence::files`) page by page before their rows
//! are written, so that an erasure finds and deletes it; a customer erased between
//! reading a page and listing it discards the file and retries the attempt.

use std::collections::HashMap;

use domain::filter::ResolveContext;
use persistence::files::{FileWriter, NewFile, StoredFile};
use persistence::products::ProductRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{RowSink, WriteOptions};
use uuid::Uuid;

use super::customer_export::{download_location, hold_customers, written, ExportResult};
use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;
use crate::commerce::order_export::{self, CellStyle, OrderExportRequest, PageRefs};
use crate::commerce::orders::{self, OrderSearch};
use crate::search::Search;

pub const ORDER_EXPORT: &str = "orders.export";

/// Orders read per page (with their lines).
const PAGE_ROWS: usize = 500;

/// What an `orders.export` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderExportPayload {
    pub request: OrderExportRequest,
    /// Resolved from the request and its `Accept-Language`.
    pub right_to_left: bool,
    /// The download's name.
    pub file_name: String,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
}

pub struct OrderExportJob;

impl JobHandler for OrderExportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: OrderExportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let request = &payload.request;
        let acting = &payload.acting;
        let format = request.format.format();
        let mut conn = connection(ctx.pool())?;
        // Checked when the export was requested.
        let columns = order_export::columns(request.columns.as_deref(), request.layout)
            .map_err(JobError::invalid)?;
        let (settings, _) = crate::settings::current(&mut conn)?;
        let calendar = crate::settings::calendar(&mut conn)?;
        let currency = crate::settings::currency(&mut conn)?;
        // Relative dates resolve now, in the business's time zone and week.
        let context = ResolveContext::new(persistence::now(), calendar.local());
        let mut search = Search::<OrderSearch>::resolve(request.search(), &context)
            .map_err(JobError::invalid)?;
        search.limit = PAGE_ROWS;
        let total = persistence::orders::count(&mut conn, &search.criteria, &acting.scope())
            .map_err(crate::error::AppError::from)?
            .max(1) as f64;
        // The file holds a connection of its own while it grows; pages take another only
        // while they are read, so two exports never hold a small pool for their whole run.
        drop(conn);
        let style = CellStyle {
            dates: request.calendar.date_style(),
            local: calendar.local(),
            display: (format != tabular::Format::Json)
                .then_some((currency, settings.currency_display)),
        };

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
        let headers: Vec<String> = columns.iter().map(|c| style.header(*c)).collect();
        let options = WriteOptions {
            right_to_left: payload.right_to_left,
            sheet_name: "Orders".to_string(),
        };
        let mut sink: Box<dyn RowSink + Send + '_> =
            tabular::writer(format, &mut file, &headers, &options).map_err(written)?;
        let (mut orders_read, mut rows) = (0_u64, 0_u64);
        loop {
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
            let mut conn = connection(ctx.pool())?;
            let mut records = orders::search(&mut conn, acting, &search)?;
            let more = records.len() > search.limit;
            records.truncate(search.limit);
            let refs = page_refs(&mut conn, file_id, &records)?;
            drop(conn);
            for record in &records {
                for cells in order_export::rows(record, request.layout, &columns, &style, &refs)? {
                    sink.write_row(&cells).map_err(written)?;
                    rows += 1;
                }
            }
            orders_read += records.len() as u64;
            ctx.set_progress(orders_read as f64 / total)?;
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

/// The customers and products a page of orders names. The customers are listed with
/// the file first, and checked again afterwards: one erased in between discards the
/// file and retries.
fn page_refs(
    conn: &mut persistence::db::DbConnection,
    file_id: Uuid,
    records: &[persistence::orders::OrderRecord],
) -> Result<PageRefs, JobError> {
    let mut customer_ids: Vec<Uuid> = records.iter().map(|r| r.row.customer_id.0).collect();
    customer_ids.sort();
    customer_ids.dedup();
    let customers = persistence::customers::labels_of(conn, &customer_ids)?;
    let read_before_erasure: Vec<Uuid> = customers
        .iter()
        .filter(|(_, label)| !label.erased)
        .map(|(id, _)| *id)
        .collect();
    hold_customers(conn, file_id, &customer_ids, &read_before_erasure)?;
    let mut product_ids: Vec<Uuid> = records
        .iter()
        .flat_map(|r| r.lines.iter().map(|line| line.product_id.0))
        .collect();
    product_ids.sort();
    product_ids.dedup();
    let products: HashMap<Uuid, ProductRow> = persistence::products::find_many(conn, &product_ids)?
        .into_iter()
        .map(|row| (row.id.0, row))
        .collect();
    Ok(PageRefs {
        customers,
        products,
    })
}
