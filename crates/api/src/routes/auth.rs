//! Login, token refresh and logout.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::Duration;
use domain::validation::normalize_email;
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::refresh_tokens::{self, RefreshTokenRow};
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::login_throttle::{LoginSubjects, LoginThrottle};
use crate::auth::plumbing::transaction;
use crate::auth::{password, random_token, sha256_hex, Principal};
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

/// Random bytes in a refresh token.
const REFRESH_TOKEN_BYTES: usize = 32;

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
    let normalized = normalize_email(&email);
    // Unknown and malformed addresses are throttled under what was typed, like known ones.
    let subject = normalized
        .clone()
        .unwrap_or_else(|| email.trim().to_lowercase());
    let address = client_address_key(&req, &state.config.trusted_proxies);
    let subjects = LoginSubjects::new(&subject, &address);
    let throttle = LoginThrottle::from(&state.config.login_throttle);
    let checked = subjects.clone();
    let user = state
        .db(move |conn| {
            LoginThrottle::check(conn, &checked, persistence::now())?;
            match normalized {
                Some(email) => Ok(persistence::users::find_by_email(conn, &email)?),
                None => Ok(None),
            }
        })
        .await?;
    let matches =
        password::verify_blocking(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let request_id = Some(request_id.to_string());
    match user {
        Some(user) if matches && user.is_active => {
            let user_id = user.id.0;
            let actor = Actor {
                actor_type: "user",
                actor_id: Some(user_id),
                request_id,
            };
            let ttl = state.config.refresh_token_ttl_secs;
            let (family, refresh) = state
                .db(move |conn| {
                    transaction(conn, |conn| {
                        let now = persistence::now();
                        let issued = issue_refresh_token(conn, user_id, Uuid::now_v7(), ttl)?;
                        persistence::users::touch_last_login(conn, user_id, now)?;
                        LoginThrottle::record_success(conn, &subjects)?;
                        record(conn, &actor, "auth.login", user_id)?;
                        Ok(issued)
                    })
                })
                .await?;
            Ok(HttpResponse::Ok().json(token_pair(&state, user_id, family, refresh)?))
        }
        _ => {
            let known = user.map(|u| u.id.0);
            let actor = Actor {
                actor_type: if known.is_some() { "user" } else { "anonymous" },
                actor_id: known,
                request_id,
            };
            state
                .db(move |conn| {
                    transaction(conn, |conn| {
                        audit::record(
                            conn,
                            &actor,
                            NewAuditEvent {
                                action: "auth.login_failed",
                                resource_type: "user",
                                resource_id: known.map(|id| id.to_string()),
                                changes: None,
                            },
                        )?;
                        throttle.record_failure(conn, &subjects, persistence::now())?;
                        Ok(())
                    })
                })
                .await?;
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// What presenting a refresh token led to.
enum Rotation {
    Rotated {
        user_id: Uuid,
        family: Uuid,
        token: String,
    },
    /// The token had been used already: its family is now revoked.
    ReuseDetected {
        family: Uuid,
    },
    Rejected,
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
    let token_hash = sha256_hex(&body.0.refresh_token);
    let ttl = state.config.refresh_token_ttl_secs;
    let request_id = Some(request_id.to_string());
    let outcome = state
        .db(move |conn| {
            transaction(conn, |conn| {
                let Some(presented) = refresh_tokens::find_by_hash(conn, &token_hash)? else {
                    return Ok(Rotation::Rejected);
                };
                let now = persistence::now();
                let (user_id, family) = (presented.user_id.0, presented.family_id.0);
                let actor = Actor {
                    actor_type: "user",
                    actor_id: Some(user_id),
                    request_id,
                };
                if presented.revoked_at.is_some() || presented.expires_at.0 <= now {
                    return Ok(Rotation::Rejected);
                }
                if presented.used_at.is_some()
                    || !refresh_tokens::mark_used(conn, presented.id.0, now)?
                {
                    refresh_tokens::revoke_family(conn, family, now)?;
                    record(conn, &actor, "auth.refresh_reuse_detected", user_id)?;
                    return Ok(Rotation::ReuseDetected { family });
                }
                let active = persistence::users::find(conn, user_id)?.is_active;
                if !active {
                    return Ok(Rotation::Rejected);
                }
                let (_, token) = issue_refresh_token(conn, user_id, family, ttl)?;
                record(conn, &actor, "auth.refresh", user_id)?;
                Ok(Rotation::Rotated {
                    user_id,
                    family,
                    token,
                })
            })
        })
        .await?;
    match outcome {
        Rotation::Rotated {
            user_id,
            family,
            token,
        } => Ok(HttpResponse::Ok().json(token_pair(&state, user_id, family, token)?)),
        Rotation::ReuseDetected { family } => {
            // The access tokens of the stolen session stop working at once.
            state.principals.end_sessions(&[family]);
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
    let token_hash = sha256_hex(&body.0.refresh_token);
    let actor = principal.audit_actor();
    let ended = state
        .db(move |conn| {
            transaction(conn, |conn| {
                match refresh_tokens::find_by_hash(conn, &token_hash)? {
                    Some(token) if token.user_id.0 == principal.id() => {
                        let family = token.family_id.0;
                        refresh_tokens::revoke_family(conn, family, persistence::now())?;
                        record(conn, &actor, "auth.logout", principal.id())?;
                        Ok(Some(family))
                    }
                    _ => Ok(None),
                }
            })
        })
        .await?;
    if let Some(family) = ended {
        state.principals.end_sessions(&[family]);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Stores a new refresh token of `family` and returns `(family, token)`.
fn issue_refresh_token(
    conn: &mut DbConnection,
    user_id: Uuid,
    family: Uuid,
    ttl_secs: i64,
) -> Result<(Uuid, String), persistence::PersistenceError> {
    let token = random_token(REFRESH_TOKEN_BYTES);
    let now = persistence::now();
    refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            id: DbUuid(Uuid::now_v7()),
            user_id: DbUuid(user_id),
            family_id: DbUuid(family),
            token_hash: sha256_hex(&token),
            created_at: DbTime(now),
            expires_at: DbTime(now + Duration::seconds(ttl_secs)),
            used_at: None,
            revoked_at: None,
        },
    )?;
    Ok((family, token))
}

fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    user_id: Uuid,
) -> Result<(), persistence::PersistenceError> {
    audit::record(
        conn,
        actor,
        NewAuditEvent {
            action,
            resource_type: "user",
            resource_id: Some(user_id.to_string()),
            changes: None,
        },
    )?;
    Ok(())
}

fn token_pair(
    state: &AppState,
    user_id: Uuid,
    family: Uuid,
    refresh: String,
) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        access_token: state.tokens.issue(user_id, family)?,
        token_type: "Bearer".to_string(),
        expires_in: state.tokens.ttl_secs(),
        refresh_token: refresh,
        refresh_expires_in: state.config.refresh_token_ttl_secs,
    })
}
