//! Settings for actix's own extractors and the app's default service, so that no
//! request is ever answered with a bare `text/plain` error:
//!
//! * `web::Json` (prefer [`super::JsonBody`]): same limit, problem responses;
//! * `web::Query`: 400 `malformed_request` naming the parameter when serde says which;
//! * `web::Path`: 400 `malformed_request` naming the path parameter (e.g. a bad UUID);
//! * unknown route → 404 `not_found`, known route with another method → 405
//!   `method_not_allowed`.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{ApiError, PROBLEM_JSON};
use crate::i18n;

/// `web::Json` settings: the server's body limit and problem responses.
pub fn json_config(max_body_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(max_body_bytes)
        .error_handler(|err, _req| {
            match err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge,
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
                other => ApiError::Malformed(format!("the body is not valid JSON: {other}")),
            }
            .into()
        })
}

/// `web::Query` settings: 400 naming the parameter serde complained about.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, req| {
        let QueryPayloadError::Deserialize(inner) = &err else {
            return ApiError::Malformed(format!("the query string is not valid: {err}")).into();
        };
        let message = inner.to_string();
        let parameter = offending_query_parameter(req.query_string(), &message);
        ApiError::bad_parameter(parameter, "malformed_request", message).into()
    })
}

/// The query parameter serde's `message` is about: the first name it quotes that is a
/// parameter of `query` (`unknown field`) or one the type knows (`missing field`, where
/// the name is the only quote), else the parameter whose value it quotes (`unknown
/// variant`: the value comes first, then the names it expected), else `query` (a value
/// that does not parse, which serde_urlencoded does not place).
fn offending_query_parameter(query: &str, message: &str) -> String {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    if message.starts_with("unknown variant") {
        if let Some((name, _)) = quoted
            .first()
            .and_then(|value| pairs.iter().find(|(_, given)| given == value))
        {
            return name.clone();
        }
        return "query".to_string();
    }
    quoted
        .first()
        .map(|name| name.to_string())
        .unwrap_or_else(|| "query".to_string())
}

/// `web::Path` settings: 400 naming the path parameter that does not parse.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        let PathError::Deserialize(inner) = &err else {
            return ApiError::Malformed(err.to_string()).into();
        };
        ApiError::bad_parameter(
            offending_path_parameter(req),
            "malformed_request",
            inner.to_string(),
        )
        .into()
    })
}

/// The path parameter at fault: the only one, or the first `id`-like one that is not a
/// UUID (actix does not say which parameter failed).
fn offending_path_parameter(req: &HttpRequest) -> String {
    let params: Vec<(&str, &str)> = req.match_info().iter().collect();
    let bad_id = params.iter().find(|(name, value)| {
        (*name == "id" || name.ends_with("_id")) && uuid::Uuid::parse_str(value).is_err()
    });
    match (bad_id, params.as_slice()) {
        (Some((name, _)), _) => name.to_string(),
        (None, [(name, _)]) => name.to_string(),
        _ => "path".to_string(),
    }
}

/// The app's default service: 405 when the path exists with other methods, else 404.
pub async fn no_route(req: HttpRequest) -> HttpResponse {
    let (error, status) = if req.resource_map().has_resource(req.path()) {
        ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED)
    } else {
        return actix_web::ResponseError::error_response(&ApiError::NotFound);
    };
    let lang = crate::i18n::current();
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
        .json(crate::error::Problem {
            problem_type: format!("/problems/{error}"),
            title: i18n::title(error, lang).to_string(),
            status: status.as_u16(),
            detail: None,
            code: error.to_string(),
            errors: Vec::new(),
            errors_omitted: None,
            candidates: None,
        })
}

#[cfg(test)]
mod tests {
    use super::offending_query_parameter;

    #[test]
    fn the_offending_query_parameter_is_named() {
        let query = "from=2025-10-01&to=2025-10-31&bucket=fortnight&extra=1";
        for (message, parameter) in [
            ("missing field `from`", "from"),
            (
                "unknown field `extra`, expected one of `from`, `to`",
                "extra",
            ),
            (
                "unknown variant `fortnight`, expected one of `day`, `week`",
                "bucket",
            ),
            ("unknown variant `month2`, expected one of `day`", "query"),
            ("input is out of range", "query"),
        ] {
            assert_eq!(
                offending_query_parameter(query, message),
                parameter,
                "{message}"
            );
        }
    }
}
