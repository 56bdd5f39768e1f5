//! Price experiments (M-7): a three-arm experiment whose exposures and purchases are
//! those of the SciPy reference (`crates/analytics/tests/fixtures/
//! price_experiment_scipy.json`), so the results served agree with SciPy to 1e-9; the
//! assignment is stable and the one `domain::price_experiments::assign` gives;
//! purchases before the exposure, of other products, unpaid or after the stop do not
//! count; segments decide who takes part; the definition's rules, the status
//! changes, who may do what, erasure and the personal-data export.

use domain::price_experiments::assign;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::order_imports::product;
use e2e::support::{
    create_customer, field_codes, for_each_backend, id_of, merge_patch, person, send, TestApp,
};

const PATH: &str = "/api/v1/price-experiments";
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/analytics/tests/fixtures/price_experiment_scipy.json"
);

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect("fixture")).expect("json")
}

fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = send(app, Method::POST, PATH, token, Some(body));
    assert_eq!(status, 201, "{created}");
    created
}

fn action(app: &TestApp, token: &str, id: &str, verb: &str) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("{PATH}/{id}/{verb}"),
        token,
        None,
    )
}

fn expose(app: &TestApp, token: &str, id: &str, customer: &str) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("{PATH}/{id}/exposures"),
        token,
        Some(json!({"customer_id": customer})),
    )
}

fn results(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("{PATH}/{id}/results"),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn buy(app: &TestApp, token: &str, customer: &str, lines: Value, status: &str) {
    let (code, body) = send(
        app,
        Method::POST,
        "/api/v1/orders",
        token,
        Some(json!({"customer_id": customer, "status": status, "lines": lines})),
    );
    assert_eq!(code, 201, "{body}");
}

/// `n` customers made a hundred at a time, their ids.
fn customers(app: &TestApp, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < n {
        let items: Vec<Value> = (0..(n - ids.len()).min(100))
            .map(|i| json!({"kind": "person", "last_name": format!("خریدار {}", ids.len() + i)}))
            .collect();
        let (status, body) = send(
            app,
            Method::POST,
            "/api/v1/customers/batch",
            token,
            Some(json!({"items": items})),
        );
        assert_eq!(status, 200, "{body}");
        for result in body["results"].as_array().unwrap() {
            assert_eq!(result["status"], 201, "{result}");
            ids.push(result["customer"]["id"].as_str().unwrap().to_string());
        }
    }
    ids
}

fn close(actual: &Value, expected: &Value, what: &str) {
    let (actual, expected) = (
        actual
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: {actual}")),
        expected
            .as_f64()
            .unwrap_or_else(|| panic!("{what} in fixture")),
    );
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{what}: {actual} against SciPy's {expected}"
    );
}

