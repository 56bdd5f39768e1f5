//! Login throttling per account and per client address, and which client address is
//! believed behind a proxy.

use e2e::support::{backends, TestApp};
use reqwest::blocking::Response;
use serde_json::{json, Value};

fn attempt(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> Response {
    let mut request = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().unwrap()
}

/// Asserts a 429 `too_many_login_attempts` with a positive `Retry-After` and returns the
/// body with the occurrence-specific fields removed.
fn assert_throttled(response: Response) -> Value {
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let mut body: Value = response.json().unwrap();
    assert_eq!(body["code"], "too_many_login_attempts", "{body}");
    let object = body.as_object_mut().unwrap();
    object.remove("instance");
    object.remove("detail");
    body
}

#[test]
fn ten_failures_lock_an_account_even_for_the_right_password() {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        let (_, email, password) = app.create_user("sales", None);
        let unknown = "nobody-here@example.com";
        for _ in 0..10 {
            assert_eq!(
                attempt(&app, &email, "wrong password!!", None).status(),
                401
            );
            assert_eq!(
                attempt(&app, unknown, "wrong password!!", None).status(),
                401
            );
        }
        let known = assert_throttled(attempt(&app, &email, &password, None));
        let unknown = assert_throttled(attempt(&app, unknown, &password, None));
        assert_eq!(
            known, unknown,
            "an unknown e-mail is throttled the same way"
        );
    }
}

#[test]
fn a_successful_login_resets_the_account_counter() {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        let (_, email, password) = app.create_user("sales", None);
        for _ in 0..3 {
            for _ in 0..9 {
                assert_eq!(
                    attempt(&app, &email, "wrong password!!", None).status(),
                    401
                );
            }
            app.login(&email, &password);
        }
    }
}

#[test]
fn an_address_lock_spares_other_addresses_but_an_account_lock_does_not() {
    for backend in backends() {
        let app = TestApp::spawn_with(
            backend,
            &[
                "--trusted-proxies",
                "127.0.0.1",
                "--login-max-failures-per-address",
                "15",
            ],
        );
        let (_, locked_email, _) = app.create_user("sales", None);
        let (_, email, password) = app.create_user("sales", None);
        let (attacker, other) = (Some("203.0.113.7"), Some("198.51.100.20"));
        // The account fails ten times from one address: locked from everywhere.
        for _ in 0..10 {
            assert_eq!(
                attempt(&app, &locked_email, "wrong!!!!!!!!", attacker).status(),
                401
            );
        }
        assert_throttled(attempt(&app, &locked_email, "wrong!!!!!!!!", other));
        // The same address guesses five other accounts' passwords: now it is locked too,
        // even for a right password, while another address is not.
        for n in 0..5 {
            let target = format!("guess-{n}@example.com");
            assert_eq!(
                attempt(&app, &target, "wrong!!!!!!!!", attacker).status(),
                401
            );
        }
        assert_throttled(attempt(&app, &email, &password, attacker));
        assert_eq!(attempt(&app, &email, &password, other).status(), 200);
    }
}

#[test]
fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--login-max-failures-per-address", "5"]);
        let (_, email, password) = app.create_user("sales", None);
        for n in 0..5 {
            let claimed = format!("203.0.113.{n}");
            let target = format!("guess-{n}@example.com");
            let status = attempt(&app, &target, "wrong!!!!!!!!", Some(&claimed)).status();
            assert_eq!(status, 401);
        }
        // Every attempt counted against the real peer, whatever address it claimed.
        assert_throttled(attempt(&app, &email, &password, Some("198.51.100.20")));
    }
}

#[test]
fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    for backend in backends() {
        let app = TestApp::spawn_with(
            backend,
            &[
                "--trusted-proxies",
                "10.0.0.0/8,127.0.0.1",
                "--login-max-failures-per-address",
                "5",
            ],
        );
        let (_, email, password) = app.create_user("sales", None);
        for n in 0..5 {
            let target = format!("guess-{n}@example.com");
            // The client wrote the first entry itself; the proxy appended the real one.
            let forwarded = format!("198.51.100.{n}, 203.0.113.7");
            assert_eq!(
                attempt(&app, &target, "wrong!!!!!!!!", Some(&forwarded)).status(),
                401
            );
        }
        assert_throttled(attempt(&app, &email, &password, Some("203.0.113.7")));
        assert_eq!(
            attempt(&app, &email, &password, Some("203.0.113.8")).status(),
            200
        );
        assert_eq!(attempt(&app, &email, &password, None).status(), 200);
    }
}

#[test]
fn the_general_rate_limit_counts_the_same_client_address() {
    for backend in backends() {
        let limited = |app: &TestApp, address: &str| {
            app.client()
                .get(app.url("/api/v1/users/me"))
                .header("x-forwarded-for", address)
                .send()
                .unwrap()
                .status()
        };
        let untrusted = TestApp::spawn_with(backend, &["--rate-limit-per-minute", "2"]);
        assert_eq!(limited(&untrusted, "203.0.113.1"), 401);
        assert_eq!(limited(&untrusted, "203.0.113.2"), 401);
        assert_eq!(limited(&untrusted, "203.0.113.3"), 429);

        let trusted = TestApp::spawn_with(
            backend,
            &[
                "--rate-limit-per-minute",
                "2",
                "--trusted-proxies",
                "127.0.0.1",
            ],
        );
        assert_eq!(limited(&trusted, "203.0.113.1"), 401);
        assert_eq!(limited(&trusted, "203.0.113.1"), 401);
        assert_eq!(limited(&trusted, "203.0.113.1"), 429);
        assert_eq!(limited(&trusted, "203.0.113.2"), 401);
    }
}

#[test]
fn expired_throttle_rows_are_deleted_by_later_failures() {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        let mut conn = app.state.pool.get().unwrap();
        let long_ago = persistence::now() - chrono::Duration::days(2);
        let stale = persistence::login_throttles::LoginThrottleRow {
            subject_hash: "stale".into(),
            failures: 3,
            window_started_at: persistence::sql_types::DbTime(long_ago),
            lockouts: 0,
            locked_until: None,
            expires_at: persistence::sql_types::DbTime(long_ago),
        };
        persistence::login_throttles::save(&mut conn, &stale).unwrap();
        assert_eq!(
            attempt(&app, "someone@example.com", "wrong!!!!!!!!", None).status(),
            401
        );
        assert!(persistence::login_throttles::find(&mut conn, &["stale"])
            .unwrap()
            .is_empty());
    }
}
