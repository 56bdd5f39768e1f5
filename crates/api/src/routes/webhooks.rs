//! Inbound channel webhooks (O-2), called by the providers, not by users: no bearer
//! token, but each provider's own proof — Telegram's secret token header, Meta's
//! `X-Hub-Signature-256` HMAC of the raw body, the SMS provider's unguessable URL. A
//! request that fails its proof answers 401 and stores nothing.

use actix_web::http::header::ContentType;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::omnichannel::inbound::{self, Receipt, Webhook};
use channels::sms::{ReceivedSms, SmsDeliveryReport};
use domain::omnichannel::accounts::ChannelKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::conventions::json_body::read_body;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        telegram_webhook,
        whatsapp_subscription,
        whatsapp_webhook,
        instagram_subscription,
        instagram_webhook,
        sms_received,
        sms_delivery
    ),
    components(schemas(WebhookReceipt, SmsReceivedForm, SmsDeliveryForm))
)]
pub struct WebhooksApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(telegram_webhook)
        .service(whatsapp_subscription)
        .service(whatsapp_webhook)
        .service(instagram_subscription)
        .service(instagram_webhook)
        .service(sms_received)
        .service(sms_delivery);
}

/// What a delivery did (providers only look at the status).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// Messages stored.
    pub stored: usize,
    /// Messages stored before: the provider delivered them again.
    pub replayed: usize,
    /// Messages whose sender was no usable address.
    pub skipped: usize,
    /// Delivery reports that moved a sent message forward.
    pub delivery_updates: usize,
}

