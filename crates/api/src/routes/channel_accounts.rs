//! Channel accounts (O-2): the bots, numbers, pages and SMS lines customers write to,
//! with write-only provider credentials and the webhook URL each provider is given.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::omnichannel::accounts::{self, ChannelAccount as Account};
use chrono::{DateTime, Utc};
use domain::omnichannel::accounts::{
    ChannelAccountInput, ChannelKind, ChannelSettings, TicketRule, UnknownSender,
};
use domain::omnichannel::web_chat::WebChatSettings;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_channel_account,
        list_channel_accounts,
        get_channel_account,
        update_channel_account,
        delete_channel_account,
        reseal_channel_credentials,
        fetch_channel_mailbox,
        rotate_channel_site_key
    ),
    components(schemas(
        ChannelAccount,
        ChannelAccountList,
        ChannelAccountInput,
        ChannelKind,
        ChannelSettings,
        UnknownSender,
        TicketRule,
        Resealed,
        MailboxRead,
        WebChatSettings
    ))
)]
pub struct ChannelAccountsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_channel_account)
        .service(list_channel_accounts)
        .service(reseal_channel_credentials)
        .service(get_channel_account)
        .service(update_channel_account)
        .service(delete_channel_account)
        .service(fetch_channel_mailbox)
        .service(rotate_channel_site_key);
}

/// A channel account as the API shows it: never its credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelAccount {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    pub active: bool,
    pub settings: ChannelSettings,
    /// The path to register with the provider (`setWebhook` for Telegram, the callback
    /// URL of the Meta app, the receive and delivery URLs of the SMS line — the SMS
    /// provider's are this path followed by `/received` and `/delivery`). Its random
    /// key is the account's public name: keep it to the provider. A `web_chat`
    /// account's is the base path of its widget's API (`/api/v1/widget/{site_key}`).
    #[schema(example = "/api/v1/webhooks/telegram/5b0c…")]
    pub webhook_path: String,
    /// A `web_chat` account's site key: the public name its widget on the business's
    /// pages calls the API by. Made by the server; `POST
    /// /channel-accounts/{id}/site-key` replaces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_key: Option<String>,
    /// Which configured key sealed the credentials (see `POST /channel-accounts/reseal`).
    pub credentials_key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&Account> for ChannelAccount {
    fn from(account: &Account) -> Self {
        ChannelAccount {
            id: account.row.id.0,
            kind: account.kind,
            name: account.row.name.clone(),
            active: account.row.active,
            settings: account.settings.clone(),
            webhook_path: account.webhook_path(),
            site_key: account.row.site_key.clone(),
            credentials_key_id: account.row.credentials_key_id.clone(),
            created_at: account.row.created_at.0,
            updated_at: account.row.updated_at.0,
            version: account.row.version,
        }
    }
}

/// Every channel account, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelAccountList {
    pub data: Vec<ChannelAccount>,
}

/// How many accounts were sealed again with the newest key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resealed {
    pub resealed: usize,
    pub key_id: String,
}

/// Add a channel account.
///
/// A Telegram bot, a WhatsApp Business number (Cloud API), an Instagram professional
/// account, an SMS line (Kavenegar), a mailbox or the web chat widget of the business's
/// own site. `credentials` are required (but for `web_chat`) and write-only:
/// `telegram` takes `bot_token` and `secret_token` (the `secret_token` given to
/// `setWebhook`, which Telegram repeats in every update); `whatsapp` and `instagram`
/// take `access_token`, `app_secret` (Meta signs each notification with it) and
/// `verify_token` (for the subscription handshake); `sms` takes `api_key`. They are
/// sealed (AES-256-GCM) before they are stored and never returned or logged. Settings:
/// `unknown_sender` — `create_lead` (default) or `keep_unlinked`; `ticket_rule` —
/// `none` (default) or `open_or_attach`. A `web_chat` account takes
/// `settings.web_chat`: `allowed_origins` (the sites its widget runs on, e.g.
/// `https://shop.example.ir`, 1 to 20) and `visitor_messages_per_minute` (20 by
/// default); the server gives it a `site_key`. At most 50 accounts.
///
/// Needs `crm:configure`. Audited as `channel_account.create` (without credentials).
/// Problems: 422 naming `name`, `credentials` or `credentials.<field>` (`required`,
/// `unknown_field`, `too_long`) or `settings.web_chat.allowed_origins[i]`
/// (`invalid_origin`); 409 at 50 accounts.
#[utoipa::path(
    tag = "channels",
    operation_id = "create_channel_account",
    request_body = ChannelAccountInput,
    responses(
        (status = 201, description = "Created", body = ChannelAccount, headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "As many accounts as there may be", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/channel-accounts")]
pub async fn create_channel_account(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ChannelAccountInput>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let input = body.0;
    let cipher = state.credentials.clone();
    let account = state
        .db(move |conn| Ok(accounts::create(conn, &acting, &cipher, input)?))
        .await?;
    let location = format!("/api/v1/channel-accounts/{}", account.row.id.0);
    Ok(etag::created(
        &location,
        account.row.id.0,
        account.row.version,
        &ChannelAccount::from(&account),
    ))
}

/// List channel accounts.
///
/// Every account, by name. Needs `crm:configure`.
#[utoipa::path(
    tag = "channels",
    operation_id = "list_channel_accounts",
    responses((status = 200, description = "The accounts", body = ChannelAccountList))
)]
#[get("/api/v1/channel-accounts")]
pub async fn list_channel_accounts(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(accounts::list(conn, &acting)?))
        .await?;
    Ok(HttpResponse::Ok().json(ChannelAccountList {
        data: rows.iter().map(ChannelAccount::from).collect(),
    }))
}

