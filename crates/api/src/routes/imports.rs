//! Imports (D-1): `POST /api/v1/imports` takes a CSV or XLSX file of customers,
//! `POST /api/v1/products/imports` one of products and `POST /api/v1/leads/imports` one
//! of leads, with a column mapping. A dry run checks every row and answers the report at
//! once; a real run keeps the file in the database and answers 202 with a
//! `customers.import`, `products.import` or `leads.import` job whose result is the same
//! report. Either way an import is all or nothing.

use actix_multipart::Multipart;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::authz::Permission;
use domain::text::{check_text, TextKind};
use futures_util::StreamExt;
use persistence::db::DbConnection;
use persistence::jobs::Job;
use serde::de::DeserializeOwned;
use tabular::{Format, InputSheet};
use utoipa::{OpenApi, ToSchema};

use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::json_body::{self, body_limit, MULTIPART_FORM_DATA};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use application::commerce::order_import::{self, AmountsIn, OrderImportOptions, OrderImportReport};
use application::commerce::product_import::{self, ProductImportMode, ProductImportOptions};
use application::customers::import::{
    self, ColumnUse, ImportContext, ImportMode, ImportOptions, ImportOutcome, ImportReport,
    MatchOn, RejectedRow, RowError,
};
use application::jobs::queue::{self, ImportFile};
use application::sales::lead_import::{self, LeadImportOptions};

#[derive(OpenApi)]
#[openapi(
    paths(
        create_import,
        create_product_import,
        create_order_import,
        create_lead_import
    ),
    components(schemas(
        ImportUpload,
        ProductImportUpload,
        LeadImportUpload,
        LeadImportOptions,
        OrderImportUpload,
        OrderImportOptions,
        OrderImportReport,
        AmountsIn,
        ProductImportOptions,
        ProductImportMode,
        ImportOptions,
        ImportMode,
        MatchOn,
        ImportReport,
        ImportOutcome,
        ColumnUse,
        RejectedRow,
        RowError
    ))
)]
pub struct ImportsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_import)
        .service(create_product_import)
        .service(create_order_import)
        .service(create_lead_import);
}

/// The parts of an import request.
#[derive(Debug, ToSchema)]
pub struct ImportUpload {
    /// The spreadsheet: CSV (UTF-8; `,`, `;` or tab separated) or XLSX (first visible
    /// sheet). The format comes from the part's `Content-Type` (`text/csv`,
    /// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`) or else from
    /// the file name's extension. The first non-empty row holds the column headers.
    #[schema(value_type = String, format = Binary)]
    pub file: UploadedFile,
    /// How to read the file; all defaults when left out.
    pub options: Option<ImportOptions>,
}

/// The parts of a product import request.
#[derive(Debug, ToSchema)]
pub struct ProductImportUpload {
    /// The spreadsheet: CSV (UTF-8; `,`, `;` or tab separated) or XLSX (first visible
    /// sheet), its format from the part's `Content-Type` or else from the file name's
    /// extension. The first non-empty row holds the column headers.
    #[schema(value_type = String, format = Binary)]
    pub file: UploadedFile,
    /// How to read the file; all defaults when left out.
    pub options: Option<ProductImportOptions>,
}

/// The parts of a lead import request.
#[derive(Debug, ToSchema)]
pub struct LeadImportUpload {
    /// The spreadsheet, as for `POST /imports`: CSV or XLSX, headers in the first
    /// non-empty row.
    #[schema(value_type = String, format = Binary)]
    pub file: UploadedFile,
    /// How to read the file; all defaults when left out.
    pub options: Option<LeadImportOptions>,
}

/// The parts of a purchase-history import request.
#[derive(Debug, ToSchema)]
pub struct OrderImportUpload {
    /// The spreadsheet, as for `POST /imports`: CSV or XLSX, headers in the first
    /// non-empty row.
    #[schema(value_type = String, format = Binary)]
    pub file: UploadedFile,
    /// How to read the file; all defaults when left out.
    pub options: Option<OrderImportOptions>,
}

