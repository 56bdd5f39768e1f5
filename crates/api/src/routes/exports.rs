//! Exports (D-3): `POST /api/v1/exports` starts a `customers.export` job over a customer
//! search (the caller's visibility applies, as in `POST /customers/search`),
//! `POST /api/v1/orders/exports` an `orders.export` job over an order search,
//! `POST /api/v1/leads/exports` a `leads.export` job over a lead search, and
//! `GET /api/v1/exports/{job_id}/file` streams any of their finished files from the
//! database.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpResponse};
use futures_util::stream;
use utoipa::OpenApi;
use uuid::Uuid;

use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::ApiResult;
use crate::state::AppState;
use application::commerce::order_export::{ExportLayout, OrderExportRequest};
use application::customers::export::{ExportCalendar, ExportFormat, ExportRequest};
use application::jobs::{queue, ExportResult};
use application::sales::lead_export::LeadExportRequest;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_export,
        create_order_export,
        create_lead_export,
        download_export
    ),
    components(schemas(
        ExportRequest,
        ExportFormat,
        ExportCalendar,
        ExportResult,
        OrderExportRequest,
        ExportLayout,
        LeadExportRequest
    ))
)]
pub struct ExportsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_export)
        .service(create_order_export)
        .service(create_lead_export)
        .service(download_export);
}

/// Export customers.
///
/// Writes the customers a search finds (`filter`, `sort` and `q` as `POST
/// /customers/search` takes them, within the caller's visibility) to CSV, XLSX or JSON in a
/// background `customers.export` job. Answers 202 with the job and its `Location`; once it
/// has succeeded its result (`ExportResult`) links the file for `GET
/// /exports/{job_id}/file`. Columns are named like the import's fields, so a CSV or XLSX
/// export with the default columns imports back unchanged. With `calendar: jalali` dates
/// are written as Jalali `YYYY/MM/DD`; an XLSX sheet is laid out right to left when
/// `Accept-Language` prefers Persian or `right_to_left` is true.
///
/// Needs `records:read`. The job's creation is audited (`job.create`); a retry with the
/// same `Idempotency-Key` answers the same job instead of exporting twice. Problems: 422
/// `validation_failed` for an unknown column or a bad filter or sort, checked before the
/// job is queued.
#[utoipa::path(
    tag = "exports",
    operation_id = "create_export",
    request_body = ExportRequest,
    responses((
        status = 202,
        description = "Export queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/exports")]
pub async fn create_export(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ExportRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    let request = body.0;
    let job = state
        .db(move |conn| Ok(queue::customer_export(conn, &principal, request)?))
        .await?;
    Ok(accepted(job)?)
}

/// Export orders.
///
/// Writes the orders a search finds (`filter`, `sort` and `q` as `POST /orders/search`
/// takes them, within the caller's visibility: a caller who sees only their own customers
/// exports only their orders) to CSV, XLSX or JSON in a background `orders.export` job.
/// Answers 202 with the job and its `Location`; once it has succeeded its result
/// (`ExportResult`) links the file for `GET /exports/{job_id}/file`.
///
/// `layout: orders` writes one row per order; `layout: lines` one row per order line with
/// the order's columns repeated. Columns (all of the layout's by default, or those named
/// in `columns`): `order_id`, `external_reference`, `source`, `customer_id`,
/// `customer_code`, `customer_name`, `placed_at` (RFC 3339, UTC), `placed_on` (the
/// business-local date, Jalali `YYYY/MM/DD` with `calendar: jalali`), `status`, `channel`,
/// `campaign`, `currency`, `subtotal`, `discount_total`, `total`, `refunded_total`,
/// `net_total`; and for lines `line_number`, `product_id`, `sku`, `product_name`,
/// `quantity`, `unit_price`, `line_discount`, `line_total`, `returned_quantity`,
/// `line_refunded`. Amounts are integer minor units in JSON, as everywhere in the API; in
/// CSV and XLSX they are exact decimals in the currency's major unit (IRR in toman when the
/// business setting `currency_display` is `toman`), and the header names the unit, e.g.
/// `total (toman)`. An XLSX sheet is laid out right to left when `Accept-Language` prefers
/// Persian or `right_to_left` is true.
///
/// Needs `records:read`. The job's creation is audited (`job.create`); a retry with the
/// same `Idempotency-Key` answers the same job instead of exporting twice. Problems: 422
/// `validation_failed` for an unknown or repeated column, a line column without `layout:
/// lines` (`needs_lines_layout`), or a bad filter or sort, checked before the job is
/// queued.
#[utoipa::path(
    tag = "exports",
    operation_id = "create_order_export",
    request_body = OrderExportRequest,
    responses((
        status = 202,
        description = "Export queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/orders/exports")]
