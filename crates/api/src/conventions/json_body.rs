//! [`JsonBody<T>`], the extractor for JSON request bodies (use it instead of
//! `web::Json`). It answers every bad body with a problem that names what is wrong:
//!
//! * `Content-Type` other than `application/json` → 415 `unsupported_media_type`;
//! * a body over `ServerConfig::max_body_bytes` → 413 `payload_too_large`;
//! * malformed JSON → 400 `malformed_request` with the line and column, checked on the
//!   whole document before its shape, so a truncated body is never reported as a field
//!   error;
//! * a string or object key holding NUL or another control character (tab, line feed
//!   and carriage return excepted) → 422 `validation_failed`, one entry per offending
//!   string with its JSON path and code `nul_character` or `control_character`. This is
//!   the one check every JSON body gets; field-specific rules (single-line names, …)
//!   stay with the field's validator;
//! * a wrong type, an unknown field (DTOs use `#[serde(deny_unknown_fields)]`) or a
//!   missing field → 422 `validation_failed`, `errors[].field` being the JSON path and
//!   `code` one of `invalid_type`, `unknown_field`, `required`, `invalid_value`;
//! * then the DTO's `validator::Validate` rules → 422 with one entry per broken rule.
//!
//! ```ignore
//! #[derive(Deserialize, Validate, ToSchema)]
//! #[serde(deny_unknown_fields)]
//! pub struct CreateTeam {
//!     #[validate(length(min = 1, max = 200))]
//!     pub name: String,
//! }
//!
//! #[post("/api/v1/teams")]
//! async fn create_team(principal: Principal, body: JsonBody<CreateTeam>) -> ApiResult<HttpResponse> {
//!     let JsonBody(input) = body;
//! ```

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, FromRequest, HttpRequest};
use domain::text::{check_char, check_text, TextKind};
use domain::validation::FieldViolation;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::Value;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Body limit when the app state is missing (only in unit tests of other extractors).
const FALLBACK_BODY_LIMIT: usize = 1024 * 1024;

/// A deserialised and validated JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            require_content_type(&req, &["application/json"])?;
            let bytes = read_body(&req, payload).await?;
            let value: T = parse_json(&bytes)?;
            validate(&value)?;
            Ok(JsonBody(value))
        })
    }
}

