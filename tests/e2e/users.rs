//! User management: roles, merge patches, pagination, validation and audit.

use e2e::support::{field_codes, for_each_backend, merge_patch_request, problem, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn create(app: &TestApp, token: &str, body: Value) -> reqwest::blocking::Response {
    app.authed(Method::POST, "/api/v1/users", token)
        .json(&body)
        .send()
        .unwrap()
}

fn new_user(email: &str) -> Value {
    json!({"email": email, "display_name": "Sara Ahmadi", "password": "a long enough password", "role": "sales"})
}

/// The field errors of a problem answer with `status`, as `(field, code)` pairs.
fn field_errors(response: reqwest::blocking::Response, status: u16) -> Vec<(String, String)> {
    let (actual, body) = problem(response);
    assert_eq!(actual, status, "{body}");
    field_codes(&body)
}

#[test]
fn admin_creates_reads_and_lists_users() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let response = create(app, &admin, new_user(" Sara@Example.com "));
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(response.headers().contains_key("etag"));
        let user: Value = response.json().unwrap();
        assert_eq!(user["email"], "sara@example.com");
        assert_eq!(user["visibility"], "own", "default visibility of sales");
        assert_eq!(user["locale"], "fa");
        assert!(user.get("password_hash").is_none() && user.get("password").is_none());
        assert_eq!(
            location,
            format!("/api/v1/users/{}", user["id"].as_str().unwrap())
        );

        let fetched: Value = app
            .authed(Method::GET, &location, &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(fetched, user);

        let duplicate = create(app, &admin, new_user("SARA@example.com"));
        assert_eq!(duplicate.status(), 409);

        for i in 0..3 {
            assert_eq!(
                create(app, &admin, new_user(&format!("page{i}@example.com"))).status(),
                201
            );
        }
        let mut seen = Vec::new();
        let mut path = "/api/v1/users?limit=2&role=sales".to_string();
        loop {
            let page: Value = app
                .authed(Method::GET, &path, &admin)
                .send()
                .unwrap()
                .json()
                .unwrap();
            for item in page["data"].as_array().unwrap() {
                assert_eq!(item["role"], "sales");
                seen.push(item["email"].as_str().unwrap().to_string());
            }
            if page["has_more"] != true {
                break;
            }
            path = format!(
                "/api/v1/users?limit=2&role=sales&cursor={}",
                page["next_cursor"].as_str().unwrap()
            );
        }
        assert_eq!(
            seen,
            [
                "sara@example.com",
                "page0@example.com",
                "page1@example.com",
                "page2@example.com"
            ]
        );
    });
}

#[test]
fn only_admins_manage_users() {
    for_each_backend(|app| {
        let (_, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        assert_eq!(create(app, &sales, new_user("x@example.com")).status(), 403);
        // Everyone with users:read sees the directory.
        assert_eq!(
            app.authed(Method::GET, "/api/v1/users", &sales)
                .send()
                .unwrap()
                .status(),
            200
        );

        let (_, ro_email, password) = app.create_user("read_only", None);
        let read_only = app.login(&ro_email, &password).access_token;
        assert_eq!(
            create(app, &read_only, new_user("y@example.com")).status(),
            403
        );
        let team = app
            .authed(Method::POST, "/api/v1/teams", &read_only)
            .json(&json!({"name": "T"}))
            .send()
            .unwrap();
        assert_eq!(team.status(), 403);
        let key = app
            .authed(Method::POST, "/api/v1/api-keys", &read_only)
            .json(&json!({"name": "k", "scopes": ["users:read"]}))
            .send()
            .unwrap();
        assert_eq!(key.status(), 403);
    });
}

#[test]
fn users_edit_only_their_own_profile_fields() {
    for_each_backend(|app| {
        let (id, email, password) = app.create_user("sales", None);
        let (other, _, _) = app.create_user("sales", None);
        let token = app.login(&email, &password).access_token;
        let path = format!("/api/v1/users/{id}");
        let patch = |path: &str, body: Value| {
            merge_patch_request(app, path, &token)
                .body(body.to_string())
                .send()
                .unwrap()
        };
        let renamed = patch(&path, json!({"display_name": "Reza", "locale": "en"}));
        assert_eq!(renamed.status(), 200);
        let renamed: Value = renamed.json().unwrap();
        assert_eq!(
            (renamed["display_name"].as_str(), renamed["locale"].as_str()),
            (Some("Reza"), Some("en"))
        );

        for field in [
            json!({"role": "admin"}),
            json!({"visibility": "all"}),
            json!({"team_id": uuid::Uuid::now_v7()}),
        ] {
            let errors = field_errors(patch(&path, field.clone()), 422);
            let name = field.as_object().unwrap().keys().next().unwrap().clone();
            assert!(
                errors.contains(&(name, "not_allowed".to_string())),
                "{errors:?}"
            );
        }
        assert_eq!(
            patch(
                &format!("/api/v1/users/{other}"),
                json!({"display_name": "x"})
            )
            .status(),
            403
        );
        let me: Value = app
            .authed(Method::GET, "/api/v1/users/me", &token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            (me["role"].as_str(), me["visibility"].as_str()),
            (Some("sales"), Some("own"))
        );
    });
}

#[test]
fn admin_patch_with_if_match_and_audit_trail() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (id, _, _) = app.create_user("support", None);
        let path = format!("/api/v1/users/{id}");
        let current = app.authed(Method::GET, &path, &admin).send().unwrap();
        let etag = current.headers()["etag"].to_str().unwrap().to_string();
        let patch = |if_match: &str, body: Value| {
            merge_patch_request(app, &path, &admin)
                .header("if-match", if_match)
                .body(body.to_string())
                .send()
                .unwrap()
        };
        let changed = patch(&etag, json!({"role": "manager", "visibility": "all"}));
        assert_eq!(changed.status(), 200);
        assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(patch(&etag, json!({"display_name": "stale"})).status(), 412);

        let mut conn = app.state.pool.get().unwrap();
        let events = persistence::audit::list(
            &mut conn,
            &persistence::audit::AuditQuery {
                filter: persistence::audit::AuditFilter {
                    resource_id: Some(id.to_string()),
                    ..Default::default()
                },
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["user.update", "user.create"]);
        let changes = &events[0].changes.as_ref().unwrap().0;
        assert_eq!(
            changes["role"],
            json!({"before": "support", "after": "manager"})
        );
        assert!(events.iter().all(|e| !e
            .changes
            .as_ref()
            .unwrap()
            .0
            .to_string()
            .contains("argon2")));
    });
}

