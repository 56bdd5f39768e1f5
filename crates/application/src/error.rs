//! The one error type of every use case. The HTTP API renders it as problem+json in one
//! place (`api::error`), and the job runner turns it into a job failure in one place
//! (`jobs::JobFailure::from_app`); the use cases never know which of the two called them.

use domain::validation::FieldViolation;
use persistence::PersistenceError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks rules, every broken rule named by its field.
    #[error("validation failed")]
    Invalid(Vec<FieldViolation>),
    /// A parameter that cannot even be read (a forged cursor, a limit that is not a
    /// number): the request is malformed rather than invalid.
    #[error("{}: {}", .0.field, .0.message)]
    BadParameter(FieldViolation),
    /// The record does not exist, or the caller may not see it: the two are never told
    /// apart, so ids cannot be probed.
    #[error("not found")]
    NotFound,
    /// An e-mail address and password that do not sign in (unknown address, wrong
    /// password or an inactive user: never told apart).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A refresh token that is unknown, expired, revoked or used already.
    #[error("invalid token")]
    InvalidToken,
    /// A webhook request whose signature or secret token is not the channel
    /// provider's: nothing of it is stored.
    #[error("invalid signature")]
    BadSignature,
    /// Too many failed logins for the e-mail address or from the client address; the
    /// next attempt is heard after this many seconds.
    #[error("too many failed logins")]
    LoginThrottled { retry_after_secs: u64 },
    /// The caller's role, API-key scopes or visibility do not allow the operation.
    #[error("forbidden")]
    Forbidden,
    /// The write would break a uniqueness or state rule, described by the text.
    #[error("conflict: {0}")]
    Conflict(String),
    /// What was asked for existed but was removed for good (e.g. by an erasure).
    #[error("gone: {0}")]
    Gone(String),
    /// The version the caller said it changed (`If-Match`) is no longer the current one.
    #[error("the record has changed since it was read")]
    Stale,
    /// Another writer changed the same records at the same moment (a lock conflict or a
    /// version check the caller did not ask for); nothing was written and the same work
    /// can be tried again.
    #[error("concurrent update: {0}")]
    ConcurrentUpdate(String),
    /// The new record probably duplicates these candidates (a JSON array, ids only where
    /// the caller may see them); the caller may confirm and create it anyway.
    #[error("likely duplicate")]
    LikelyDuplicate(serde_json::Value),
    /// A resource the work needs (the database pool) is not available right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The database failed; the text is for the log only.
    #[error("storage: {0}")]
    Storage(PersistenceError),
    /// A broken invariant inside the system; the text is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A single-field validation failure.
    pub fn field(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AppError::Invalid(vec![FieldViolation::new(field, code, message)])
    }

    /// A parameter that cannot be read, with its stable rule code.
    pub fn bad_parameter(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AppError::BadParameter(FieldViolation::new(field, code, message))
    }

    /// The stable code clients and job owners see (problem `code`, job error `code`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "validation_failed",
            AppError::BadParameter(_) => "malformed_request",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidToken => "invalid_token",
            AppError::BadSignature => "invalid_signature",
            AppError::LoginThrottled { .. } => "too_many_login_attempts",
            AppError::NotFound => "not_found",
            AppError::Forbidden => "forbidden",
            AppError::Conflict(_) => "conflict",
            AppError::Gone(_) => "gone",
            AppError::Stale => "precondition_failed",
            AppError::ConcurrentUpdate(_) => "concurrent_update",
            AppError::LikelyDuplicate(_) => "likely_duplicate",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Storage(_) => "storage_error",
            AppError::Internal(_) => "internal_error",
        }
    }
}

/// Storage errors are sorted once: a missing row, a broken unique rule and a lost race
/// keep their meaning; anything else is a failure of the database.
impl From<domain::feedback::surveys::ClosedLink> for AppError {
    fn from(closed: domain::feedback::surveys::ClosedLink) -> Self {
        AppError::Gone(closed.message().into())
    }
}

impl From<PersistenceError> for AppError {
    fn from(err: PersistenceError) -> Self {
        match err {
            PersistenceError::NotFound => AppError::NotFound,
            PersistenceError::Conflict(what) => AppError::Conflict(what),
            // A version check that fails inside a write is a concurrent writer, worth a
            // retry; `Stale` answers only a version the caller named.
            PersistenceError::StaleVersion => {
                AppError::ConcurrentUpdate("a version check failed".into())
            }
            PersistenceError::Contention(reason) => AppError::ConcurrentUpdate(reason),
            other => AppError::Storage(other),
        }
    }
}

/// For `persistence::transaction::write_transaction`, whose own statements fail with diesel errors.
impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        PersistenceError::from(err).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_races_are_retryable_conflicts_not_failed_preconditions() {
        for err in [
            PersistenceError::StaleVersion,
            PersistenceError::Contention("deadlock detected".into()),
        ] {
            assert_eq!(AppError::from(err).code(), "concurrent_update");
        }
        assert_eq!(AppError::Stale.code(), "precondition_failed");
    }

    #[test]
    fn storage_failures_keep_their_meaning() {
        assert!(matches!(
            AppError::from(PersistenceError::NotFound),
            AppError::NotFound
        ));
        assert!(matches!(
            AppError::from(PersistenceError::Conflict("code".into())),
            AppError::Conflict(what) if what == "code"
        ));
        assert_eq!(
            AppError::from(PersistenceError::Corrupt("x".into())).code(),
            "storage_error"
        );
    }
}
