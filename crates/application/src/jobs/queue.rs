//! The job queue as callers see it: one function per job kind that checks what can be
//! checked at once (so a bad request fails now, not as a failed job), queues the job
//! with the caller's acting context and records its creation in the audit log; and
//! finding, listing and cancelling jobs. A job is visible to the user who queued it and
//! to administrators (`users:manage`); to anyone else it does not exist.

use chrono::{DateTime, NaiveDate, Utc};
use domain::authz::Permission;
use domain::filter::ResolveContext;
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::files::{self, NewFile, StoredFile};
use persistence::jobs::{Job, JobCursor, JobStatus, NewJob};
use persistence::PersistenceError;
use serde::Serialize;
use serde_json::{json, Value};
use tabular::Format;
use uuid::Uuid;

use super::{
    DuplicateScanPayload, ExportPayload, ExportResult, ImportPayload, LeadExportPayload,
    LeadImportPayload, OrderExportPayload, OrderImportPayload, ProductImportPayload,
    ReportExportPayload, AUDIT_VERIFY, CUSTOMER_EXPORT, CUSTOMER_IMPORT, DUPLICATE_SCAN,
    LEAD_EXPORT, LEAD_IMPORT, ORDER_EXPORT, ORDER_IMPORT, PRODUCT_IMPORT, REPORT_EXPORT,
};
use crate::acting::Acting;
use crate::commerce::order_export::{self, OrderExportRequest};
use crate::commerce::order_import::{OrderColumnPlan, OrderImportContext, OrderImportOptions};
use crate::commerce::orders::OrderSearch;
use crate::commerce::product_import::{self, ProductColumnPlan, ProductImportOptions};
use crate::customers::export::{self, ExportRequest};
use crate::customers::import::{ColumnPlan, ImportOptions};
use crate::customers::search;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{invalid_cursor, Cursor};
use crate::reports::export::ReportExportRequest;
use crate::sales::lead_export::{self, LeadExportRequest};
use crate::sales::lead_import::{self, LeadColumnPlan, LeadImportOptions};
use crate::search::Search;
use crate::transaction;

/// Sort order of the job listing, as recorded in its cursors.
pub const ORDER: &str = "created_at:desc";

/// Attempts of a verification job: it only reads, so a retry is always safe.
const VERIFY_MAX_ATTEMPTS: i32 = 3;
/// Attempts of a duplicate scan before it is marked failed.
const SCAN_MAX_ATTEMPTS: i32 = 3;
/// Attempts of an export job; each starts the file afresh.
const EXPORT_MAX_ATTEMPTS: i32 = 3;
/// Attempts of an import job: a retry checks every row again, so a failure caused by a
/// concurrent change (a code taken meanwhile) is reported instead of repeated forever.
const IMPORT_MAX_ATTEMPTS: i32 = 3;

/// Queues a verification of the audit log's hash chain (`audit:read`).
pub fn audit_verification(conn: &mut DbConnection, acting: &Acting) -> AppResult<Job> {
    acting.require(Permission::AuditRead)?;
    transaction(conn, |conn| {
        enqueue(conn, acting, AUDIT_VERIFY, json!({}), VERIFY_MAX_ATTEMPTS)
    })
}

/// Queues an application of the enabled retention rules now (`privacy:manage`), besides
/// the daily one.
pub fn retention_run(conn: &mut DbConnection, acting: &Acting) -> AppResult<Job> {
    acting.require(Permission::PrivacyManage)?;
    transaction(conn, |conn| {
        enqueue(
            conn,
            acting,
            super::retention_apply::RETENTION_APPLY,
            json!({"on_demand": true}),
            VERIFY_MAX_ATTEMPTS,
        )
    })
}

/// Queues a scan of the customers the caller may see for duplicates
/// (`records:delete`, the permission to merge what the scan finds).
pub fn duplicate_scan(conn: &mut DbConnection, acting: &Acting) -> AppResult<Job> {
    acting.require(Permission::RecordsDelete)?;
    let payload = to_payload(&DuplicateScanPayload {
        acting: acting.clone(),
    })?;
    transaction(conn, |conn| {
        enqueue(conn, acting, DUPLICATE_SCAN, payload, SCAN_MAX_ATTEMPTS)
    })
}

