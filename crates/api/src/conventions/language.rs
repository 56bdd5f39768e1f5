//! The request language (L-5): `Accept-Language` picks Persian or English for the whole
//! request, so every problem title and message produced while serving it is localised
//! (see [`crate::i18n`]). Responses say which with `Content-Language`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CONTENT_LANGUAGE};
use actix_web::middleware::Next;
use actix_web::Error;

use super::request_id::respond;

/// Middleware: runs the rest of the chain in the request's language scope.
pub async fn request_language(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let lang = crate::i18n::from_headers(req.headers());
    let mut response = crate::i18n::scope(lang, respond(req, next)).await?;
    response
        .headers_mut()
        .insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
    Ok(response)
}
