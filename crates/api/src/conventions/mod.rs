//! The shared HTTP conventions of `docs/API-CONVENTIONS.md`, as mechanisms every resource gets by reuse:
//!
//! | mechanism | how a handler uses it |
//! |-----------|-----------------------|
//! | JSON bodies with field errors | take [`JsonBody<T>`](json_body::JsonBody) instead of `web::Json<T>` |
//! | JSON Merge Patch | take [`MergePatch`](merge_patch::MergePatch), call `apply_to(&current)` |
//! | cursor pagination | take [`PageParams`](pagination::PageParams), answer [`Page<T>`](pagination::Page) |
//! | `POST /{resource}/search` | take [`SearchRequest`](search::SearchRequest), call `resolve::<Columns>(CATALOGUE)` |
//! | `ETag` / `If-Match` / `If-None-Match` | [`etag`] helpers |
//! | `Idempotency-Key`, rate limits, `X-Request-Id`, language, CORS, URI and header limits, control characters in query and path parameters, security headers | middleware, nothing to do |
//!
//! `app::serve` wires the middleware, outermost first: security headers, request id,
//! language, CORS, URI and header limits, rate limit, the parameter check, idempotency.
//! The security headers come first so that every answer carries them; the id next so
//! everything after it (logging included) can read it and every response carries it;
//! the language scope wraps all that can produce a problem; CORS answers preflights
//! before they are counted.

pub mod caller;
pub mod client_address;
pub mod cors;
pub mod etag;
pub mod extractors;
pub mod idempotency;
pub mod json_body;
pub mod language;
pub mod merge_patch;
pub mod pagination;
pub mod parameters;
pub mod rate_limit;
pub mod request_id;
pub mod request_limits;
pub mod search;
pub mod security_headers;

pub use json_body::JsonBody;
pub use merge_patch::MergePatch;
pub use pagination::{Page, PageParams};
pub use request_id::RequestId;
pub use search::SearchRequest;