fn experiment_body(product: &str, fixture: &Value, minimum: i64) -> Value {
    let variants: Vec<Value> = fixture["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arm| json!({"key": arm["key"], "unit_price": arm["unit_price"], "control": arm["control"]}))
        .collect();
    json!({
        "name": format!("قیمت چای {}", Uuid::now_v7()),
        "product_id": product,
        "minimum_sample_per_variant": minimum,
        "variants": variants
    })
}

#[test]
fn results_agree_with_scipy_and_only_purchases_after_the_exposure_count() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let fixture = fixture();
        let arms = fixture["arms"].as_array().unwrap().clone();
        let tea = product(app, &admin, "TEA-1", 1_000_000);
        let cups = product(app, &admin, "CUP-1", 300_000);
        let experiment = create(app, &admin, experiment_body(&tea, &fixture, 40));
        let id = id_of(&experiment);
        assert_eq!(experiment["status"], "draft");
        // A draft shows nobody anything and has no results.
        let pool = customers(app, &admin, 200);
        assert_eq!(expose(app, &admin, &id, &pool[0]).0, 409);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{PATH}/{id}/results"),
            &admin,
            None,
        );
        assert_eq!(status, 409);
        let (status, started) = action(app, &admin, &id, "start");
        assert_eq!(status, 200, "{started}");
        assert_eq!(started["status"], "running");

        // The first 40 customers of each arm, by the assignment a shop could compute.
        let experiment_id: Uuid = id.parse().unwrap();
        let mut members: Vec<Vec<String>> = vec![Vec::new(); arms.len()];
        for customer in &pool {
            let arm = assign(experiment_id, customer.parse().unwrap(), &[1, 1, 1]);
            if members[arm].len() < 40 {
                members[arm].push(customer.clone());
            }
        }
        assert!(
            members.iter().all(|m| m.len() == 40),
            "200 customers split unevenly"
        );
        // Bought before being shown the price: does not count.
        let early = &members[0][39];
        buy(
            app,
            &admin,
            early,
            json!([{"product_id": tea, "quantity": 5}]),
            "paid",
        );

        for (arm, customers) in arms.iter().zip(&members) {
            for customer in customers {
                let (status, shown) = expose(app, &admin, &id, customer);
                assert_eq!(status, 201, "{shown}");
                assert_eq!(shown["variant"], arm["key"]);
                assert_eq!(shown["unit_price"], arm["unit_price"]);
                assert_eq!(shown["first_exposure"], true);
            }
        }
        // Asking again answers the stored variant.
        let (status, again) = expose(app, &admin, &id, &members[1][0]);
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            (again["variant"].clone(), again["first_exposure"].clone()),
            (json!("plus10"), json!(false))
        );
        let partial = results(app, &admin, &id);
        assert_eq!(partial["decision"]["outcome"], "no_significant_difference");

        for (arm, customers) in arms.iter().zip(&members) {
            for (customer, quantity) in customers.iter().zip(arm["quantities"].as_array().unwrap())
            {
                buy(
                    app,
                    &admin,
                    customer,
                    json!([{"product_id": tea, "quantity": quantity, "unit_price": arm["unit_price"]}]),
                    "paid",
                );
            }
        }
        // Other products, unpaid orders and customers never shown the price do not count.
        let last_control = &members[0][38];
        buy(
            app,
            &admin,
            last_control,
            json!([{"product_id": cups, "quantity": 2}]),
            "paid",
        );
        buy(
            app,
            &admin,
            last_control,
            json!([{"product_id": tea, "quantity": 1}]),
            "pending",
        );
        let outsider = pool
            .iter()
            .find(|c| !members.iter().flatten().any(|m| m == *c))
            .unwrap();
        buy(
            app,
            &admin,
            outsider,
            json!([{"product_id": tea, "quantity": 1}]),
            "paid",
        );

        let served = results(app, &admin, &id);
        assert_eq!(served["threshold"], 0.025);
        for (i, expected) in fixture["expected"].as_array().unwrap().iter().enumerate() {
            let variant = &served["variants"][i];
            assert_eq!(variant["exposed"], 40, "{variant}");
            assert_eq!(
                variant["converted"].as_u64().unwrap() as usize,
                arms[i]["quantities"].as_array().unwrap().len()
            );
            close(&variant["revenue"], &expected["revenue"], "revenue");
            close(
                &variant["conversion_rate"],
                &expected["conversion_rate"],
                "rate",
            );
            close(
                &variant["conversion_interval"]["low"],
                &expected["conversion_interval"][0],
                "wilson",
            );
            close(
                &variant["revenue_per_exposed"],
                &expected["revenue_per_exposed"],
                "per exposed",
            );
            close(
                &variant["revenue_interval"]["high"],
                &expected["revenue_interval"][1],
                "t interval",
            );
            if expected.get("revenue_test").is_none() {
                assert!(variant["versus_control"].is_null());
                continue;
            }
            let versus = &variant["versus_control"];
            close(
                &versus["conversion"]["statistic"],
                &expected["conversion_test"]["statistic"],
                "z",
            );
            close(
                &versus["conversion"]["p_value"],
                &expected["conversion_test"]["p_value"],
                "z p",
            );
            assert!(versus["conversion"]["degrees_of_freedom"].is_null());
            close(
                &versus["revenue_per_exposed"]["statistic"],
                &expected["revenue_test"]["statistic"],
                "t",
            );
            close(
                &versus["revenue_per_exposed"]["p_value"],
                &expected["revenue_test"]["p_value"],
                "t p",
            );
            close(
                &versus["revenue_per_exposed"]["degrees_of_freedom"],
                &expected["revenue_test"]["degrees_of_freedom"],
                "df",
            );
            close(
                &versus["revenue_per_exposed"]["interval"]["low"],
                &expected["revenue_test"]["interval"][0],
                "t interval of the difference",
            );
            let p = versus["probability_to_beat_control"].as_f64().unwrap();
            assert!((p - expected["probability_to_beat_control"].as_f64().unwrap()).abs() < 1e-8);
        }
        assert_eq!(
            served["decision"],
            json!({"outcome": "winner", "winner": "plus10", "provisional": true})
        );

        // After the stop the window is closed: a later purchase changes nothing.
        let (status, stopped) = action(app, &admin, &id, "stop");
        assert_eq!((status, stopped["status"].clone()), (200, json!("stopped")));
        let late = &members[2][39];
        buy(
            app,
            &admin,
            late,
            json!([{"product_id": tea, "quantity": 3}]),
            "paid",
        );
        let after = results(app, &admin, &id);
        assert_eq!(after["variants"], served["variants"]);
        assert_eq!(after["decision"]["provisional"], false);
        assert_eq!(expose(app, &admin, &id, late).0, 409);
        assert_eq!(action(app, &admin, &id, "start").0, 409);
    });
}

