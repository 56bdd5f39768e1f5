//! `GET /metrics`: Prometheus text with request counts by route pattern, pool and job
//! queue gauges; served only behind a configured bearer token.

use e2e::support::{backends, TestApp};
use reqwest::Method;

const TOKEN: &str = "scrape-secret";

/// Runs `test` against a fresh server with a metrics token on every backend.
fn for_each_backend_with_token(test: impl Fn(&TestApp)) {
    for backend in backends() {
        test(&TestApp::spawn_with(backend, &["--metrics-token", TOKEN]));
    }
}

fn scrape(app: &TestApp) -> String {
    let response = app
        .client()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .expect("scrape");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("content type")
        .starts_with("text/plain"));
    response.text().expect("text")
}

#[test]
fn requests_are_counted_by_route_pattern_and_gauges_are_exposed() {
    for_each_backend_with_token(|app| {
        let admin = app.admin_token();
        let id = uuid::Uuid::now_v7();
        let missing = app
            .authed(Method::GET, &format!("/api/v1/jobs/{id}"), &admin)
            .send()
            .expect("get");
        assert_eq!(missing.status(), 404);
        app.client()
            .get(app.url("/api/v1/health"))
            .send()
            .expect("health");
        app.client()
            .get(app.url(&format!("/no/such/path/{id}")))
            .send()
            .expect("unknown path");

        let text = scrape(app);
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/api/v1/jobs/{id}",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(text
            .contains(r#"http_requests_total{method="GET",route="/api/v1/health",status="200"}"#));
        assert!(
            text.contains(r#"route="unmatched""#),
            "unknown paths share one series"
        );
        assert!(
            !text.contains(&id.to_string()),
            "ids never become label values"
        );
        assert!(text.contains("http_request_duration_seconds_bucket{"));
        assert!(text.contains("db_pool_connections "));
        assert!(text.contains("db_pool_idle_connections "));
        // Only the recurring runs every server schedules at start: tomorrow's churn
        // check, loyalty expiry and tiers, retention and workflow dates, the next
        // business day's stuck-deals check, and the next hour's audit checkpoint.
        assert!(text.contains(r#"jobs{status="queued"} 7"#), "{text}");
        assert!(text.contains(r#"jobs{status="failed"} 0"#));
    });
}

#[test]
fn without_a_token_metrics_are_not_served() {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        for request in [
            app.client().get(app.url("/metrics")),
            app.client().get(app.url("/metrics")).bearer_auth(""),
            app.client().get(app.url("/metrics")).bearer_auth("guess"),
        ] {
            let response = request.send().expect("scrape");
            assert_eq!(response.status(), 404);
            let problem: serde_json::Value = response.json().expect("problem");
            assert_eq!(problem["code"], "not_found");
        }
    }
}

#[test]
fn a_configured_metrics_token_is_required() {
    for_each_backend_with_token(|app| {
        let anonymous = app
            .client()
            .get(app.url("/metrics"))
            .send()
            .expect("scrape");
        assert_eq!(anonymous.status(), 401);
        let wrong = app
            .client()
            .get(app.url("/metrics"))
            .bearer_auth("guess")
            .send()
            .expect("scrape");
        assert_eq!(wrong.status(), 401);
        assert!(scrape(app).contains("http_requests_total"));
    });
}
