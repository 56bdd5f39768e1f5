//! Ids of records a caller may not see cannot be probed: a reference to one answers
//! exactly as a reference to a missing one, and likely duplicates outside the caller's
//! view are reported without their id or data.

use e2e::support::{create_customer, for_each_backend, id_of, merge_patch, person, send, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn login_as(app: &TestApp, role: &str, visibility: Option<&str>) -> (String, String) {
    let (id, email, password) = app.create_user(role, visibility);
    (id.to_string(), app.login(&email, &password).access_token)
}

#[test]
fn a_referrer_the_caller_cannot_see_answers_as_a_missing_one() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, sales) = login_as(app, "sales", Some("own"));
        let hidden = id_of(&create_customer(
            app,
            &admin,
            person("مینا", "احمدی", "09120000001", "mina@example.ir"),
        ));
        let mine = id_of(&create_customer(
            app,
            &sales,
            person("کاوه", "صدری", "09120000002", "kaveh@example.ir"),
        ));
        let random = uuid::Uuid::now_v7().to_string();
        let referred = |referrer: &str| {
            let mut body = person("پری", "نیک", "09120000003", "pari@example.ir");
            body["referred_by_customer_id"] = json!(referrer);
            body
        };

        // Create.
        let missing = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &sales,
            Some(referred(&random)),
        );
        assert_eq!(missing.0, 422, "{}", missing.1);
        assert_eq!(missing.1["errors"][0]["field"], "referred_by_customer_id");
        let invisible = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &sales,
            Some(referred(&hidden)),
        );
        assert_eq!(invisible, missing);

        // Batch.
        let batch = |referrer: &str| {
            let (status, body) = send(
                app,
                Method::POST,
                "/api/v1/customers/batch",
                &sales,
                Some(json!({"items": [referred(referrer)]})),
            );
            assert_eq!(status, 200, "{body}");
            body["results"][0].clone()
        };
        let missing_item = batch(&random);
        assert_eq!(missing_item["status"], 422, "{missing_item}");
        assert_eq!(batch(&hidden), missing_item);

        // Update.
        let path = format!("/api/v1/customers/{mine}");
        let refer = |referrer: &str| {
            merge_patch(
                app,
                &path,
                &sales,
                &json!({"referred_by_customer_id": referrer}),
            )
        };
        let missing_patch = refer(&random);
        assert_eq!(missing_patch.0, 422, "{}", missing_patch.1);
        assert_eq!(refer(&hidden), missing_patch);

        // A customer the caller sees may be named.
        let visible = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &sales,
            Some(referred(&mine)),
        );
        assert_eq!(visible.0, 201, "{}", visible.1);

        // A reference the record already holds (set by someone who sees the referrer)
        // does not stop the caller from changing other fields.
        let set = merge_patch(
            app,
            &path,
            &admin,
            &json!({"referred_by_customer_id": hidden}),
        );
        assert_eq!(set.0, 200, "{}", set.1);
        let kept = merge_patch(
            app,
            &path,
            &sales,
            &json!({"acquisition_source": "website"}),
        );
        assert_eq!(kept.0, 200, "{}", kept.1);
    });
}

#[test]
fn a_user_reference_without_users_read_answers_as_a_missing_one() {
    for_each_backend(|app| {
        let (colleague, _) = login_as(app, "sales", None);
        let (partner_id, partner) = login_as(app, "partner", None);
        let referred = |user: &str| {
            let mut body = person("نگار", "فرهی", "09120000004", "negar@example.ir");
            body["referred_by_user_id"] = json!(user);
            body
        };
        let random = uuid::Uuid::now_v7().to_string();
        let missing = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &partner,
            Some(referred(&random)),
        );
        assert_eq!(missing.0, 422, "{}", missing.1);
        assert_eq!(missing.1["errors"][0]["field"], "referred_by_user_id");
        let existing = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &partner,
            Some(referred(&colleague)),
        );
        assert_eq!(existing, missing);
        // Naming oneself needs no directory.
        let own = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &partner,
            Some(referred(&partner_id)),
        );
        assert_eq!(own.0, 201, "{}", own.1);
    });
}

#[test]
fn a_likely_duplicate_the_caller_cannot_see_is_reported_without_its_id() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, sales) = login_as(app, "sales", Some("own"));
        let hidden = id_of(&create_customer(
            app,
            &admin,
            person("بهرام", "کیانی", "09121110000", "bahram@example.ir"),
        ));
        let twin = person("بهرام", "کیانی", "09121110000", "bahram@example.ir");
        let response = app
            .authed(Method::POST, "/api/v1/customers", &sales)
            .json(&twin)
            .send()
            .expect("create");
        assert_eq!(response.status(), 409);
        let text = response.text().expect("body");
        assert!(!text.contains(&hidden), "{text}");
        let problem: Value = serde_json::from_str(&text).expect("problem");
        assert_eq!(problem["code"], "likely_duplicate");
        let candidate = &problem["candidates"][0];
        assert_eq!(candidate["id"], Value::Null, "{problem}");
        assert_eq!(candidate["visible"], false);
        assert_eq!(candidate["display_name"], Value::Null);
        assert!(candidate["score"].as_u64().expect("score") >= 80);
        assert!(!candidate["reasons"].as_array().expect("reasons").is_empty());

        // The caller's own copy lists the hidden one without its id; an admin sees it.
        let mine = id_of(&create_customer(app, &sales, twin));
        let path = format!("/api/v1/customers/{mine}/duplicates");
        let listed = app
            .authed(Method::GET, &path, &sales)
            .send()
            .expect("duplicates");
        assert_eq!(listed.status(), 200);
        let text = listed.text().expect("body");
        assert!(!text.contains(&hidden), "{text}");
        let list: Value = serde_json::from_str(&text).expect("list");
        assert_eq!(list["data"][0]["id"], Value::Null, "{list}");
        assert_eq!(list["data"][0]["visible"], false);
        let for_admin: Value = app
            .authed(Method::GET, &path, &admin)
            .send()
            .expect("duplicates")
            .json()
            .expect("list");
        assert_eq!(for_admin["data"][0]["id"], hidden.as_str(), "{for_admin}");
    });
}
