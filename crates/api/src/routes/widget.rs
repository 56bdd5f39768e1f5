//! The web chat widget's API (O-2), called from the business's own web pages with no
//! user signed in: `/api/v1/widget/{site_key}/…`. The site key names a `web_chat`
//! account; a visitor starts a chat and gets a token (`Peyvand-Visitor-Token`) that
//! sends and reads that chat only.
//!
//! CORS here is the account's, not the server's (`conventions::cors` leaves these
//! paths out): [`gate`] answers a preflight and adds `Access-Control-Allow-Origin`
//! (the exact origin, with `Vary: Origin`) only for an origin the account lists, and
//! refuses any other origin with 403 before a handler runs, so nothing is stored. A
//! request without `Origin` is not a browser's cross-origin call and passes: the
//! origin check protects visitors' browsers, it cannot stop other clients, which the
//! rate limits are for.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{get, post, web, Error, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use application::omnichannel::accounts::ChannelAccount;
use application::omnichannel::web_chat;
use chrono::{DateTime, Utc};
use domain::omnichannel::conversations::Direction;
use domain::omnichannel::web_chat::{VisitorInput, WidgetMessageInput};
use persistence::conversations::MessageRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::conventions::client_address::client_address_key;
use crate::conventions::pagination::{checked_limit, Cursor, DEFAULT_LIMIT};
use crate::conventions::rate_limit::{
    QuotaLimits, RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET,
};
use crate::conventions::request_id::{respond, REQUEST_ID_HEADER};
use crate::conventions::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The header a visitor's token travels in.
pub const VISITOR_TOKEN_HEADER: HeaderName = HeaderName::from_static("peyvand-visitor-token");
/// Chats one client address may start on one site a minute.
pub const SESSIONS_PER_MINUTE: u32 = 10;
/// How long a browser may keep a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_SECS: u32 = 600;

#[derive(OpenApi)]
#[openapi(
    paths(start_widget_chat, send_widget_message, list_widget_messages),
    components(schemas(
        VisitorInput,
        WidgetMessageInput,
        WidgetChat,
        WidgetMessage,
        WidgetMessagePage,
        WidgetAuthor
    ))
)]
pub struct WidgetApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/widget/{site_key}")
            .wrap(from_fn(gate))
            .service(start_widget_chat)
            .service(send_widget_message)
            .service(list_widget_messages),
    );
}

/// The account a widget request's site key named, found by [`gate`].
#[derive(Clone)]
struct SiteAccount(ChannelAccount);

fn allow_origin(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Middleware of the widget's routes: the site key's active web chat account (404
/// otherwise), the request's origin checked against it, preflights answered.
async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let refuse =
        |req: ServiceRequest, error: ApiError| -> Result<ServiceResponse<BoxBody>, Error> {
            Ok(req.into_response(error.error_response()))
        };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return refuse(req, ApiError::Internal("no application state".into()));
    };
    let site_key = req
        .match_info()
        .get("site_key")
        .unwrap_or_default()
        .to_string();
    let account = match state
        .db(move |conn| Ok(web_chat::account_for_site(conn, &site_key)?))
        .await
    {
        Ok(account) => account,
        Err(error) => return refuse(req, error),
    };
    let origin = req.headers().get(header::ORIGIN).cloned();
    if let Some(origin) = &origin {
        let allowed =
            account.settings.web_chat.as_ref().is_some_and(|settings| {
                origin.to_str().is_ok_and(|origin| settings.allows(origin))
            });
        if !allowed {
            return refuse(req, ApiError::Forbidden);
        }
    }
    if req.method() == Method::OPTIONS {
        let mut response = HttpResponse::NoContent();
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "content-type, accept-language, idempotency-key, x-request-id, peyvand-visitor-token",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECS));
        let mut response = response.finish();
        if let Some(origin) = &origin {
            allow_origin(response.headers_mut(), origin);
        }
        return Ok(req.into_response(response));
    }
    req.extensions_mut().insert(SiteAccount(account));
    let mut response = respond(req, next).await?;
    if let Some(origin) = &origin {
        let headers = response.headers_mut();
        allow_origin(headers, origin);
        let exposed = [
            header::RETRY_AFTER,
            RATE_LIMIT_LIMIT,
            RATE_LIMIT_REMAINING,
            RATE_LIMIT_RESET,
            REQUEST_ID_HEADER,
        ]
        .map(|name| name.to_string())
        .join(", ");
        if let Ok(exposed) = HeaderValue::from_str(&exposed) {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
        }
    }
    Ok(response)
}

