//! Sales (S-4): pipelines and their stage rules, lost reasons, deals (amounts and
//! lines, stage moves, closing and reopening, stage history and time per stage), stuck
//! deals, the board, record visibility of deals, and what merges and erasure do to
//! them.

use std::sync::Barrier;

use chrono::{Duration, SecondsFormat, Utc};
use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, merge_patch,
    merge_patch_request, send, TestApp, TEST_PASSWORD,
};

/// The default pipeline the migrations make, and its stages.
const DEFAULT_PIPELINE: &str = "0193e0a0-0000-7000-8000-000000000001";
const QUALIFIED: &str = "0193e0a0-0000-7000-8000-000000000011";
const PROPOSAL: &str = "0193e0a0-0000-7000-8000-000000000012";
const NEGOTIATION: &str = "0193e0a0-0000-7000-8000-000000000013";
const WON: &str = "0193e0a0-0000-7000-8000-000000000014";
const LOST: &str = "0193e0a0-0000-7000-8000-000000000015";

fn customer(app: &TestApp, token: &str, name: &str) -> String {
    id_of(&create_customer(
        app,
        token,
        json!({"kind": "organization", "organization_name": name}),
    ))
}

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn deal(app: &TestApp, token: &str, body: Value) -> Value {
    created(app, token, "/api/v1/deals", body)
}

fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn patched(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = merge_patch(app, path, token, &body);
    assert_eq!(status, 200, "{path} {body}: {answer}");
    answer
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(id_of).collect()
}

fn search(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/deals/search",
        token,
        Some(json!({"filter": filter, "limit": 200})),
    );
    assert_eq!(status, 200, "{page}");
    ids(&page)
}

