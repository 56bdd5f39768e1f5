//! Login, refresh rotation with reuse detection, logout and token validation.

use api::auth::jwt::{Claims, TokenIssuer};
use api::auth::signing_key::SigningKey;
use diesel::prelude::*;
use e2e::support::{assert_problem, for_each_backend, TestApp, TEST_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

fn refresh(app: &TestApp, token: &str) -> reqwest::blocking::Response {
    app.client()
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": token}))
        .send()
        .unwrap()
}

#[test]
fn login_returns_a_working_token_pair() {
    for_each_backend(|app| {
        let (id, email, password) = app.create_user("sales", None);
        let response = app
            .client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email.to_uppercase(), "password": password}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().unwrap() > 0);
        assert!(
            body["refresh_expires_in"].as_i64().unwrap() > body["expires_in"].as_i64().unwrap()
        );
        let me: Value = app
            .authed(
                Method::GET,
                "/api/v1/users/me",
                body["access_token"].as_str().unwrap(),
            )
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(me["id"], id.to_string());
        assert!(me["last_login_at"].is_string());
        assert!(me.get("password_hash").is_none());
    });
}

#[test]
fn failed_logins_look_the_same_for_unknown_users_and_wrong_passwords() {
    for_each_backend(|app| {
        let (_, email, _) = app.create_user("support", None);
        let attempt = |email: &str, password: &str| {
            let response = app
                .client()
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": email, "password": password}))
                .send()
                .unwrap();
            assert_problem(response, 401, "invalid_credentials")
        };
        let wrong_password = attempt(&email, "not the password at all");
        let unknown_user = attempt("nobody@example.com", TEST_PASSWORD);
        assert_eq!(wrong_password, unknown_user);
        attempt("not an email", TEST_PASSWORD);
    });
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("analyst", None);
        let first = app.login(&email, &password);

        let second: Value = refresh(app, &first.refresh_token).json().unwrap();
        let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(second_refresh, first.refresh_token);
        let me = app
            .authed(
                Method::GET,
                "/api/v1/users/me",
                second["access_token"].as_str().unwrap(),
            )
            .send()
            .unwrap();
        assert_eq!(me.status(), 200);

        let third: Value = refresh(app, &second_refresh).json().unwrap();
        let newest = third["refresh_token"].as_str().unwrap().to_string();

        // Someone replays the first (already used) token: the whole family dies.
        assert_problem(refresh(app, &first.refresh_token), 401, "invalid_token");
        assert_problem(refresh(app, &newest), 401, "invalid_token");

        // Another login is a separate family and is unaffected.
        let other = app.login(&email, &password);
        assert_eq!(refresh(app, &other.refresh_token).status(), 200);
        assert_problem(refresh(app, "no-such-token"), 401, "invalid_token");
    });
}

#[test]
fn logout_revokes_the_session() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("marketing", None);
        let session = app.login(&email, &password);
        let other_session = app.login(&email, &password);
        let response = app
            .authed(Method::POST, "/api/v1/auth/logout", &session.access_token)
            .json(&json!({"refresh_token": session.refresh_token}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_problem(refresh(app, &session.refresh_token), 401, "invalid_token");
        assert_eq!(refresh(app, &other_session.refresh_token).status(), 200);
        let anonymous = app
            .client()
            .post(app.url("/api/v1/auth/logout"))
            .json(&json!({"refresh_token": other_session.refresh_token}))
            .send()
            .unwrap();
        assert_problem(anonymous, 401, "unauthenticated");
    });
}

/// The server's own key, read from its data directory (tests run without a configured secret).
fn server_key(app: &TestApp) -> SigningKey {
    SigningKey::load(None, &app.state.config.database.data_dir).unwrap()
}

