//! Login sessions: logging in with e-mail and password, rotating refresh tokens
//! (with reuse detection), logging out and changing one's own password.
//!
//! A session is a family of refresh tokens started by one login. Each refresh uses its
//! token up and issues the next of the same family; presenting a used token again means
//! it was copied, so the whole family is revoked. Access tokens name their family, so
//! they stop working with it.

use chrono::Duration;
use domain::validation::normalize_email;
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::refresh_tokens::{self, RefreshTokenRow};
use persistence::sql_types::{DbTime, DbUuid};
use persistence::users::UserRow;
use persistence::PersistenceError;
use uuid::Uuid;

use super::login_throttle::{LoginSubjects, LoginThrottle};
use super::{password, random_token, sha256_hex};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Random bytes in a refresh token.
const REFRESH_TOKEN_BYTES: usize = 32;

/// A login attempt as the client made it.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// The e-mail address as typed.
    pub email: String,
    pub password: String,
    /// The client address the attempt came from, as the throttle counts it.
    pub client_address: String,
    /// The id of the request, recorded with the audit event.
    pub request_id: Option<String>,
}

/// How long refresh tokens live, and the throttle of failed logins.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub refresh_ttl_secs: i64,
    pub throttle: LoginThrottle,
}

/// A session's newest refresh token, for its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub user_id: Uuid,
    /// The session (refresh-token family).
    pub session: Uuid,
    /// The refresh token itself; only its hash is stored.
    pub refresh_token: String,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    Rotated(IssuedToken),
    /// The token had been used already: its session is now revoked.
    ReuseDetected {
        session: Uuid,
    },
    /// Unknown, expired or revoked, or its user is inactive.
    Rejected,
}