/// An uploaded file part.
#[derive(Debug)]
pub struct UploadedFile {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

impl UploadedFile {
    /// The format named by the part's content type, else by the file name's extension.
    fn format(&self) -> Option<Format> {
        let by_type = match self.content_type.as_deref() {
            Some("text/csv" | "application/csv" | "text/comma-separated-values") => {
                Some(Format::Csv)
            }
            Some(xlsx) if xlsx == Format::Xlsx.content_type() => Some(Format::Xlsx),
            _ => None,
        };
        by_type
            .or_else(|| {
                let (_, extension) = self.file_name.as_deref()?.rsplit_once('.')?;
                Format::from_name(extension)
            })
            .filter(|format| *format != Format::Json)
    }
}

/// Reads the `file` and `options` parts (the options of the import at hand), refusing
/// (413) an upload over the server's upload limit as soon as it is exceeded.
async fn read_upload<O: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<(UploadedFile, Option<O>)> {
    json_body::require_content_type(req, &[MULTIPART_FORM_DATA])?;
    let limit = body_limit(req);
    let mut multipart = Multipart::new(req.headers(), payload);
    let (mut file, mut options, mut received) = (None, None, 0_usize);
    while let Some(part) = multipart.next().await {
        let mut part = part.map_err(malformed)?;
        let name = part.name().unwrap_or_default().to_string();
        let file_name = part
            .content_disposition()
            .and_then(|disposition| disposition.get_filename())
            .map(str::to_string);
        let content_type = part
            .content_type()
            .map(|mime| mime.essence_str().to_string());
        let mut bytes = BytesMut::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(malformed)?;
            received += chunk.len();
            if received > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => {
                // The file name is stored with the upload and shown in job listings:
                // single-line, so that no control or bidi character can disguise it.
                if let Some(violation) = file_name
                    .as_deref()
                    .and_then(|name| check_text(name, TextKind::SingleLine))
                {
                    return Err(ApiError::Validation(vec![violation.at("file")]));
                }
                file = Some(UploadedFile {
                    file_name,
                    content_type,
                    bytes: bytes.freeze(),
                })
            }
            "options" => options = Some(options_of(&bytes)?),
            other => {
                return Err(ApiError::field(
                    json_body::escape_forbidden(other),
                    "unknown_field",
                    "the parts are `file` and `options`",
                ))
            }
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::field(
            "file",
            "required",
            "send the spreadsheet as the `file` part",
        )
    })?;
    Ok((file, options))
}

fn malformed(err: actix_multipart::MultipartError) -> ApiError {
    match err {
        actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::Malformed(format!("the multipart body could not be read: {other}")),
    }
}

/// The `options` part, with problems reported under `options.…`.
fn options_of<O: DeserializeOwned>(bytes: &[u8]) -> ApiResult<O> {
    json_body::parse_json(bytes).map_err(|err| match err {
        ApiError::Validation(violations) => ApiError::Validation(
            violations
                .into_iter()
                .map(|mut violation| {
                    violation.field = match violation.field.as_str() {
                        "body" => "options".to_string(),
                        field => format!("options.{field}"),
                    };
                    violation
                })
                .collect(),
        ),
        other => other,
    })
}

/// The format of an uploaded spreadsheet; anything but CSV and XLSX is refused.
fn spreadsheet_format(file: &UploadedFile) -> ApiResult<Format> {
    file.format().ok_or_else(|| {
        ApiError::field(
            "file",
            "unsupported_format",
            "the file must be CSV (text/csv, .csv) or XLSX (.xlsx)",
        )
    })
}

/// Reads the spreadsheet off the async executor; a file that cannot be read is a 422 on
/// `file` naming the row and column where there is one.
async fn read_sheet(bytes: Bytes, format: Format) -> ApiResult<InputSheet> {
    web::block(move || tabular::read(&bytes, format, &import::READ_LIMITS))
        .await?
        .map_err(|err| ApiError::field("file", err.code(), err.to_string()))
}

