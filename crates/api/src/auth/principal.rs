//! Who is calling: the principal behind an access token or an API key, as the acting
//! context (`application::Acting`) the use cases take: identity, role and scopes,
//! visibility, team, the request's language and its id.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use application::accounts::{api_key_format, api_keys, sessions, users};
use application::partners;
use application::{Acting, Credential};
use domain::authz::Permission;
use futures_util::future::LocalBoxFuture;
use persistence::db::DbConnection;
use persistence::users::UserRow;
use uuid::Uuid;

use super::principal_cache::AccountFacts;
use crate::conventions::RequestId;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Header carrying an API key (`Authorization: Bearer pvk_...` works too).
pub const API_KEY_HEADER: &str = "x-api-key";

/// The authenticated caller of a request, as a handler argument: its acting context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub Acting);

impl std::ops::Deref for Principal {
    type Target = Acting;

    fn deref(&self) -> &Acting {
        &self.0
    }
}

impl Principal {
    /// The signed-in user (an API key's owner).
    pub fn id(&self) -> Uuid {
        // Every authenticated caller is a user; only the system acts without one.
        self.0.user_id.unwrap_or_default()
    }

    /// [`Acting::can`] as a guard answering 403.
    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        Ok(self.0.require(permission)?)
    }
}

/// Who a verified credential names, before the request's id and language are added.
struct Identity {
    user_id: Uuid,
    facts: AccountFacts,
    credential: Credential,
}

/// The credential a request presents.
enum Presented {
    AccessToken(String),
    ApiKey(String),
}

fn credential(headers: &HeaderMap) -> ApiResult<Presented> {
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let key = value.to_str().map_err(|_| ApiError::InvalidToken)?.trim();
        return Ok(Presented::ApiKey(key.to_string()));
    }
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?;
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    let token = token.trim();
    if token.starts_with(api_key_format::KEY_MARKER) {
        Ok(Presented::ApiKey(token.to_string()))
    } else {
        Ok(Presented::AccessToken(token.to_string()))
    }
}

/// Authenticates the request described by `headers`. Inactive users, revoked or expired
/// keys and invalid tokens all answer 401 without saying which.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Identity> {
    match credential(headers)? {
        Presented::AccessToken(token) => {
            let claims = state.tokens.verify(&token)?;
            let (user_id, session) = (claims.sub, claims.sid);
            let facts = match state.principals.get(&user_id, &session) {
                Some(facts) => facts,
                None => {
                    let facts = state
                        .db(move |conn| {
                            let user = sessions::session_user(conn, user_id, session)?;
                            account_facts(conn, &user)
                        })
                        .await?;
                    state.principals.insert(user_id, session, facts);
                    facts
                }
            };
            Ok(Identity {
                user_id,
                facts,
                credential: Credential::Session { session },
            })
        }
        Presented::ApiKey(presented) => {
            let (prefix, secret_hash) =
                api_key_format::parse(&presented).ok_or(ApiError::InvalidToken)?;
            state
                .db(move |conn| authenticate_api_key(conn, &prefix, &secret_hash))
                .await
        }
    }
}

fn authenticate_api_key(
    conn: &mut DbConnection,
    prefix: &str,
    secret_hash: &str,
) -> ApiResult<Identity> {
    let holder = api_keys::authenticate(conn, prefix, secret_hash)?;
    Ok(Identity {
        user_id: holder.user.id.0,
        facts: account_facts(conn, &holder.user)?,
        credential: Credential::ApiKey {
            key_id: holder.key_id,
            scopes: holder.scopes,
        },
    })
}

/// What a principal needs of an active user; the user of an inactive partner is
/// refused as an inactive user is.
fn account_facts(conn: &mut DbConnection, user: &UserRow) -> ApiResult<AccountFacts> {
    let partner_id = match partners::membership(conn, user.id.0)? {
        Some((_, false)) => return Err(ApiError::InvalidToken),
        Some((partner, true)) => Some(partner),
        None => None,
    };
    Ok(AccountFacts {
        role: users::stored_role(user)?,
        team_id: user.team_id.map(|id| id.0),
        visibility: users::stored_visibility(user)?,
        partner_id,
    })
}

/// Handlers take a `Principal` argument to require authentication. A principal already
/// resolved earlier in the request (by a middleware) is reused.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if let Some(principal) = req.extensions().get::<Principal>() {
            let principal = principal.clone();
            return Box::pin(async move { Ok(principal) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let headers = req.headers().clone();
        let req = req.clone();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let identity = authenticate(&state, &headers).await?;
            tracing::Span::current().record("principal", tracing::field::display(identity.user_id));
            let principal = Principal(Acting {
                user_id: Some(identity.user_id),
                role: identity.facts.role,
                team_id: identity.facts.team_id,
                visibility: identity.facts.visibility,
                partner_id: identity.facts.partner_id,
                credential: identity.credential,
                lang: crate::i18n::current(),
                request_id: Some(RequestId::of(&req).to_string()),
            });
            req.extensions_mut().insert(principal.clone());
            Ok(principal)
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            actix_web::http::header::HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn credentials_are_recognised() {
        assert!(
            matches!(credential(&headers("authorization", "Bearer abc")), Ok(Presented::AccessToken(t)) if t == "abc")
        );
        assert!(
            matches!(credential(&headers("authorization", "bearer pvk_x")), Ok(Presented::ApiKey(k)) if k == "pvk_x")
        );
        assert!(
            matches!(credential(&headers("x-api-key", "pvk_y")), Ok(Presented::ApiKey(k)) if k == "pvk_y")
        );
        assert!(matches!(
            credential(&headers("authorization", "Basic abc")),
            Err(ApiError::Unauthenticated)
        ));
        assert!(matches!(
            credential(&HeaderMap::new()),
            Err(ApiError::Unauthenticated)
        ));
    }
}
