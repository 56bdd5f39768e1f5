//! Exports (D-3): `POST /api/v1/exports` starts a `customers.export` job over a customer
//! search (the caller's visibility applies, as in `POST /customers/search`), and
//! `GET /api/v1/exports/{job_id}/file` streams the finished file from the database.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpResponse};
use domain::authz::Permission;
use futures_util::stream;
use persistence::jobs::{JobStatus, NewJob};
use utoipa::OpenApi;
use uuid::Uuid;

use super::jobs::{accepted, enqueue_audited, visible_job, JobResource};
use crate::auth::plumbing::transaction;
use crate::auth::Principal;
use crate::conventions::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::state::AppState;
use application::customers::export::{self, ExportCalendar, ExportFormat, ExportRequest};
use application::customers::search;
use application::jobs::{ExportPayload, ExportResult, CUSTOMER_EXPORT};

#[derive(OpenApi)]
#[openapi(
    paths(create_export, download_export),
    components(schemas(ExportRequest, ExportFormat, ExportCalendar, ExportResult))
)]
pub struct ExportsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_export).service(download_export);
}

/// Attempts of an export job; each starts the file afresh.
const EXPORT_MAX_ATTEMPTS: i32 = 3;

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
    principal.require(Permission::RecordsRead)?;
    let request = body.0;
    // Checked now so that a bad column or filter is a 422 here, not a failed job.
    let definitions = state
        .db(|conn| Ok(application::customers::definitions(conn)?))
        .await?;
    export::columns(
        request.columns.as_deref(),
        request.include_custom_fields,
        &definitions,
    )
    .map_err(ApiError::from)?;
    search::resolve(request.search(), &definitions).map_err(ApiError::from)?;
    let lang = principal.lang;
    let payload = ExportPayload {
        right_to_left: request.right_to_left.unwrap_or(lang == Lang::Fa),
        file_name: format!(
            "customers-{}.{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            request.format.format().extension()
        ),
        acting: principal.0.clone(),
        request,
    };
    let payload =
        serde_json::to_value(payload).map_err(|err| ApiError::Internal(err.to_string()))?;
    let actor = principal.audit_actor();
    let created_by = principal.id();
    let job = state
        .db(move |conn| {
            transaction(conn, |conn| {
                Ok(enqueue_audited(
                    conn,
                    &actor,
                    NewJob {
                        kind: CUSTOMER_EXPORT,
                        payload,
                        run_at: persistence::now(),
                        max_attempts: EXPORT_MAX_ATTEMPTS,
                        created_by: Some(created_by),
                    },
                )?)
            })
        })
        .await?;
    Ok(accepted(job)?)
}

/// Download an export.
///
/// The file of a finished `customers.export` job, streamed with its content type and a
/// `Content-Disposition` file name.
///
/// Needs `records:read`; only the user who started the export, or an admin
/// (`users:manage`), may download it (404 `not_found` for others, as for a job that is not
/// an export). Problems: 409 `conflict` while the export has not succeeded; 410 `gone` once
/// the file was deleted because it held a customer whose personal data was erased (export
/// again).
#[utoipa::path(
    tag = "exports",
    operation_id = "download_export",
    params(("job_id" = Uuid, Path, description = "Id of the `customers.export` job")),
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
    principal.require(Permission::RecordsRead)?;
    let job_id = job_id.into_inner();
    let file = state
        .db(move |conn| {
            let job = visible_job(conn, &principal, job_id)?;
            if job.kind != CUSTOMER_EXPORT {
                return Err(ApiError::NotFound);
            }
            if job.status()? != JobStatus::Succeeded {
                return Err(ApiError::Conflict(format!(
                    "the export is {}; download it once it has succeeded",
                    job.status
                )));
            }
            let result: ExportResult = job
                .result
                .map(|result| serde_json::from_value(result.0))
                .transpose()
                .map_err(|err| ApiError::Internal(err.to_string()))?
                .ok_or_else(|| ApiError::Internal("the export has no result".into()))?;
            // Only an erasure deletes an export's file (it held the erased customer).
            persistence::files::find(conn, result.file_id).map_err(|err| match err {
                persistence::PersistenceError::NotFound => ApiError::Gone(
                    "the file was deleted because it held a customer whose personal data was erased; export again".into(),
                ),
                other => other.into(),
            })
        })
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
