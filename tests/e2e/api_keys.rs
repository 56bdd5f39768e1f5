//! API keys: shown once, scoped, revocable, private to their owner.

use e2e::support::{for_each_backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn create_key(app: &TestApp, token: &str, scopes: Value) -> reqwest::blocking::Response {
    app.authed(Method::POST, "/api/v1/api-keys", token)
        .json(&json!({"name": "integration", "scopes": scopes}))
        .send()
        .unwrap()
}

#[test]
fn keys_authenticate_within_their_scopes_until_revoked() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let created = create_key(app, &admin, json!(["users:read"]));
        assert_eq!(created.status(), 201);
        let created: Value = created.json().unwrap();
        let key = created["key"].as_str().unwrap().to_string();
        assert!(key.starts_with(&format!("pvk_{}_", created["prefix"].as_str().unwrap())));
        let path = format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap());

        // Both header forms work; the scope allows reading users only.
        let via_header = app
            .client()
            .get(app.url("/api/v1/users"))
            .header("x-api-key", &key)
            .send()
            .unwrap();
        assert_eq!(via_header.status(), 200);
        assert_eq!(
            app.authed(Method::GET, "/api/v1/users", &key)
                .send()
                .unwrap()
                .status(),
            200
        );
        let write = app
            .authed(Method::POST, "/api/v1/teams", &key)
            .json(&json!({"name": "Made by a key"}))
            .send()
            .unwrap();
        assert_eq!(
            write.status(),
            403,
            "admin role, but the key lacks users:manage"
        );

        let shown: Value = app
            .authed(Method::GET, &path, &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(shown.get("key").is_none(), "the secret is shown only once");
        assert!(shown["last_used_at"].is_string());
        assert_eq!(shown["scopes"], json!(["users:read"]));

        assert_eq!(
            app.authed(Method::DELETE, &path, &admin)
                .send()
                .unwrap()
                .status(),
            204
        );
        let revoked = app
            .authed(Method::GET, "/api/v1/users", &key)
            .send()
            .unwrap();
        assert_eq!(revoked.status(), 401);
        assert_eq!(
            revoked.headers()["content-type"],
            "application/problem+json"
        );
        let tampered = format!("{}x", &key[..key.len() - 1]);
        assert_eq!(
            app.authed(Method::GET, "/api/v1/users", &tampered)
                .send()
                .unwrap()
                .status(),
            401
        );
    });
}

#[test]
fn scopes_cannot_exceed_the_creators_permissions() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let response = create_key(
            app,
            &sales,
            json!(["records:read", "users:manage", "no:such"]),
        );
        assert_eq!(response.status(), 422);
        let body: Value = response.json().unwrap();
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["scopes[1]", "scopes[2]"]);
        let past = app
            .authed(Method::POST, "/api/v1/api-keys", &sales)
            .json(&json!({"name": "old", "scopes": ["records:read"], "expires_at": "2020-01-01T00:00:00Z"}))
            .send()
            .unwrap();
        assert_eq!(past.status(), 422);
        assert_eq!(
            create_key(app, &sales, json!(["records:read"])).status(),
            201
        );
    });
}

#[test]
fn keys_are_private_to_their_owner() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("sales", None);
        let alice = app.login(&email, &password).access_token;
        let (_, email, password) = app.create_user("sales", None);
        let bob = app.login(&email, &password).access_token;
        let key: Value = create_key(app, &alice, json!(["records:read"]))
            .json()
            .unwrap();
        let path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
        assert_eq!(
            app.authed(Method::GET, &path, &bob)
                .send()
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            app.authed(Method::DELETE, &path, &bob)
                .send()
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            app.authed(Method::GET, &path, &alice)
                .send()
                .unwrap()
                .status(),
            200
        );

        let bobs: Value = app
            .authed(Method::GET, "/api/v1/api-keys", &bob)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(bobs["data"], json!([]));
        assert_eq!(
            app.authed(Method::GET, "/api/v1/api-keys?all=true", &bob)
                .send()
                .unwrap()
                .status(),
            403
        );
        let admin = app.admin_token();
        let all: Value = app
            .authed(Method::GET, "/api/v1/api-keys?all=true", &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(all["data"].as_array().unwrap().len(), 1);
    });
}
