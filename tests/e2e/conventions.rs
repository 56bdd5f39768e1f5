//! The shared HTTP conventions that need no account: problem responses for unknown
//! routes and methods (localised), request ids, rate limits and CORS.

use e2e::support::{backends, for_each_backend, problem, TestApp};

#[test]
fn unknown_routes_and_methods_are_localised_problems() {
    for_each_backend(|app| {
        let (status, body) = problem(
            app.client()
                .get(app.url("/api/v1/nothing-here"))
                .send()
                .unwrap(),
        );
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
        assert_eq!(body["title"], "Not found");

        let fa = app
            .client()
            .get(app.url("/api/v1/nothing-here"))
            .header("Accept-Language", "fa-IR, en;q=0.5");
        let (_, body) = problem(fa.send().unwrap());
        assert_eq!(body["title"], "یافت نشد");

        let (status, body) = problem(
            app.client()
                .delete(app.url("/api/v1/health"))
                .send()
                .unwrap(),
        );
        assert_eq!(
            (status, body["code"].as_str()),
            (405, Some("method_not_allowed"))
        );
    });
}

#[test]
fn request_ids_are_echoed_or_generated() {
    for_each_backend(|app| {
        let echoed = app
            .client()
            .get(app.url("/api/v1/health"))
            .header("X-Request-Id", "trace-abc.123")
            .send()
            .unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "trace-abc.123");

        let too_long = "x".repeat(129);
        let replaced = app
            .client()
            .get(app.url("/api/v1/nothing"))
            .header("X-Request-Id", &too_long)
            .send()
            .unwrap();
        let generated = replaced.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_ne!(generated, too_long);
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
        assert_eq!(replaced.status(), 404);
    });
}

#[test]
fn over_the_rate_limit_is_429_with_retry_after() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--rate-limit-per-minute", "5"]);
        let get = || app.client().get(app.url("/api/v1/nothing")).send().unwrap();
        for expected_remaining in (0..5).rev() {
            let response = get();
            assert_eq!(response.headers()["ratelimit-limit"], "5");
            assert_eq!(
                response.headers()["ratelimit-remaining"],
                expected_remaining.to_string().as_str()
            );
            assert!(response.headers().contains_key("ratelimit-reset"));
        }
        let limited = get();
        let retry_after: u64 = limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        assert!(limited.headers().contains_key("x-request-id"));
        let (status, body) = problem(limited);
        assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
        // Probes are never limited.
        assert_eq!(
            app.client()
                .get(app.url("/api/v1/health"))
                .send()
                .unwrap()
                .status(),
            200
        );
    }
}

#[test]
fn cors_preflight_allows_configured_origins() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--cors-origins", "https://app.example.ir"]);
        let preflight = app
            .client()
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/users"))
            .header("Origin", "https://app.example.ir")
            .header("Access-Control-Request-Method", "PATCH")
            .header("Access-Control-Request-Headers", "if-match, content-type")
            .send()
            .unwrap();
        assert!(preflight.status().is_success(), "{}", preflight.status());
        assert_eq!(
            preflight.headers()["access-control-allow-origin"],
            "https://app.example.ir"
        );

        let actual = app
            .client()
            .get(app.url("/api/v1/health"))
            .header("Origin", "https://app.example.ir")
            .send()
            .unwrap();
        let exposed = actual.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for header in [
            "etag",
            "location",
            "ratelimit-remaining",
            "retry-after",
            "x-request-id",
        ] {
            assert!(exposed.contains(header), "{exposed}");
        }
    }
}

#[test]
fn without_configured_origins_cors_is_off() {
    for_each_backend(|app| {
        let response = app
            .client()
            .get(app.url("/api/v1/health"))
            .header("Origin", "https://elsewhere.example")
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(!response
            .headers()
            .contains_key("access-control-allow-origin"));
    });
}
