//! Bad input over HTTP: every rejected request is a 4xx problem naming the problem, and
//! no rejected write leaves anything behind.

use e2e::support::{
    assert_problem, backends, for_each_backend, merge_patch_request, problem, TestApp,
    TEST_PASSWORD,
};
use reqwest::blocking::RequestBuilder;
use reqwest::Method;
use serde_json::{json, Value};

/// Sends `request`, expecting a problem with `status` and `code` whose first field
/// error names `field`.
fn expect_problem(request: RequestBuilder, status: u16, code: &str, field: Option<&str>) -> Value {
    let body = assert_problem(request.send().unwrap(), status, code);
    if let Some(field) = field {
        let named = body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|error| error["field"] == field));
        assert!(named, "{field} not named in {body}");
    }
    body
}

fn count(app: &TestApp, token: &str, path: &str) -> usize {
    let response = app
        .authed(Method::GET, &format!("{path}?limit=200"), token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().unwrap();
    assert_eq!(page["has_more"], false);
    page["data"].as_array().unwrap().len()
}

/// Numbers of teams and users, to show a rejected write changed nothing.
fn counts(app: &TestApp, token: &str) -> (usize, usize) {
    (
        count(app, token, "/api/v1/teams"),
        count(app, token, "/api/v1/users"),
    )
}

fn new_user(role: Value) -> Value {
    json!({"email": "new.user@example.ir", "display_name": "New User", "password": TEST_PASSWORD, "role": role})
}

#[test]
fn oversized_bodies_are_413() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--max-body-bytes", "1024"]);
        let admin = app.admin_token();
        let before = counts(&app, &admin);
        let long = "x".repeat(2000);
        expect_problem(
            app.authed(Method::POST, "/api/v1/teams", &admin)
                .json(&json!({"name": "Big", "description": long})),
            413,
            "payload_too_large",
            None,
        );
        let mut user = new_user("sales".into());
        user["display_name"] = long.into();
        expect_problem(
            app.authed(Method::POST, "/api/v1/users", &admin)
                .json(&user),
            413,
            "payload_too_large",
            None,
        );
        assert_eq!(counts(&app, &admin), before);
        // Just under the limit is still accepted.
        let fits = app
            .authed(Method::POST, "/api/v1/teams", &admin)
            .json(&json!({"name": "Small", "description": "x".repeat(900)}))
            .send()
            .unwrap();
        assert_eq!(fits.status(), 201);
    }
}

#[test]
fn malformed_json_and_missing_content_type_are_refused() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let before = counts(app, &admin);
        for body in [
            "{\"name\": ",
            "{\"name\" \"x\"}",
            "{\"name\": \"x\"} {}",
            "",
        ] {
            expect_problem(
                app.authed(Method::POST, "/api/v1/teams", &admin)
                    .header("content-type", "application/json")
                    .body(body),
                400,
                "malformed_request",
                None,
            );
        }
        expect_problem(
            app.authed(Method::POST, "/api/v1/teams", &admin)
                .body(json!({"name": "No type"}).to_string()),
            415,
            "unsupported_media_type",
            None,
        );
        expect_problem(
            app.authed(Method::POST, "/api/v1/users", &admin)
                .header("content-type", "text/plain")
                .body(new_user("sales".into()).to_string()),
            415,
            "unsupported_media_type",
            None,
        );
        assert_eq!(counts(app, &admin), before);
    });
}

#[test]
fn unknown_fields_and_wrong_types_are_422_naming_the_field() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let before = counts(app, &admin);
        let post = |path: &str, body: Value| app.authed(Method::POST, path, &admin).json(&body);

        let body = expect_problem(
            post("/api/v1/teams", json!({"name": "Team", "colour": "red"})),
            422,
            "validation_failed",
            Some("colour"),
        );
        assert_eq!(body["errors"][0]["code"], "unknown_field");
        let body = expect_problem(
            post("/api/v1/teams", json!({"name": 5})),
            422,
            "validation_failed",
            Some("name"),
        );
        assert_eq!(body["errors"][0]["code"], "invalid_type");

        let mut user = new_user("sales".into());
        user["nickname"] = "Newbie".into();
        expect_problem(
            post("/api/v1/users", user),
            422,
            "validation_failed",
            Some("nickname"),
        );
        // An enum given a value of another JSON type is the field's fault, not the JSON's.
        for role in [json!(5), json!(true), json!(null), json!(["sales"])] {
            let body = expect_problem(
                post("/api/v1/users", new_user(role.clone())),
                422,
                "validation_failed",
                Some("role"),
            );
            assert_eq!(body["errors"][0]["code"], "invalid_type", "{role}");
        }
        expect_problem(
            post("/api/v1/users", new_user("boss".into())),
            422,
            "validation_failed",
            Some("role"),
        );
        let mut user = new_user("sales".into());
        user["team_id"] = "not-a-uuid".into();
        expect_problem(
            post("/api/v1/users", user),
            422,
            "validation_failed",
            Some("team_id"),
        );
        assert_eq!(counts(app, &admin), before);
    });
}