pub async fn create_order_export(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<OrderExportRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    let request = body.0;
    let job = state
        .db(move |conn| Ok(queue::order_export(conn, &principal, request)?))
        .await?;
    Ok(accepted(job)?)
}

/// Export leads.
///
/// Writes the leads a search finds (`filter`, `sort` and `q` as `POST /leads/search`
/// takes them, `custom.<key>` included, within the caller's visibility: a seller who sees
/// only their own leads exports only those) to CSV, XLSX or JSON in a background
/// `leads.export` job. Answers 202 with the job and its `Location`; once it has succeeded
/// its result (`ExportResult`) links the file for `GET /exports/{job_id}/file`.
///
/// Columns (all by default, or those named in `columns`): `id`, `first_name`,
/// `last_name`, `company`, `job_title`, `phone`, `phone2`, `phone3` (E.164, the primary
/// first), `email`, `email2`, `province`, `city`, `source`, `campaign`, `language`,
/// `product_id`, `status`, `disqualified_reason`, `owner_id`, `team_id`, `description`,
/// `display_name`, `score_points`, `propensity`, `converted_customer_id`, `created_at`,
/// `updated_at` (RFC 3339, UTC), and `custom.<key>` for each lead custom field. The
/// names are the lead import's, so the file imports back. An XLSX sheet is laid out
/// right to left when `Accept-Language` prefers Persian or `right_to_left` is true.
/// A file holding leads converted into a customer is deleted when that customer's
/// personal data is erased.
///
/// Needs `records:read`. The job's creation is audited (`job.create`); a retry with the
/// same `Idempotency-Key` answers the same job instead of exporting twice. Problems: 422
/// `validation_failed` for an unknown or repeated column, or a bad filter or sort,
/// checked before the job is queued.
#[utoipa::path(
    tag = "exports",
    operation_id = "create_lead_export",
    request_body = LeadExportRequest,
    responses((
        status = 202,
        description = "Export queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/leads/exports")]
pub async fn create_lead_export(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<LeadExportRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    let request = body.0;
    let job = state
        .db(move |conn| Ok(queue::lead_export(conn, &principal, request)?))
        .await?;
    Ok(accepted(job)?)
}

/// Download an export.
///
/// The file of a finished `customers.export`, `orders.export`, `leads.export` or
/// `reports.export` job,
/// streamed with its content type and a `Content-Disposition` file name.
///
/// Needs `records:read`; only the user who started the export, or an admin
/// (`users:manage`), may download it (404 `not_found` for others, as for a job that is not
/// an export). Problems: 409 `conflict` while the export has not succeeded; 410 `gone` once
/// the file was deleted because it held a customer whose personal data was erased (export
/// again).
#[utoipa::path(
    tag = "exports",
    operation_id = "download_export",
    params(("job_id" = Uuid, Path, description = "Id of the `customers.export`, `orders.export`, `leads.export` or `reports.export` job")),
    responses(
        (status = 200, description = "The exported file", content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<Object> = "application/json")
        ), headers(("Content-Disposition" = String, description = "`attachment` with the file name"))),
        (status = 409, description = "The export has not finished", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The file was deleted by an erasure", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/exports/{job_id}/file")]
pub async fn download_export(
    state: web::Data<AppState>,
    principal: Principal,
    job_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let job_id = job_id.into_inner();
    let file = state
        .db(move |conn| Ok(queue::export_file(conn, &principal, job_id)?))
        .await?;
    let file_id = file.id.0;
    // One chunk per database round trip, so the download never sits in memory whole.
    let chunks = stream::unfold(Some(0), move |next| {
        let state = state.clone();
        async move {
            let seq = next?;
            let chunk = state
                .db(move |conn| Ok(persistence::files::chunk(conn, file_id, seq)?))
                .await;
            match chunk {
                Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), Some(seq + 1))),
                Ok(None) => None,
                Err(err) => Some((Err(err), None)),
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file.file_name.clone())],
        })
        .no_chunking(file.size_bytes.try_into().unwrap_or(0))
        .streaming(chunks))
}
