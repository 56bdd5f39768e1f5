//! Teams: admin-managed, readable by members of the organisation.

use e2e::support::{for_each_backend, merge_patch_request};
use reqwest::Method;
use serde_json::{json, Value};

#[test]
fn team_lifecycle() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let created = app
            .authed(Method::POST, "/api/v1/teams", &admin)
            .json(&json!({"name": "Tehran sales"}))
            .send()
            .unwrap();
        assert_eq!(created.status(), 201);
        let team: Value = created.json().unwrap();
        let path = format!("/api/v1/teams/{}", team["id"].as_str().unwrap());

        let duplicate = app
            .authed(Method::POST, "/api/v1/teams", &admin)
            .json(&json!({"name": "TEHRAN SALES"}))
            .send()
            .unwrap();
        assert_eq!(duplicate.status(), 409);

        let patched = merge_patch_request(app, &path, &admin)
            .body(json!({"description": "Field sales"}).to_string())
            .send()
            .unwrap();
        assert_eq!(patched.status(), 200);
        assert_eq!(
            patched.json::<Value>().unwrap()["description"],
            "Field sales"
        );

        // A member blocks deletion.
        let member = app
            .authed(Method::POST, "/api/v1/users", &admin)
            .json(&json!({"email": "m@example.com", "display_name": "M", "password": "a long enough password", "role": "support", "team_id": team["id"]}))
            .send()
            .unwrap();
        assert_eq!(member.status(), 201);
        let member: Value = member.json().unwrap();
        assert_eq!(member["team_id"], team["id"]);
        assert_eq!(member["visibility"], "team");
        assert_eq!(
            app.authed(Method::DELETE, &path, &admin)
                .send()
                .unwrap()
                .status(),
            409
        );

        let sales = {
            let (_, email, password) = app.create_user("sales", None);
            app.login(&email, &password).access_token
        };
        assert_eq!(
            app.authed(Method::GET, &path, &sales)
                .send()
                .unwrap()
                .status(),
            200
        );
        let list: Value = app
            .authed(Method::GET, "/api/v1/teams", &sales)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
        assert_eq!(
            app.authed(Method::DELETE, &path, &sales)
                .send()
                .unwrap()
                .status(),
            403
        );
        let denied = app
            .authed(Method::POST, "/api/v1/teams", &sales)
            .json(&json!({"name": "Mine"}))
            .send()
            .unwrap();
        assert_eq!(denied.status(), 403);

        let moved = merge_patch_request(
            app,
            &format!("/api/v1/users/{}", member["id"].as_str().unwrap()),
            &admin,
        )
        .body(json!({"team_id": null}).to_string())
        .send()
        .unwrap();
        assert_eq!(moved.status(), 200);
        assert_eq!(
            app.authed(Method::DELETE, &path, &admin)
                .send()
                .unwrap()
                .status(),
            204
        );
        assert_eq!(
            app.authed(Method::GET, &path, &admin)
                .send()
                .unwrap()
                .status(),
            404
        );

        let unknown_team = app
            .authed(Method::POST, "/api/v1/users", &admin)
            .json(&json!({"email": "n@example.com", "display_name": "N", "password": "a long enough password", "role": "support", "team_id": uuid::Uuid::now_v7()}))
            .send()
            .unwrap();
        assert_eq!(unknown_team.status(), 422);
        assert_eq!(
            unknown_team.json::<Value>().unwrap()["errors"][0]["field"],
            "team_id"
        );
    });
}