/// Runs one SQL statement on the test's database (both backends read the RFC 3339
/// text of an instant and the text of a uuid).
fn execute(app: &TestApp, sql: String) {
    let mut conn = app.state.pool.get().unwrap();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

fn days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn pipeline(app: &TestApp, token: &str, name: &str, stages: Value) -> Value {
    created(
        app,
        token,
        "/api/v1/pipelines",
        json!({"name": name, "stuck_after_days": 3, "stages": stages}),
    )
}

fn stage_ids(pipeline: &Value) -> Vec<String> {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

fn stage_kinds(pipeline: &Value) -> Vec<(String, i64)> {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| {
            (
                stage["kind"].as_str().unwrap().to_string(),
                stage["probability"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn pipelines_are_configured_by_admins_and_read_by_everyone() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, _) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, TEST_PASSWORD).access_token;

        // The default pipeline comes with the installation, readable by a sales user.
        let page = get(app, &sales, "/api/v1/pipelines");
        let default = &page["data"][0];
        assert_eq!(default["id"], DEFAULT_PIPELINE);
        assert_eq!(default["is_default"], true);
        assert_eq!(
            stage_ids(default),
            vec![QUALIFIED, PROPOSAL, NEGOTIATION, WON, LOST]
        );
        assert_eq!(
            stage_kinds(default)[3..],
            [("won".to_string(), 100), ("lost".to_string(), 0)]
        );
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/pipelines",
            &sales,
            Some(json!({"name": "x", "stages": [{"name": "a", "probability": 5}]})),
        );
        assert_eq!(status, 403);

        // Every broken rule is named; a taken name (after normalisation) is a conflict.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/pipelines",
            &admin,
            Some(json!({"name": " ", "stuck_after_days": 0, "stages": [
                {"name": "a", "probability": 101},
                {"name": "A", "probability": 5},
                {"name": "برنده", "probability": 5},
                {"id": QUALIFIED, "name": "b", "probability": 5}
            ]})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("name", "required"),
                ("stuck_after_days", "out_of_range"),
                ("stages[0].probability", "out_of_range"),
                ("stages[1].name", "duplicate"),
                ("stages[2].name", "duplicate"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/pipelines",
            &admin,
            Some(
                json!({"name": "x", "stages": [{"id": QUALIFIED, "name": "b", "probability": 5}]}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("stages[0].id".to_string(), "not_found".to_string())]
        );
        let response = app
            .authed(Method::POST, "/api/v1/pipelines", &admin)
            .json(&json!({"name": " فروش ", "stages": [{"name": "a", "probability": 5}]}))
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");

        // Stages are renamed, re-weighted, reordered, added and removed by id.
        let made = pipeline(
            app,
            &admin,
            "پروژه‌ها",
            json!([{"name": "تماس", "probability": 10}, {"name": "پیشنهاد", "probability": 50},
                   {"name": "بی‌استفاده", "probability": 60}]),
        );
        let path = format!("/api/v1/pipelines/{}", id_of(&made));
        let [contact, proposal, unused, won, lost] =
            <[String; 5]>::try_from(stage_ids(&made)).unwrap();
        let changed = patched(
            app,
            &admin,
            &path,
            json!({"stages": [
                {"id": proposal, "name": "ارائهٔ پیشنهاد", "probability": 55},
                {"name": "مذاکره", "probability": 80},
                {"id": contact, "name": "تماس", "probability": 10}
            ]}),
        );
        let after = stage_ids(&changed);
        assert_eq!(after[0], proposal);
        assert_eq!(after[2], contact);
        assert_eq!(after[3..], [won.clone(), lost.clone()]);
        assert!(!after.contains(&unused));
        assert_eq!(changed["stages"][0]["probability"], 55);
        assert_eq!(changed["stages"][1]["name"], "مذاکره");

        // A stage a deal is at (or passed through) stays.
        let acme = customer(app, &admin, "شرکت آلفا");
        deal(
            app,
            &admin,
            json!({"title": "قرارداد", "customer_id": acme, "stage_id": contact}),
        );
        let response = merge_patch_request(app, &path, &admin)
            .body(
                json!({"stages": [{"id": proposal, "name": "پیشنهاد", "probability": 50}]})
                    .to_string(),
            )
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");
        let response = app.authed(Method::DELETE, &path, &admin).send().unwrap();
        assert_problem(response, 409, "conflict");

        // The default mark moves; it is never simply cleared, and the default stays.
        let moved = patched(app, &admin, &path, json!({"is_default": true}));
        assert_eq!(moved["is_default"], true);
        let old = get(
            app,
            &admin,
            &format!("/api/v1/pipelines/{DEFAULT_PIPELINE}"),
        );
        assert_eq!(old["is_default"], false);
        let (status, problem) = merge_patch(app, &path, &admin, &json!({"is_default": false}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("is_default".to_string(), "required".to_string())]
        );
        let response = app.authed(Method::DELETE, &path, &admin).send().unwrap();
        assert_problem(response, 409, "conflict");
        // A new deal naming no pipeline goes to the default one's first stage.
        let plain = deal(app, &admin, json!({"title": "ساده", "customer_id": acme}));
        assert_eq!(plain["pipeline_id"], json!(id_of(&made)));
        assert_eq!(plain["stage_id"], json!(proposal));

        // An unused pipeline goes; a sales user cannot change or delete pipelines.
        let spare = pipeline(app, &admin, "یدک", json!([{"name": "a", "probability": 5}]));
        let spare_path = format!("/api/v1/pipelines/{}", id_of(&spare));
        let (status, _) = merge_patch(app, &spare_path, &sales, &json!({"name": "b"}));
        assert_eq!(status, 403);
        let (status, _) = send(app, Method::DELETE, &spare_path, &sales, None);
        assert_eq!(status, 403);
        let (status, _) = send(app, Method::DELETE, &spare_path, &admin, None);
        assert_eq!(status, 204);
        let (status, _) = send(app, Method::GET, &spare_path, &admin, None);
        assert_eq!(status, 404);

        // Lost reasons: admins define them, in use they stay.
        let reason = created(
            app,
            &admin,
            "/api/v1/lost-reasons",
            json!({"name": "قیمت بالا", "name_en": "Price"}),
        );
        let response = app
            .authed(Method::POST, "/api/v1/lost-reasons", &admin)
            .json(&json!({"name": "قيمت  بالا"}))
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/lost-reasons",
            &sales,
            Some(json!({"name": "x"})),
        );
        assert_eq!(status, 403);
        assert_eq!(
            get(app, &sales, "/api/v1/lost-reasons")["data"][0]["id"],
            reason["id"]
        );
        let lost_deal = deal(
            app,
            &admin,
            json!({"title": "باخته", "customer_id": acme, "pipeline_id": DEFAULT_PIPELINE,
                   "stage_id": LOST, "lost_reason_id": reason["id"]}),
        );
        assert_eq!(lost_deal["status"], "lost");
        let reason_path = format!("/api/v1/lost-reasons/{}", id_of(&reason));
        let response = app
            .authed(Method::DELETE, &reason_path, &admin)
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");
        let inactive = patched(app, &admin, &reason_path, json!({"active": false}));
        assert_eq!(inactive["active"], false);
    });
}

#[test]
fn deals_are_priced_moved_closed_and_reopened_with_their_history() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let acme = customer(app, &admin, "شرکت بتا");
        let (status, product) = send(
            app,
            Method::POST,
            "/api/v1/products",
            &admin,
            Some(json!({"sku": "CAFE-1", "name": "قهوه‌ساز", "unit_price": 1_000_000})),
        );
        assert_eq!(status, 201, "{product}");
        let person = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "سارا", "last_name": "احمدی"}),
        ));
        let stranger = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "نیما", "last_name": "رستمی"}),
        ));
        created(
            app,
            &admin,
            &format!("/api/v1/customers/{acme}/personnel"),
            json!({"person_id": person, "role": "خرید"}),
        );

        // Amount stated: the business currency by default, at the first open stage.
        let simple = deal(
            app,
            &admin,
            json!({"title": "  تمدید  قرارداد ", "customer_id": acme, "amount": 5_000,
                   "contact_ids": [person], "expected_close_date": "2027-01-20"}),
        );
        assert_eq!(simple["title"], "تمدید قرارداد");
        assert_eq!(simple["currency"], "IRR");
        assert_eq!(simple["pipeline_id"], DEFAULT_PIPELINE);
        assert_eq!(simple["stage_id"], QUALIFIED);
        assert_eq!(simple["status"], "open");
        assert_eq!(simple["weighted_amount"], 500);
        assert_eq!(simple["contact_ids"], json!([person]));
        assert!(simple["owner_id"].is_string());
        assert_eq!(simple["stuck"], false);

        // Lines are priced by the server; a stated amount must agree.
        let lines = json!([{"product_id": id_of(&product), "quantity": 3, "discount": 500_000}]);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(
                json!({"title": "خرید", "customer_id": acme, "lines": lines, "amount": 3_000_000}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("amount".to_string(), "mismatch".to_string())]
        );
        let priced = deal(
            app,
            &admin,
            json!({"title": "خرید", "customer_id": acme, "lines": lines, "stage_id": PROPOSAL}),
        );
        assert_eq!(priced["amount"], 2_500_000);
        assert_eq!(priced["weighted_amount"], 1_000_000);
        assert_eq!(priced["lines"][0]["total"], 2_500_000);
        // A patch of the lines alone is priced anew.
        let path = format!("/api/v1/deals/{}", id_of(&priced));
        let repriced = patched(
            app,
            &admin,
            &path,
            json!({"lines": [{"product_id": id_of(&product), "quantity": 1}]}),
        );
        assert_eq!(repriced["amount"], 1_000_000);
        let stated = patched(app, &admin, &path, json!({"lines": [], "amount": 7}));
        assert_eq!(stated["amount"], 7);

        // References are checked and every broken rule named; nothing is written.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(json!({"title": "بد", "customer_id": uuid::Uuid::now_v7(),
                        "contact_ids": [stranger, stranger], "stage_id": LOST,
                        "owner_id": uuid::Uuid::now_v7(), "amount": -1,
                        "lines": [{"product_id": uuid::Uuid::now_v7(), "quantity": 0}]})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("contact_ids[1]", "duplicate"),
                ("amount", "out_of_range"),
                ("lines[0].quantity", "out_of_range"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(json!({"title": "بد", "customer_id": uuid::Uuid::now_v7(),
                        "contact_ids": [stranger], "stage_id": LOST,
                        "owner_id": uuid::Uuid::now_v7(),
                        "lines": [{"product_id": uuid::Uuid::now_v7(), "quantity": 1}]})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("customer_id", "not_found"),
                ("contact_ids[0]", "not_personnel"),
                ("owner_id", "not_found"),
                ("lost_reason_id", "required"),
                ("lines[0].product_id", "not_found"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(
                json!({"title": "بد", "customer_id": acme, "pipeline_id": uuid::Uuid::now_v7(), "stage_id": QUALIFIED}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("pipeline_id".to_string(), "not_found".to_string())]
        );

        // Moving: the history records each stage, winning closes, reopening opens.
        let path = format!("/api/v1/deals/{}", id_of(&simple));
        patched(app, &admin, &path, json!({"stage_id": NEGOTIATION}));
        let won = patched(app, &admin, &path, json!({"stage_id": WON}));
        assert_eq!(won["status"], "won");
        assert_eq!(won["probability"], 100);
        assert!(won["closed_at"].is_string());
        let (status, problem) = merge_patch(app, &path, &admin, &json!({"stage_id": LOST}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("lost_reason_id".to_string(), "required".to_string())]
        );
        let reason = created(app, &admin, "/api/v1/lost-reasons", json!({"name": "رقیب"}));
        let lost = patched(
            app,
            &admin,
            &path,
            json!({"stage_id": LOST, "lost_reason_id": reason["id"]}),
        );
        assert_eq!(lost["lost_reason_id"], reason["id"]);
        let (status, problem) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"stage_id": PROPOSAL, "lost_reason_id": uuid::Uuid::now_v7()}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("lost_reason_id".to_string(), "only_when_lost".to_string())]
        );
        let reopened = patched(app, &admin, &path, json!({"stage_id": PROPOSAL}));
        assert_eq!(reopened["status"], "open");
        assert_eq!(reopened["closed_at"], Value::Null);
        assert_eq!(reopened["lost_reason_id"], Value::Null);
        // A change that is not a move adds no history entry.
        patched(app, &admin, &path, json!({"description": "پیگیری هفتگی"}));

        let history = get(app, &admin, &format!("{path}/history"));
        let events: Vec<(&str, &str)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                (
                    entry["to_stage_id"].as_str().unwrap(),
                    entry["event"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            events,
            vec![
                (QUALIFIED, "created"),
                (NEGOTIATION, "moved"),
                (WON, "won"),
                (LOST, "lost"),
                (PROPOSAL, "reopened"),
            ]
        );
        assert_eq!(history[1]["from_stage_id"], QUALIFIED);

        // Time per stage: the intervals between entries, the current one up to now.
        let at = |days: i64| days_ago(days);
        let changes = history.as_array().unwrap();
        for (entry, days) in changes.iter().zip([10, 7, 6, 4, 1]) {
            execute(
                app,
                format!(
                    "UPDATE deal_stage_history SET changed_at = '{}' WHERE id = '{}'",
                    at(days),
                    id_of(entry)
                ),
            );
        }
        let spent = get(app, &admin, &path)["time_in_stages"].clone();
        let seconds = |stage: &str| {
            spent
                .as_array()
                .unwrap()
                .iter()
                .find(|entry| entry["stage_id"] == stage)
                .unwrap()["seconds"]
                .as_i64()
                .unwrap()
        };
        let day = 86_400;
        assert_eq!(seconds(QUALIFIED), 3 * day);
        assert_eq!(seconds(NEGOTIATION), day);
        assert_eq!(seconds(WON), 2 * day);
        assert_eq!(seconds(LOST), 3 * day);
        assert!((day..day + 60).contains(&seconds(PROPOSAL)));
        assert_eq!(spent[0]["stage_id"], QUALIFIED);

        // Deleting needs `records:delete`; the deal is gone with its history.
        let (_, email, _) = app.create_user("sales", Some("all"));
        let seller = app.login(&email, TEST_PASSWORD).access_token;
        let (status, _) = send(app, Method::DELETE, &path, &seller, None);
        assert_eq!(status, 403);
        let (status, _) = send(app, Method::DELETE, &path, &admin, None);
        assert_eq!(status, 204);
        let (status, _) = send(app, Method::GET, &format!("{path}/history"), &admin, None);
        assert_eq!(status, 404);
    });
}

