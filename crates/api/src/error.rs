//! One error type for every handler, rendered in one place as RFC 9457
//! `application/problem+json` with a stable `code`, localised title/detail and, for
//! validation, the list of broken field rules. The use cases' `AppError` becomes an
//! `ApiError` here, in `From<AppError>`, and nowhere else.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use application::AppError;
use domain::validation::FieldViolation;
use persistence::PersistenceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::{self, Lang};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Most entries a problem's `errors` list carries; the rest are only counted in
/// `errors_omitted`, so a request with thousands of bad entries cannot make the server
/// build (and the client download) a response many times its own size.
pub const MAX_PROBLEM_ERRORS: usize = 100;

/// `Retry-After` of a `concurrent_update` answer: the competing transaction is usually
/// done well within a second.
pub const CONCURRENT_UPDATE_RETRY_AFTER_SECS: u64 = 1;

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
    /// Per-field problems (validation only), at most 100; see `errors_omitted`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
    /// How many further per-field problems were found but left out of `errors`, which
    /// lists only the first 100. Absent when none were left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, nullable = false)]
    pub errors_omitted: Option<usize>,
    /// Existing records the request probably duplicates (`likely_duplicate` only), each
    /// with its score and reasons, and its id only when the caller may see it.
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
    /// Request parts that cannot be read (query or path parameters, a header, a cursor):
    /// 400 with the problem code `code` (`malformed_request`, `invalid_cursor`, ...) and
    /// each part named in `errors` with its rule.
    #[error("malformed request parts ({code})")]
    BadParameters {
        code: String,
        violations: Vec<FieldViolation>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid token")]
    InvalidToken,
    /// A webhook request not signed by the channel provider.
    #[error("invalid signature")]
    BadSignature,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// What was asked for existed but was removed for good (e.g. by an erasure).
    #[error("gone: {0}")]
    Gone(String),
    /// The new record probably duplicates `candidates` (a JSON array); the client may
    /// confirm and create it anyway.
    #[error("likely duplicate")]
    LikelyDuplicate(serde_json::Value),
    #[error("precondition failed")]
    PreconditionFailed,
    /// Another request changed the same records at the same moment (a lock conflict or
    /// a version check the client did not ask for); nothing was written and the same
    /// request can be sent again.
    #[error("concurrent update: {0}")]
    ConcurrentUpdate(String),
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is in progress")]
    IdempotencyInProgress,
    #[error("payload too large")]
    PayloadTooLarge,
    /// An uploaded file is larger than `max_bytes`; the problem names the `file` part.
    #[error("file too large")]
    FileTooLarge { max_bytes: usize },
    /// The request target (path and query) is longer than `max_bytes`.
    #[error("request target too long")]
    UriTooLong { max_bytes: usize },
    /// The header section breaks a limit, described in English by the text.
    #[error("request headers too large: {0}")]
    HeadersTooLarge(String),
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
            ApiError::Malformed(_) | ApiError::BadParameters { .. } => "malformed_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidToken => "invalid_token",
            ApiError::BadSignature => "invalid_signature",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::LikelyDuplicate(_) => "likely_duplicate",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::ConcurrentUpdate(_) => "concurrent_update",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::IdempotencyInProgress => "idempotency_in_progress",
            ApiError::PayloadTooLarge | ApiError::FileTooLarge { .. } => "payload_too_large",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::HeadersTooLarge(_) => "headers_too_large",
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

    /// A request part that cannot be read, with its stable rule code.
    pub fn bad_parameter(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AppError::bad_parameter(field, code, message).into()
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
            ApiError::BadParameters { violations, .. } => Some(match violations.as_slice() {
                [violation] => format!(
                    "{}: {}",
                    violation.field,
                    i18n::field_message(&violation.code, &violation.message, lang)
                ),
                _ if fa => format!("{} بخش درخواست نامعتبر است", violations.len()),
                _ => format!("{} request parts are malformed", violations.len()),
            }),
            ApiError::Conflict(what) | ApiError::Gone(what) => Some(what.clone()),
            ApiError::LikelyDuplicate(_) => Some(if fa {
                "مشتری مشابهی وجود دارد؛ برای ثبت با این حال، سرآیند Peyvand-Confirm-Duplicate: true را بفرستید".to_string()
            } else {
                "similar customers exist; send the header Peyvand-Confirm-Duplicate: true to create it anyway".to_string()
            }),
            ApiError::ConcurrentUpdate(_) => Some(if fa {
                format!("درخواست دیگری همزمان همین رکوردها را تغییر داد و چیزی ذخیره نشد؛ {CONCURRENT_UPDATE_RETRY_AFTER_SECS} ثانیه دیگر دوباره تلاش کنید")
            } else {
                format!("another request changed the same records at the same time and nothing was saved; retry in {CONCURRENT_UPDATE_RETRY_AFTER_SECS} s")
            }),
            ApiError::RateLimited { retry_after_secs }
            | ApiError::LoginThrottled { retry_after_secs } => Some(if fa {
                format!("{retry_after_secs} ثانیه دیگر دوباره تلاش کنید")
            } else {
                format!("retry in {retry_after_secs} s")
            }),
            ApiError::FileTooLarge { max_bytes } => Some(if fa {
                format!("حجم پرونده بیش از {max_bytes} بایت است")
            } else {
                format!("the file is larger than {max_bytes} bytes")
            }),
            ApiError::UriTooLong { max_bytes } => Some(if fa {
                format!("مسیر و پرس‌وجوی درخواست بیش از {max_bytes} بایت است")
            } else {
                format!("the path and query take more than {max_bytes} bytes")
            }),
            ApiError::HeadersTooLarge(what) => Some(if fa {
                "سرآیندهای درخواست بیش از حد مجاز است".to_string()
            } else {
                what.clone()
            }),
            ApiError::PreconditionFailed => Some(if fa {
                "نسخهٔ رکورد تغییر کرده است؛ آن را دوباره بخوانید".to_string()
            } else {
                "the record has changed since the given ETag; fetch it again".to_string()
            }),
            _ => None,
        }
    }

    fn part_error(&self, field: &str, rule: &str, lang: Lang) -> ProblemFieldError {
        ProblemFieldError {
            field: field.to_string(),
            code: rule.to_string(),
            message: self.detail(lang).unwrap_or_default(),
        }
    }

    pub fn to_problem(&self, lang: Lang) -> Problem {
        // A part that cannot be read names its own rule as the problem code.
        let code = match self {
            ApiError::BadParameters { code, .. } => code.as_str(),
            _ => self.code(),
        };
        let (errors, errors_omitted) = match self {
            ApiError::BadParameters { violations, .. } => (listed_errors(violations, lang), None),
            ApiError::Validation(errors) => (
                listed_errors(errors, lang),
                errors
                    .len()
                    .checked_sub(MAX_PROBLEM_ERRORS)
                    .filter(|&n| n > 0),
            ),
            // The request part at fault, as data for clients, like a malformed parameter.
            ApiError::UriTooLong { .. } => (vec![self.part_error("uri", "too_long", lang)], None),
            ApiError::FileTooLarge { .. } => {
                (vec![self.part_error("file", "too_large", lang)], None)
            }
            ApiError::HeadersTooLarge(_) => {
                (vec![self.part_error("headers", "too_large", lang)], None)
            }
            _ => (Vec::new(), None),
        };
        Problem {
            problem_type: format!("/problems/{code}"),
            title: i18n::title(self.code(), lang).to_string(),
            status: self.status_code().as_u16(),
            detail: self.detail(lang),
            code: code.to_string(),
            errors,
            errors_omitted,
            candidates: match self {
                ApiError::LikelyDuplicate(candidates) => Some(candidates.clone()),
                _ => None,
            },
        }
    }
}

