//! JSON Merge Patch (RFC 7396) for `PATCH` (`docs/API-CONVENTIONS.md`). The patch is applied to the JSON
//! form of the record's *editable* view and the result deserialised into the update DTO,
//! which has `#[serde(deny_unknown_fields)]`: a patch that names a read-only or unknown
//! member (`id`, `version`, `password_hash`, ...) is a 422 `unknown_field` naming it, a
//! wrong type a 422 `invalid_type`, and then the DTO's validation rules apply. `null`
//! removes a member, which clears an optional field.
//!
//! Accepts `Content-Type: application/merge-patch+json` (and `application/json`).
//!
//! ```ignore
//! #[derive(Serialize, Deserialize, Validate)]
//! #[serde(deny_unknown_fields)]
//! struct UpdateTeam { #[validate(length(min = 1))] name: String, description: Option<String> }
//!
//! let current = UpdateTeam { name: row.name.clone(), description: row.description.clone() };
//! let updated: UpdateTeam = patch.apply_to(&current)?;
//! ```

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use domain::validation::FieldViolation;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use validator::Validate;

use super::json_body::{parse_json, read_body, require_content_type, validate};
use application::{AppError, AppResult};

use crate::error::{ApiError, ApiResult};

pub const MERGE_PATCH_JSON: &str = "application/merge-patch+json";

/// A merge patch document (always a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct MergePatch(pub Value);

impl MergePatch {
    /// Applies the patch to `current` (the editable view) and returns the validated
    /// result.
    pub fn apply_to<U, C>(&self, current: &C) -> ApiResult<U>
    where
        C: Serialize,
        U: DeserializeOwned + Validate,
    {
        let updated: U = self.apply(current)?;
        validate(&updated)?;
        Ok(updated)
    }

    /// Applies the patch to `current` and parses the result, leaving rule checks to the
    /// caller (for documents whose rules live in `domain` or a use case). Fails as a use
    /// case fails, so that it can run inside one (see `application::Precondition`).
    pub fn apply<U, C>(&self, current: &C) -> AppResult<U>
    where
        C: Serialize,
        U: DeserializeOwned,
    {
        let mut document = serde_json::to_value(current)
            .map_err(|err| AppError::Internal(format!("record to JSON: {err}")))?;
        json_patch::merge(&mut document, &self.0);
        // Round-trips through text so errors carry the same paths and codes as bodies.
        let text =
            serde_json::to_vec(&document).map_err(|err| AppError::Internal(err.to_string()))?;
        parse_json(&text).map_err(|err| match err {
            ApiError::Validation(violations) => AppError::Invalid(violations),
            // The patched document is JSON this process wrote.
            other => AppError::Internal(other.to_string()),
        })
    }

    /// The top-level members the patch sets or removes.
    pub fn members(&self) -> Vec<&str> {
        self.0
            .as_object()
            .map(|object| object.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

impl FromRequest for MergePatch {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<MergePatch, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            require_content_type(&req, &[MERGE_PATCH_JSON, "application/json"])?;
            let bytes = read_body(&req, payload).await?;
            let patch: Value = parse_json(&bytes)?;
            if !patch.is_object() {
                return Err(ApiError::Validation(vec![FieldViolation::new(
                    "body",
                    "invalid_type",
                    "a merge patch is a JSON object",
                )]));
            }
            Ok(MergePatch(patch))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Editable {
        #[validate(length(min = 1))]
        name: String,
        #[serde(default)]
        description: Option<String>,
    }

    fn current() -> Editable {
        Editable {
            name: "Sales".into(),
            description: Some("north".into()),
        }
    }

    #[test]
    fn patches_merge_and_null_clears() {
        let patched: Editable = MergePatch(json!({"description": null, "name": "Support"}))
            .apply_to(&current())
            .unwrap();
        assert_eq!(
            patched,
            Editable {
                name: "Support".into(),
                description: None
            }
        );
    }

    #[test]
    fn read_only_members_and_bad_values_are_named() {
        let codes = |patch: Value| match MergePatch(patch).apply_to::<Editable, _>(&current()) {
            Err(ApiError::Validation(found)) => found
                .into_iter()
                .map(|v| (v.field, v.code))
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            codes(json!({"id": "x"})),
            [("id".to_string(), "unknown_field".to_string())]
        );
        assert_eq!(
            codes(json!({"name": 3})),
            [("name".to_string(), "invalid_type".to_string())]
        );
        assert_eq!(
            codes(json!({"name": ""})),
            [("name".to_string(), "too_short".to_string())]
        );
    }
}