/// Keeps `file` for an import job that `queue` makes of it (answering 202 with the
/// job); a file sent without a name is called `<default_name>.<format>`.
async fn queue_upload(
    state: &AppState,
    file: UploadedFile,
    format: Format,
    sheet: InputSheet,
    default_name: &'static str,
    queue: impl FnOnce(&mut DbConnection, ImportFile<'_>) -> ApiResult<Job> + Send + 'static,
) -> ApiResult<HttpResponse> {
    let file_name = file
        .file_name
        .unwrap_or_else(|| format!("{default_name}.{format}"));
    let bytes = file.bytes;
    let job = state
        .db(move |conn| {
            let upload = ImportFile {
                file_name: &file_name,
                format,
                bytes: &bytes,
                headers: &sheet.headers,
            };
            queue(conn, upload)
        })
        .await?;
    accepted(job)
}

/// Import customers from a spreadsheet.
///
/// Send `multipart/form-data` with the file as the `file` part (CSV or XLSX) and,
/// optionally, the `ImportOptions` as a JSON `options` part. Columns are mapped to customer
/// fields by `options.mapping` or, without one, by header names equal to field names (the
/// headers of an export): every scalar customer field, `phone`, `mobile`,
/// `phone2`…`phone10`, `fax`, `email`, `email2`…, `province`, `city`, `address`,
/// `postal_code`, `po_box` (the primary address), `tag_names` (existing tags, comma
/// separated) and `custom.<key>`. Persian digits are accepted everywhere, phone numbers in
/// any usual Iranian form, and dates as ISO (`1990-03-21`) or Jalali (`1369/01/01`). Empty
/// cells leave a field as it is. With `mode: upsert` rows update the customer they match on
/// `match_on`.
///
/// Every row goes through the same rules as `POST /customers`, plus duplicates within the
/// file (the same code, national code or match key twice) and codes or national codes
/// already taken by other customers.
///
/// **All or nothing:** if any row is rejected, nothing is written and the report lists
/// every rejected row with its row number, the customer field, the source column and the
/// rule broken. With `dry_run: true` the report comes back at once (200) and nothing is
/// ever written. Otherwise the answer is 202 with a `customers.import` job: its progress
/// moves from 0 to 1 while rows are checked and written, and its result is the report
/// (`outcome` `imported` or `rejected`).
///
/// Needs `records:import` (admins, managers and marketing); updated customers must be
/// within the caller's record visibility. The job's creation is audited (`job.create`), and
/// so is every customer written; a retry with the same `Idempotency-Key` answers the same
/// job instead of importing twice.
///
/// Problems: 413 `payload_too_large` over `PEYVAND_MAX_UPLOAD_BYTES`; 415 when the body is
/// not multipart; 422 `validation_failed` for a missing `file` part (`required`), a file
/// that is neither CSV nor XLSX (`unsupported_format`) or cannot be read (with the row and
/// column), bad `options` (under `options.…`), or a mapping that does not fit the file.
#[utoipa::path(
    tag = "imports",
    operation_id = "create_import",
    request_body(content(
        (ImportUpload = "multipart/form-data",
            encoding(("options" = (content_type = "application/json"))),
            // The `file` part holds the spreadsheet itself: here a CSV file's text.
            example = json!({
                "file": "نام,نام خانوادگی,موبایل,کد ملی,تاریخ تولد\nمریم,احمدی,۰۹۱۲۳۴۵۶۷۸۹,۰۰۱۲۳۴۵۶۷۹,۱۳۶۹/۰۱/۰۱\nرضا,کریمی,09191112233,0088776654,1365/07/15\n",
                "options": {
                    "mapping": {"نام": "first_name", "نام خانوادگی": "last_name", "موبایل": "mobile", "کد ملی": "national_code", "تاریخ تولد": "birth_date"},
                    "kind": "person",
                    "mode": "upsert",
                    "match_on": "national_code",
                    "dry_run": true
                }
            }))
    )),
    responses(
        (status = 200, description = "Dry run: the per-row report; nothing was written", body = ImportReport),
        (status = 202, description = "Import queued; follow `Location` for its progress and report", body = JobResource,
            headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))),
        (status = 413, description = "The upload is larger than the server accepts (`PEYVAND_MAX_UPLOAD_BYTES`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `multipart/form-data`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad options, an unreadable file (`errors[0].field` is `file`, with the row and column), or a mapping that does not fit the file", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/imports")]
pub async fn create_import(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsImport)?;
    let (file, options) = read_upload::<ImportOptions>(&req, payload).await?;
    let format = spreadsheet_format(&file)?;
    let options = options.unwrap_or_default();
    let sheet = read_sheet(file.bytes.clone(), format).await?;
    let today = state.today().await?;
    if options.dry_run {
        let context = ImportContext {
            acting: principal.0.clone(),
            today,
            options,
        };
        let report = state
            .db(move |conn| Ok(import::dry_run(conn, context, &sheet)?))
            .await?;
        return Ok(HttpResponse::Ok().json(report));
    }
    queue_upload(
        &state,
        file,
        format,
        sheet,
        "import",
        move |conn, upload| {
            Ok(queue::customer_import(
                conn, &principal, upload, options, today,
            )?)
        },
    )
    .await
}

