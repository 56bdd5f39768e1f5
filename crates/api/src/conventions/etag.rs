//! Optimistic concurrency (`docs/API-CONVENTIONS.md`): single resources carry a strong `ETag` made of
//! their id and version; `If-Match` on `PATCH`/`DELETE` must name the current one (412
//! `precondition_failed` otherwise); `If-None-Match` on `GET` answers 304 when the
//! client's copy is current.
//!
//! The check against the loaded record is not enough on its own: the write must also
//! carry the version in its `WHERE` clause (`... WHERE id = ? AND version = ?`) and
//! report zero updated rows as `PersistenceError::StaleVersion`, so two racing writers
//! cannot both pass. That one answers 409 `concurrent_update` (retryable), not 412: the
//! client may not have sent `If-Match` at all, and on a retry its `If-Match`, if any, is
//! checked again.
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

/// One entity tag of a precondition list: its opaque part (quotes included) and
/// whether it was marked weak (`W/`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntityTag {
    opaque: String,
    weak: bool,
}

/// A parsed `If-Match`/`If-None-Match` value (RFC 9110 §13.1.1): `*` or a list of
/// entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Precondition {
    Any,
    Tags(Vec<EntityTag>),
}

impl Precondition {
    /// Parses the field's lines, which together form one comma-separated list (RFC 9110
    /// §5.3). `None` when the syntax is broken: an element that is not a quoted tag, or
    /// `*` beside tags.
    fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Precondition> {
        let mut tags = Vec::new();
        let mut any = false;
        for line in lines {
            let mut rest = line.trim_start();
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix(',') {
                    // Empty list elements are allowed and ignored.
                    rest = after.trim_start();
                    continue;
                }
                if let Some(after) = rest.strip_prefix('*') {
                    any = true;
                    rest = after;
                } else {
                    let (weak, quoted) = match rest.strip_prefix("W/") {
                        Some(after) => (true, after),
                        None => (false, rest),
                    };
                    // The opaque tag is a quoted string without inner quotes; it may
                    // hold commas, so the list cannot be split on commas first.
                    let inner = quoted.strip_prefix('"')?;
                    let end = inner.find('"')?;
                    let opaque = &quoted[..end + 2];
                    if opaque.chars().any(|c| c.is_control() || c.is_whitespace()) {
                        return None;
                    }
                    tags.push(EntityTag {
                        opaque: opaque.to_string(),
                        weak,
                    });
                    rest = &quoted[end + 2..];
                }
                rest = rest.trim_start();
                match rest.strip_prefix(',') {
                    Some(after) => rest = after.trim_start(),
                    None if rest.is_empty() => {}
                    None => return None,
                }
            }
        }
        match (any, tags.is_empty()) {
            (true, true) => Some(Precondition::Any),
            (false, false) => Some(Precondition::Tags(tags)),
            // `*` mixed with tags, or nothing but commas and blanks.
            _ => None,
        }
    }

    /// Whether the list names `tag` under the weak comparison `If-None-Match` uses:
    /// `W/` is ignored.
    fn matches_weakly(&self, tag: &str) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Tags(tags) => tags.iter().any(|t| t.opaque == tag),
        }
    }
}

/// The `If-Match` header of a request, if any.
///
/// Every tag this API hands out is strong (`"<id>-<version>"`, exact for one stored
/// version), so the strong comparison RFC 9110 requires for `If-Match` is the natural
/// one: the header matches when it is `*` (the record exists; handlers call `check` only
/// after loading it) or when one of its listed tags, not marked `W/`, is the current tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(Option<Precondition>);

impl IfMatch {
    /// 412 unless the header is absent or names the current version of `id`.
    pub fn check(&self, id: Uuid, current_version: i64) -> ApiResult<()> {
        Ok(self.precondition().check(id, current_version)?)
    }