fn claims(app: &TestApp, user: uuid::Uuid) -> Claims {
    let now = chrono_now();
    Claims {
        sub: user,
        iss: app.state.config.jwt_issuer.clone(),
        aud: app.state.config.jwt_audience.clone(),
        iat: now,
        exp: now + 300,
        sid: uuid::Uuid::now_v7(),
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn bad_access_tokens_are_rejected() {
    for_each_backend(|app| {
        let (id, email, password) = app.create_user("sales", None);
        let good = app.login(&email, &password).access_token;
        let issuer = TokenIssuer::new(
            &server_key(app),
            &app.state.config.jwt_issuer,
            &app.state.config.jwt_audience,
            900,
        );
        let check = |token: &str, code: &str| {
            let response = app
                .authed(Method::GET, "/api/v1/users/me", token)
                .send()
                .unwrap();
            assert_problem(response, 401, code);
        };
        assert_eq!(
            app.authed(Method::GET, "/api/v1/users/me", &good)
                .send()
                .unwrap()
                .status(),
            200
        );

        let mut expired = claims(app, id);
        expired.iat -= 600;
        expired.exp = expired.iat + 300;
        check(&issuer.sign(&expired).unwrap(), "invalid_token");

        let mut wrong_audience = claims(app, id);
        wrong_audience.aud = "another-service".into();
        check(&issuer.sign(&wrong_audience).unwrap(), "invalid_token");

        let mut wrong_issuer = claims(app, id);
        wrong_issuer.iss = "someone-else".into();
        check(&issuer.sign(&wrong_issuer).unwrap(), "invalid_token");

        // Signature of a different payload: tampered.
        let parts: Vec<&str> = good.split('.').collect();
        let other_parts: Vec<String> = issuer
            .sign(&claims(app, uuid::Uuid::now_v7()))
            .unwrap()
            .split('.')
            .map(String::from)
            .collect();
        check(
            &format!("{}.{}.{}", parts[0], other_parts[1], parts[2]),
            "invalid_token",
        );
        let mut flipped = parts[2].to_string();
        let last = if flipped.ends_with('A') { 'B' } else { 'A' };
        flipped.pop();
        flipped.push(last);
        check(
            &format!("{}.{}.{}", parts[0], parts[1], flipped),
            "invalid_token",
        );

        // {"alg":"none","typ":"JWT"} with the real payload and no signature.
        check(
            &format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]),
            "invalid_token",
        );

        // Another key, so another kid.
        let foreign =
            SigningKey::from_bytes(b"a different key, also 32 bytes long".to_vec()).unwrap();
        assert_ne!(foreign.kid(), server_key(app).kid());
        let foreign_issuer = TokenIssuer::new(
            &foreign,
            &app.state.config.jwt_issuer,
            &app.state.config.jwt_audience,
            900,
        );
        check(
            &foreign_issuer.issue(id, uuid::Uuid::now_v7()).unwrap(),
            "invalid_token",
        );

        check("garbage", "invalid_token");
        let none = app
            .client()
            .get(app.url("/api/v1/users/me"))
            .send()
            .unwrap();
        assert_problem(none, 401, "unauthenticated");
    });
}

#[test]
fn deactivated_users_lose_access_at_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (id, email, password) = app.create_user("sales", None);
        let session = app.login(&email, &password);
        let response = app
            .authed(Method::DELETE, &format!("/api/v1/users/{id}"), &admin)
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_problem(
            app.authed(Method::GET, "/api/v1/users/me", &session.access_token)
                .send()
                .unwrap(),
            401,
            "invalid_token",
        );
        assert_problem(refresh(app, &session.refresh_token), 401, "invalid_token");
        let login = app
            .client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .unwrap();
        assert_problem(login, 401, "invalid_credentials");
    });
}

fn me_status(app: &TestApp, access_token: &str) -> u16 {
    app.authed(Method::GET, "/api/v1/users/me", access_token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn logout_ends_the_access_token_at_once() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("sales", None);
        let session = app.login(&email, &password);
        let other_session = app.login(&email, &password);
        // Both are now known live (and cached) before the logout.
        assert_eq!(me_status(app, &session.access_token), 200);
        assert_eq!(me_status(app, &other_session.access_token), 200);
        let response = app
            .authed(Method::POST, "/api/v1/auth/logout", &session.access_token)
            .json(&json!({"refresh_token": session.refresh_token}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_problem(
            app.authed(Method::GET, "/api/v1/users/me", &session.access_token)
                .send()
                .unwrap(),
            401,
            "invalid_token",
        );
        assert_eq!(me_status(app, &other_session.access_token), 200);
    });
}

#[test]
fn refresh_token_reuse_ends_the_access_tokens_of_its_session() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("analyst", None);
        let first = app.login(&email, &password);
        let second: Value = refresh(app, &first.refresh_token).json().unwrap();
        let second_access = second["access_token"].as_str().unwrap().to_string();
        assert_eq!(me_status(app, &first.access_token), 200);
        assert_eq!(me_status(app, &second_access), 200);

        // The first refresh token is replayed: whoever holds the session loses it.
        assert_problem(refresh(app, &first.refresh_token), 401, "invalid_token");
        assert_eq!(me_status(app, &first.access_token), 401);
        assert_eq!(me_status(app, &second_access), 401);
    });
}