/// Queues an export of the customers a search finds (`records:read`). Its columns and
/// search are checked now. The sheet is right to left when asked, or by default when
/// the caller reads Persian.
pub fn customer_export(
    conn: &mut DbConnection,
    acting: &Acting,
    request: ExportRequest,
) -> AppResult<Job> {
    acting.require(Permission::RecordsRead)?;
    let fields = search::CustomerFields::load(conn)?;
    export::columns(
        request.columns.as_deref(),
        request.include_custom_fields,
        &fields.custom,
    )?;
    let calendar = crate::settings::calendar(conn)?;
    let context = ResolveContext::new(persistence::now(), calendar.local());
    search::resolve(request.search(), &fields, &context)?;
    let payload = to_payload(&ExportPayload {
        right_to_left: request.right_to_left.unwrap_or(acting.lang == Lang::Fa),
        file_name: format!(
            "customers-{}.{}",
            Utc::now().format("%Y%m%d-%H%M%S"),
            request.format.format().extension()
        ),
        acting: acting.clone(),
        request,
    })?;
    transaction(conn, |conn| {
        enqueue(conn, acting, CUSTOMER_EXPORT, payload, EXPORT_MAX_ATTEMPTS)
    })
}

/// Queues an export of the orders a search finds (`records:read`), within the caller's
/// visibility as in the order search. Its columns and search are checked now.
pub fn order_export(
    conn: &mut DbConnection,
    acting: &Acting,
    request: OrderExportRequest,
) -> AppResult<Job> {
    acting.require(Permission::RecordsRead)?;
    order_export::columns(request.columns.as_deref(), request.layout)?;
    let calendar = crate::settings::calendar(conn)?;
    let context = ResolveContext::new(persistence::now(), calendar.local());
    Search::<OrderSearch>::resolve(request.search(), &context)?;
    let payload = to_payload(&OrderExportPayload {
        right_to_left: request.right_to_left.unwrap_or(acting.lang == Lang::Fa),
        file_name: format!(
            "orders-{}.{}",
            Utc::now().format("%Y%m%d-%H%M%S"),
            request.format.format().extension()
        ),
        acting: acting.clone(),
        request,
    })?;
    transaction(conn, |conn| {
        enqueue(conn, acting, ORDER_EXPORT, payload, EXPORT_MAX_ATTEMPTS)
    })
}

/// Queues an export of the leads a search finds (`records:read`), within the caller's
/// visibility. Columns and search (with the lead custom fields) are checked now.
pub fn lead_export(
    conn: &mut DbConnection,
    acting: &Acting,
    request: LeadExportRequest,
) -> AppResult<Job> {
    acting.require(Permission::RecordsRead)?;
    let definitions = crate::sales::leads::definitions(conn)?;
    lead_export::columns(request.columns.as_deref(), &definitions)?;
    let calendar = crate::settings::calendar(conn)?;
    let context = ResolveContext::new(persistence::now(), calendar.local());
    crate::sales::leads::resolve_search(request.search(), &definitions, &context)?;
    let payload = to_payload(&LeadExportPayload {
        right_to_left: request.right_to_left.unwrap_or(acting.lang == Lang::Fa),
        file_name: format!(
            "leads-{}.{}",
            Utc::now().format("%Y%m%d-%H%M%S"),
            request.format.format().extension()
        ),
        acting: acting.clone(),
        request,
    })?;
    transaction(conn, |conn| {
        enqueue(conn, acting, LEAD_EXPORT, payload, EXPORT_MAX_ATTEMPTS)
    })
}

/// Queues a report as a file (`records:read`), over the caller's visibility as in the
/// report's `GET`. Its parameters are checked now, against the report and by its rules.
pub fn report_export(
    conn: &mut DbConnection,
    acting: &Acting,
    request: ReportExportRequest,
) -> AppResult<Job> {
    acting.require(Permission::RecordsRead)?;
    request
        .query()
        .map_err(AppError::Invalid)?
        .check(conn, acting)?;
    let payload = to_payload(&ReportExportPayload {
        right_to_left: request.right_to_left.unwrap_or(acting.lang == Lang::Fa),
        file_name: format!(
            "{}-report-{}.{}",
            request.report.as_str(),
            Utc::now().format("%Y%m%d-%H%M%S"),
            request.format.format().extension()
        ),
        acting: acting.clone(),
        request,
    })?;
    transaction(conn, |conn| {
        enqueue(conn, acting, REPORT_EXPORT, payload, EXPORT_MAX_ATTEMPTS)
    })
}

/// An uploaded spreadsheet to import.
#[derive(Debug, Clone, Copy)]
pub struct ImportFile<'a> {
    pub file_name: &'a str,
    pub format: Format,
    pub bytes: &'a [u8],
    /// The column headers read from the file.
    pub headers: &'a [String],
}

