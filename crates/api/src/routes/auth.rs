//! Login, token refresh and logout.

use actix_web::{post, web, HttpRequest, HttpResponse};
use application::accounts::login_throttle::LoginThrottle;
use application::accounts::sessions::{self, IssuedToken, LoginAttempt, Rotation, SessionPolicy};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use validator::Validate;

use crate::auth::Principal;
use crate::conventions::client_address::client_address_key;
use crate::conventions::{JsonBody, RequestId};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(login, refresh_token, logout),
    components(schemas(LoginRequest, RefreshRequest, TokenPair))
)]
pub struct AuthApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(refresh_token).service(logout);
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ali.rezaei@example.ir", "password": "correct horse battery"}))]
pub struct LoginRequest {
    /// E-mail address (case-insensitive).
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "kX3v9bq0Vt7Qe1m2P5sZ8yA4cD6fH0jL2nR4tW6xY8z"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// A new access token and the refresh token that replaces the presented one.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjNmYTFjMmQ0ZTViNjA3MTgifQ.eyJzdWIiOiIwMTkzIn0.c2ln",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "kX3v9bq0Vt7Qe1m2P5sZ8yA4cD6fH0jL2nR4tW6xY8z",
    "refresh_expires_in": 2592000
}))]
pub struct TokenPair {
    /// JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque token for `POST /api/v1/auth/refresh`; usable once.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

/// Log in with e-mail and password.
///
/// Answers a short-lived access token (a JWT to send as `Authorization: Bearer <token>`)
/// and a refresh token for `POST /auth/refresh`; see *Authentication* in the API
/// conventions. The e-mail address is compared ignoring case. No credentials are needed.
///
/// A wrong password, an unknown address and a deactivated user all get the same 401
/// `invalid_credentials`, so addresses cannot be probed. Repeated failures for one e-mail
/// address, or from one client address, lock it for a while: 429 `too_many_login_attempts`
/// with `Retry-After`, growing with each repetition. Successful and failed logins are
/// audited (`auth.login`, `auth.login_failed`).
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Unknown e-mail, wrong password or inactive user (`invalid_credentials`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this e-mail address or from this client address (`too_many_login_attempts`), or over the rate limit (`rate_limited`); see `Retry-After`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    request_id: RequestId,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let LoginRequest { email, password } = body.0;
    let attempt = LoginAttempt {
        email,
        password,
        client_address: client_address_key(&req, &state.config.trusted_proxies),
        request_id: Some(request_id.to_string()),
    };
    let policy = SessionPolicy {
        refresh_ttl_secs: state.config.refresh_token_ttl_secs,
        throttle: LoginThrottle::from(&state.config.login_throttle),
    };
    let issued = state
        .db(move |conn| Ok(sessions::login(conn, &policy, attempt)?))
        .await?;
    Ok(HttpResponse::Ok().json(token_pair(&state, issued)?))
}

/// Exchange a refresh token for a new token pair.
///
/// The presented refresh token is used up and replaced by a new one of the same session,
/// together with a fresh access token. No other credentials are needed.
///
/// Presenting a refresh token that was already used is taken as theft: the whole session
/// (every token issued from the same login) is revoked and the answer is 401
/// `invalid_token`, as it is for an unknown, expired or revoked token or a deactivated
/// user. Audited as `auth.refresh` (`auth.refresh_reuse_detected` on reuse).
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh_token",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token (`invalid_token`)", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh_token(
    state: web::Data<AppState>,
    request_id: RequestId,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let ttl = state.config.refresh_token_ttl_secs;
    let request_id = Some(request_id.to_string());
    let outcome = state
        .db(move |conn| {
            Ok(sessions::refresh(
                conn,
                ttl,
                &body.0.refresh_token,
                request_id,
            )?)
        })
        .await?;
    match outcome {
        Rotation::Rotated(issued) => Ok(HttpResponse::Ok().json(token_pair(&state, issued)?)),
        Rotation::ReuseDetected { session } => {
            // The access tokens of the stolen session stop working at once.
            state.sessions_ended(vec![session]).await;
            Err(ApiError::InvalidToken)
        }
        Rotation::Rejected => Err(ApiError::InvalidToken),
    }
}

/// Log out: revoke the session of a refresh token.
///
/// Every refresh token and every access token of the session stops working at once. Any
/// authenticated caller may log out their own session; a token that is unknown, or that
/// belongs to another user, changes nothing and also answers 204, so the call is safe to
/// repeat. Audited as `auth.logout`.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    request_body = RefreshRequest,
    responses((status = 204, description = "The session is revoked"))
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let ended = state
        .db(move |conn| Ok(sessions::logout(conn, &principal, &body.0.refresh_token)?))
        .await?;
    if let Some(session) = ended {
        state.sessions_ended(vec![session]).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

fn token_pair(state: &AppState, issued: IssuedToken) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        access_token: state.tokens.issue(issued.user_id, issued.session)?,
        token_type: "Bearer".to_string(),
        expires_in: state.tokens.ttl_secs(),
        refresh_token: issued.refresh_token,
        refresh_expires_in: state.config.refresh_token_ttl_secs,
    })
}