impl From<Receipt> for WebhookReceipt {
    fn from(receipt: Receipt) -> Self {
        WebhookReceipt {
            stored: receipt.stored,
            replayed: receipt.replayed,
            skipped: receipt.skipped,
            delivery_updates: receipt.delivery_updates,
        }
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

async fn receive_json(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: String,
    kind: ChannelKind,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = read_body(&req, payload.into_inner()).await?;
    let secret_token = header(&req, channels::telegram::SECRET_HEADER).map(str::to_string);
    let signature = header(&req, channels::meta::SIGNATURE_HEADER).map(str::to_string);
    let cipher = state.credentials.clone();
    let receipt = state
        .db(move |conn| {
            let webhook = match kind {
                ChannelKind::Telegram => Webhook::Telegram {
                    secret_token: secret_token.as_deref(),
                    body: &body,
                },
                _ => Webhook::Meta {
                    signature: signature.as_deref(),
                    body: &body,
                },
            };
            Ok(inbound::receive(conn, &cipher, kind, &key, webhook)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookReceipt::from(receipt)))
}

/// Receive a Telegram update.
///
/// Register it with the bot's `setWebhook`, passing the account's `secret_token`:
/// Telegram repeats it in `X-Telegram-Bot-Api-Secret-Token`, and a request without the
/// right one answers 401 and stores nothing. Messages in private chats are stored once
/// each (a redelivered update changes nothing), their sender recognised by Telegram
/// user id — or by the phone number they share with the contact button — as a
/// customer or lead, or made a new lead.
///
/// Problems: 401 `invalid_signature`; 404 for an unknown key or an inactive account;
/// 400 `malformed_request` (`body` `invalid_payload`) for a body that is no update.
#[utoipa::path(
    tag = "channels",
    operation_id = "telegram_webhook",
    security(()),
    params(
        ("key" = String, Path, description = "The account's webhook key"),
        ("X-Telegram-Bot-Api-Secret-Token" = String, Header, description = "The secret token the webhook was registered with")
    ),
    request_body(content = Object, description = "A Telegram `Update`", example = json!({
        "update_id": 10000,
        "message": {"message_id": 1365, "date": 1764800000,
                    "from": {"id": 1111111, "is_bot": false, "first_name": "مریم", "username": "maryam"},
                    "chat": {"id": 1111111, "type": "private"},
                    "text": "سلام، سفارشم کی می‌رسد؟"}
    })),
    responses(
        (status = 200, description = "Received", body = WebhookReceipt),
        (status = 400, description = "Not an update", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong or missing secret token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhooks/telegram/{key}")]
pub async fn telegram_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    receive_json(req, state, key.into_inner(), ChannelKind::Telegram, payload).await
}

/// Meta's subscription handshake parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Subscription {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    /// Must be the account's `verify_token`.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// Echoed back when the token matches.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

async fn subscribe(
    state: web::Data<AppState>,
    key: String,
    kind: ChannelKind,
    query: Subscription,
) -> ApiResult<HttpResponse> {
    let cipher = state.credentials.clone();
    let challenge = state
        .db(move |conn| {
            Ok(inbound::subscription_challenge(
                conn,
                &cipher,
                kind,
                &key,
                query.mode.as_deref(),
                query.verify_token.as_deref(),
                query.challenge.as_deref(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(challenge))
}

/// Verify the WhatsApp webhook subscription.
///
/// Meta's handshake when the callback URL is configured: with `hub.mode=subscribe` and
/// the account's `verify_token`, the answer is `hub.challenge` as plain text; anything
/// else is 403.
#[utoipa::path(
    tag = "channels",
    operation_id = "whatsapp_subscription",
    security(()),
    params(("key" = String, Path, description = "The account's webhook key"), Subscription),
    responses(
        (status = 200, description = "The challenge", body = String, content_type = "text/plain"),
        (status = 403, description = "Wrong verify token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/webhooks/whatsapp/{key}")]
pub async fn whatsapp_subscription(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<Subscription>,
) -> ApiResult<HttpResponse> {
    subscribe(
        state,
        key.into_inner(),
        ChannelKind::Whatsapp,
        query.into_inner(),
    )
    .await
}

/// Receive a WhatsApp Cloud API notification.
///
/// Checked by `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body under the
/// account's `app_secret` (401 and nothing stored otherwise). Text messages are stored
/// once each (by `wamid`), the sender recognised by phone number as a customer or lead
/// or made a new lead; status notifications move sent messages forward.
///
/// Problems: 401 `invalid_signature`; 404 for an unknown key or inactive account; 400
/// for a body that is no WhatsApp notification.
#[utoipa::path(
    tag = "channels",
    operation_id = "whatsapp_webhook",
    security(()),
    params(
        ("key" = String, Path, description = "The account's webhook key"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the body")
    ),
    request_body(content = Object, description = "A `whatsapp_business_account` notification", example = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "982100000000", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sara"}, "wa_id": "989121234567"}],
            "messages": [{"from": "989121234567", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgAS", "timestamp": "1764800000",
                          "type": "text", "text": {"body": "سلام"}}]}}]}]
    })),
    responses(
        (status = 200, description = "Received", body = WebhookReceipt),
        (status = 400, description = "Not a notification", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhooks/whatsapp/{key}")]
pub async fn whatsapp_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    receive_json(req, state, key.into_inner(), ChannelKind::Whatsapp, payload).await
}

/// Verify the Instagram webhook subscription.
///
/// As for WhatsApp: `hub.challenge` as plain text for the account's `verify_token`,
/// 403 otherwise.
#[utoipa::path(
    tag = "channels",
    operation_id = "instagram_subscription",
    security(()),
    params(("key" = String, Path, description = "The account's webhook key"), Subscription),
    responses(
        (status = 200, description = "The challenge", body = String, content_type = "text/plain"),
        (status = 403, description = "Wrong verify token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/webhooks/instagram/{key}")]
pub async fn instagram_subscription(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<Subscription>,
) -> ApiResult<HttpResponse> {
    subscribe(
        state,
        key.into_inner(),
        ChannelKind::Instagram,
        query.into_inner(),
    )
    .await
}

/// Receive an Instagram messaging notification.
///
/// Checked by `X-Hub-Signature-256` under the account's `app_secret`. Direct messages
/// are stored once each (by `mid`), echoes of the business's own messages left out; the
/// sender is recognised by Instagram-scoped id.
///
/// Problems: 401 `invalid_signature`; 404; 400 for a body that is no Instagram
/// notification.
#[utoipa::path(
    tag = "channels",
    operation_id = "instagram_webhook",
    security(()),
    params(
        ("key" = String, Path, description = "The account's webhook key"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the body")
    ),
    request_body(content = Object, description = "An `instagram` notification", example = json!({
        "object": "instagram",
        "entry": [{"id": "17841400000000000", "time": 1764800000000_i64, "messaging": [{
            "sender": {"id": "IGSID-1"}, "recipient": {"id": "17841400000000000"},
            "timestamp": 1764800000000_i64, "message": {"mid": "m_1", "text": "موجود دارید؟"}}]}]
    })),
    responses(
        (status = 200, description = "Received", body = WebhookReceipt),
        (status = 400, description = "Not a notification", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhooks/instagram/{key}")]
pub async fn instagram_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    receive_json(
        req,
        state,
        key.into_inner(),
        ChannelKind::Instagram,
        payload,
    )
    .await
}

/// A received SMS as Kavenegar forwards it.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"messageid": "8792343", "from": "09121234567", "to": "10004346", "message": "لغو"}))]
pub struct SmsReceivedForm {
    pub messageid: String,
    /// The sender's number.
    pub from: String,
    /// The business's line.
    pub to: String,
    pub message: String,
}

/// A delivery report as Kavenegar sends it.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"messageid": "8792343", "status": 10}))]
pub struct SmsDeliveryForm {
    pub messageid: String,
    /// Kavenegar's status code: 4/5 sent, 10 delivered, 6/11/13/14/100 failed.
    pub status: i64,
}

/// The form fields of an SMS callback; a missing one is a 400 naming it.
async fn form_fields(
    req: &HttpRequest,
    payload: web::Payload,
    names: &[&str],
) -> ApiResult<Vec<String>> {
    let body = read_body(req, payload.into_inner()).await?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    names
        .iter()
        .map(|name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .ok_or_else(|| {
                    ApiError::bad_parameter(*name, "required", format!("the form lacks `{name}`"))
                })
        })
        .collect()
}

/// Receive an SMS.
///
/// Kavenegar forwards each message received on the line as form fields `messageid`,
/// `from`, `to` and `message`. It does not sign callbacks: the random key in the path is
/// the secret, so give this URL to nobody but the provider. Each message is stored once
/// (by `messageid`); the sender is recognised by phone number in any Iranian format; a
/// message that is only an opt-out word (`لغو`, `انصراف`, `stop`…) withdraws the
/// customer's SMS consent, recorded in the consent ledger.
///
/// Problems: 404 for an unknown key or inactive account; 400 naming a missing field.
#[utoipa::path(
    tag = "channels",
    operation_id = "sms_received",
    security(()),
    params(("key" = String, Path, description = "The account's webhook key")),
    request_body(content = SmsReceivedForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Received", body = WebhookReceipt),
        (status = 400, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhooks/sms/{key}/received")]
pub async fn sms_received(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let fields = form_fields(&req, payload, &["messageid", "from", "to", "message"]).await?;
    let [messageid, from, to, message]: [String; 4] = fields
        .try_into()
        .map_err(|_| ApiError::Internal("form fields".into()))?;
    let form = SmsReceivedForm {
        messageid,
        from,
        to,
        message,
    };
    let key = key.into_inner();
    let cipher = state.credentials.clone();
    let receipt = state
        .db(move |conn| {
            let sms = ReceivedSms {
                messageid: form.messageid,
                from: form.from,
                to: form.to,
                message: form.message,
            };
            Ok(inbound::receive(
                conn,
                &cipher,
                ChannelKind::Sms,
                &key,
                Webhook::SmsReceived(sms),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookReceipt::from(receipt)))
}

/// Receive an SMS delivery report.
///
/// Kavenegar reports a sent message's fate as form fields `messageid` and `status`.
/// The message moves forward only (a late "sent" never undoes "delivered").
///
/// Problems: 404; 400 naming a missing or non-numeric field.
#[utoipa::path(
    tag = "channels",
    operation_id = "sms_delivery",
    security(()),
    params(("key" = String, Path, description = "The account's webhook key")),
    request_body(content = SmsDeliveryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Received", body = WebhookReceipt),
        (status = 400, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such active account", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/webhooks/sms/{key}/delivery")]
pub async fn sms_delivery(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let fields = form_fields(&req, payload, &["messageid", "status"]).await?;
    let [messageid, status]: [String; 2] = fields
        .try_into()
        .map_err(|_| ApiError::Internal("form fields".into()))?;
    let form = SmsDeliveryForm {
        messageid,
        status: status.trim().parse::<i64>().map_err(|_| {
            ApiError::bad_parameter("status", "invalid_format", "`status` must be a number")
        })?,
    };
    let key = key.into_inner();
    let cipher = state.credentials.clone();
    let receipt = state
        .db(move |conn| {
            Ok(inbound::receive(
                conn,
                &cipher,
                ChannelKind::Sms,
                &key,
                Webhook::SmsDelivery(SmsDeliveryReport {
                    messageid: form.messageid,
                    status: form.status,
                }),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookReceipt::from(receipt)))
}