/// Queues an import of `upload` (`records:import`): the mapping is checked against the
/// file's headers now, and the file is kept in the database for the job. `today` is the
/// business day the import was asked on.
pub fn customer_import(
    conn: &mut DbConnection,
    acting: &Acting,
    upload: ImportFile<'_>,
    options: ImportOptions,
    today: NaiveDate,
) -> AppResult<Job> {
    acting.require(Permission::RecordsImport)?;
    let definitions = crate::customers::definitions(conn)?;
    ColumnPlan::new(upload.headers, &options, &definitions)?;
    transaction(conn, |conn| {
        let file = store_upload(conn, acting, &upload)?;
        let payload = to_payload(&ImportPayload {
            file_id: file.id.0,
            format: upload.format.extension().to_string(),
            options,
            acting: acting.clone(),
            today,
        })?;
        enqueue(conn, acting, CUSTOMER_IMPORT, payload, IMPORT_MAX_ATTEMPTS)
    })
}

/// Queues an import of a purchase history (`records:import`): the mapping and options
/// are checked against the file's headers now, and the file is kept for the job.
pub fn order_import(
    conn: &mut DbConnection,
    acting: &Acting,
    upload: ImportFile<'_>,
    options: OrderImportOptions,
) -> AppResult<Job> {
    acting.require(Permission::RecordsImport)?;
    let mut context = OrderImportContext::load(conn, acting.clone(), options)?;
    OrderColumnPlan::new(upload.headers, &mut context)?;
    transaction(conn, |conn| {
        let file = store_upload(conn, acting, &upload)?;
        let payload = to_payload(&OrderImportPayload {
            file_id: file.id.0,
            format: upload.format.extension().to_string(),
            options: context.options.clone(),
            acting: acting.clone(),
        })?;
        enqueue(conn, acting, ORDER_IMPORT, payload, IMPORT_MAX_ATTEMPTS)
    })
}

/// Keeps an import's upload in the database for its job.
fn store_upload(
    conn: &mut DbConnection,
    acting: &Acting,
    upload: &ImportFile<'_>,
) -> AppResult<StoredFile> {
    Ok(files::store(
        conn,
        NewFile {
            purpose: files::IMPORT_UPLOAD,
            file_name: upload.file_name,
            content_type: upload.format.content_type(),
            created_by: acting.user_id,
        },
        upload.bytes,
    )?)
}

/// Queues an import of products from `upload` (`records:import` and `crm:configure`):
/// the mapping is checked against the file's headers now, and the file is kept in the
/// database for the job.
pub fn product_import(
    conn: &mut DbConnection,
    acting: &Acting,
    upload: ImportFile<'_>,
    options: ProductImportOptions,
) -> AppResult<Job> {
    product_import::require(acting)?;
    ProductColumnPlan::new(upload.headers, &options)?;
    transaction(conn, |conn| {
        let file = store_upload(conn, acting, &upload)?;
        let payload = to_payload(&ProductImportPayload {
            file_id: file.id.0,
            format: upload.format.extension().to_string(),
            options,
            acting: acting.clone(),
        })?;
        enqueue(conn, acting, PRODUCT_IMPORT, payload, IMPORT_MAX_ATTEMPTS)
    })
}

/// Queues a lead import of `upload` (`records:import` and `records:write`): the mapping
/// is checked against the file's headers and the lead custom fields now, the file kept
/// with the job.
pub fn lead_import(
    conn: &mut DbConnection,
    acting: &Acting,
    upload: ImportFile<'_>,
    options: LeadImportOptions,
) -> AppResult<Job> {
    lead_import::require(acting)?;
    LeadColumnPlan::new(
        upload.headers,
        &options,
        &crate::sales::leads::definitions(conn)?,
    )?;
    transaction(conn, |conn| {
        let file = store_upload(conn, acting, &upload)?;
        let payload = to_payload(&LeadImportPayload {
            file_id: file.id.0,
            format: upload.format.extension().to_string(),
            options,
            acting: acting.clone(),
        })?;
        enqueue(conn, acting, LEAD_IMPORT, payload, IMPORT_MAX_ATTEMPTS)
    })
}

/// A job the caller may see (`jobs:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Job> {
    acting.require(Permission::JobsRead)?;
    visible(conn, acting, id)
}