/// Import products from a spreadsheet.
///
/// Send `multipart/form-data` with the file as the `file` part (CSV or XLSX) and,
/// optionally, the `ProductImportOptions` as a JSON `options` part, exactly as for `POST
/// /imports`. Columns are mapped to product fields by `options.mapping` or, without one, by
/// header names equal to field names: `sku` (required: it identifies each product),
/// `name_fa` (the product's `name`), `name_en`, `description`, `category` (a category's
/// name, or its path from the root such as `نوشیدنی/چای`), `unit_price` and `unit_cost`
/// (in the major unit of the product's currency, e.g. rials for IRR or `19.99` dollars,
/// with Persian digits and thousands separators accepted), `currency` (ISO 4217; the
/// business currency by default) and `active` (`true`/`false`, `yes`/`no`, `بله`/`خیر`).
/// With `mode: upsert` a row whose SKU is in the catalogue updates that product and empty
/// cells leave its fields as they are; with `mode: create` (the default) such a row is
/// rejected.
///
/// Every row goes through the same rules as `POST /products`, plus a SKU twice in the file
/// (`duplicate_in_file`), a SKU already taken in `create` mode (`already_exists`), a
/// category that does not exist (`not_found`), an amount that cannot be read
/// (`invalid_number`, `too_precise`, `out_of_range`) and a new product without a unit price
/// (`required`).
///
/// **All or nothing:** if any row is rejected, nothing is written and the report lists
/// every rejected row with its row number, the product field, the source column and the
/// rule broken. With `dry_run: true` the report comes back at once (200) and nothing is
/// ever written. Otherwise the answer is 202 with a `products.import` job whose result is
/// the report (`outcome` `imported` or `rejected`).
///
/// Needs `records:import` and `crm:configure` (the permission every catalogue change
/// needs), so admins and managers. The job's creation is audited (`job.create`), and so is
/// every product written (`product.create`, `product.update`); a retry with the same
/// `Idempotency-Key` answers the same job instead of importing twice.
///
/// Problems: 413 `payload_too_large` over `PEYVAND_MAX_UPLOAD_BYTES`; 415 when the body is
/// not multipart; 422 `validation_failed` for a missing `file` part (`required`), a file
/// that is neither CSV nor XLSX (`unsupported_format`) or cannot be read (with the row and
/// column), bad `options` (under `options.…`), or a mapping that does not fit the file
/// (including one without a `sku` column).
#[utoipa::path(
    tag = "imports",
    operation_id = "create_product_import",
    request_body(content(
        (ProductImportUpload = "multipart/form-data",
            encoding(("options" = (content_type = "application/json"))),
            // The `file` part holds the spreadsheet itself: here a CSV file's text.
            example = json!({
                "file": "کد کالا,نام,قیمت\nTEA-۵۰۰,چای سیاه ۵۰۰ گرمی,\"۱٬۸۵۰٬۰۰۰\"\nCUP-12,فنجان,950000\n",
                "options": {
                    "mapping": {"کد کالا": "sku", "نام": "name_fa", "قیمت": "unit_price"},
                    "mode": "upsert",
                    "dry_run": true
                }
            }))
    )),
    responses(
        (status = 200, description = "Dry run: the per-row report; nothing was written", body = ImportReport),
        (status = 202, description = "Import queued; follow `Location` for its progress and report", body = JobResource,
            headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))),
        (status = 413, description = "The upload is larger than the server accepts (`PEYVAND_MAX_UPLOAD_BYTES`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `multipart/form-data`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad options, an unreadable file (`errors[0].field` is `file`, with the row and column), or a mapping that does not fit the file", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/products/imports")]
pub async fn create_product_import(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsImport)?;
    principal.require(Permission::CrmConfigure)?;
    let (file, options) = read_upload::<ProductImportOptions>(&req, payload).await?;
    let format = spreadsheet_format(&file)?;
    let options = options.unwrap_or_default();
    let sheet = read_sheet(file.bytes.clone(), format).await?;
    if options.dry_run {
        let report = state
            .db(move |conn| {
                let currency = application::settings::currency(conn)?;
                Ok(product_import::dry_run(
                    conn, &principal, &options, &sheet, currency,
                )?)
            })
            .await?;
        return Ok(HttpResponse::Ok().json(report));
    }
    queue_upload(
        &state,
        file,
        format,
        sheet,
        "products",
        move |conn, upload| Ok(queue::product_import(conn, &principal, upload, options)?),
    )
    .await
}