#[test]
fn two_changes_based_on_one_version_let_one_win() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let acme = customer(app, &admin, "شرکت گاما");
        let made = deal(app, &admin, json!({"title": "رقابتی", "customer_id": acme}));
        let path = format!("/api/v1/deals/{}", id_of(&made));
        let etag = app
            .authed(Method::GET, &path, &admin)
            .send()
            .unwrap()
            .headers()["etag"]
            .to_str()
            .unwrap()
            .to_string();
        let start = Barrier::new(2);
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = [PROPOSAL, NEGOTIATION]
                .into_iter()
                .map(|stage| {
                    let (start, path, etag, admin) = (&start, &path, &etag, &admin);
                    scope.spawn(move || {
                        start.wait();
                        merge_patch_request(app, path, admin)
                            .header("If-Match", etag.as_str())
                            .body(json!({"stage_id": stage}).to_string())
                            .send()
                            .unwrap()
                            .status()
                            .as_u16()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![200, 412], "{statuses:?}");
        // One move, recorded once.
        let history = get(app, &admin, &format!("{path}/history"));
        assert_eq!(history.as_array().unwrap().len(), 2);
    });
}

#[test]
fn a_user_without_rights_to_a_deal_cannot_read_or_change_it() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, mine_email, _) = app.create_user("sales", Some("own"));
        let (_, other_email, _) = app.create_user("sales", Some("own"));
        let mine = app.login(&mine_email, TEST_PASSWORD).access_token;
        let other = app.login(&other_email, TEST_PASSWORD).access_token;
        let my_customer = customer(app, &mine, "مشتری من");
        let made = deal(
            app,
            &mine,
            json!({"title": "محرمانه", "customer_id": my_customer, "amount": 100}),
        );
        let path = format!("/api/v1/deals/{}", id_of(&made));

        // The other seller: not by id, not in lists, searches or the board.
        for sub in ["", "/history"] {
            let (status, _) = send(app, Method::GET, &format!("{path}{sub}"), &other, None);
            assert_eq!(status, 404, "{sub}");
        }
        let (status, _) = merge_patch(app, &path, &other, &json!({"title": "ربوده"}));
        assert_eq!(status, 404);
        assert!(ids(&get(app, &other, "/api/v1/deals")).is_empty());
        assert!(search(
            app,
            &other,
            json!({"field": "amount", "op": "gte", "value": 0})
        )
        .is_empty());
        let board = get(
            app,
            &other,
            &format!("/api/v1/pipelines/{DEFAULT_PIPELINE}/board"),
        );
        assert_eq!(board["columns"][0]["deals"], 0);
        assert!(ids(&board["columns"][0]["page"]).is_empty());
        // Nor can they put a deal on a customer they cannot see, or hand one away.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &other,
            Some(json!({"title": "x", "customer_id": my_customer})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("customer_id".to_string(), "not_found".to_string())]
        );
        let (status, problem) =
            merge_patch(app, &path, &mine, &json!({"owner_id": made["created_by"]}));
        assert_eq!(status, 200, "{problem}");
        let admin_id = get(app, &admin, "/api/v1/users/me")["id"].clone();
        let (status, problem) = merge_patch(app, &path, &mine, &json!({"owner_id": admin_id}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("owner_id".to_string(), "not_allowed".to_string())]
        );

        // The owner and an admin see it everywhere.
        for token in [&mine, &admin] {
            assert_eq!(get(app, token, &path)["id"], made["id"]);
            assert_eq!(ids(&get(app, token, "/api/v1/deals")), vec![id_of(&made)]);
            let board = get(
                app,
                token,
                &format!("/api/v1/pipelines/{DEFAULT_PIPELINE}/board"),
            );
            assert_eq!(board["columns"][0]["deals"], 1);
        }
        // The customer's 360 view lists the open deals its reader may see: the admin's
        // own deal on the customer is hidden from the seller.
        let admins = deal(
            app,
            &admin,
            json!({"title": "از دفتر مرکزی", "customer_id": my_customer, "amount": 5}),
        );
        let overview = |token: &str| -> Vec<String> {
            get(
                app,
                token,
                &format!("/api/v1/customers/{my_customer}/overview"),
            )["open_deals"]
                .as_array()
                .expect("open deals")
                .iter()
                .map(id_of)
                .collect()
        };
        assert_eq!(overview(&mine), vec![id_of(&made)]);
        assert_eq!(overview(&admin), vec![id_of(&admins), id_of(&made)]);
        // A read-only user reads but does not write.
        let (_, reader_email, _) = app.create_user("read_only", None);
        let reader = app.login(&reader_email, TEST_PASSWORD).access_token;
        assert_eq!(get(app, &reader, &path)["id"], made["id"]);
        let (status, _) = merge_patch(app, &path, &reader, &json!({"title": "x"}));
        assert_eq!(status, 403);
    });
}