/// Get a channel account.
///
/// Needs `crm:configure`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "channels",
    operation_id = "get_channel_account",
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, description = "Found", body = ChannelAccount, headers(("ETag" = String))),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/channel-accounts/{id}")]
pub async fn get_channel_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let account = state
        .db(move |conn| Ok(accounts::get(conn, &acting, id)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        account.row.version,
        &ChannelAccount::from(&account),
    ))
}

/// Change a channel account (JSON Merge Patch).
///
/// `name`, `active`, `settings`, and `credentials` — given, they replace the stored
/// ones whole (rotating a bot token or an app secret). The `kind` cannot change (422
/// `immutable`). Needs `crm:configure`. Honours `If-Match` (412 when stale). Audited as
/// `channel_account.update`.
#[utoipa::path(
    tag = "channels",
    operation_id = "update_channel_account",
    params(("id" = Uuid, Path, description = "Account id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = ChannelAccountInput, content_type = "application/merge-patch+json", example = json!({"active": false})),
    responses(
        (status = 200, description = "Changed", body = ChannelAccount, headers(("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/api/v1/channel-accounts/{id}")]
pub async fn update_channel_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let cipher = state.credentials.clone();
    let account = state
        .db(move |conn| {
            Ok(accounts::update(
                conn,
                &acting,
                &cipher,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    Ok(etag::single(
        &req,
        id,
        account.row.version,
        &ChannelAccount::from(&account),
    ))
}

/// Delete a channel account.
///
/// Only an account without conversations (409 otherwise: deactivate it, keeping them).
/// Needs `crm:configure`. Honours `If-Match`. Audited as `channel_account.delete`.
#[utoipa::path(
    tag = "channels",
    operation_id = "delete_channel_account",
    params(
        ("id" = Uuid, Path, description = "Account id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The account has conversations", body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/api/v1/channel-accounts/{id}")]
pub async fn delete_channel_account(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(accounts::delete(conn, &acting, id, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Seal every account's credentials with the newest key.
///
/// Rotating the credential key: put the new key first in `PEYVAND_CHANNEL_KEYS`
/// (keeping the old ones after it), restart, call this, then drop the old keys. Needs
/// `crm:configure`. Audited as `channel_account.reseal`.
#[utoipa::path(
    tag = "channels",
    operation_id = "reseal_channel_credentials",
    responses((status = 200, description = "Resealed", body = Resealed))
)]
#[post("/api/v1/channel-accounts/reseal")]
pub async fn reseal_channel_credentials(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let cipher = state.credentials.clone();
    let key_id = cipher.current_key_id().to_string();
    let resealed = state
        .db(move |conn| Ok(accounts::reseal_all(conn, &acting, &cipher)?))
        .await?;
    Ok(HttpResponse::Ok().json(Resealed { resealed, key_id }))
}

/// What a read of a mailbox took in.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxRead {
    /// Messages stored.
    pub stored: usize,
    /// Messages stored before (read again after a changed UIDVALIDITY).
    pub replayed: usize,
    /// Messages without a usable sender or not readable as e-mail.
    pub skipped: usize,
}

/// Read an e-mail account's mailbox now.
///
/// An `email` account with `settings.email.imap` has its mailbox read every minute by
/// the `mailboxes.fetch` job; this reads it at once and tells what came in, or why it
/// cannot be read. New mail is stored as inbound messages (once per Message-ID), its
/// sender recognised by address and threaded into their conversation; the mailbox is
/// opened read-only, so messages stay unread in the business's own mail client.
///
/// Needs `crm:configure`. Problems: 404; 409 when the account reads no mailbox or the
/// server refuses the login or the mailbox (its reason given); 503 when the server
/// cannot be reached.
#[utoipa::path(
    tag = "channels",
    operation_id = "fetch_channel_mailbox",
    params(("id" = Uuid, Path, description = "Channel account id")),
    responses(
        (status = 200, description = "Read", body = MailboxRead),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No mailbox, or the server refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The mail server cannot be reached", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/channel-accounts/{id}/fetch")]
pub async fn fetch_channel_mailbox(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let id = id.into_inner();
    let cipher = state.credentials.clone();
    let receipt = state
        .db(move |conn| {
            Ok(application::omnichannel::mailbox::fetch_now(
                conn, &acting, &cipher, id,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MailboxRead {
        stored: receipt.stored,
        replayed: receipt.replayed,
        skipped: receipt.skipped,
    }))
}

/// Replace a web chat account's site key.
///
/// The account gets a new random site key; the old one answers 404 from then on, so
/// the widget must be embedded again with the new key. For a widget copied to pages it
/// should not run on. Needs `crm:configure`. Honours `If-Match` (412 when stale).
/// Audited as `channel_account.rotate_site_key`. Problems: 404; 409 for an account
/// that is not `web_chat`.
#[utoipa::path(
    tag = "channels",
    operation_id = "rotate_channel_site_key",
    params(
        ("id" = Uuid, Path, description = "Channel account id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses(
        (status = 200, description = "The account with its new site key", body = ChannelAccount, headers(("ETag" = String))),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a web chat account", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/channel-accounts/{id}/site-key")]
pub async fn rotate_channel_site_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let precondition = if_match.precondition();
    let account = state
        .db(move |conn| Ok(accounts::rotate_site_key(conn, &acting, id, &precondition)?))
        .await?;
    Ok(etag::single(
        &req,
        id,
        account.row.version,
        &ChannelAccount::from(&account),
    ))
}