    /// The header as a use case checks it: the versions its strong tags name. A weak tag
    /// or one this API did not make can never match, so it is left out.
    pub fn precondition(&self) -> application::Precondition {
        match &self.0 {
            None => application::Precondition::None,
            Some(Precondition::Any) => application::Precondition::Exists,
            Some(Precondition::Tags(tags)) => application::Precondition::AnyOf(
                tags.iter()
                    .filter(|tag| !tag.weak)
                    .filter_map(|tag| parse_etag(&tag.opaque))
                    .collect(),
            ),
        }
    }
}

/// The record id and version of a tag made by [`etag`].
fn parse_etag(tag: &str) -> Option<(Uuid, i64)> {
    let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
    let (id, version) = inner.split_once('-')?;
    let id = Uuid::try_parse(id)
        .ok()
        .filter(|parsed| parsed.simple().to_string() == id)?;
    Some((
        id,
        version
            .parse()
            .ok()
            .filter(|v: &i64| *v >= 0 && v.to_string() == version)?,
    ))
}

fn malformed_if_match() -> actix_web::Error {
    ApiError::Malformed(
        "If-Match: must be `*` or a comma-separated list of quoted entity tags".into(),
    )
    .into()
}

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<IfMatch, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let lines: Result<Vec<&str>, _> = req
            .headers()
            .get_all(header::IF_MATCH)
            .map(HeaderValue::to_str)
            .collect();
        ready(match lines {
            Ok(lines) if lines.is_empty() => Ok(IfMatch(None)),
            Ok(lines) => Precondition::parse(lines)
                .map(|condition| IfMatch(Some(condition)))
                .ok_or_else(malformed_if_match),
            Err(_) => Err(malformed_if_match()),
        })
    }
}

/// A single resource's response with its `ETag`; a `GET` whose `If-None-Match` names
/// the current version gets an empty 304 instead.
pub fn single<T: Serialize>(req: &HttpRequest, id: Uuid, version: i64, body: &T) -> HttpResponse {
    let tag = etag(id, version);
    // A broken If-None-Match is ignored: the answer is then simply the full one.
    let fresh = matches!(*req.method(), Method::GET | Method::HEAD)
        && req
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .map(HeaderValue::to_str)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|lines| !lines.is_empty())
            .and_then(Precondition::parse)
            .is_some_and(|condition| condition.matches_weakly(&tag));
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

    fn if_match(lines: &[&str]) -> Option<IfMatch> {
        Precondition::parse(lines.iter().copied()).map(|condition| IfMatch(Some(condition)))
    }

    #[test]
    fn if_match_compares_versions() {
        let id = Uuid::now_v7();
        let current = etag(id, 3);
        let passes = |lines: &[&str]| if_match(lines).expect("parses").check(id, 3).is_ok();
        assert!(IfMatch(None).check(id, 3).is_ok());
        assert!(passes(&[&current]));
        assert!(passes(&[&format!("\"x\", {current}")]));
        assert!(passes(&[&format!("\"a,b\",{current} ,")]));
        assert!(passes(&["\"x\"", &current]), "lines form one list");
        assert!(passes(&["*"]));
        assert!(!passes(&[&etag(id, 2)]));
        assert!(!passes(&[&format!("\"x\", {}", etag(id, 2))]));
        assert!(
            !passes(&[&format!("W/{current}")]),
            "If-Match compares strongly"
        );
    }

    #[test]
    fn broken_precondition_lists_are_refused() {
        for broken in [
            "",
            " , ",
            "abc",
            "\"unterminated",
            "\"a\" \"b\"",
            "*, \"a\"",
            "w/\"a\"",
        ] {
            assert!(if_match(&[broken]).is_none(), "{broken:?}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let id = Uuid::now_v7();
        let tag = etag(id, 1);
        let parsed = Precondition::parse([format!("W/{tag}").as_str()]).expect("parses");
        assert!(parsed.matches_weakly(&tag));
        assert!(IfMatch(Some(parsed)).check(id, 1).is_err(), "not strongly");
    }
}
