//! Limits on the request target and the header section, answered as problem+json:
//! 414 `uri_too_long` and 431 `headers_too_large`.
//!
//! actix-http refuses a request head (request line and headers) only when it outgrows
//! its 128 KiB read buffer or has more than 96 headers, and it does so in the HTTP
//! codec, before any middleware, with an empty 431 and no setting to change either
//! limit. This middleware holds requests to lower limits, so that every head a client
//! is likely to send by mistake gets a problem document naming the limit; only heads
//! beyond the codec's limits still get its bare 431.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use super::request_id::respond;
use crate::error::ApiError;

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest accepted header section: names, values and their separators, in bytes.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Most header lines accepted.
pub const MAX_HEADER_COUNT: usize = 64;

/// Middleware: refuses requests over the limits above.
pub async fn request_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    match over_limit(req.uri(), req.headers()) {
        Some(err) => {
            let response = err.error_response();
            Ok(req.into_response(response))
        }
        None => respond(req, next).await,
    }
}

/// The refusal a request with this target and these headers gets, if any.
fn over_limit(uri: &Uri, headers: &HeaderMap) -> Option<ApiError> {
    let target = uri
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(ApiError::UriTooLong {
            max_bytes: MAX_URI_BYTES,
        });
    }
    if headers.len() > MAX_HEADER_COUNT {
        return Some(ApiError::HeadersTooLarge(format!(
            "more than {MAX_HEADER_COUNT} header lines"
        )));
    }
    // Each line is `name: value` and a line break on the wire.
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > MAX_HEADER_BYTES {
        return Some(ApiError::HeadersTooLarge(format!(
            "the headers take more than {MAX_HEADER_BYTES} bytes"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn uri_of_len(len: usize) -> Uri {
        format!("/{}", "a".repeat(len - 1)).parse().expect("uri")
    }

    #[test]
    fn the_limits_are_inclusive() {
        let headers = HeaderMap::new();
        assert!(over_limit(&uri_of_len(MAX_URI_BYTES), &headers).is_none());
        assert!(matches!(
            over_limit(&uri_of_len(MAX_URI_BYTES + 1), &headers),
            Some(ApiError::UriTooLong { .. })
        ));

        let mut big = HeaderMap::new();
        // "x-big: <value>\r\n" is exactly the limit.
        let value = "v".repeat(MAX_HEADER_BYTES - "x-big".len() - 4);
        big.insert(
            HeaderName::from_static("x-big"),
            HeaderValue::from_str(&value).expect("value"),
        );
        assert!(over_limit(&uri_of_len(1), &big).is_none());
        big.insert(
            HeaderName::from_static("x-big"),
            HeaderValue::from_str(&format!("{value}v")).expect("value"),
        );
        assert!(matches!(
            over_limit(&uri_of_len(1), &big),
            Some(ApiError::HeadersTooLarge(_))
        ));

        let mut many = HeaderMap::new();
        for i in 0..=MAX_HEADER_COUNT {
            many.append(
                HeaderName::from_bytes(format!("x-h{i}").as_bytes()).expect("name"),
                HeaderValue::from_static("1"),
            );
        }
        assert!(matches!(
            over_limit(&uri_of_len(1), &many),
            Some(ApiError::HeadersTooLarge(_))
        ));
    }
}