#[test]
fn bad_query_and_path_parameters_are_named() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let get = |path: &str| app.authed(Method::GET, path, &admin);
        let body = expect_problem(
            get("/api/v1/users?cursor=garbage"),
            400,
            "invalid_cursor",
            Some("cursor"),
        );
        assert_eq!(body["status"], 400);
        for limit in ["0", "500"] {
            expect_problem(
                get(&format!("/api/v1/users?limit={limit}")),
                422,
                "validation_failed",
                Some("limit"),
            );
        }
        expect_problem(
            get("/api/v1/users/not-a-uuid"),
            400,
            "malformed_request",
            Some("id"),
        );
        expect_problem(
            get("/api/v1/teams/12345"),
            400,
            "malformed_request",
            Some("id"),
        );
        let before = counts(app, &admin);
        expect_problem(
            merge_patch_request(app, "/api/v1/teams/not-a-uuid", &admin)
                .body(json!({"name": "Renamed"}).to_string()),
            400,
            "malformed_request",
            Some("id"),
        );
        assert_eq!(counts(app, &admin), before);
    });
}

#[test]
fn a_stale_if_match_is_412_and_changes_nothing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let created = app
            .authed(Method::POST, "/api/v1/teams", &admin)
            .json(&json!({"name": "Shiraz", "description": "South"}))
            .send()
            .unwrap();
        assert_eq!(created.status(), 201);
        let first_etag = created.headers()["etag"].to_str().unwrap().to_string();
        let team: Value = created.json().unwrap();
        let path = format!("/api/v1/teams/{}", team["id"].as_str().unwrap());
        let patch = |etag: &str, body: Value| {
            merge_patch_request(app, &path, &admin)
                .header("if-match", etag)
                .body(body.to_string())
                .send()
                .unwrap()
        };

        let changed = patch(&first_etag, json!({"description": "Fars province"}));
        assert_eq!(changed.status(), 200);
        assert_ne!(changed.headers()["etag"].to_str().unwrap(), first_etag);

        let (status, body) = problem(patch(
            &first_etag,
            json!({"name": "Isfahan", "description": null}),
        ));
        assert_eq!(
            (status, body["code"].as_str()),
            (412, Some("precondition_failed"))
        );

        let current: Value = app
            .authed(Method::GET, &path, &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(current["name"], "Shiraz");
        assert_eq!(current["description"], "Fars province");
    });
}

#[test]
fn idempotency_keys_replay_once_and_refuse_other_bodies() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (teams_before, _) = counts(app, &admin);
        let create = |key: &str, body: Value| {
            app.authed(Method::POST, "/api/v1/teams", &admin)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .unwrap()
        };

        let first = create("create-tabriz-1", json!({"name": "Tabriz"}));
        assert_eq!(first.status(), 201);
        assert!(!first.headers().contains_key("idempotent-replayed"));
        let first_location = first.headers()["location"].clone();
        let first_body: Value = first.json().unwrap();

        let replay = create("create-tabriz-1", json!({"name": "Tabriz"}));
        assert_eq!(replay.status(), 201);
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        assert_eq!(replay.headers()["location"], first_location);
        assert_eq!(replay.json::<Value>().unwrap(), first_body);
        assert_eq!(counts(app, &admin).0, teams_before + 1);

        let (status, body) = problem(create("create-tabriz-1", json!({"name": "Tabriz 2"})));
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("idempotency_key_reused"))
        );
        assert_eq!(counts(app, &admin).0, teams_before + 1);
    });
}

#[test]
fn problems_speak_the_requested_language() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let before = counts(app, &admin);
        let invalid = |language: &str| {
            let (status, body) = problem(
                app.authed(Method::POST, "/api/v1/teams", &admin)
                    .header("accept-language", language)
                    .json(&json!({"name": 5}))
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 422);
            assert_eq!(body["errors"][0]["field"], "name");
            body["title"].as_str().unwrap().to_string()
        };
        assert_eq!(invalid("fa"), "اعتبارسنجی ناموفق بود");
        assert_eq!(invalid("en"), "Validation failed");
        assert_eq!(counts(app, &admin), before);
    });
}