#[test]
fn open_deals_unchanged_for_their_pipelines_days_are_stuck() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let acme = customer(app, &admin, "شرکت دلتا");
        let quick = pipeline(
            app,
            &admin,
            "سریع",
            json!([{"name": "a", "probability": 50}]),
        );
        let quick_stage = stage_ids(&quick)[0].clone();
        let make = |title: &str, pipeline: &str| {
            id_of(&deal(
                app,
                &admin,
                json!({"title": title, "customer_id": acme, "pipeline_id": pipeline}),
            ))
        };
        // Five days without a change: stuck in a pipeline of three days, not of thirty.
        let stale_quick = make("کهنه سریع", &id_of(&quick));
        let stale_default = make("کهنه عادی", DEFAULT_PIPELINE);
        let fresh_quick = make("تازه", &id_of(&quick));
        let closed_quick = make("بسته", &id_of(&quick));
        patched(
            app,
            &admin,
            &format!("/api/v1/deals/{closed_quick}"),
            json!({"stage_id": stage_ids(&quick)[1]}),
        );
        for id in [&stale_quick, &stale_default, &closed_quick] {
            execute(
                app,
                format!(
                    "UPDATE deals SET last_activity_at = '{}' WHERE id = '{id}'",
                    days_ago(5)
                ),
            );
        }
        let stuck = search(
            app,
            &admin,
            json!({"field": "stuck", "op": "eq", "value": true}),
        );
        assert_eq!(stuck, vec![stale_quick.clone()]);
        let mut not_stuck = search(
            app,
            &admin,
            json!({"field": "stuck", "op": "neq", "value": true}),
        );
        not_stuck.sort();
        let mut expected = vec![stale_default.clone(), fresh_quick, closed_quick];
        expected.sort();
        assert_eq!(not_stuck, expected);
        let path = format!("/api/v1/deals/{stale_quick}");
        assert_eq!(get(app, &admin, &path)["stuck"], true);
        // Combined with other conditions in a tree.
        let combined = search(
            app,
            &admin,
            json!({"or": [
                {"and": [{"field": "stuck", "op": "eq", "value": true},
                         {"field": "pipeline_id", "op": "eq", "value": id_of(&quick)}]},
                {"field": "title", "op": "eq", "value": "کهنه عادی"}
            ]}),
        );
        assert_eq!(combined.len(), 2);
        // The default pipeline's setting brought down to two days makes its deal stuck.
        patched(
            app,
            &admin,
            &format!("/api/v1/pipelines/{DEFAULT_PIPELINE}"),
            json!({"stuck_after_days": 2}),
        );
        let mut stuck = search(
            app,
            &admin,
            json!({"field": "stuck", "op": "eq", "value": true}),
        );
        stuck.sort();
        let mut expected = vec![stale_quick.clone(), stale_default];
        expected.sort();
        assert_eq!(stuck, expected);
        // Any change is activity: the deal is no longer stuck.
        let touched = patched(app, &admin, &path, json!({"source": "تماس"}));
        assert_eq!(touched["stuck"], false);
        assert_eq!(touched["stage_id"], json!(quick_stage));
        assert!(!search(
            app,
            &admin,
            json!({"field": "stuck", "op": "eq", "value": true})
        )
        .contains(&stale_quick));
    });
}

#[test]
fn the_board_sums_each_stage_and_pages_a_column() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let acme = customer(app, &admin, "شرکت اپسیلون");
        let made = pipeline(
            app,
            &admin,
            "تابلو",
            json!([{"name": "اول", "probability": 25}, {"name": "دوم", "probability": 60}]),
        );
        let [first, second, won, _lost] = <[String; 4]>::try_from(stage_ids(&made)).unwrap();
        let mut in_first = Vec::new();
        for (amount, currency) in [(1_001, "IRR"), (2_000, "IRR"), (999, "USD")] {
            in_first.push(id_of(&deal(
                app,
                &admin,
                json!({"title": "الف", "customer_id": acme, "stage_id": first,
                       "amount": amount, "currency": currency}),
            )));
        }
        deal(
            app,
            &admin,
            json!({"title": "ب", "customer_id": acme, "stage_id": second, "amount": 10_000}),
        );
        // Won deals are not on the board.
        deal(
            app,
            &admin,
            json!({"title": "ج", "customer_id": acme, "stage_id": won, "amount": 50_000}),
        );
        let path = format!("/api/v1/pipelines/{}/board", id_of(&made));
        let board = get(app, &admin, &format!("{path}?limit=2"));
        let columns = board["columns"].as_array().unwrap();
        assert_eq!(columns.len(), 2);
        assert_eq!(columns[0]["stage"]["id"], json!(first));
        assert_eq!(columns[0]["deals"], 3);
        assert_eq!(
            columns[0]["totals"],
            json!([
                // 3,001 × 25 % = 750.25; 999 × 25 % = 249.75, rounded half up.
                {"currency": "IRR", "deals": 2, "amount": 3_001, "weighted_amount": 750},
                {"currency": "USD", "deals": 1, "amount": 999, "weighted_amount": 250}
            ])
        );
        assert_eq!(columns[1]["deals"], 1);
        assert_eq!(columns[1]["totals"][0]["weighted_amount"], 6_000);
        // The first column pages on by itself, oldest first.
        assert_eq!(ids(&columns[0]["page"]), in_first[..2]);
        let cursor = columns[0]["page"]["next_cursor"].as_str().unwrap();
        let rest = get(
            app,
            &admin,
            &format!("{path}?limit=2&stage={first}&cursor={cursor}"),
        );
        assert_eq!(rest["columns"].as_array().unwrap().len(), 1);
        assert_eq!(ids(&rest["columns"][0]["page"]), in_first[2..]);
        assert_eq!(rest["columns"][0]["page"]["has_more"], false);

        // Bad requests are problems naming the parameter.
        let response = app
            .authed(Method::GET, &format!("{path}?cursor={cursor}"), &admin)
            .send()
            .unwrap();
        assert_problem(response, 400, "stage_required");
        let response = app
            .authed(Method::GET, &format!("{path}?stage={won}"), &admin)
            .send()
            .unwrap();
        assert_problem(response, 400, "not_found");
        let response = app
            .authed(Method::GET, &format!("{path}?limit=0"), &admin)
            .send()
            .unwrap();
        assert_problem(response, 422, "validation_failed");
        let response = app
            .authed(
                Method::GET,
                &format!("{path}?stage={first}&cursor=forged"),
                &admin,
            )
            .send()
            .unwrap();
        assert_problem(response, 400, "invalid_cursor");
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/pipelines/{}/board", uuid::Uuid::now_v7()),
            &admin,
            None,
        );
        assert_eq!(status, 404);
    });
}