/// The first [`MAX_PROBLEM_ERRORS`] violations, localised.
fn listed_errors(errors: &[FieldViolation], lang: Lang) -> Vec<ProblemFieldError> {
    errors
        .iter()
        .take(MAX_PROBLEM_ERRORS)
        .map(|e| ProblemFieldError {
            field: e.field.clone(),
            code: e.code.clone(),
            message: i18n::field_message(&e.code, &e.message, lang),
        })
        .collect()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Malformed(_) | ApiError::BadParameters { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated
            | ApiError::InvalidCredentials
            | ApiError::InvalidToken
            | ApiError::BadSignature => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_)
            | ApiError::LikelyDuplicate(_)
            | ApiError::IdempotencyInProgress
            | ApiError::ConcurrentUpdate(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge | ApiError::FileTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } | ApiError::LoginThrottled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(reason) | ApiError::Unavailable(reason) => {
                tracing::error!(error = %reason, "request failed");
            }
            ApiError::ConcurrentUpdate(reason) => {
                tracing::warn!(error = %reason, "request lost a race with a concurrent write");
            }
            _ => {}
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
            ApiError::ConcurrentUpdate(_) => {
                response.insert_header((
                    header::RETRY_AFTER,
                    CONCURRENT_UPDATE_RETRY_AFTER_SECS.to_string(),
                ));
            }
            _ => {}
        }
        response.json(self.to_problem(crate::i18n::current()))
    }
}

