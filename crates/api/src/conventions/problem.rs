//! A 400 problem that names the request part at fault (a query or path parameter, a
//! header), for extractors: `ApiError::Malformed` carries only a text, and clients need
//! the parameter as data, e.g.
//!
//! ```ignore
//! return Err(BadParameter::new("cursor", "invalid_cursor", "the cursor is not valid"));
//! ```

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::{Problem, ProblemFieldError, PROBLEM_JSON};
use crate::i18n::{self, Lang};

/// A malformed parameter: 400 with the problem `code` (`malformed_request`, or a more
/// specific one such as `invalid_cursor`) and one entry in `errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl BadParameter {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        BadParameter {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    fn problem(&self, lang: Lang) -> Problem {
        let message = i18n::field_message(self.code, &self.message, lang);
        Problem {
            problem_type: format!("/problems/{}", self.code),
            title: i18n::title("malformed_request", lang).to_string(),
            status: StatusCode::BAD_REQUEST.as_u16(),
            detail: Some(format!("{}: {message}", self.field)),
            code: self.code.to_string(),
            errors: vec![ProblemFieldError {
                field: self.field.clone(),
                code: self.code.to_string(),
                message,
            }],
            errors_omitted: None,
            candidates: None,
        }
    }
}

impl fmt::Display for BadParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl ResponseError for BadParameter {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::BadRequest()
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
            .json(self.problem(Lang::current()))
    }
}

/// Inside a handler (which answers [`ApiError`]) the parameter survives in the detail.
impl From<BadParameter> for crate::error::ApiError {
    fn from(err: BadParameter) -> Self {
        crate::error::ApiError::Malformed(err.to_string())
    }
}