#[test]
fn hostile_deal_input_is_refused_with_problems() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let acme = customer(app, &admin, "شرکت زتا");
        let many: Vec<String> = (0..21).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        let long = "ب".repeat(201);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(
                json!({"title": long, "customer_id": acme, "contact_ids": many,
                        "source": "a\u{202E}b", "campaign": "a\nb",
                        "expected_close_date": "1899-12-31", "amount": 1_000_000_000_000_001_i64}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        let fields = field_codes(&problem);
        for expected in [
            ("title", "too_long"),
            ("source", "bidi_control"),
            ("campaign", "line_break"),
            ("contact_ids", "invalid_length"),
            ("expected_close_date", "out_of_range"),
            ("amount", "out_of_range"),
        ] {
            assert!(
                fields.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {fields:?}"
            );
        }
        // A NUL or another control character anywhere is refused before any rule, on
        // PostgreSQL as on SQLite.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(json!({"title": "x\u{0}", "customer_id": acme})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("title".to_string(), "nul_character".to_string())]
        );
        // Unknown members, wrong types and deep documents are problems, never a 500.
        for body in [
            json!({"title": "x", "customer_id": acme, "probability": 5}),
            json!({"title": "x", "customer_id": "not-a-uuid"}),
            json!({"title": "x", "customer_id": acme, "currency": "XYZ"}),
        ] {
            let (status, answer) = send(app, Method::POST, "/api/v1/deals", &admin, Some(body));
            assert!((400..500).contains(&status), "{answer}");
        }
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &admin,
            Some(json!({"title": "x", "customer_id": acme, "description": deep})),
        );
        assert!((400..500).contains(&status));
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals/search",
            &admin,
            Some(json!({"filter": {"field": "stuck", "op": "gt", "value": 1}})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(get(app, &admin, "/api/v1/deals")["data"], json!([]));
    });
}

#[test]
fn merges_move_deals_and_erasure_keeps_them_without_free_text() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let winner = customer(app, &admin, "شرکت اتا");
        let loser = customer(app, &admin, "شرکت اتا ۲");
        let moved = deal(
            app,
            &admin,
            json!({"title": "انتقالی", "customer_id": loser, "description": "با آقای کریمی"}),
        );
        let path = format!("/api/v1/deals/{}", id_of(&moved));
        // A customer with deals is erased, never deleted.
        let response = app
            .authed(
                Method::DELETE,
                &format!("/api/v1/customers/{loser}"),
                &admin,
            )
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");

        let (status, merge) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merge}");
        assert_eq!(get(app, &admin, &path)["customer_id"], json!(winner));
        let undo = format!(
            "/api/v1/customers/merges/{}/undo",
            merge["merge"]["id"].as_str().unwrap()
        );
        let (status, answer) = send(app, Method::POST, &undo, &admin, None);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(get(app, &admin, &path)["customer_id"], json!(loser));

        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{loser}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["deals"], 1, "{erased}");
        let kept = get(app, &admin, &path);
        assert_eq!(kept["customer_id"], json!(loser));
        assert_eq!(kept["description"], Value::Null);
    });
}