/// The cursor after `job` in [`ORDER`].
pub fn cursor_after(job: &Job) -> Cursor {
    Cursor::new(
        ORDER,
        vec![json!(persistence::sql_types::sqlite_timestamp(
            &job.created_at.0
        ))],
        job.id.0,
    )
}

/// The jobs the caller queued, newest first (`jobs:read`): `fetch` rows after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    fetch: i64,
) -> AppResult<Vec<Job>> {
    acting.require(Permission::JobsRead)?;
    let after = cursor
        .map(|cursor| cursor.keyset(ORDER))
        .transpose()?
        .map(|keyset| job_cursor(&keyset.values, keyset.id))
        .transpose()?;
    let user = acting.user_id.unwrap_or_default();
    Ok(persistence::jobs::list_created_by(
        conn, user, after, fetch,
    )?)
}

/// The keyset of a job-listing cursor: the creation time of the last job seen.
fn job_cursor(values: &[Value], id: Uuid) -> AppResult<JobCursor> {
    let created_at = match values {
        [Value::String(at)] => DateTime::parse_from_rfc3339(at).ok(),
        _ => None,
    };
    created_at
        .map(|at| JobCursor {
            created_at: at.with_timezone(&Utc),
            id,
        })
        .ok_or_else(invalid_cursor)
}

/// Cancels a job the caller may see (`jobs:read`): a queued job will not run; a running
/// one is told to stop. A finished job cannot be cancelled (a conflict).
pub fn cancel(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Job> {
    acting.require(Permission::JobsRead)?;
    let before = visible(conn, acting, id)?;
    transaction(conn, |conn| {
        let job = persistence::jobs::cancel(conn, id)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "job.cancel",
                resource_type: "job",
                resource_id: Some(id.to_string()),
                changes: Some(json!({"status": {"before": before.status, "after": job.status}})),
            },
        )?;
        Ok(job)
    })
}

/// The file of a finished export (of customers, orders, leads or a report) the caller may see
/// (`records:read`). An export that has not succeeded is a conflict; a file deleted by
/// an erasure is gone.
pub fn export_file(
    conn: &mut DbConnection,
    acting: &Acting,
    job_id: Uuid,
) -> AppResult<StoredFile> {
    acting.require(Permission::RecordsRead)?;
    let job = visible(conn, acting, job_id)?;
    if ![CUSTOMER_EXPORT, ORDER_EXPORT, LEAD_EXPORT, REPORT_EXPORT].contains(&job.kind.as_str()) {
        return Err(AppError::NotFound);
    }
    if job.status()? != JobStatus::Succeeded {
        return Err(AppError::Conflict(format!(
            "the export is {}; download it once it has succeeded",
            job.status
        )));
    }
    let result: ExportResult = job
        .result
        .map(|result| serde_json::from_value(result.0))
        .transpose()
        .map_err(|err| AppError::Internal(err.to_string()))?
        .ok_or_else(|| AppError::Internal("the export has no result".into()))?;
    // Only an erasure deletes an export's file (it held the erased customer).
    files::find(conn, result.file_id).map_err(|err| match err {
        PersistenceError::NotFound => AppError::Gone(
            "the file was deleted because it held a customer whose personal data was erased; export again".into(),
        ),
        other => other.into(),
    })
}

/// A job its creator or an administrator asks for; anyone else gets
/// [`AppError::NotFound`], so job ids cannot be probed.
fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Job> {
    let job = persistence::jobs::find(conn, id)?.ok_or(AppError::NotFound)?;
    let own = job
        .created_by
        .is_some_and(|creator| Some(creator.0) == acting.user_id);
    if own || acting.can(Permission::UsersManage) {
        Ok(job)
    } else {
        Err(AppError::NotFound)
    }
}

fn to_payload(payload: &impl Serialize) -> AppResult<Value> {
    serde_json::to_value(payload).map_err(|err| AppError::Internal(err.to_string()))
}

/// Queues a job for the caller inside their transaction and records its creation.
pub(crate) fn enqueue(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: &str,
    payload: Value,
    max_attempts: i32,
) -> AppResult<Job> {
    let job = persistence::jobs::enqueue(
        conn,
        NewJob {
            kind,
            payload,
            run_at: persistence::now(),
            max_attempts,
            created_by: acting.user_id,
        },
    )?;
    audit::record(
        conn,
        &acting.audit_actor(),
        NewAuditEvent {
            action: "job.create",
            resource_type: "job",
            resource_id: Some(job.id.0.to_string()),
            changes: Some(json!({"kind": {"before": null, "after": job.kind}})),
        },
    )?;
    Ok(job)
}
