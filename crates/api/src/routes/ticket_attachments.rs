//! Ticket attachments (V-1): files uploaded to a ticket, listed, downloaded and deleted
//! by those who may see the ticket.

use actix_multipart::Multipart;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use application::service::ticket_attachments::{self, Upload};
use chrono::{DateTime, Utc};
use domain::text::{check_text, TextKind};
use futures_util::{stream, StreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use persistence::ticket_attachments::AttachmentRow;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::json_body::{self, body_limit, MULTIPART_FORM_DATA};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        upload_ticket_attachment,
        list_ticket_attachments,
        download_ticket_attachment,
        delete_ticket_attachment
    ),
    components(schemas(AttachmentUpload, TicketAttachment))
)]
pub struct TicketAttachmentsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(upload_ticket_attachment)
        .service(list_ticket_attachments)
        .service(download_ticket_attachment)
        .service(delete_ticket_attachment);
}

/// Characters of an attachment's file name.
const MAX_FILE_NAME_CHARS: usize = 255;

/// The parts of an attachment upload.
#[derive(Debug, ToSchema)]
pub struct AttachmentUpload {
    /// The file, with its name and content type in the part's headers.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The message of the ticket's conversation the file came with (its id as text).
    pub message_id: Option<Uuid>,
}

/// A file attached to a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketAttachment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The message of the conversation it came with, if any.
    pub message_id: Option<Uuid>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// The user who uploaded it; absent for the system.
    pub uploaded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&AttachmentRow> for TicketAttachment {
    fn from(row: &AttachmentRow) -> Self {
        TicketAttachment {
            id: row.id.0,
            ticket_id: row.ticket_id.0,
            message_id: row.message_id.map(|id| id.0),
            file_name: row.file_name.clone(),
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            uploaded_by: row.uploaded_by.map(|id| id.0),
            created_at: row.created_at.0,
        }
    }
}

/// Reads the `file` and `message_id` parts, refusing (413) a file over `max_file` bytes
/// or a body over the upload limit as soon as either is exceeded, before anything is
/// stored.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    max_file: usize,
) -> ApiResult<Upload> {
    json_body::require_content_type(req, &[MULTIPART_FORM_DATA])?;
    let limit = body_limit(req);
    let mut multipart = Multipart::new(req.headers(), payload);
    let (mut file, mut message_id, mut received) = (None, None, 0_usize);
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
            if name == "file" && bytes.len() + chunk.len() > max_file {
                return Err(ApiError::FileTooLarge {
                    max_bytes: max_file,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => file = Some((file_name, content_type, bytes.freeze())),
            "message_id" => message_id = Some(message_id_of(&bytes)?),
            other => {
                return Err(ApiError::field(
                    json_body::escape_forbidden(other),
                    "unknown_field",
                    "the parts are `file` and `message_id`",
                ))
            }
        }
    }
    let (file_name, content_type, bytes) = file
        .ok_or_else(|| ApiError::field("file", "required", "send the file as the `file` part"))?;
    Ok(Upload {
        file_name: file_name_of(file_name)?,
        content_type: content_type.unwrap_or_default(),
        bytes: bytes.to_vec(),
        message_id,
    })
}

/// The part's file name as it will be offered again: one line, so that no control or
/// bidi character disguises it, and of a sane length.
fn file_name_of(name: Option<String>) -> ApiResult<String> {
    let name = name
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            ApiError::field(
                "file",
                "file_name_required",
                "the `file` part needs a file name",
            )
        })?;
    if let Some(violation) = check_text(&name, TextKind::SingleLine) {
        return Err(ApiError::Validation(vec![violation.at("file")]));
    }
    if name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(ApiError::field(
            "file",
            "file_name_too_long",
            format!("a file name has at most {MAX_FILE_NAME_CHARS} characters"),
        ));
    }
    Ok(name)
}

fn message_id_of(bytes: &[u8]) -> ApiResult<Uuid> {
    std::str::from_utf8(bytes)
        .ok()
        .map(|text| text.trim().trim_matches('"'))
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| ApiError::field("message_id", "invalid_format", "must be a message id"))
}

fn malformed(err: actix_multipart::MultipartError) -> ApiError {
    match err {
        actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::Malformed(format!("the multipart body could not be read: {other}")),
    }
}

/// RFC 5987 `attr-char`s: what `filename*` may carry unencoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition: attachment` naming `name` (RFC 6266): `filename*` carries the
/// real name in UTF-8, percent-encoded; `filename` an ASCII stand-in for old clients
/// (the name itself when it is plain ASCII, else `attachment` with the name's
/// extension). Always `attachment`, never `inline`, so a browser saves the file rather
/// than showing it in the API's origin.
pub fn content_disposition(name: &str) -> String {
    let plain = |c: char| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';' | '%') || c == ' ';
    let fallback = if name.chars().all(plain) {
        name.to_string()
    } else {
        let extension = name
            .rsplit_once('.')
            .map(|(_, extension)| extension)
            .filter(|extension| {
                !extension.is_empty()
                    && extension.len() <= 10
                    && extension.chars().all(|c| c.is_ascii_alphanumeric())
            });
        match extension {
            Some(extension) => format!("attachment.{extension}"),
            None => "attachment".to_string(),
        }
    };
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR_CHAR)
    )
}