/// The sums of a forecast's figure list, as `(currency, deals, amount, weighted)`.
fn sums(list: &Value) -> Vec<(String, i64, i64, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|sums| {
            (
                sums["currency"].as_str().unwrap().to_string(),
                sums["deals"].as_i64().unwrap(),
                sums["amount"].as_i64().unwrap(),
                sums["weighted_amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn irr(deals: i64, amount: i64, weighted: i64) -> (String, i64, i64, i64) {
    ("IRR".to_string(), deals, amount, weighted)
}

#[test]
fn the_forecast_weighs_open_deals_by_expected_close_beside_what_was_won() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let admin_id = get(app, &admin, "/api/v1/users/me")["id"].clone();
        let (seller_id, email, _) = app.create_user("sales", Some("own"));
        let seller = app.login(&email, TEST_PASSWORD).access_token;
        let ours = customer(app, &admin, "شرکت تتا");
        let theirs = customer(app, &seller, "شرکت یوتا");
        let made = pipeline(
            app,
            &admin,
            "پیش‌بینی",
            json!([{"name": "اول", "probability": 20}, {"name": "دوم", "probability": 50}]),
        );
        let [first, second, won, lost] = <[String; 4]>::try_from(stage_ids(&made)).unwrap();
        let reason = created(
            app,
            &admin,
            "/api/v1/lost-reasons",
            json!({"name": "بودجه"}),
        );
        let open = |token: &str,
                    customer: &str,
                    stage: &str,
                    amount: i64,
                    currency: &str,
                    close: Value| {
            deal(
                app,
                token,
                json!({"title": "باز", "customer_id": customer, "stage_id": stage,
                       "amount": amount, "currency": currency, "expected_close_date": close}),
            )
        };
        // Open deals: two in the first Jalali month of the range, two in the second, one
        // after the range, one without a date.
        open(&admin, &ours, &first, 1_000, "IRR", json!("2027-04-01"));
        open(&seller, &theirs, &second, 3_001, "IRR", json!("2027-04-05"));
        open(&admin, &ours, &second, 500, "IRR", json!("2027-05-01"));
        open(&admin, &ours, &first, 999, "USD", json!("2027-05-02"));
        open(&admin, &ours, &first, 100, "IRR", json!("2027-06-30"));
        open(&admin, &ours, &first, 5_000, "IRR", Value::Null);
        // Closed deals, with when they were created and closed set by hand.
        let close = |token: &str,
                     customer: &str,
                     amount: i64,
                     to: &str,
                     created: &str,
                     closed: &str| {
            let made = open(token, customer, &first, amount, "IRR", Value::Null);
            let mut change = json!({"stage_id": to});
            if to == lost {
                change["lost_reason_id"] = reason["id"].clone();
            }
            patched(
                app,
                token,
                &format!("/api/v1/deals/{}", id_of(&made)),
                change,
            );
            execute(
                app,
                format!(
                    "UPDATE deals SET created_at = '{created}', closed_at = '{closed}' WHERE id = '{}'",
                    id_of(&made)
                ),
            );
        };
        close(
            &admin,
            &ours,
            700,
            &won,
            "2027-03-20T10:00:00.000000Z",
            "2027-03-30T10:00:00.000000Z",
        );
        close(
            &seller,
            &theirs,
            300,
            &won,
            "2027-04-15T10:00:00.000000Z",
            "2027-05-05T10:00:00.000000Z",
        );
        close(
            &admin,
            &ours,
            50,
            &lost,
            "2027-04-01T10:00:00.000000Z",
            "2027-04-10T10:00:00.000000Z",
        );
        close(
            &admin,
            &ours,
            60,
            &lost,
            "2026-01-01T10:00:00.000000Z",
            "2026-01-10T10:00:00.000000Z",
        );

        let path = format!(
            "/api/v1/reports/forecast?from=2027-03-25&to=2027-05-15&pipeline_id={}",
            id_of(&made)
        );
        let report = get(app, &admin, &path);
        let periods = report["periods"].as_array().unwrap();
        assert_eq!(periods.len(), 2, "{report}");
        assert!(periods[0]["label"].as_str().unwrap().starts_with("1406-01"));
        // 1,000 × 20 % + 3,001 × 50 % = 1,700.5, rounded half up once on the sum.
        assert_eq!(
            sums(&periods[0]["totals"]["pipeline"]),
            vec![irr(2, 4_001, 1_701)]
        );
        assert_eq!(sums(&periods[0]["totals"]["won"]), vec![irr(1, 700, 700)]);
        assert_eq!(
            sums(&periods[1]["totals"]["pipeline"]),
            vec![irr(1, 500, 250), ("USD".to_string(), 1, 999, 200)]
        );
        assert_eq!(sums(&periods[1]["totals"]["won"]), vec![irr(1, 300, 300)]);
        assert_eq!(periods[0]["groups"], json!([]));
        let rates = report["win_rates"].as_array().unwrap();
        assert_eq!(rates.len(), 1, "{report}");
        assert_eq!(
            (rates[0]["won"].as_i64(), rates[0]["lost"].as_i64()),
            (Some(2), Some(1))
        );
        assert!((rates[0]["win_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
        // Ten days and twenty days from creation to winning.
        assert!((rates[0]["average_sales_cycle_days"].as_f64().unwrap() - 15.0).abs() < 1e-6);

        // By owner: each period per owner, and the win rates per owner.
        let by_owner = get(app, &admin, &format!("{path}&group_by=owner"));
        let groups = by_owner["periods"][0]["groups"].as_array().unwrap();
        let group = |key: &Value| {
            groups
                .iter()
                .find(|group| group["key"] == *key)
                .unwrap_or_else(|| panic!("{key} in {groups:?}"))
                .clone()
        };
        let admins = group(&admin_id);
        assert_eq!(
            sums(&admins["figures"]["pipeline"]),
            vec![irr(1, 1_000, 200)]
        );
        assert_eq!(sums(&admins["figures"]["won"]), vec![irr(1, 700, 700)]);
        let sellers = group(&json!(seller_id));
        assert_eq!(
            sums(&sellers["figures"]["pipeline"]),
            vec![irr(1, 3_001, 1_501)]
        );
        assert_eq!(sellers["figures"]["won"], json!([]));
        let rate_of = |report: &Value, key: &Value| {
            let rate = report["win_rates"]
                .as_array()
                .unwrap()
                .iter()
                .find(|rate| rate["key"] == *key)
                .unwrap()
                .clone();
            (
                rate["won"].as_i64().unwrap(),
                rate["lost"].as_i64().unwrap(),
                rate["win_rate"].as_f64().unwrap(),
                rate["average_sales_cycle_days"].as_f64().unwrap(),
            )
        };
        let (won_count, lost_count, rate, cycle) = rate_of(&by_owner, &admin_id);
        assert_eq!((won_count, lost_count), (1, 1));
        assert!((rate - 0.5).abs() < 1e-9 && (cycle - 10.0).abs() < 1e-6);
        let (won_count, lost_count, rate, cycle) = rate_of(&by_owner, &json!(seller_id));
        assert_eq!((won_count, lost_count), (1, 0));
        assert!((rate - 1.0).abs() < 1e-9 && (cycle - 20.0).abs() < 1e-6);

        // A seller with `own` visibility forecasts their own deals only.
        let own = get(app, &seller, &path);
        assert_eq!(
            sums(&own["periods"][0]["totals"]["pipeline"]),
            vec![irr(1, 3_001, 1_501)]
        );
        assert_eq!(own["periods"][0]["totals"]["won"], json!([]));
        assert_eq!(
            sums(&own["periods"][1]["totals"]["won"]),
            vec![irr(1, 300, 300)]
        );
        assert_eq!(own["periods"][1]["totals"]["pipeline"], json!([]));

        // A Gregorian quarter: April to June 2027.
        let quarter = get(
            app,
            &admin,
            &format!(
                "/api/v1/reports/forecast?from=2027-04-01&to=2027-06-30&bucket=quarter&calendar=gregorian&pipeline_id={}",
                id_of(&made)
            ),
        );
        let period = &quarter["periods"][0];
        assert_eq!(period["label"], "2027-Q2");
        // (1,000 + 100) × 20 % + (3,001 + 500) × 50 % = 1,970.5.
        assert_eq!(
            sums(&period["totals"]["pipeline"]),
            vec![irr(4, 4_601, 1_971), ("USD".to_string(), 1, 999, 200)]
        );
        assert_eq!(sums(&period["totals"]["won"]), vec![irr(1, 300, 300)]);
        let rates = quarter["win_rates"].as_array().unwrap();
        assert_eq!(
            (rates[0]["won"].as_i64(), rates[0]["lost"].as_i64()),
            (Some(1), Some(1))
        );

        // Bad parameters are problems.
        let (status, problem) = send(
            app,
            Method::GET,
            &format!(
                "/api/v1/reports/forecast?from=2027-03-25&to=2027-05-15&pipeline_id={}",
                uuid::Uuid::now_v7()
            ),
            &admin,
            None,
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("pipeline_id".to_string(), "not_found".to_string())]
        );
        let (status, _) = send(
            app,
            Method::GET,
            "/api/v1/reports/forecast?from=2027-05-15&to=2027-03-25",
            &admin,
            None,
        );
        assert_eq!(status, 422);
        let (status, _) = send(
            app,
            Method::GET,
            "/api/v1/reports/forecast?from=2027-03-25&to=2027-05-15&group_by=stage",
            &admin,
            None,
        );
        assert_eq!(status, 400);
    });
}

#[test]
fn sums_past_the_largest_amount_are_refused_and_large_ones_stay_exact() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let acme = customer(app, &admin, "شرکت کلان");
        let made = pipeline(
            app,
            &admin,
            "کلان",
            json!([{"name": "مذاکره", "probability": 90}]),
        );
        let stage = stage_ids(&made)[0].clone();
        let huge: Vec<String> = (0..2)
            .map(|_| {
                id_of(&deal(
                    app,
                    &admin,
                    json!({"title": "کلان", "customer_id": acme, "stage_id": stage,
                           "amount": 1, "expected_close_date": "2027-04-01"}),
                ))
            })
            .collect();
        // Amounts past what the API accepts, as older data or another writer may hold.
        const NEAR_MAX: i64 = i64::MAX - 807;
        for id in &huge {
            execute(
                app,
                format!("UPDATE deals SET amount = {NEAR_MAX} WHERE id = '{id}'"),
            );
        }
        let board = format!("/api/v1/pipelines/{}/board", id_of(&made));
        let forecast = format!(
            "/api/v1/reports/forecast?from=2027-03-25&to=2027-05-15&pipeline_id={}",
            id_of(&made)
        );
        for path in [&board, &forecast] {
            let response = app.authed(Method::GET, path, &admin).send().unwrap();
            let problem = assert_problem(response, 422, "validation_failed");
            assert_eq!(
                field_codes(&problem),
                [("amount".to_string(), "too_large".to_string())],
                "{path}"
            );
        }

        // One such deal alone fits, and so does its weighted amount, exactly.
        execute(
            app,
            format!("UPDATE deals SET amount = 0 WHERE id = '{}'", huge[1]),
        );
        let weighted = (i128::from(NEAR_MAX) * 90 + 50) / 100;
        let totals = &get(app, &admin, &board)["columns"][0]["totals"];
        assert_eq!(
            totals,
            &json!([{"currency": "IRR", "deals": 2, "amount": NEAR_MAX,
                     "weighted_amount": i64::try_from(weighted).unwrap()}])
        );
        let report = get(app, &admin, &forecast);
        assert_eq!(
            sums(&report["periods"][0]["totals"]["pipeline"]),
            vec![irr(2, NEAR_MAX, i64::try_from(weighted).unwrap())]
        );
    });
}

