//! Access tokens: short-lived JWTs signed with HS256. The algorithm is pinned (a token
//! naming any other algorithm, or `none`, is rejected before its signature is looked
//! at), and `iss`, `aud`, `exp` and the key id `kid` must all match.

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::signing_key::SigningKey;
use crate::error::{ApiError, ApiResult};

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The refresh-token family (login session) the token was issued for: every request
    /// checks that it is still live, so logging out ends the token at once.
    pub sid: Uuid,
}

/// Issues and checks access tokens with one key.
#[derive(Clone)]
pub struct TokenIssuer {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl TokenIssuer {
    pub fn new(key: &SigningKey, issuer: &str, audience: &str, ttl_secs: i64) -> TokenIssuer {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        // The server checks only tokens it issued itself, on its own clock.
        validation.leeway = 0;
        TokenIssuer {
            kid: key.kid().to_string(),
            encoding: EncodingKey::from_secret(key.secret()),
            decoding: DecodingKey::from_secret(key.secret()),
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl_secs,
        }
    }

    /// Lifetime of issued tokens in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// A signed token for `user` in session `sid`, valid for the configured lifetime.
    pub fn issue(&self, user: Uuid, sid: Uuid) -> ApiResult<String> {
        let now = chrono::Utc::now().timestamp();
        self.sign(&Claims {
            sub: user,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl_secs,
            sid,
        })
    }

    /// Signs arbitrary claims with this issuer's key and `kid`.
    pub fn sign(&self, claims: &Claims) -> ApiResult<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding)
            .map_err(|err| ApiError::Internal(format!("token signing failed: {err}")))
    }

    /// The claims of a valid token; any defect is [`ApiError::InvalidToken`] (the
    /// reason is not told to the caller).
    pub fn verify(&self, token: &str) -> ApiResult<Claims> {
        let header = decode_header(token).map_err(|_| ApiError::InvalidToken)?;
        if header.alg != Algorithm::HS256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(ApiError::InvalidToken);
        }
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn issuer() -> TokenIssuer {
        let key = SigningKey::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        TokenIssuer::new(&key, "peyvand", "peyvand-api", 900)
    }

    fn claims(issuer: &TokenIssuer) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::now_v7(),
            iss: issuer.issuer.clone(),
            aud: issuer.audience.clone(),
            iat: now,
            exp: now + 60,
            sid: Uuid::now_v7(),
        }
    }

    fn is_invalid(result: ApiResult<Claims>) -> bool {
        matches!(result, Err(ApiError::InvalidToken))
    }

    #[test]
    fn round_trip() {
        let issuer = issuer();
        let user = Uuid::now_v7();
        let sid = Uuid::now_v7();
        let claims = issuer.verify(&issuer.issue(user, sid).unwrap()).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, sid));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let issuer = issuer();
        let mut expired = claims(&issuer);
        expired.exp = expired.iat - 1;
        assert!(is_invalid(issuer.verify(&issuer.sign(&expired).unwrap())));
    }

    #[test]
    fn wrong_audience_or_issuer_is_rejected() {
        let issuer = issuer();
        let mut wrong_aud = claims(&issuer);
        wrong_aud.aud = "someone-else".into();
        assert!(is_invalid(issuer.verify(&issuer.sign(&wrong_aud).unwrap())));
        let mut wrong_iss = claims(&issuer);
        wrong_iss.iss = "evil".into();
        assert!(is_invalid(issuer.verify(&issuer.sign(&wrong_iss).unwrap())));
    }

    #[test]
    fn tampered_payload_or_other_key_is_rejected() {
        let issuer = issuer();
        let token = issuer.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(&issuer)).unwrap());
        assert!(is_invalid(issuer.verify(&format!(
            "{}.{}.{}",
            parts[0], forged_claims, parts[2]
        ))));

        let other = TokenIssuer::new(
            &SigningKey::from_bytes(b"another key that is long enough!!".to_vec()).unwrap(),
            "peyvand",
            "peyvand-api",
            900,
        );
        assert!(is_invalid(
            issuer.verify(&other.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap())
        ));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_rejected() {
        let issuer = issuer();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(&issuer)).unwrap());
        for alg in ["none", "HS512", "RS256"] {
            let header = URL_SAFE_NO_PAD.encode(
                serde_json::to_vec(
                    &serde_json::json!({"alg": alg, "typ": "JWT", "kid": issuer.kid}),
                )
                .unwrap(),
            );
            assert!(
                is_invalid(issuer.verify(&format!("{header}.{body}."))),
                "{alg}"
            );
        }
        let mut hs512 = Header::new(Algorithm::HS512);
        hs512.kid = Some(issuer.kid.clone());
        let token = encode(
            &hs512,
            &claims(&issuer),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(is_invalid(issuer.verify(&token)));
    }

    #[test]
    fn missing_or_wrong_kid_is_rejected() {
        let issuer = issuer();
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let no_kid = encode(&Header::new(Algorithm::HS256), &claims(&issuer), &key).unwrap();
        assert!(is_invalid(issuer.verify(&no_kid)));
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("0000000000000000".into());
        let wrong_kid = encode(&header, &claims(&issuer), &key).unwrap();
        assert!(is_invalid(issuer.verify(&wrong_kid)));
    }

    #[test]
    fn garbage_is_rejected() {
        let issuer = issuer();
        for token in ["", "abc", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30."] {
            assert!(is_invalid(issuer.verify(token)), "{token}");
        }
    }
}