#[test]
fn the_decision_waits_for_the_minimum_sample() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-2", 1_000_000);
        let experiment = create(
            app,
            &admin,
            json!({"name": "کوچک", "product_id": tea, "minimum_sample_per_variant": 1000,
                   "goal": "conversion_rate",
                   "variants": [{"key": "a", "unit_price": 1_000_000, "control": true},
                                {"key": "b", "unit_price": 900_000}]}),
        );
        let id = id_of(&experiment);
        action(app, &admin, &id, "start");
        let pool = customers(app, &admin, 30);
        for customer in &pool {
            let (status, shown) = expose(app, &admin, &id, customer);
            assert_eq!(status, 201, "{shown}");
            if shown["variant"] == "b" {
                buy(
                    app,
                    &admin,
                    customer,
                    json!([{"product_id": tea, "quantity": 1, "unit_price": 900_000}]),
                    "paid",
                );
            }
        }
        let served = results(app, &admin, &id);
        // Every b customer bought and no a customer did: significant, but too few.
        assert_eq!(
            served["variants"][1]["versus_control"]["significant"], true,
            "{served}"
        );
        assert_eq!(
            served["decision"],
            json!({"outcome": "insufficient_sample", "winner": null, "provisional": true})
        );
    });
}

#[test]
fn segments_decide_who_takes_part_and_erasure_forgets_exposures() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-3", 1_000_000);
        let sara = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121234567", "sara@example.ir"),
        ));
        let reza = id_of(&create_customer(
            app,
            &admin,
            person("رضا", "احمدی", "09121234568", "reza@example.ir"),
        ));
        let (status, segment) = send(
            app,
            Method::POST,
            "/api/v1/segments",
            &admin,
            Some(json!({"name": "وفادار", "kind": "static"})),
        );
        assert_eq!(status, 201, "{segment}");
        let segment = id_of(&segment);
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{segment}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [sara]})),
        );
        assert_eq!(status, 200);
        let id = id_of(&create(
            app,
            &admin,
            json!({"name": "ویژه", "product_id": tea, "segment_id": segment,
                   "minimum_sample_per_variant": 100,
                   "variants": [{"key": "a", "unit_price": 1_000_000, "control": true, "weight": 1},
                                {"key": "b", "unit_price": 1_100_000, "weight": 3}]}),
        ));
        action(app, &admin, &id, "start");
        let (status, outside) = expose(app, &admin, &id, &reza);
        assert_eq!(status, 200, "{outside}");
        assert_eq!(
            (
                outside["eligible"].clone(),
                outside["variant"].clone(),
                outside["unit_price"].clone()
            ),
            (json!(false), Value::Null, json!(1_000_000))
        );
        let (status, inside) = expose(app, &admin, &id, &sara);
        assert_eq!(status, 201, "{inside}");
        let expected = ["a", "b"][assign(id.parse().unwrap(), sara.parse().unwrap(), &[1, 3])];
        assert_eq!(inside["variant"], expected);

        // Leaving the segment does not change the price a customer was shown.
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{segment}/members"),
            &admin,
            Some(json!({"action": "remove", "customer_ids": [sara]})),
        );
        assert_eq!(status, 200);
        let (status, again) = expose(app, &admin, &id, &sara);
        assert_eq!(
            (status, again["variant"].clone()),
            (200, json!(expected)),
            "{again}"
        );
        let (_, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{sara}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(
            exported["price_exposures"][0]["variant"], expected,
            "{exported}"
        );
        assert_eq!(exported["held_in"]["price_exposures"], 1);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["price_exposures"], 1);
        assert_eq!(
            results(app, &admin, &id)["variants"][0]["exposed"]
                .as_u64()
                .unwrap()
                + results(app, &admin, &id)["variants"][1]["exposed"]
                    .as_u64()
                    .unwrap(),
            0
        );
        assert_eq!(expose(app, &admin, &id, &sara).0, 410);
    });
}