#[test]
fn deals_carry_custom_fields_checked_and_searched_within_visibility() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        for body in [
            json!({"key": "contract", "label": "قرارداد", "kind": "select",
                   "options": ["سالانه", "ماهانه"], "required": true, "entity": "deal"}),
            json!({"key": "signed_on", "label": "امضا", "kind": "date", "entity": "deal"}),
            // A lead field is no deal field.
            json!({"key": "budget", "label": "بودجه", "kind": "integer", "entity": "lead"}),
        ] {
            created(app, &admin, "/api/v1/custom-fields", body);
        }
        let (_, seller_email, _) = app.create_user("sales", Some("own"));
        let seller = app.login(&seller_email, TEST_PASSWORD).access_token;
        let theirs = customer(app, &seller, "مشتری فروشنده");
        let ours = customer(app, &admin, "مشتری دفتر");

        // Required, options, types and unknown keys are named under `custom_fields.`.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals",
            &seller,
            Some(json!({"title": "", "customer_id": theirs,
                        "custom_fields": {"signed_on": "1405/01/01", "budget": 5}})),
        );
        assert_eq!(status, 422, "{problem}");
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            [
                ("custom_fields.budget", "unknown_field"),
                ("custom_fields.contract", "required"),
                ("custom_fields.signed_on", "invalid_type"),
                ("title", "required"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );
        let made = deal(
            app,
            &seller,
            json!({"title": "تمدید", "customer_id": theirs, "amount": 10,
                   "custom_fields": {"contract": "سالانه", "signed_on": "۲۰۲۶-۰۳-۲۱"}}),
        );
        assert_eq!(
            made["custom_fields"],
            json!({"contract": "سالانه", "signed_on": "2026-03-21"})
        );
        let path = format!("/api/v1/deals/{}", id_of(&made));
        assert_eq!(
            get(app, &seller, &path)["custom_fields"],
            made["custom_fields"]
        );
        let office = deal(
            app,
            &admin,
            json!({"title": "دفتر", "customer_id": ours, "amount": 20,
                   "custom_fields": {"contract": "سالانه"}}),
        );

        // Merge Patch: `null` removes a value, a required one cannot go.
        let changed = patched(
            app,
            &seller,
            &path,
            json!({"custom_fields": {"signed_on": null, "contract": "ماهانه"}}),
        );
        assert_eq!(changed["custom_fields"], json!({"contract": "ماهانه"}));
        let (status, problem) = merge_patch(
            app,
            &path,
            &seller,
            &json!({"custom_fields": {"contract": null}}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("custom_fields.contract".to_string(), "required".to_string())]
        );

        // `custom.<key>` in the search, within the caller's visibility.
        let annual = json!({"field": "custom.contract", "op": "eq", "value": "سالانه"});
        assert_eq!(search(app, &admin, annual.clone()), vec![id_of(&office)]);
        assert!(search(app, &seller, annual).is_empty());
        let monthly = json!({"field": "custom.contract", "op": "in", "value": ["ماهانه"]});
        assert_eq!(search(app, &seller, monthly.clone()), vec![id_of(&made)]);
        assert_eq!(search(app, &admin, monthly), vec![id_of(&made)]);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/deals/search",
            &admin,
            Some(json!({"filter": {"field": "custom.budget", "op": "eq", "value": 5}})),
        );
        assert_eq!(status, 422, "{problem}");
    });
}

/// A board's cells as `(stage, currency) -> (deals, amount)`.
type Cells = std::collections::BTreeMap<(String, String), (i64, i64)>;

fn board_cells(app: &TestApp, token: &str, pipeline: &str) -> Cells {
    let board = get(app, token, &format!("/api/v1/pipelines/{pipeline}/board"));
    let mut cells = Cells::new();
    for column in board["columns"].as_array().unwrap() {
        for total in column["totals"].as_array().unwrap() {
            cells.insert(
                (
                    column["stage"]["id"].as_str().unwrap().to_string(),
                    total["currency"].as_str().unwrap().to_string(),
                ),
                (
                    total["deals"].as_i64().unwrap(),
                    total["amount"].as_i64().unwrap(),
                ),
            );
        }
    }
    cells
}

#[derive(diesel::QueryableByName)]
struct CountedCell {
    #[diesel(sql_type = diesel::sql_types::Text)]
    stage_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    currency: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    deals: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount: i64,
}

/// The same cells counted from the open deals of `pipeline` that satisfy `condition`.
fn counted_cells(app: &TestApp, pipeline: &str, condition: &str) -> Cells {
    let mut conn = app.state.pool.get().unwrap();
    let rows: Vec<CountedCell> = diesel::sql_query(format!(
        "SELECT CAST(stage_id AS TEXT) AS stage_id, currency, COUNT(*) AS deals, \
                CAST(SUM(amount) AS BIGINT) AS amount \
         FROM deals WHERE pipeline_id = '{pipeline}' AND status = 'open' AND ({condition}) \
         GROUP BY stage_id, currency"
    ))
    .load(&mut conn)
    .unwrap();
    cells_of(rows)
}

fn cells_of(rows: Vec<CountedCell>) -> Cells {
    rows.into_iter()
        .map(|row| ((row.stage_id, row.currency), (row.deals, row.amount)))
        .collect()
}

