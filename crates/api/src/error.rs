//! One error type for every handler, rendered in one place as RFC 9457
//! `application/problem+json` with a stable `code`, localised title/detail and, for
//! validation, the list of broken field rules.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::validation::FieldViolation;
use persistence::PersistenceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::{self, Lang};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "1 field is invalid",
    "code": "validation_failed",
    "errors": [{"field": "email", "code": "invalid_email", "message": "not a valid e-mail address"}]
}))]
pub struct Problem {
    /// URI reference naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, localised summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Localised explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    /// Per-field problems (validation only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
    /// Existing records the request probably duplicates (`likely_duplicate` only), each
    /// with its id, score and reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub candidates: Option<serde_json::Value>,
}

/// One broken rule on one field of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// Path of the field in the request (body, query or path), e.g. `emails[0].value`.
    pub field: String,
    /// Stable rule code, e.g. `required`, `invalid_format`, `unknown_field`.
    pub code: String,
    /// Localised explanation.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldViolation>),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid token")]
    InvalidToken,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The new record probably duplicates `candidates` (a JSON array); the client may
    /// confirm and create it anyway.
    #[error("likely duplicate")]
    LikelyDuplicate(serde_json::Value),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is in progress")]
    IdempotencyInProgress,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// Too many failed logins for the e-mail address or from the client address.
    #[error("too many failed logins")]
    LoginThrottled { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::Malformed(_) => "malformed_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidToken => "invalid_token",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::LikelyDuplicate(_) => "likely_duplicate",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::IdempotencyInProgress => "idempotency_in_progress",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::LoginThrottled { .. } => "too_many_login_attempts",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// A single-field validation failure.
    pub fn field(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Validation(vec![FieldViolation::new(field, code, message)])
    }

    /// A localised explanation of this occurrence. Internal details are never exposed.
    fn detail(&self, lang: Lang) -> Option<String> {
        let fa = lang == Lang::Fa;
        match self {
            ApiError::Validation(errors) => Some(if fa {
                format!("{} فیلد نامعتبر است", errors.len())
            } else if errors.len() == 1 {
                "1 field is invalid".to_string()
            } else {
                format!("{} fields are invalid", errors.len())
            }),
            ApiError::Malformed(reason) => Some(reason.clone()),
            ApiError::Conflict(what) => Some(what.clone()),
            ApiError::LikelyDuplicate(_) => Some(if fa {
                "مشتری مشابهی وجود دارد؛ برای ثبت با این حال، سرآیند Peyvand-Confirm-Duplicate: true را بفرستید".to_string()
            } else {
                "similar customers exist; send the header Peyvand-Confirm-Duplicate: true to create it anyway".to_string()
            }),
            ApiError::RateLimited { retry_after_secs }
            | ApiError::LoginThrottled { retry_after_secs } => Some(if fa {
                format!("{retry_after_secs} ثانیه دیگر دوباره تلاش کنید")
            } else {
                format!("retry in {retry_after_secs} s")
            }),
            ApiError::PreconditionFailed => Some(if fa {
                "نسخهٔ رکورد تغییر کرده است؛ آن را دوباره بخوانید".to_string()
            } else {
                "the record has changed since the given ETag; fetch it again".to_string()
            }),
            _ => None,
        }
    }

    pub fn to_problem(&self, lang: Lang) -> Problem {
        let code = self.code();
        let errors = match self {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| ProblemFieldError {
                    field: e.field.clone(),
                    code: e.code.clone(),
                    message: i18n::field_message(&e.code, &e.message, lang),
                })
                .collect(),
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("/problems/{code}"),
            title: i18n::title(code, lang).to_string(),
            status: self.status_code().as_u16(),
            detail: self.detail(lang),
            code: code.to_string(),
            errors,
            candidates: match self {
                ApiError::LikelyDuplicate(candidates) => Some(candidates.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidCredentials | ApiError::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_)
            | ApiError::LikelyDuplicate(_)
            | ApiError::IdempotencyInProgress => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } | ApiError::LoginThrottled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(reason) | ApiError::Unavailable(reason) = self {
            tracing::error!(error = %reason, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::Unauthenticated | ApiError::InvalidToken => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"peyvand\""));
            }
            ApiError::RateLimited { retry_after_secs }
            | ApiError::LoginThrottled { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.json(self.to_problem(Lang::current()))
    }
}

impl From<PersistenceError> for ApiError {
    fn from(err: PersistenceError) -> Self {
        match err {
            PersistenceError::NotFound => ApiError::NotFound,
            PersistenceError::Conflict(what) => ApiError::Conflict(what),
            PersistenceError::StaleVersion => ApiError::PreconditionFailed,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(err.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