/// Attach a file to a ticket.
///
/// A `multipart/form-data` body: the `file` part (its file name and `Content-Type` are
/// kept) and optionally `message_id`, a message of the ticket's conversation the file
/// came with. Allowed types: PNG, JPEG, GIF and WebP images, PDF, plain text, CSV, Word
/// (`.docx`) and Excel (`.xlsx`) documents and ZIP archives. The declared type must match
/// the file's content (its signature; text must be UTF-8 without NUL bytes), so a
/// program renamed `.pdf` is refused. A ticket holds at most 50 attachments.
///
/// Needs `records:write`; the ticket must be within the caller's record visibility (404
/// otherwise). Audited as `ticket.attachment.add` (type and size, not the file name).
///
/// Problems: 413 `payload_too_large` with `errors[0]` `file` `too_large` for a file over
/// `PEYVAND_MAX_ATTACHMENT_BYTES` (10 MiB by default; nothing is stored); 415 for a body
/// that is not multipart; 422 `validation_failed` on `file` for a missing part
/// (`required`), a missing or unsafe file name (`file_name_required`,
/// `file_name_too_long`, the text rules), an `empty` file, a type not on the list
/// (`type_not_allowed`), content that is not the declared type (`type_mismatch`), or a
/// full ticket (`too_many`); on `message_id` for a message of another ticket
/// (`not_found`); 409 `conflict` for a ticket merged into another.
#[utoipa::path(
    tag = "tickets",
    operation_id = "upload_ticket_attachment",
    params(("id" = Uuid, Path, description = "Ticket id")),
    request_body(content(
        (AttachmentUpload = "multipart/form-data",
            // The `file` part holds the file itself: here a CSV file's text.
            example = json!({
                "file": "سریال,خطا\nSN-1042,E17 پس از روشن شدن\n"
            }))
    )),
    responses(
        (status = 201, description = "The attachment", body = TicketAttachment),
        (status = 413, description = "The file is larger than the server accepts", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `multipart/form-data`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file is empty, of a type not allowed, not what it claims to be, or the ticket is full", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/tickets/{id}/attachments")]
pub async fn upload_ticket_attachment(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    principal.require(domain::authz::Permission::RecordsWrite)?;
    let ticket = id.into_inner();
    let upload = read_upload(&req, payload, state.config.max_attachment_bytes).await?;
    let acting = principal.0;
    let row = state
        .db(move |conn| Ok(ticket_attachments::attach(conn, &acting, ticket, upload)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/tickets/{ticket}/attachments/{}", row.id.0),
        ))
        .json(TicketAttachment::from(&row)))
}

/// List a ticket's attachments.
///
/// Every attachment of the ticket (at most 50), oldest first, without content.
///
/// Needs `records:read`; the ticket must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing one).
#[utoipa::path(
    tag = "tickets",
    operation_id = "list_ticket_attachments",
    params(("id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The attachments", body = Vec<TicketAttachment>))
)]
#[get("/api/v1/tickets/{id}/attachments")]
pub async fn list_ticket_attachments(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let ticket = id.into_inner();
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(ticket_attachments::list(conn, &acting, ticket)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(TicketAttachment::from).collect::<Vec<_>>()))
}

/// Download a ticket attachment.
///
/// The file with its content type, `Content-Disposition: attachment` naming it
/// (`filename*` in UTF-8 for Persian names, an ASCII `filename` for old clients) and
/// `X-Content-Type-Options: nosniff`.
///
/// Needs `records:read`; the ticket must be within the caller's record visibility (404
/// `not_found` otherwise, exactly as for a missing ticket or attachment).
#[utoipa::path(
    tag = "tickets",
    operation_id = "download_ticket_attachment",
    params(
        ("id" = Uuid, Path, description = "Ticket id"),
        ("attachment_id" = Uuid, Path, description = "Attachment id")
    ),
    responses((status = 200, description = "The file", content(
        (String = "application/octet-stream")
    ), headers(("Content-Disposition" = String, description = "`attachment` with the file name"))))
)]
#[get("/api/v1/tickets/{id}/attachments/{attachment_id}")]
pub async fn download_ticket_attachment(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (ticket, attachment) = path.into_inner();
    let acting = principal.0;
    let (row, file) = state
        .db(move |conn| Ok(ticket_attachments::get(conn, &acting, ticket, attachment)?))
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
        .content_type(row.content_type.as_str())
        .insert_header(("Content-Disposition", content_disposition(&row.file_name)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .no_chunking(file.size_bytes.try_into().unwrap_or(0))
        .streaming(chunks))
}

/// Delete a ticket attachment.
///
/// Deletes the attachment and its file. Needs `records:delete`, or `records:write` for
/// the user who uploaded it (403 `forbidden` for others); the ticket must be within the
/// caller's record visibility (404 otherwise). Audited as `ticket.attachment.delete`.
#[utoipa::path(
    tag = "tickets",
    operation_id = "delete_ticket_attachment",
    params(
        ("id" = Uuid, Path, description = "Ticket id"),
        ("attachment_id" = Uuid, Path, description = "Attachment id")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/tickets/{id}/attachments/{attachment_id}")]
pub async fn delete_ticket_attachment(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (ticket, attachment) = path.into_inner();
    let acting = principal.0;
    state
        .db(move |conn| {
            Ok(ticket_attachments::delete(
                conn, &acting, ticket, attachment,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn persian_names_travel_in_filename_star_with_an_ascii_stand_in() {
        assert_eq!(
            content_disposition("فاکتور.pdf"),
            "attachment; filename=\"attachment.pdf\"; \
             filename*=UTF-8''%D9%81%D8%A7%DA%A9%D8%AA%D9%88%D8%B1.pdf"
        );
        assert_eq!(
            content_disposition("report 2.csv"),
            "attachment; filename=\"report 2.csv\"; filename*=UTF-8''report%202.csv"
        );
        assert_eq!(
            content_disposition("a\"b;c.txt"),
            "attachment; filename=\"attachment.txt\"; filename*=UTF-8''a%22b%3Bc.txt"
        );
    }
}