/// The account [`gate`] found for this request.
fn site_account(req: &HttpRequest) -> ApiResult<ChannelAccount> {
    req.extensions()
        .get::<SiteAccount>()
        .map(|site| site.0.clone())
        .ok_or_else(|| ApiError::Internal("widget request without its account".into()))
}

fn visitor_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(VISITOR_TOKEN_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// A chat started: the token is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetChat {
    pub visitor_id: Uuid,
    /// Send it as `Peyvand-Visitor-Token` with every message and read of this chat.
    /// Only its SHA-256 is stored: a lost token cannot be shown again.
    #[schema(example = "pvw_4f0c…")]
    pub token: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Who wrote a message of the chat.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WidgetAuthor {
    Visitor,
    Business,
}

/// A message of the chat, as the visitor sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetMessage {
    pub id: Uuid,
    pub author: WidgetAuthor,
    pub text: String,
    /// The business's automatic answer (off hours, a canned answer), not an agent's.
    pub automatic: bool,
    pub sent_at: DateTime<Utc>,
}

impl From<&MessageRow> for WidgetMessage {
    fn from(row: &MessageRow) -> Self {
        WidgetMessage {
            id: row.id.0,
            author: if row.direction == Direction::Inbound.as_str() {
                WidgetAuthor::Visitor
            } else {
                WidgetAuthor::Business
            },
            text: row.body.clone(),
            automatic: row.automatic,
            sent_at: row.occurred_at.0,
        }
    }
}

/// A page of the chat, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetMessagePage {
    pub data: Vec<WidgetMessage>,
    /// Pass as `after` to read what follows: the position after this page's last
    /// message, or the `after` given when nothing is new (absent only before the
    /// chat's first message), so a widget polls with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Whether more messages follow already.
    pub has_more: bool,
}

/// Where a widget read starts and how much it takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WidgetPageQuery {
    /// `after` of the previous page; the chat's start when absent.
    pub after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Start a web chat.
///
/// Called by the widget when a visitor opens the chat, with what they tell about
/// themselves (all optional): a `name`, and an `email` and/or `phone` (any Iranian
/// format) by which they are recognised as a customer or lead once they write — a
/// customer's visitor lands in that customer's timeline and conversations. Answers
/// the visitor's token, shown this once. No credentials: the site key names the
/// account, and a request from an origin the account does not list is refused.
///
/// At most 10 chats a minute from one client address on one site. Problems: 403 for
/// an origin the account does not list; 404 for an unknown or inactive site key; 422
/// naming `name`, `email` or `phone`; 429 with `Retry-After`.
#[utoipa::path(
    tag = "widget",
    operation_id = "start_widget_chat",
    // The handlers sit in the widget's scope; the document names the whole path.
    path = "/api/v1/widget/{site_key}/sessions",
    security(()),
    params(("site_key" = String, Path, description = "The web chat account's site key")),
    request_body = VisitorInput,
    responses(
        (status = 201, description = "Started", body = WidgetChat),
        (status = 403, description = "An origin the account does not list", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active web chat account has this site key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many chats from this address", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/sessions")]
pub async fn start_widget_chat(
    req: HttpRequest,
    state: web::Data<AppState>,
    limits: web::Data<QuotaLimits>,
    body: JsonBody<VisitorInput>,
) -> ApiResult<HttpResponse> {
    let account = site_account(&req)?;
    let client = client_address_key(&req, &state.config.trusted_proxies);
    limits
        .check(
            SESSIONS_PER_MINUTE,
            format!("widget_session:{}:{client}", account.row.id.0),
        )
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let input = body.0;
    let started = state
        .db(move |conn| Ok(web_chat::start(conn, &account, input)?))
        .await?;
    Ok(HttpResponse::Created().json(WidgetChat {
        visitor_id: started.visitor.id.0,
        token: started.token,
        name: started.visitor.name,
        created_at: started.visitor.created_at.0,
    }))
}

