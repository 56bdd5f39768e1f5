//! One-click unsubscribe (RFC 8058): the link every e-mail to a customer carries in
//! `List-Unsubscribe`. Mail clients `POST` to it (`List-Unsubscribe=One-Click`) when
//! the recipient presses their unsubscribe button; a person who opens the link gets a
//! page whose button does the same, so that a link scanner fetching it unsubscribes
//! nobody. The token in the path is the only credential: signed, it names the
//! customer and the channel.

use actix_web::http::header::ContentType;
use actix_web::{get, post, web, HttpResponse};
use application::omnichannel::unsubscribe;
use domain::customers::ConsentChannel;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(unsubscribe_page, unsubscribe_one_click),
    components(schemas(Unsubscribed))
)]
pub struct UnsubscribeApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(unsubscribe_page).service(unsubscribe_one_click);
}

/// The outcome of an unsubscribe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unsubscribed {
    /// The channel the customer no longer hears from the business on.
    pub channel: ConsentChannel,
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(format!(
            "<!doctype html><html lang=\"fa\" dir=\"rtl\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>لغو اشتراک</title>\
             </head><body>{body}</body></html>"
        ))
}

/// Unsubscribe page.
///
/// What a person opening the link sees: a button that unsubscribes them (a `POST` to
/// the same address). Opening it changes nothing. Problems: 404 for a token that is not
/// genuine.
#[utoipa::path(
    tag = "channels",
    operation_id = "unsubscribe_page",
    security(()),
    params(("token" = String, Path, description = "The signed token of the link")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/unsubscribe/{token}")]
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<HttpResponse> {
    unsubscribe::check(&state.credentials, &token)?;
    // The token is base64url and hex only, nothing HTML would read as markup.
    Ok(page(&format!(
        "<p>با زدن دکمهٔ زیر دیگر از این نشانی پیامی از ما دریافت نمی‌کنید.</p>\
         <form method=\"post\" action=\"/api/v1/unsubscribe/{token}\">\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">لغو اشتراک</button></form>",
        token = token.as_str()
    )))
}

/// Unsubscribe at one click.
///
/// RFC 8058's one-click `POST` (body `List-Unsubscribe=One-Click`, which is not
/// required): the customer's consent to the link's channel is withdrawn for every
/// purpose, recorded in the consent ledger with source `unsubscribe_link`. Doing it
/// again is harmless. No authentication: the signed token is the proof.
///
/// Problems: 404 for a token that is not genuine or a customer erased since.
#[utoipa::path(
    tag = "channels",
    operation_id = "unsubscribe_one_click",
    security(()),
    params(("token" = String, Path, description = "The signed token of the link")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`List-Unsubscribe=One-Click`", example = json!("List-Unsubscribe=One-Click")),
    responses(
        (status = 200, description = "Unsubscribed", body = Unsubscribed),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/unsubscribe/{token}")]
pub async fn unsubscribe_one_click(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let token = token.into_inner();
    let cipher = state.credentials.clone();
    let channel = state
        .db(move |conn| Ok(unsubscribe::unsubscribe(conn, &cipher, &token)?))
        .await?;
    Ok(HttpResponse::Ok().json(Unsubscribed { channel }))
}