/// Import a purchase history.
///
/// Brings years of orders in at once from a CSV or XLSX file: send `multipart/form-data`
/// with the file as the `file` part and, optionally, the `OrderImportOptions` as a JSON
/// `options` part. Each row is one order line; rows with the same `order_reference` are
/// one order and must agree on its fields (customer, date, status, channel, campaign,
/// notes, total); a row without a reference is an order of its own. Columns are mapped by
/// `options.mapping` or by headers equal to the field names; `customer`, `placed_at` and
/// `sku` are required.
///
/// The `customer` column is matched on `match_customer_on` (`code`, `email`, `phone` or
/// `national_code`, normalised as the customer rules store them); the product by its SKU.
/// With `create_missing_customers` a key no customer has creates a customer (named by
/// `customer_first_name`/`customer_last_name`, or an organization by
/// `customer_organization_name`); with `create_missing_products` an unknown SKU creates a
/// product priced by the row's `unit_price`. Dates are Jalali (`1403/01/15`) or ISO, with
/// an optional time of day in the business time zone (a date alone is the start of that
/// day) or an RFC 3339 instant; digits may be Persian; amounts are in the business
/// currency's major unit (or toman with `amounts_in: toman`), with thousands separators.
/// `status` defaults to `fulfilled`, `quantity` to 1, `unit_price` to the product's price.
/// Orders are priced by the server; `line_total` and `order_total`, when given, must
/// match. `order_reference` is stored as the order's external reference from `source`
/// (default `import`): a reference already stored is refused, so the same file cannot be
/// imported twice.
///
/// **All or nothing:** if any row is rejected nothing is written and the report lists
/// every rejected row with its number, field, column and rule. With `dry_run: true` the
/// report comes back at once (200). Otherwise the answer is 202 with an `orders.import`
/// job whose result is the report. A real import also updates the buyers' purchase facts
/// and moves them through the lifecycle rules by replaying the imported purchases in time
/// order (recorded in the stage history with each rule's name).
///
/// Needs `records:import`, and `crm:configure` to create products; matched customers
/// must be within the caller's record visibility. Every order is audited
/// (`order.import`), as are created customers and products; a retry with the same
/// `Idempotency-Key` answers the same job.
///
/// Problems: 403 `forbidden`; 413 `payload_too_large`; 415 when the body is not
/// multipart; 422 `validation_failed` for a missing or unreadable `file`, bad `options`
/// or a mapping that does not fit the file.
#[utoipa::path(
    tag = "imports",
    operation_id = "create_order_import",
    request_body(content(
        (OrderImportUpload = "multipart/form-data",
            encoding(("options" = (content_type = "application/json"))),
            example = json!({
                "file": "order_reference,customer,customer_first_name,customer_last_name,placed_at,sku,product_name,quantity,unit_price\nINV-1,C-1001,مریم,احمدی,1403/01/15 10:30,TEA-500,چای سیاه ۵۰۰ گرمی,2,\"1,850,000\"\nINV-1,C-1001,,,,COF-250,قهوه ۲۵۰ گرمی,1,900000\n",
                "options": {"match_customer_on": "code", "source": "pos-vanak", "create_missing_customers": true, "create_missing_products": true, "dry_run": true}
            }))
    )),
    responses(
        (status = 200, description = "Dry run: the per-row report; nothing was written", body = OrderImportReport),
        (status = 202, description = "Import queued; follow `Location` for its progress and report", body = JobResource,
            headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))),
        (status = 403, description = "The caller may not import (or create products)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The upload is larger than the server accepts (`PEYVAND_MAX_UPLOAD_BYTES`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `multipart/form-data`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad options, an unreadable file, or a mapping that does not fit the file", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/orders/imports")]
pub async fn create_order_import(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsImport)?;
    let (file, options) = read_upload::<OrderImportOptions>(&req, payload).await?;
    let format = spreadsheet_format(&file)?;
    let options = options.unwrap_or_default();
    let sheet = read_sheet(file.bytes.clone(), format).await?;
    let acting = principal.0.clone();
    if options.dry_run {
        let report = state
            .db(move |conn| Ok(order_import::dry_run(conn, acting, options, &sheet)?))
            .await?;
        return Ok(HttpResponse::Ok().json(report));
    }
    queue_upload(
        &state,
        file,
        format,
        sheet,
        "orders",
        move |conn, upload| Ok(queue::order_import(conn, &acting, upload, options)?),
    )
    .await
}