#[test]
fn definitions_are_checked_and_fixed_once_started() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-4", 1_000_000);
        let (status, problem) = send(
            app,
            Method::POST,
            PATH,
            &admin,
            Some(json!({
                "name": "بد", "product_id": Uuid::now_v7(), "segment_id": Uuid::now_v7(), "alpha": 0.5,
                "minimum_sample_per_variant": 1,
                "variants": [{"key": "a", "unit_price": 100}, {"key": "A b", "unit_price": 0, "weight": 0}]
            })),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        for expected in [
            ("product_id", "not_found"),
            ("segment_id", "not_found"),
            ("alpha", "out_of_range"),
            ("minimum_sample_per_variant", "out_of_range"),
            ("variants", "one_control"),
            ("variants[1].key", "invalid"),
            ("variants[1].unit_price", "out_of_range"),
            ("variants[1].weight", "out_of_range"),
        ] {
            assert!(
                codes.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {codes:?}"
            );
        }

        let body = json!({"name": "چای", "product_id": tea, "minimum_sample_per_variant": 100,
            "variants": [{"key": "a", "unit_price": 100, "control": true}, {"key": "b", "unit_price": 120}]});
        let id = id_of(&create(app, &admin, body.clone()));
        assert_eq!(send(app, Method::POST, PATH, &admin, Some(body)).0, 409);
        // A draft changes freely.
        let (status, changed) = merge_patch(
            app,
            &format!("{PATH}/{id}"),
            &admin,
            &json!({"variants": [{"key": "a", "unit_price": 100, "control": true}, {"key": "c", "unit_price": 90}]}),
        );
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["variants"][1]["key"], "c");
        let twin = id_of(&create(
            app,
            &admin,
            json!({"name": "چای دوم", "product_id": tea,
            "minimum_sample_per_variant": 100,
            "variants": [{"key": "a", "unit_price": 100, "control": true}, {"key": "b", "unit_price": 120}]}),
        ));
        assert_eq!(action(app, &admin, &id, "start").0, 200);
        // One running experiment per product.
        let (status, conflict) = action(app, &admin, &twin, "start");
        assert_eq!(status, 409, "{conflict}");
        let (status, problem) = merge_patch(
            app,
            &format!("{PATH}/{id}"),
            &admin,
            &json!({"variants": [{"key": "a", "unit_price": 100, "control": true}, {"key": "b", "unit_price": 80}],
                    "alpha": 0.01}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("alpha".to_string(), "immutable".to_string()),
                ("variants".to_string(), "immutable".to_string())
            ]
        );
        let (status, renamed) = merge_patch(
            app,
            &format!("{PATH}/{id}"),
            &admin,
            &json!({"name": "چای سبز"}),
        );
        assert_eq!((status, renamed["name"].clone()), (200, json!("چای سبز")));
        assert_eq!(
            send(app, Method::DELETE, &format!("{PATH}/{id}"), &admin, None).0,
            409
        );
        let (_, listed) = send(
            app,
            Method::GET,
            &format!("{PATH}?status=running&product_id={tea}"),
            &admin,
            None,
        );
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        assert_eq!(listed["data"][0]["id"], id.as_str());
        let (_, none) = send(
            app,
            Method::GET,
            &format!("{PATH}?product_id={}", Uuid::now_v7()),
            &admin,
            None,
        );
        assert!(none["data"].as_array().unwrap().is_empty());
        assert_eq!(action(app, &admin, &id, "stop").0, 200);
        assert_eq!(
            send(app, Method::DELETE, &format!("{PATH}/{id}"), &admin, None).0,
            204
        );
        assert_eq!(
            send(app, Method::GET, &format!("{PATH}/{id}"), &admin, None).0,
            404
        );
        // The product is free for the other experiment now.
        assert_eq!(action(app, &admin, &twin, "start").0, 200);
    });
}