/// The one place a use case's error becomes an HTTP problem.
impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Invalid(violations) => ApiError::Validation(violations),
            AppError::BadParameter(violation) => ApiError::BadParameters {
                code: violation.code.clone(),
                violations: vec![violation],
            },
            AppError::InvalidCredentials => ApiError::InvalidCredentials,
            AppError::InvalidToken => ApiError::InvalidToken,
            AppError::BadSignature => ApiError::BadSignature,
            AppError::LoginThrottled { retry_after_secs } => {
                ApiError::LoginThrottled { retry_after_secs }
            }
            AppError::NotFound => ApiError::NotFound,
            AppError::Forbidden => ApiError::Forbidden,
            AppError::Conflict(what) => ApiError::Conflict(what),
            AppError::Gone(what) => ApiError::Gone(what),
            AppError::Stale => ApiError::PreconditionFailed,
            AppError::ConcurrentUpdate(reason) => ApiError::ConcurrentUpdate(reason),
            AppError::LikelyDuplicate(candidates) => ApiError::LikelyDuplicate(candidates),
            AppError::Unavailable(reason) => ApiError::Unavailable(reason),
            AppError::Storage(err) => ApiError::Internal(err.to_string()),
            AppError::Internal(reason) => ApiError::Internal(reason),
        }
    }
}

/// Storage errors sorted as the use cases sort them.
impl From<PersistenceError> for ApiError {
    fn from(err: PersistenceError) -> Self {
        AppError::from(err).into()
    }
}

/// A failed search, sorted as the use cases sort it.
impl From<persistence::filter::SearchError> for ApiError {
    fn from(err: persistence::filter::SearchError) -> Self {
        AppError::from(err).into()
    }
}

/// For `persistence::transaction::write_transaction`, whose own statements fail with diesel errors.
impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        PersistenceError::from(err).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(err.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn violations(count: usize) -> ApiError {
        ApiError::Validation(
            (0..count)
                .map(|i| FieldViolation::new(format!("items[{i}]"), "invalid_value", "bad"))
                .collect(),
        )
    }

    #[test]
    fn the_error_list_is_capped_and_the_rest_counted() {
        let problem = violations(MAX_PROBLEM_ERRORS + 7).to_problem(Lang::En);
        assert_eq!(problem.errors.len(), MAX_PROBLEM_ERRORS);
        assert_eq!(problem.errors[0].field, "items[0]");
        assert_eq!(problem.errors_omitted, Some(7));
        assert_eq!(
            problem.detail.as_deref(),
            Some(format!("{} fields are invalid", MAX_PROBLEM_ERRORS + 7).as_str())
        );
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["errors_omitted"], 7);
    }

    #[test]
    fn nothing_is_omitted_up_to_the_cap() {
        for count in [1, MAX_PROBLEM_ERRORS] {
            let problem = violations(count).to_problem(Lang::En);
            assert_eq!(problem.errors.len(), count);
            assert_eq!(problem.errors_omitted, None);
            let json = serde_json::to_value(&problem).unwrap();
            assert!(json.get("errors_omitted").is_none());
        }
    }

    #[test]
    fn lost_races_are_retryable_conflicts_not_failed_preconditions() {
        for err in [
            PersistenceError::StaleVersion,
            PersistenceError::Contention("deadlock detected".into()),
        ] {
            let err = ApiError::from(err);
            let response = err.error_response();
            assert_eq!(response.status(), StatusCode::CONFLICT);
            assert_eq!(
                response.headers().get(header::RETRY_AFTER),
                Some(&HeaderValue::from(CONCURRENT_UPDATE_RETRY_AFTER_SECS))
            );
            let problem = err.to_problem(Lang::En);
            assert_eq!(problem.code, "concurrent_update");
            assert!(
                !problem.detail.unwrap_or_default().contains("deadlock"),
                "the database's words stay in the log"
            );
        }
    }
}