#[test]
fn bad_input_names_the_field() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cases = [
            (
                json!({"email": "a@example.com", "display_name": "A", "password": "a long enough password", "role": "sales", "admin": true}),
                "admin",
            ),
            (
                json!({"email": "a@example.com", "display_name": 5, "password": "a long enough password", "role": "sales"}),
                "display_name",
            ),
            (
                json!({"email": "not-an-email", "display_name": "A", "password": "a long enough password", "role": "sales"}),
                "email",
            ),
            (
                json!({"email": "a@example.com", "display_name": "A", "password": "short", "role": "sales"}),
                "password",
            ),
            (
                json!({"email": "a@example.com", "display_name": "A", "password": "a long enough password", "role": "emperor"}),
                "role",
            ),
        ];
        for (body, field) in cases {
            let response = create(app, &admin, body.clone());
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{body}: {status}");
            let errors = field_errors(response, status);
            assert!(errors.iter().any(|(f, _)| f == field), "{body}: {errors:?}");
        }
        let bad_id = app
            .authed(Method::GET, "/api/v1/users/not-a-uuid", &admin)
            .send()
            .unwrap();
        let status = bad_id.status().as_u16();
        assert!((400..500).contains(&status) && status != 401, "{status}");
        assert_eq!(bad_id.headers()["content-type"], "application/problem+json");
        let missing = app
            .authed(
                Method::GET,
                &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
                &admin,
            )
            .send()
            .unwrap();
        assert_eq!(missing.status(), 404);
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            persistence::users::count(&mut conn).unwrap(),
            1,
            "nothing was written"
        );
    });
}

#[test]
fn changing_the_password_signs_out_other_sessions() {
    for_each_backend(|app| {
        let (_, email, password) = app.create_user("analyst", None);
        let current = app.login(&email, &password);
        let other = app.login(&email, &password);
        let change = |current_password: &str, new_password: &str| {
            app.authed(
                Method::POST,
                "/api/v1/users/me/password",
                &current.access_token,
            )
            .json(&json!({"current_password": current_password, "new_password": new_password}))
            .send()
            .unwrap()
        };
        assert!(
            field_errors(change("wrong password!!", "another long password"), 422)
                .iter()
                .any(|(f, _)| f == "current_password")
        );
        assert!(field_errors(change(&password, "short"), 422)
            .iter()
            .any(|(f, _)| f == "new_password"));
        assert_eq!(change(&password, "another long password").status(), 204);
        let refresh = |token: &str| {
            app.client()
                .post(app.url("/api/v1/auth/refresh"))
                .json(&json!({"refresh_token": token}))
                .send()
                .unwrap()
                .status()
        };
        assert_eq!(refresh(&other.refresh_token), 401);
        assert_eq!(refresh(&current.refresh_token), 200);
        app.login(&email, "another long password");
    });
}

#[test]
fn guessable_passwords_are_refused_naming_the_field() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let weak = [
            "aaaaaaaaaaaa",
            "password1234",
            "            ",
            "sara.ahmadi.2024",
        ];
        for password in weak {
            let mut body = new_user("sara.ahmadi@example.com");
            body["password"] = password.into();
            let errors = field_errors(create(app, &admin, body), 422);
            assert!(
                errors.contains(&("password".into(), "too_weak".into())),
                "{password:?}: {errors:?}"
            );
        }

        let (id, email, password) = app.create_user("analyst", None);
        let session = app.login(&email, &password);
        let change = app
            .authed(
                Method::POST,
                "/api/v1/users/me/password",
                &session.access_token,
            )
            .json(&json!({"current_password": password, "new_password": "password1234"}))
            .send()
            .unwrap();
        assert!(field_errors(change, 422).contains(&("new_password".into(), "too_weak".into())));

        let reset = merge_patch_request(app, &format!("/api/v1/users/{id}"), &admin)
            .body(json!({"password": "aaaaaaaaaaaa"}).to_string())
            .send()
            .unwrap();
        assert!(field_errors(reset, 422).contains(&("password".into(), "too_weak".into())));
        // Nothing changed: the old password still works.
        app.login(&email, &password);
    });
}