#[test]
fn who_may_do_what() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-5", 1_000_000);
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        let theirs = id_of(&create_customer(
            app,
            &admin,
            person("نگار", "رضایی", "09121234569", "negar@example.ir"),
        ));
        let own = id_of(&create_customer(
            app,
            &sales,
            person("مینا", "صادقی", "09121234570", "mina@example.ir"),
        ));
        let body = json!({"name": "دسترسی", "product_id": tea, "minimum_sample_per_variant": 10,
            "variants": [{"key": "a", "unit_price": 100, "control": true}, {"key": "b", "unit_price": 120}]});
        assert_eq!(
            send(app, Method::POST, PATH, &sales, Some(body.clone())).0,
            403
        );
        let id = id_of(&create(app, &admin, body));
        assert_eq!(
            merge_patch(app, &format!("{PATH}/{id}"), &sales, &json!({"name": "x"})).0,
            403
        );
        assert_eq!(action(app, &sales, &id, "start").0, 403);
        assert_eq!(action(app, &admin, &id, "start").0, 200);
        assert_eq!(
            send(app, Method::GET, &format!("{PATH}/{id}"), &sales, None).0,
            200
        );
        // Results describe every exposed customer: not for a user who sees only some.
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("{PATH}/{id}/results"),
                &sales,
                None
            )
            .0,
            403
        );
        // A customer the caller may not see is not found, and nothing is stored.
        assert_eq!(expose(app, &sales, &id, &theirs).0, 404);
        assert_eq!(expose(app, &sales, &id, &own).0, 201);
        // A shop's key sends exposures but reads nothing.
        let (status, key) = send(
            app,
            Method::POST,
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "shop", "scopes": ["events:write"]})),
        );
        assert_eq!(status, 201, "{key}");
        let shop = key["key"].as_str().unwrap();
        assert_eq!(expose(app, shop, &id, &theirs).0, 201);
        assert_eq!(
            send(app, Method::GET, &format!("{PATH}/{id}"), shop, None).0,
            403
        );
        assert_eq!(action(app, &sales, &id, "stop").0, 403);
        assert_eq!(
            send(app, Method::DELETE, &format!("{PATH}/{id}"), &sales, None).0,
            403
        );
        let served = results(app, &admin, &id);
        let exposed: u64 = served["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["exposed"].as_u64().unwrap())
            .sum();
        assert_eq!(exposed, 2);
    });
}

