//! Optimistic concurrency (DESIGN §3): single resources carry a strong `ETag` made of
//! their id and version; `If-Match` on `PATCH`/`DELETE` must name the current one (412
//! `precondition_failed` otherwise); `If-None-Match` on `GET` answers 304 when the
//! client's copy is current.
//!
//! The check against the loaded record is not enough on its own: the write must also
//! carry the version in its `WHERE` clause (`... WHERE id = ? AND version = ?`) and
//! report zero updated rows as `PersistenceError::StaleVersion`, which is a 412 too, so
//! two racing writers cannot both pass.
//!
//! ```ignore
//! #[patch("/api/v1/teams/{id}")]
//! async fn update_team(req: HttpRequest, if_match: IfMatch, patch: MergePatch, ...) -> ApiResult<HttpResponse> {
//!     let current = ...load...;
//!     if_match.check(current.id.0, current.version)?;
//!     let changes: UpdateTeam = patch.apply_to(&UpdateTeam::from(&current))?;
//!     let updated = ...update WHERE version = current.version...;
//!     Ok(etag::single(&req, updated.id.0, updated.version, &TeamDto::from(updated)))
//! }
//! ```

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The entity tag of version `version` of record `id`.
pub fn etag(id: Uuid, version: i64) -> String {
    format!("\"{}-{version}\"", id.simple())
}

/// Whether an `If-Match`/`If-None-Match` value (a list of tags or `*`) names `tag`.
/// Weak tags (`W/"..."`) never match: a version is exact.
fn list_matches(value: &str, tag: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate == tag)
}

/// The `If-Match` header of a request, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// 412 unless the header is absent or names the current version of `id`.
    pub fn check(&self, id: Uuid, current_version: i64) -> ApiResult<()> {
        match &self.0 {
            Some(value) if !list_matches(value, &etag(id, current_version)) => {
                Err(ApiError::PreconditionFailed)
            }
            _ => Ok(()),
        }
    }

    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }
}

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<IfMatch, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req
            .headers()
            .get(header::IF_MATCH)
            .map(|v| v.to_str().map(str::to_string));
        ready(match value {
            None => Ok(IfMatch(None)),
            Some(Ok(value)) => Ok(IfMatch(Some(value))),
            Some(Err(_)) => {
                Err(ApiError::Malformed("If-Match: not a list of entity tags".into()).into())
            }
        })
    }
}

/// A single resource's response with its `ETag`; a `GET` whose `If-None-Match` names
/// the current version gets an empty 304 instead.
pub fn single<T: Serialize>(req: &HttpRequest, id: Uuid, version: i64, body: &T) -> HttpResponse {
    let tag = etag(id, version);
    let fresh = matches!(*req.method(), Method::GET | Method::HEAD)
        && req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| list_matches(v, &tag));
    if fresh {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .json(body)
}

/// 201 Created with `Location` and `ETag`.
pub fn created<T: Serialize>(location: &str, id: Uuid, version: i64, body: &T) -> HttpResponse {
    let mut response = HttpResponse::Created();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.insert_header((header::LOCATION, location));
    }
    response
        .insert_header((header::ETAG, etag(id, version)))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_versions() {
        let id = Uuid::now_v7();
        let current = etag(id, 3);
        assert!(IfMatch(None).check(id, 3).is_ok());
        assert!(IfMatch(Some(current.clone())).check(id, 3).is_ok());
        assert!(IfMatch(Some(format!("\"x\", {current}")))
            .check(id, 3)
            .is_ok());
        assert!(IfMatch(Some("*".into())).check(id, 3).is_ok());
        assert!(IfMatch(Some(etag(id, 2))).check(id, 3).is_err());
        assert!(IfMatch(Some(format!("W/{current}"))).check(id, 3).is_err());
    }
}
