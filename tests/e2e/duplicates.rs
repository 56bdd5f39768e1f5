//! Duplicate detection (D-2): candidates of one customer with scores and reasons, the
//! 409 on creating a likely duplicate, and the workspace scan job.

use e2e::support::{create_customer, finished_job, for_each_backend, id_of, person, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn duplicates(app: &TestApp, token: &str, id: &str) -> (u16, Value) {
    let response = app
        .authed(
            Method::GET,
            &format!("/api/v1/customers/{id}/duplicates"),
            token,
        )
        .send()
        .expect("duplicates");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// The candidate `id` in a duplicate list, if listed.
fn candidate<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["data"]
        .as_array()
        .expect("candidates")
        .iter()
        .find(|c| c["id"] == id)
}

#[test]
fn duplicates_are_found_by_shared_email_or_by_phone_and_name() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let ali = id_of(&create_customer(
            app,
            &admin,
            person("علی", "کریمی", "0912 123 4567", "ali.karimi@example.ir"),
        ));
        let same_email = id_of(&create_customer(
            app,
            &admin,
            person("حسن", "رضایی", "09351112233", "Ali.Karimi@example.ir"),
        ));
        // The same person typed with Arabic letters and Persian digits.
        let same_phone_and_name = id_of(&create_customer(
            app,
            &admin,
            person("علي", "كريمي", "۰۹۱۲۱۲۳۴۵۶۷", "karimi.home@example.ir"),
        ));
        let same_name_only = id_of(&create_customer(
            app,
            &admin,
            person("علی", "کریمی", "09195556677", "another.ali@example.ir"),
        ));
        let stranger = id_of(&create_customer(
            app,
            &admin,
            person("مریم", "احمدی", "09127778899", "maryam@example.ir"),
        ));

        let (status, list) = duplicates(app, &admin, &ali);
        assert_eq!(status, 200);
        assert_eq!(list["threshold"], 80);
        let by_email = candidate(&list, &same_email).expect("same e-mail is a candidate");
        assert_eq!(by_email["score"], 85);
        assert_eq!(by_email["reasons"], json!(["same_email"]));
        assert_eq!(by_email["visible"], true);
        assert_eq!(by_email["display_name"], "حسن رضایی");
        let by_phone = candidate(&list, &same_phone_and_name).expect("same phone and name");
        assert_eq!(by_phone["score"], 85);
        assert_eq!(by_phone["reasons"], json!(["same_phone", "same_name"]));
        let by_name = candidate(&list, &same_name_only).expect("same name is listed");
        assert_eq!(by_name["score"], 50);
        assert_eq!(by_name["reasons"], json!(["same_name"]));
        assert!(candidate(&list, &stranger).is_none());
        assert!(
            candidate(&list, &ali).is_none(),
            "a customer is not its own duplicate"
        );
        assert_eq!(list["data"].as_array().unwrap().len(), 3);
        let (_, stranger_list) = duplicates(app, &admin, &stranger);
        assert_eq!(stranger_list["data"], json!([]));
    });
}

#[test]
fn creating_a_likely_duplicate_needs_confirmation() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let first = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "محمدی", "09121112233", "sara@example.ir"),
        ));
        let again = person("سارا", "محمدی", "0912-111-2233", "sara.work@example.ir");
        let refused = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&again)
            .send()
            .unwrap();
        assert_eq!(refused.status(), 409);
        let problem: Value = refused.json().unwrap();
        assert_eq!(problem["code"], "likely_duplicate");
        assert_eq!(problem["candidates"][0]["id"], first.as_str());
        assert_eq!(problem["candidates"][0]["score"], 85);
        let confirmed = create_customer(app, &admin, again);
        assert_ne!(id_of(&confirmed), first);
    });
}

/// Starts a scan as `token` and waits for its result.
fn scan(app: &TestApp, token: &str) -> Value {
    let started = app
        .authed(Method::POST, "/api/v1/customers/duplicate-scans", token)
        .send()
        .unwrap();
    let job = finished_job(app, token, started);
    assert_eq!(job["status"], "succeeded", "scan failed: {job}");
    assert_eq!(job["kind"], "customers.duplicate_scan");
    assert_eq!(job["progress"], 1.0);
    job["result"].clone()
}

fn pair_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["customer_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_duplicate_scan_reports_seeded_pairs_within_the_callers_view() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("manager", Some("own"));
        let manager = app.login(&email, &password).access_token;
        let mut twins = vec![
            id_of(&create_customer(
                app,
                &manager,
                person("نیما", "یزدانی", "09131234567", "nima@example.ir"),
            )),
            id_of(&create_customer(
                app,
                &manager,
                person("نيما", "يزداني", "+98 913 123 4567", "nima.y@example.ir"),
            )),
        ];
        twins.sort();
        // A pair the manager cannot see, and a name shared by people who are not
        // likely the same.
        create_customer(
            app,
            &admin,
            person("رضا", "نوری", "09381112222", "r@example.ir"),
        );
        create_customer(
            app,
            &admin,
            person("رضا", "نوری", "09382223333", "r@example.ir"),
        );
        create_customer(
            app,
            &manager,
            person("نیما", "یزدانی", "09134445555", "n3@example.ir"),
        );

        let report = scan(app, &admin);
        assert_eq!(report["threshold"], 80);
        assert_eq!(report["total_groups"], 2, "{report}");
        let groups = report["groups"].as_array().unwrap();
        let seeded = groups
            .iter()
            .find(|group| pair_ids(group) == twins)
            .expect("the seeded pair is reported");
        assert_eq!(seeded["pairs"][0]["score"], 85);
        assert_eq!(
            seeded["pairs"][0]["reasons"],
            json!(["same_phone", "same_name"])
        );

        let own = scan(app, &manager);
        assert_eq!(own["total_groups"], 1, "{own}");
        assert_eq!(pair_ids(&own["groups"][0]), twins);

        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let refused = app
            .authed(Method::POST, "/api/v1/customers/duplicate-scans", &sales)
            .send()
            .unwrap();
        assert_eq!(refused.status(), 403);
    });
}