/// Logs in: a locked subject is refused before the password is checked; a wrong
/// password, an unknown address and an inactive user all fail with
/// [`AppError::InvalidCredentials`] and count against the throttle.
pub fn login(
    conn: &mut DbConnection,
    policy: &SessionPolicy,
    attempt: LoginAttempt,
) -> AppResult<IssuedToken> {
    let normalized = normalize_email(&attempt.email);
    // Unknown and malformed addresses are throttled under what was typed, like known ones.
    let subject = normalized
        .clone()
        .unwrap_or_else(|| attempt.email.trim().to_lowercase());
    let subjects = LoginSubjects::new(&subject, &attempt.client_address);
    LoginThrottle::check(conn, &subjects, persistence::now())?;
    let user = match normalized {
        Some(email) => persistence::users::find_by_email(conn, &email)?,
        None => None,
    };
    let matches = password::verify_or_dummy(
        &attempt.password,
        user.as_ref().map(|user| user.password_hash.as_str()),
    );
    match user {
        Some(user) if matches && user.is_active => {
            let user_id = user.id.0;
            let actor = Actor {
                actor_type: "user",
                actor_id: Some(user_id),
                request_id: attempt.request_id,
            };
            transaction(conn, |conn| {
                let issued =
                    issue_refresh_token(conn, user_id, Uuid::now_v7(), policy.refresh_ttl_secs)?;
                persistence::users::touch_last_login(conn, user_id, persistence::now())?;
                LoginThrottle::record_success(conn, &subjects)?;
                record(conn, &actor, "auth.login", user_id)?;
                Ok(issued)
            })
        }
        _ => {
            let known = user.map(|user| user.id.0);
            let actor = Actor {
                actor_type: if known.is_some() { "user" } else { "anonymous" },
                actor_id: known,
                request_id: attempt.request_id,
            };
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
                policy
                    .throttle
                    .record_failure(conn, &subjects, persistence::now())?;
                Ok(())
            })?;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Exchanges a refresh token for the next one of its session. A token presented a
/// second time revokes its whole session.
pub fn refresh(
    conn: &mut DbConnection,
    refresh_ttl_secs: i64,
    refresh_token: &str,
    request_id: Option<String>,
) -> AppResult<Rotation> {
    let token_hash = sha256_hex(refresh_token);
    transaction(conn, |conn| {
        let Some(presented) = refresh_tokens::find_by_hash(conn, &token_hash)? else {
            return Ok(Rotation::Rejected);
        };
        let now = persistence::now();
        let (user_id, session) = (presented.user_id.0, presented.family_id.0);
        let actor = Actor {
            actor_type: "user",
            actor_id: Some(user_id),
            request_id,
        };
        if presented.revoked_at.is_some() || presented.expires_at.0 <= now {
            return Ok(Rotation::Rejected);
        }
        if presented.used_at.is_some() || !refresh_tokens::mark_used(conn, presented.id.0, now)? {
            refresh_tokens::revoke_family(conn, session, now)?;
            record(conn, &actor, "auth.refresh_reuse_detected", user_id)?;
            return Ok(Rotation::ReuseDetected { session });
        }
        if !persistence::users::find(conn, user_id)?.is_active {
            return Ok(Rotation::Rejected);
        }
        let issued = issue_refresh_token(conn, user_id, session, refresh_ttl_secs)?;
        record(conn, &actor, "auth.refresh", user_id)?;
        Ok(Rotation::Rotated(issued))
    })
}

/// Revokes the session of `refresh_token` if it is the caller's, and returns it; a
/// token that is unknown or someone else's changes nothing.
pub fn logout(
    conn: &mut DbConnection,
    acting: &Acting,
    refresh_token: &str,
) -> AppResult<Option<Uuid>> {
    let token_hash = sha256_hex(refresh_token);
    let user_id = acting.user_id.ok_or(AppError::Forbidden)?;
    transaction(conn, |conn| {
        match refresh_tokens::find_by_hash(conn, &token_hash)? {
            Some(token) if token.user_id.0 == user_id => {
                let session = token.family_id.0;
                refresh_tokens::revoke_family(conn, session, persistence::now())?;
                record(conn, &acting.audit_actor(), "auth.logout", user_id)?;
                Ok(Some(session))
            }
            _ => Ok(None),
        }
    })
}

/// Changes the signed-in caller's own password, given the current one, and signs out
/// every other session of theirs; returns the ended sessions. An API key may not: a
/// leaked integration key must not be able to take over its owner's account.
pub fn change_password(
    conn: &mut DbConnection,
    acting: &Acting,
    current_password: &str,
    new_password: &str,
) -> AppResult<Vec<Uuid>> {
    let (Some(id), Some(session)) = (acting.user_id, acting.session()) else {
        return Err(AppError::Forbidden);
    };
    let current = persistence::users::find(conn, id)?;
    if let Some((code, message)) =
        password::check_new_password(new_password, &[&current.email, &current.display_name])
    {
        return Err(AppError::field("new_password", code, message));
    }
    if !password::verify(current_password, &current.password_hash) {
        return Err(AppError::field(
            "current_password",
            "invalid_value",
            "the current password is wrong",
        ));
    }
    let new_hash = password::hash(new_password)?;
    transaction(conn, |conn| {
        let mut row = persistence::users::find(conn, id)?;
        row.password_hash = new_hash;
        persistence::users::update(conn, &row)?;
        let ended =
            refresh_tokens::revoke_all_for_user(conn, id, Some(session), persistence::now())?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "user.password_change",
                resource_type: "user",
                resource_id: Some(id.to_string()),
                // The audit log names the change, never the hash.
                changes: None,
            },
        )?;
        Ok(ended)
    })
}

/// The user of an access token, in one query with the state of its session: an
/// inactive user or a revoked session is [`AppError::InvalidToken`].
pub fn session_user(conn: &mut DbConnection, user_id: Uuid, session: Uuid) -> AppResult<UserRow> {
    match persistence::users::find_with_session(conn, user_id, session) {
        Ok((user, live)) if user.is_active && live => Ok(user),
        Ok(_) | Err(PersistenceError::NotFound) => Err(AppError::InvalidToken),
        Err(err) => Err(err.into()),
    }
}

/// Stores a new refresh token of `session` for `user_id`.
fn issue_refresh_token(
    conn: &mut DbConnection,
    user_id: Uuid,
    session: Uuid,
    ttl_secs: i64,
) -> AppResult<IssuedToken> {
    let token = random_token(REFRESH_TOKEN_BYTES);
    let now = persistence::now();
    refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            id: DbUuid(Uuid::now_v7()),
            user_id: DbUuid(user_id),
            family_id: DbUuid(session),
            token_hash: sha256_hex(&token),
            created_at: DbTime(now),
            expires_at: DbTime(now + Duration::seconds(ttl_secs)),
            used_at: None,
            revoked_at: None,
        },
    )?;
    Ok(IssuedToken {
        user_id,
        session,
        refresh_token: token,
    })
}

fn record(conn: &mut DbConnection, actor: &Actor, action: &str, user_id: Uuid) -> AppResult<()> {
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