#[test]
fn a_password_change_ends_the_access_tokens_of_other_sessions() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("marketing", None);
        let current = app.login(&email, &password);
        let other = app.login(&email, &password);
        assert_eq!(me_status(app, &other.access_token), 200);
        let response = app
            .authed(
                Method::POST,
                "/api/v1/users/me/password",
                &current.access_token,
            )
            .json(&json!({"current_password": password, "new_password": "another long password"}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(me_status(app, &other.access_token), 401);
        assert_eq!(me_status(app, &current.access_token), 200);
    });
}

#[test]
fn a_session_revoked_by_another_process_ends_within_the_cache_lifetime() {
    use api::auth::principal_cache::FRESHNESS;
    use std::time::{Duration, Instant};

    for_each_backend(|app| {
        let (id, email, password) = app.create_user("sales", None);
        let session = app.login(&email, &password);
        assert_eq!(me_status(app, &session.access_token), 200);
        // Another server sharing the database revokes every session of the user; this
        // process's cache knows nothing of it.
        let mut conn = app.state.pool.get().unwrap();
        let ended = persistence::refresh_tokens::revoke_all_for_user(
            &mut conn,
            id,
            None,
            persistence::now(),
        )
        .unwrap();
        assert_eq!(ended.len(), 1);
        let deadline = Instant::now() + FRESHNESS + Duration::from_secs(2);
        while me_status(app, &session.access_token) == 200 {
            assert!(
                Instant::now() < deadline,
                "the revoked session still works after the cache lifetime"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(me_status(app, &session.access_token), 401);
    });
}

/// On PostgreSQL another process's revocations and account changes reach this one at
/// once: the other process announces them (as its logout, password change or user
/// update does) and this process's listener forgets what it cached, long before the
/// cache entry would run out.
#[test]
fn another_process_s_revocations_and_account_changes_apply_at_once_on_postgresql() {
    use api::auth::principal_cache::FRESHNESS;
    use persistence::principal_events::{announce, PrincipalEvent};
    use std::time::{Duration, Instant};

    for backend in e2e::support::backends() {
        if backend != e2e::support::Backend::Postgres {
            continue;
        }
        let app = TestApp::spawn(backend);
        let until_refused = |token: &str, what: &str| {
            let announced = Instant::now();
            while me_status(&app, token) == 200 {
                assert!(
                    announced.elapsed() < FRESHNESS / 2,
                    "{what} was not applied before the cache entry would have run out"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            assert_eq!(me_status(&app, token), 401);
        };

        let (id, email, password) = app.create_user("sales", None);
        let session = app.login(&email, &password);
        assert_eq!(me_status(&app, &session.access_token), 200, "now cached");
        let mut conn = app.state.pool.get().unwrap();
        let ended = persistence::refresh_tokens::revoke_all_for_user(
            &mut conn,
            id,
            None,
            persistence::now(),
        )
        .unwrap();
        announce(
            &mut conn,
            &PrincipalEvent::SessionsEnded { sessions: ended },
        )
        .unwrap();
        until_refused(&session.access_token, "the revocation");

        // A user deactivated by the other process.
        let (id, email, password) = app.create_user("sales", None);
        let session = app.login(&email, &password);
        assert_eq!(me_status(&app, &session.access_token), 200, "now cached");
        diesel::update(persistence::schema::users::table.find(persistence::sql_types::DbUuid(id)))
            .set(persistence::schema::users::is_active.eq(false))
            .execute(&mut *conn)
            .unwrap();
        announce(&mut conn, &PrincipalEvent::UserChanged { user_id: id }).unwrap();
        until_refused(&session.access_token, "the deactivation");
    }
}