#[test]
fn merged_customers_count_once_and_keep_their_variant() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-6", 1_000_000);
        let id = id_of(&create(
            app,
            &admin,
            json!({"name": "ادغام", "product_id": tea, "minimum_sample_per_variant": 2,
                   "variants": [{"key": "a", "unit_price": 1_000_000, "control": true},
                                {"key": "b", "unit_price": 1_100_000}]}),
        ));
        action(app, &admin, &id, "start");
        let winner = id_of(&create_customer(
            app,
            &admin,
            person("رضا", "صالحی", "09191234000", "reza@example.ir"),
        ));
        let loser = id_of(&create_customer(
            app,
            &admin,
            person("رضا", "صالحی", "09191234001", "reza2@example.ir"),
        ));
        let lone = id_of(&create_customer(
            app,
            &admin,
            person("مهسا", "نوری", "09191234002", "mahsa@example.ir"),
        ));
        let (_, shown_loser) = expose(app, &admin, &id, &loser);
        let (_, shown_winner) = expose(app, &admin, &id, &winner);
        let (status, merged) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merged}");
        // The merged-away id answers the customer's own variant.
        let (status, again) = expose(app, &admin, &id, &loser);
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["customer_id"], winner.as_str());
        assert_eq!(again["variant"], shown_winner["variant"]);
        buy(
            app,
            &admin,
            &winner,
            json!([{"product_id": tea, "quantity": 1}]),
            "paid",
        );
        // The lone customer was merged into nobody: its exposure is simply its own.
        let (_, shown_lone) = expose(app, &admin, &id, &lone);
        let served = results(app, &admin, &id);
        let exposed: u64 = served["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["exposed"].as_u64().unwrap())
            .sum();
        let converted: u64 = served["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["converted"].as_u64().unwrap())
            .sum();
        // Two customers now (the merged pair counts once), one purchase counted once.
        assert_eq!(
            (exposed, converted),
            (2, 1),
            "{served} {shown_loser} {shown_lone}"
        );
        let winning = served["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == shown_winner["variant"])
            .unwrap()
            .clone();
        assert_eq!(winning["converted"], 1);

        // A product under test stays; a deactivated one shows no more test prices.
        assert_eq!(
            send(
                app,
                Method::DELETE,
                &format!("/api/v1/products/{tea}"),
                &admin,
                None
            )
            .0,
            409
        );
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/products/{tea}"),
            &admin,
            &json!({"active": false}),
        );
        assert_eq!(status, 200);
        assert_eq!(expose(app, &admin, &id, &lone).0, 409);
    });
}

#[test]
fn the_sample_size_follows_the_effect_and_the_variants() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let size = |query: &str| {
            send(
                app,
                Method::GET,
                &format!("{PATH}/sample-size?{query}"),
                &admin,
                None,
            )
        };
        // 10 % to 12 %, alpha 0.05, power 0.8: 3,841 per arm (Fleiss).
        let (status, two) = size("baseline_rate=0.10&minimum_detectable_rate=0.12");
        assert_eq!(status, 200, "{two}");
        let per_variant = two["per_variant"].as_u64().unwrap();
        assert!((3830..=3850).contains(&per_variant), "{two}");
        assert_eq!(two["total"].as_u64().unwrap(), 2 * per_variant);
        // Three variants: each comparison at 0.025 needs more.
        let (_, three) = size("baseline_rate=0.10&minimum_detectable_rate=0.12&variants=3");
        assert_eq!(three["alpha_per_comparison"], 0.025);
        assert!(three["per_variant"].as_u64().unwrap() > per_variant);
        let (status, problem) = size("baseline_rate=0.10&minimum_detectable_rate=0.10&power=0.3");
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                (
                    "minimum_detectable_rate".to_string(),
                    "out_of_range".to_string()
                ),
                ("power".to_string(), "out_of_range".to_string())
            ]
        );
    });
}