/// Import leads from a spreadsheet.
///
/// Send `multipart/form-data` with the file as the `file` part (CSV or XLSX) and,
/// optionally, the `LeadImportOptions` as a JSON `options` part, exactly as for `POST
/// /imports`. Columns are mapped to lead fields by `options.mapping` or, without one, by
/// header names equal to field names (the headers of a lead export): `first_name`,
/// `last_name`, `company`, `job_title`, `phone`, `phone2`, `phone3` (any usual Iranian
/// form, Persian digits included; stored in E.164, the first one primary), `email`,
/// `email2`, `province`, `city`, `source`, `campaign`, `language`, `product_sku` (the
/// product asked about, by SKU), `status` (`new`, `contacted`, `qualified`,
/// `disqualified`), `disqualified_reason`, `owner_email` (an active user's e-mail
/// address), `description`, and `custom.<key>` for each lead custom field. Every row is a
/// new lead.
///
/// Every row goes through the same rules as `POST /leads`, custom fields included, plus
/// the same normalised phone or e-mail on two rows of the file (`duplicate_in_file` on the
/// later row: the two rows are one person), a `status` or `product_sku` that is not one
/// (`invalid_value`, `not_found`) and an `owner_email` that is no active user
/// (`not_found`) or a user the caller may not hand leads to (`not_allowed`). Each lead is
/// then written as `POST /leads` writes one: without an owner the assignment rules pick
/// one (else the caller), the scoring rules count its points, and the assignment is
/// recorded.
///
/// **All or nothing:** if any row is rejected, nothing is written and the report lists
/// every rejected row with its row number, the lead field, the source column and the rule
/// broken. With `dry_run: true` the report comes back at once (200) and nothing is ever
/// written. Otherwise the answer is 202 with a `leads.import` job whose result is the
/// report (`outcome` `imported` or `rejected`).
///
/// Needs `records:import` and `records:write` (the permission creating a lead needs), so
/// admins, managers and marketing. The job's creation is audited (`job.create`), and so
/// is every lead written (`lead.create`); a retry with the same `Idempotency-Key` answers
/// the same job instead of importing twice.
///
/// Problems: 403 `forbidden`; 413 `payload_too_large` over `PEYVAND_MAX_UPLOAD_BYTES`;
/// 415 when the body is not multipart; 422 `validation_failed` for a missing `file` part
/// (`required`), a file that is neither CSV nor XLSX (`unsupported_format`) or cannot be
/// read (with the row and column), bad `options` (under `options.…`), or a mapping that
/// does not fit the file (an unknown column or field, a `custom.<key>` that is no lead
/// custom field, a field fed by two columns).
#[utoipa::path(
    tag = "imports",
    operation_id = "create_lead_import",
    request_body(content(
        (LeadImportUpload = "multipart/form-data",
            encoding(("options" = (content_type = "application/json"))),
            // The `file` part holds the spreadsheet itself: here a CSV file's text.
            example = json!({
                "file": "نام,نام خانوادگی,موبایل,ایمیل\nعلی,کریمی,۰۹۱۲۱۲۳۴۵۶۷,ali@example.ir\nسارا,احمدی,09351112233,\n",
                "options": {
                    "mapping": {"نام": "first_name", "نام خانوادگی": "last_name", "موبایل": "phone", "ایمیل": "email"},
                    "dry_run": true
                }
            }))
    )),
    responses(
        (status = 200, description = "Dry run: the per-row report; nothing was written", body = ImportReport),
        (status = 202, description = "Import queued; follow `Location` for its progress and report", body = JobResource,
            headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))),
        (status = 403, description = "The caller may not import leads", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The upload is larger than the server accepts (`PEYVAND_MAX_UPLOAD_BYTES`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `multipart/form-data`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad options, an unreadable file (`errors[0].field` is `file`, with the row and column), or a mapping that does not fit the file", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/leads/imports")]
pub async fn create_lead_import(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    principal.require(Permission::RecordsImport)?;
    principal.require(Permission::RecordsWrite)?;
    let (file, options) = read_upload::<LeadImportOptions>(&req, payload).await?;
    let format = spreadsheet_format(&file)?;
    let options = options.unwrap_or_default();
    let sheet = read_sheet(file.bytes.clone(), format).await?;
    if options.dry_run {
        let report = state
            .db(move |conn| Ok(lead_import::dry_run(conn, &principal, &options, &sheet)?))
            .await?;
        return Ok(HttpResponse::Ok().json(report));
    }
    queue_upload(&state, file, format, sheet, "leads", move |conn, upload| {
        Ok(queue::lead_import(conn, &principal, upload, options)?)
    })
    .await
}
