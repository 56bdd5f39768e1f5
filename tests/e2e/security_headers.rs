//! Response headers for browsers and caches (nosniff everywhere, no-store on the API,
//! a content security policy on the docs) and problem documents for a request target
//! or header section over the limits.

use e2e::support::{for_each_backend, TestApp};
use reqwest::blocking::Response;
use reqwest::Method;
use serde_json::{json, Value};

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{} has no {name}", response.url()))
        .to_str()
        .expect("header text")
}

#[test]
fn every_answer_forbids_content_sniffing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let ok = app
            .client()
            .get(app.url("/api/v1/health"))
            .send()
            .expect("health");
        let unauthenticated = app
            .client()
            .get(app.url("/api/v1/customers"))
            .send()
            .expect("customers");
        let invalid = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&json!({"kind": "robot"}))
            .send()
            .expect("create");
        let unknown = app
            .client()
            .get(app.url("/no/such/path"))
            .send()
            .expect("unknown path");
        for (response, status) in [
            (ok, 200),
            (unauthenticated, 401),
            (invalid, 422),
            (unknown, 404),
        ] {
            assert_eq!(response.status(), status);
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        }
    });
}

#[test]
fn tokens_and_personal_data_are_not_stored_by_caches() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("sales", None);
        let login = app
            .client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .expect("login");
        assert_eq!(login.status(), 200);
        assert_eq!(header(&login, "cache-control"), "no-store");
        let tokens: Value = login.json().expect("tokens");
        let access = tokens["access_token"].as_str().expect("access token");

        let refreshed = app
            .client()
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": tokens["refresh_token"]}))
            .send()
            .expect("refresh");
        assert_eq!(refreshed.status(), 200);
        assert_eq!(header(&refreshed, "cache-control"), "no-store");

        let key = app
            .authed(Method::POST, "/api/v1/api-keys", access)
            .json(&json!({"name": "integration", "scopes": ["records:read"]}))
            .send()
            .expect("api key");
        assert_eq!(key.status(), 201);
        assert_eq!(header(&key, "cache-control"), "no-store");

        let created = app
            .authed(Method::POST, "/api/v1/customers", access)
            .json(&json!({"kind": "person", "first_name": "آرش", "last_name": "کمانگیر"}))
            .send()
            .expect("create");
        assert_eq!(created.status(), 201);
        assert_eq!(header(&created, "cache-control"), "no-store");
        let customers = app
            .authed(Method::GET, "/api/v1/customers", access)
            .send()
            .expect("list");
        assert_eq!(customers.status(), 200);
        assert_eq!(header(&customers, "cache-control"), "no-store");
    });
}

/// The `src` and `href` attribute values of an HTML page.
fn linked(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            if let Some((value, _)) = part.split_once('"') {
                found.push(value.to_string());
            }
        }
    }
    found
}

#[test]
fn the_docs_page_loads_only_its_own_assets_and_cannot_be_framed() {
    for_each_backend(|app| {
        let page = app.client().get(app.url("/docs/")).send().expect("docs");
        assert_eq!(page.status(), 200);
        let policy = header(&page, "content-security-policy").to_string();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{policy}");
        }
        assert_eq!(header(&page, "x-frame-options"), "DENY");
        assert_eq!(header(&page, "referrer-policy"), "no-referrer");
        assert_eq!(header(&page, "x-content-type-options"), "nosniff");
        let html = page.text().expect("html");
        // Every script comes from a file (`script-src 'self'` allows no inline code).
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=").count(),
            "{html}"
        );
        let assets = linked(&html);
        assert!(assets.len() >= 5, "{assets:?}");
        for asset in &assets {
            assert!(
                !asset.contains("//") && !asset.starts_with('/'),
                "{asset} is not served by the docs themselves"
            );
            let response = app
                .client()
                .get(app.url(&format!("/docs/{}", asset.trim_start_matches("./"))))
                .send()
                .expect("asset");
            assert_eq!(response.status(), 200, "{asset}");
            assert!(header(&response, "content-security-policy").contains("frame-ancestors"));
        }
        let initializer = app
            .client()
            .get(app.url("/docs/swagger-initializer.js"))
            .send()
            .expect("initializer")
            .text()
            .expect("script");
        assert!(
            initializer.contains("\"/api/v1/openapi.json\""),
            "{initializer}"
        );
        let spec = app
            .client()
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .expect("spec");
        assert_eq!(spec.status(), 200);
    });
}

fn assert_problem(response: Response, status: u16, code: &str, field: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    let problem: Value = response.json().expect("problem");
    assert_eq!(problem["status"], status);
    assert_eq!(problem["code"], code);
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
}

#[test]
fn an_overlong_uri_or_oversized_headers_get_a_problem_document() {
    for_each_backend(|app: &TestApp| {
        let long_query = "q".repeat(10 * 1024);
        let uri = app
            .client()
            .get(app.url(&format!("/api/v1/health?{long_query}")))
            .send()
            .expect("long uri");
        assert_problem(uri, 414, "uri_too_long", "uri");

        let headers = app
            .client()
            .get(app.url("/api/v1/health"))
            .header("x-padding", "h".repeat(40 * 1024))
            .send()
            .expect("big header");
        assert_problem(headers, 431, "headers_too_large", "headers");

        let mut many = app.client().get(app.url("/api/v1/health"));
        for i in 0..80 {
            many = many.header(format!("x-h{i}"), "1");
        }
        assert_problem(
            many.send().expect("many headers"),
            431,
            "headers_too_large",
            "headers",
        );
    });
}
