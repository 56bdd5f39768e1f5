//! Middleware refusing query and path parameters that hold NUL or another control
//! character (tab, line feed and carriage return excepted), before any handler, the
//! idempotency store or the database sees them: PostgreSQL cannot store or compare NUL
//! and would answer 500, SQLite would store it. A parameter is part of the request's
//! address, not of the data it sends, so the answer is the 400 `malformed_request` every
//! other malformed parameter gets (see [`super::extractors`]), with one `errors` entry
//! per offending parameter: the query parameter's name, or the path parameter's from the
//! route's pattern (`path` when no route matches), and the rule (`nul_character`,
//! `control_character`) that a JSON body's field would get.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, ResponseError};
use domain::text::{check_text, TextKind};
use domain::validation::FieldViolation;
use percent_encoding::percent_decode_str;

use super::json_body::escape_forbidden;
use super::request_id::respond;
use crate::error::ApiError;

/// Middleware: 400 when a query or path parameter holds a forbidden character.
pub async fn refuse_control_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let violations = parameter_violations(req.request());
    if violations.is_empty() {
        return respond(req, next).await;
    }
    let refused = ApiError::BadParameters {
        code: "malformed_request".into(),
        violations,
    };
    Ok(req.into_response(refused.error_response()))
}

/// One violation per offending query parameter (named by its escaped name) and path
/// segment.
fn parameter_violations(req: &HttpRequest) -> Vec<FieldViolation> {
    let mut found = Vec::new();
    // Decoded as `web::Query` decodes it, `+` included.
    for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        let broken = check_text(&name, TextKind::MultiLine)
            .or_else(|| check_text(&value, TextKind::MultiLine));
        if let Some(violation) = broken {
            found.push(violation.at(escape_forbidden(&name)));
        }
    }
    // The route's pattern is looked up only for a segment at fault: outside a handler,
    // `match_pattern` matches the path against every route again.
    let mut pattern: Option<String> = None;
    for (index, segment) in req.path().split('/').enumerate() {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if let Some(violation) = check_text(&decoded, TextKind::MultiLine) {
            let pattern = pattern.get_or_insert_with(|| req.match_pattern().unwrap_or_default());
            let name = pattern
                .split('/')
                .nth(index)
                .and_then(parameter_name)
                .unwrap_or("path");
            found.push(violation.at(name));
        }
    }
    found
}

/// The parameter a route pattern segment captures: `id` for `{id}` or `{id:[0-9]+}`.
fn parameter_name(segment: &str) -> Option<&str> {
    let inner = segment.strip_prefix('{')?.strip_suffix('}')?;
    let name = inner.split(':').next().unwrap_or(inner);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn fields_of(uri: &str) -> Vec<(String, String)> {
        parameter_violations(&TestRequest::with_uri(uri).to_http_request())
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect()
    }

    fn pair(field: &str, code: &str) -> (String, String) {
        (field.to_string(), code.to_string())
    }

    #[test]
    fn query_parameters_are_named() {
        assert_eq!(
            fields_of("/x?q=a%00b&limit=5"),
            [pair("q", "nul_character")]
        );
        assert_eq!(
            fields_of("/x?a%07=1"),
            [pair("a\\u{0007}", "control_character")]
        );
        assert_eq!(fields_of("/x?q=line%0Abreak+and%09tab"), []);
        assert_eq!(fields_of("/x?q=%D9%85%DB%8C%E2%80%8C"), []);
    }

    #[test]
    fn path_segments_without_a_route_are_the_path() {
        assert_eq!(
            fields_of("/api/v1/things/a%00"),
            [pair("path", "nul_character")]
        );
        assert_eq!(
            fields_of("/api/v1/things/%C2%9B"),
            [pair("path", "control_character")]
        );
    }

    #[test]
    fn pattern_segments_name_their_parameter() {
        assert_eq!(parameter_name("{id}"), Some("id"));
        assert_eq!(parameter_name("{key:[a-z]+}"), Some("key"));
        assert_eq!(parameter_name("customers"), None);
    }
}