/// The cells the database keeps for the board of `pipeline`, keyed by stage, owner and
/// team, beside the same cells counted from its open deals.
fn kept_and_counted_cells(app: &TestApp, pipeline: &str) -> (Cells, Cells) {
    const NONE: &str = "'00000000-0000-0000-0000-000000000000'";
    let mut conn = app.state.pool.get().unwrap();
    let kept: Vec<CountedCell> = diesel::sql_query(format!(
        "SELECT CAST(stage_id AS TEXT) || ' ' || CAST(owner_key AS TEXT) || ' ' || \
                CAST(team_key AS TEXT) AS stage_id, currency, deals, \
                amount_high * 4294967296 + amount_low AS amount \
         FROM deal_board_totals WHERE pipeline_id = '{pipeline}' AND deals <> 0"
    ))
    .load(&mut conn)
    .unwrap();
    let counted: Vec<CountedCell> = diesel::sql_query(format!(
        "SELECT CAST(stage_id AS TEXT) || ' ' || COALESCE(CAST(owner_id AS TEXT), {NONE}) \
                || ' ' || COALESCE(CAST(team_id AS TEXT), {NONE}) AS stage_id, \
                currency, COUNT(*) AS deals, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM deals WHERE pipeline_id = '{pipeline}' AND status = 'open' \
         GROUP BY stage_id, owner_id, team_id, currency"
    ))
    .load(&mut conn)
    .unwrap();
    (cells_of(kept), cells_of(counted))
}

#[test]
fn the_board_follows_every_write_of_a_deal_for_every_reader() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let squad = id_of(&created(
            app,
            &admin,
            "/api/v1/teams",
            json!({"name": format!("تیم تابلو {}", uuid::Uuid::now_v7().simple())}),
        ));
        let in_team = |visibility: &str| {
            let email = format!("s-{}@example.com", uuid::Uuid::now_v7().simple());
            let user = created(
                app,
                &admin,
                "/api/v1/users",
                json!({"email": email, "display_name": "فروشنده", "password": TEST_PASSWORD,
                       "role": "sales", "visibility": visibility, "team_id": squad}),
            );
            (id_of(&user), app.login(&email, TEST_PASSWORD).access_token)
        };
        let (teamer, teamer_token) = in_team("team");
        let (loner, loner_token) = in_team("own");
        let partner = id_of(&created(
            app,
            &admin,
            "/api/v1/partners",
            json!({"name": format!("همکار {}", uuid::Uuid::now_v7().simple()), "kind": "distributor"}),
        ));
        let partner_email = format!("p-{}@example.com", uuid::Uuid::now_v7().simple());
        let partner_user = id_of(&created(
            app,
            &admin,
            &format!("/api/v1/partners/{partner}/users"),
            json!({"email": partner_email, "display_name": "همکار", "password": TEST_PASSWORD}),
        ));
        let partner_token = app.login(&partner_email, TEST_PASSWORD).access_token;

        let made = pipeline(
            app,
            &admin,
            "تابلوی زنده",
            json!([{"name": "اول", "probability": 20}, {"name": "دوم", "probability": 50}]),
        );
        let board = id_of(&made);
        let [first, second, won, _lost] = <[String; 4]>::try_from(stage_ids(&made)).unwrap();
        let elsewhere = pipeline(
            app,
            &admin,
            "دیگر",
            json!([{"name": "تنها", "probability": 10}]),
        );
        let acme = customer(app, &admin, "شرکت تابلو");
        let open = |stage: &str, amount: i64, currency: &str, owner: &str| {
            id_of(&deal(
                app,
                &admin,
                json!({"title": "معامله", "customer_id": acme, "stage_id": stage,
                       "amount": amount, "currency": currency, "owner_id": owner}),
            ))
        };
        let admin_id = get(app, &admin, "/api/v1/users/me")["id"]
            .as_str()
            .unwrap()
            .to_string();

        let readers = [
            (&admin, "1 = 1".to_string()),
            (
                &teamer_token,
                format!(
                    "owner_id = '{teamer}' OR team_id = \
                     (SELECT team_id FROM users WHERE id = '{teamer}')"
                ),
            ),
            (&loner_token, format!("owner_id = '{loner}'")),
            (
                &partner_token,
                format!(
                    "owner_id = '{partner_user}' OR id IN (SELECT record_id FROM record_shares \
                     WHERE partner_id = '{partner}' AND record_kind = 'deal')"
                ),
            ),
        ];
        let check = |step: &str| {
            let (kept, counted) = kept_and_counted_cells(app, &board);
            assert_eq!(kept, counted, "{step}: the kept cells");
            for (token, condition) in &readers {
                assert_eq!(
                    board_cells(app, token, &board),
                    counted_cells(app, &board, condition),
                    "{step}, reader seeing {condition}"
                );
            }
        };

        let teamers = open(&first, 1_000, "IRR", &teamer);
        let loners = open(&first, 7, "USD", &loner);
        // Past 2^32, so that both halves of a cell's sum move.
        let large = open(&second, 5_000_000_000, "IRR", &admin_id);
        let closing = open(&second, 300, "IRR", &loner);
        let shared = open(&first, 40, "IRR", &admin_id);
        share_deal(app, &admin, &partner, &shared);
        let partners = open(&first, 2, "IRR", &admin_id);
        execute(
            app,
            format!("UPDATE deals SET owner_id = '{partner_user}' WHERE id = '{partners}'"),
        );
        check("created");
        assert_eq!(
            board_cells(app, &partner_token, &board),
            Cells::from([((first.clone(), "IRR".to_string()), (2, 42))])
        );

        let deal_path = |id: &str| format!("/api/v1/deals/{id}");
        patched(
            app,
            &admin,
            &deal_path(&teamers),
            json!({"stage_id": second}),
        );
        patched(app, &admin, &deal_path(&loners), json!({"amount": 9}));
        patched(app, &admin, &deal_path(&large), json!({"owner_id": teamer}));
        patched(app, &admin, &deal_path(&closing), json!({"stage_id": won}));
        check("moved, repriced, handed over and won");
        patched(
            app,
            &admin,
            &deal_path(&closing),
            json!({"stage_id": first}),
        );
        let (status, _) = send(app, Method::DELETE, &deal_path(&loners), &admin, None);
        assert_eq!(status, 204);
        check("reopened and deleted");
        patched(
            app,
            &admin,
            &deal_path(&shared),
            json!({"pipeline_id": id_of(&elsewhere), "stage_id": stage_ids(&elsewhere)[0]}),
        );
        check("moved to another pipeline");
        // A team's deletion sets the deals' team to none in the database itself.
        assert!(!counted_cells(app, &board, &format!("team_id = '{squad}'")).is_empty());
        execute(
            app,
            format!("UPDATE users SET team_id = NULL WHERE team_id = '{squad}'"),
        );
        execute(app, format!("DELETE FROM teams WHERE id = '{squad}'"));
        check("team deleted");
    });
}

fn share_deal(app: &TestApp, admin: &str, partner: &str, deal: &str) {
    created(
        app,
        admin,
        &format!("/api/v1/partners/{partner}/shares"),
        json!({"record_kind": "deal", "record_id": deal, "access": "read"}),
    );
}