/// Send a visitor's message.
///
/// Stored as every channel's inbound message is: threaded into the visitor's
/// conversation, which agents see with the customer or lead the visitor was
/// recognised as (or a new lead, or nobody, as the account's `unknown_sender` says);
/// the account's ticket rule, off-hours reply and automatic canned answer apply, and
/// their answers appear in the chat. `client_message_id` makes a retry safe: the same
/// id again stores nothing and answers the message stored first (200 instead of 201).
///
/// Needs the visitor's `Peyvand-Visitor-Token`. Each visitor may send the account's
/// `visitor_messages_per_minute` (20 by default). Problems: 401 `invalid_token` for a
/// missing token or one of another chat or site; 403 for an origin the account does
/// not list; 404 for an unknown or inactive site key; 422 naming `client_message_id`
/// or `text` (blank, too long, control characters); 429 with `Retry-After`.
#[utoipa::path(
    tag = "widget",
    operation_id = "send_widget_message",
    // The handlers sit in the widget's scope; the document names the whole path.
    path = "/api/v1/widget/{site_key}/messages",
    security(()),
    params(
        ("site_key" = String, Path, description = "The web chat account's site key"),
        ("Peyvand-Visitor-Token" = String, Header, description = "The token the chat started with")
    ),
    request_body = WidgetMessageInput,
    responses(
        (status = 201, description = "Stored", body = WidgetMessage),
        (status = 200, description = "Stored before under this client message id", body = WidgetMessage),
        (status = 401, description = "No valid visitor token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An origin the account does not list", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active web chat account has this site key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The visitor sent too many messages", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/messages")]
pub async fn send_widget_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    limits: web::Data<QuotaLimits>,
    body: JsonBody<WidgetMessageInput>,
) -> ApiResult<HttpResponse> {
    let account = site_account(&req)?;
    // Checked before the visitor's quota is spent: a widget's bad input is its bug,
    // not the visitor's message.
    let input = body.0.validated().map_err(ApiError::Validation)?;
    let token = visitor_token(&req);
    let found = account.clone();
    let visitor = state
        .db(move |conn| Ok(web_chat::visitor(conn, &found, token.as_deref())?))
        .await?;
    let per_minute = account
        .settings
        .web_chat
        .as_ref()
        .map(|settings| settings.messages_per_minute())
        .unwrap_or(domain::omnichannel::web_chat::DEFAULT_VISITOR_MESSAGES_PER_MINUTE);
    limits
        .check(per_minute, format!("widget_message:{}", visitor.id.0))
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let sent = state
        .db(move |conn| Ok(web_chat::send(conn, &account, &visitor, input)?))
        .await?;
    let message = WidgetMessage::from(&sent.message);
    Ok(if sent.replayed {
        HttpResponse::Ok().json(message)
    } else {
        HttpResponse::Created().json(message)
    })
}

/// Read the visitor's chat.
///
/// The visitor's messages and the business's answers (agents' replies and automatic
/// ones; never one that was refused or failed), oldest first, a page at a time after
/// `after`. The answer's `after` continues the chat, also when nothing was new, so the
/// widget polls with it.
///
/// Needs the visitor's `Peyvand-Visitor-Token`: a token reads its own chat only.
/// Problems: 400 `invalid_cursor`; 401 `invalid_token`; 403 for an origin the account
/// does not list; 404 for an unknown or inactive site key; 422 naming `limit`.
#[utoipa::path(
    tag = "widget",
    operation_id = "list_widget_messages",
    // The handlers sit in the widget's scope; the document names the whole path.
    path = "/api/v1/widget/{site_key}/messages",
    security(()),
    params(
        ("site_key" = String, Path, description = "The web chat account's site key"),
        ("Peyvand-Visitor-Token" = String, Header, description = "The token the chat started with"),
        WidgetPageQuery
    ),
    responses(
        (status = 200, description = "A page of the chat", body = WidgetMessagePage),
        (status = 401, description = "No valid visitor token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An origin the account does not list", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active web chat account has this site key", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/messages")]
pub async fn list_widget_messages(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<WidgetPageQuery>,
) -> ApiResult<HttpResponse> {
    let account = site_account(&req)?;
    let token = visitor_token(&req);
    let query = query.into_inner();
    let limit = checked_limit(query.limit.unwrap_or(DEFAULT_LIMIT as i64))?;
    let after = query.after.as_deref().map(Cursor::decode).transpose()?;
    let (rows, after, has_more) = state
        .db(move |conn| {
            let visitor = web_chat::visitor(conn, &account, token.as_deref())?;
            Ok(web_chat::messages(conn, &visitor, after.as_ref(), limit)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WidgetMessagePage {
        data: rows.iter().map(WidgetMessage::from).collect(),
        after,
        has_more,
    }))
}