/// The media type of the request (lower case, without parameters), if any.
pub fn media_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// 415 unless the request's `Content-Type` is one of `accepted` (parameters such as
/// `charset` are ignored).
pub fn require_content_type(req: &HttpRequest, accepted: &[&str]) -> ApiResult<()> {
    match media_type(req) {
        Some(media) if accepted.contains(&media.as_str()) => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// The configured body limit of this server for this request: file uploads
/// (`multipart/form-data`) have their own, larger limit.
pub fn body_limit(req: &HttpRequest) -> usize {
    let upload = media_type(req).as_deref() == Some(MULTIPART_FORM_DATA);
    req.app_data::<web::Data<AppState>>()
        .map(|state| match upload {
            true => state.config.max_upload_bytes,
            false => state.config.max_body_bytes,
        })
        .unwrap_or(FALLBACK_BODY_LIMIT)
}

/// The media type of file uploads.
pub const MULTIPART_FORM_DATA: &str = "multipart/form-data";

/// Reads the whole body, refusing (413) as soon as it exceeds the configured limit, so
/// an oversized body is never buffered in full.
pub async fn read_body(req: &HttpRequest, mut payload: Payload) -> ApiResult<Bytes> {
    let limit = body_limit(req);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::Malformed(format!("the request body could not be read: {err}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Deserialises `bytes`, reporting syntax errors as 400, then text with forbidden
/// characters and shape errors as 422 with the JSON path of the offending member.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    // Syntax first, on the whole document: deserialising straight into `T` would report
    // the first shape problem it meets (`{"x":` is an unknown field) before the end of a
    // truncated body.
    let document: Value = serde_json::from_slice(bytes).map_err(|err| syntax_error(&err))?;
    let forbidden = forbidden_text(&document);
    if !forbidden.is_empty() {
        return Err(ApiError::Validation(forbidden));
    }
    // `T` is read from the bytes rather than from `document` so that a member given
    // twice stays an error instead of the last one silently winning.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let err = err.into_inner();
        match err.classify() {
            Category::Data => ApiError::Validation(vec![data_violation(&path, &message_of(&err))]),
            // serde_json reports a value of the wrong JSON type where an enum is expected
            // (`"role": 5`) as a syntax error ("expected value"); the document is known
            // to be well-formed, so the fault is the member's type.
            _ => ApiError::Validation(vec![FieldViolation::new(
                field_at(&path),
                "invalid_type",
                "the value has the wrong type for this field",
            )]),
        }
    })
}

/// A violation for every string and object key in `document` that breaks the text rule
/// all input obeys ([`TextKind::MultiLine`]), with paths written as serde paths are
/// (`emails[1].label`). A bad key is named by its path with the offending characters
/// escaped, so the problem document itself never carries them.
pub fn forbidden_text(document: &Value) -> Vec<FieldViolation> {
    let mut found = Vec::new();
    collect_forbidden(document, "", &mut found);
    found
}

fn collect_forbidden(value: &Value, path: &str, found: &mut Vec<FieldViolation>) {
    match value {
        Value::String(text) => {
            if let Some(violation) = check_text(text, TextKind::MultiLine) {
                found.push(violation.at(field_at(path)));
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_forbidden(item, &format!("{path}[{index}]"), found);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let member_path = join_path(path, &escape_forbidden(key));
                if let Some(violation) = check_text(key, TextKind::MultiLine) {
                    found.push(violation.at(member_path.clone()));
                }
                collect_forbidden(member, &member_path, found);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `text` with every character the text rule refuses written as `\u{XXXX}`.
pub fn escape_forbidden(text: &str) -> String {
    text.chars()
        .map(|c| match check_char(c, TextKind::MultiLine) {
            Some(_) => format!("\\u{{{:04X}}}", u32::from(c)),
            None => c.to_string(),
        })
        .collect()
}

fn syntax_error(err: &serde_json::Error) -> ApiError {
    ApiError::Malformed(format!(
        "the body is not valid JSON: {} (line {}, column {})",
        message_of(err),
        err.line(),
        err.column()
    ))
}

/// The violation's field for a serde path: the path itself, or `body` at the root.
fn field_at(path: &str) -> String {
    if path.is_empty() || path == "." {
        "body".to_string()
    } else {
        path.to_string()
    }
}

/// serde's message without the " at line X column Y" suffix serde_json appends.
fn message_of(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// The member named between backticks in a serde message, e.g. "unknown field `x`".
fn quoted_name(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(&message[start..end])
}

fn join_path(parent: &str, member: &str) -> String {
    if parent.is_empty() || parent == "." {
        member.to_string()
    } else {
        format!("{parent}.{member}")
    }
}

/// Turns a serde data error at `path` into a field violation with a stable code.
fn data_violation(path: &str, message: &str) -> FieldViolation {
    let field = field_at(path);
    if message.starts_with("unknown field") {
        let name = quoted_name(message).unwrap_or("");
        // serde_path_to_error stops at the object holding the unknown member.
        let field = if field.ends_with(name) && !name.is_empty() {
            field
        } else {
            join_path(path, name)
        };
        return FieldViolation::new(field, "unknown_field", "this field is not accepted here");
    }
    if message.starts_with("missing field") {
        let name = quoted_name(message).unwrap_or("");
        return FieldViolation::new(join_path(path, name), "required", "this field is required");
    }
    if message.starts_with("invalid type") {
        return FieldViolation::new(field, "invalid_type", message);
    }
    FieldViolation::new(field, "invalid_value", message)
}

/// Runs the DTO's validation rules, reporting every broken rule.
pub fn validate<T: Validate>(value: &T) -> ApiResult<()> {
    value
        .validate()
        .map_err(|errors| ApiError::Validation(violations(&errors)))
}

/// Flattens validator's nested errors into field violations with paths such as
/// `emails[1].value`, sorted by path so responses are stable.
pub fn violations(errors: &ValidationErrors) -> Vec<FieldViolation> {
    let mut found = Vec::new();
    collect(errors, "", &mut found);
    found.sort_by(|a, b| a.field.cmp(&b.field).then(a.code.cmp(&b.code)));
    found
}

fn collect(errors: &ValidationErrors, prefix: &str, found: &mut Vec<FieldViolation>) {
    for (field, kind) in errors.errors() {
        let path = join_path(prefix, field);
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let code = rule_code(error);
                    let message = error
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| default_message(&code));
                    found.push(FieldViolation::new(path.clone(), code, message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, found),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), found);
                }
            }
        }
    }
}

/// The platform's rule code for a validator error: validator's built-in rule names are
/// mapped to the codes the i18n catalogue knows, custom codes pass through.
fn rule_code(error: &validator::ValidationError) -> String {
    match error.code.as_ref() {
        "email" => "invalid_email".into(),
        "url" | "regex" | "contains" | "does_not_contain" => "invalid_format".into(),
        "range" => "out_of_range".into(),
        "required" => "required".into(),
        "length" => {
            // The checked value: text (counted in characters) or a list.
            let length = error.params.get("value").and_then(|v| {
                v.as_str()
                    .map(|text| text.chars().count() as u64)
                    .or_else(|| v.as_array().map(|list| list.len() as u64))
            });
            let min = error.params.get("min").and_then(|v| v.as_u64());
            match (length, min) {
                (Some(length), Some(min)) if length < min => "too_short".into(),
                _ => "too_long".into(),
            }
        }
        other => other.to_string(),
    }
}

fn default_message(code: &str) -> String {
    match code {
        "invalid_email" => "not a valid e-mail address",
        "invalid_format" => "the value does not have the expected format",
        "out_of_range" => "the value is out of range",
        "required" => "this field is required",
        "too_short" => "the value is too short",
        "too_long" => "the value is too long",
        _ => "the value is not valid",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Input {
        #[validate(length(min = 2))]
        name: String,
        #[validate(nested)]
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[validate(range(max = 10))]
        count: i64,
    }

    fn violations_of(body: &str) -> Vec<(String, String)> {
        let error = parse_json::<Input>(body.as_bytes())
            .and_then(|input| validate(&input))
            .unwrap_err();
        match error {
            ApiError::Validation(found) => found.into_iter().map(|v| (v.field, v.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn pair(field: &str, code: &str) -> (String, String) {
        (field.to_string(), code.to_string())
    }

    #[test]
    fn shape_errors_name_the_json_path() {
        assert_eq!(
            violations_of(r#"{"name": 5}"#),
            [pair("name", "invalid_type")]
        );
        assert_eq!(
            violations_of(r#"{"name": "ab", "extra": 1}"#),
            [pair("extra", "unknown_field")]
        );
        assert_eq!(violations_of(r#"{}"#), [pair("name", "required")]);
        assert_eq!(
            violations_of(r#"{"name": "ab", "items": [{"count": "x"}]}"#),
            [pair("items[0].count", "invalid_type")]
        );
        assert_eq!(
            violations_of(r#"{"name": "ab", "items": [{"count": 1, "x": 1}]}"#),
            [pair("items[0].x", "unknown_field")]
        );
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct WithEnum {
        kind: Kind,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Small,
        Large,
    }

    #[test]
    fn enum_members_of_the_wrong_type_are_field_errors() {
        for body in [
            r#"{"kind": 5}"#,
            r#"{"kind": true}"#,
            r#"{"kind": null}"#,
            r#"{"kind": [1]}"#,
        ] {
            match parse_json::<WithEnum>(body.as_bytes()) {
                Err(ApiError::Validation(found)) => {
                    let found: Vec<_> = found.into_iter().map(|v| (v.field, v.code)).collect();
                    assert_eq!(found, [pair("kind", "invalid_type")], "{body}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        match parse_json::<WithEnum>(br#"{"kind": "medium"}"#) {
            Err(ApiError::Validation(found)) => {
                assert_eq!(
                    (found[0].field.as_str(), found[0].code.as_str()),
                    ("kind", "invalid_value")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<WithEnum>(br#"{"kind": "large"}"#),
            Ok(WithEnum { kind: Kind::Large })
        ));
        // A broken document stays a syntax error even where an enum is expected.
        assert!(matches!(
            parse_json::<WithEnum>(br#"{"kind": 5"#),
            Err(ApiError::Malformed(_))
        ));
    }

    #[test]
    fn rule_errors_name_nested_fields() {
        assert_eq!(
            violations_of(r#"{"name": "a", "items": [{"count": 1}, {"count": 11}]}"#),
            [
                pair("items[1].count", "out_of_range"),
                pair("name", "too_short")
            ]
        );
    }

    #[test]
    fn syntax_errors_are_malformed_with_position() {
        for body in [
            "{\"name\": ",
            "{\"name\" \"x\"}",
            "{\"name\": \"ab\"} trailing",
        ] {
            match parse_json::<Input>(body.as_bytes()) {
                Err(ApiError::Malformed(detail)) => assert!(detail.contains("line 1"), "{detail}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_bodies_are_malformed_whatever_they_start_with() {
        for body in [
            r#"{"x":"#,
            r#"{"x": 1"#,
            r#"{"name": 5"#,
            r#"["#,
            r#"{"items": [{"count": "#,
        ] {
            assert!(
                matches!(
                    parse_json::<Input>(body.as_bytes()),
                    Err(ApiError::Malformed(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn forbidden_characters_are_named_by_path_in_values_and_keys() {
        assert_eq!(
            violations_of("{\"name\": \"a\\u0000b\"}"),
            [pair("name", "nul_character")]
        );
        assert_eq!(
            violations_of(
                "{\"name\": \"ab\", \"items\": [{\"count\": 1}, {\"x\\u0007\": \"\\u0000\"}]}"
            ),
            [
                pair("items[1].x\\u{0007}", "control_character"),
                pair("items[1].x\\u{0007}", "nul_character")
            ]
        );
        // Checked before the shape: an unknown member holding NUL is reported for NUL.
        assert_eq!(
            violations_of("{\"nope\": [\"\\u0000\"]}"),
            [pair("nope[0]", "nul_character")]
        );
        assert_eq!(
            forbidden_text(&serde_json::json!("\u{9b}"))
                .iter()
                .map(|v| (v.field.as_str(), v.code.as_str()))
                .collect::<Vec<_>>(),
            [("body", "control_character")]
        );
        // Layout characters and Persian joiners and marks pass.
        assert!(forbidden_text(
            &serde_json::json!({"note": "a\n\tb\r\n", "name": "می\u{200c}خواهم\u{200f}"})
        )
        .is_empty());
    }
}
