//! Next best offers (M-6) on a hand-made basket history: rules found by a `cross_sell`
//! run, offers ranked by expected margin rather than by confidence alone, products
//! bought since the run left out with the reason, the marketing channels from consent,
//! a customer without recommendations, the limit, and visibility.

use reqwest::Method;
use serde_json::{json, Value};

use crate::analytics::{finished_run, start};
use e2e::support::{create_customer, field_codes, for_each_backend, id_of, send, TestApp};

fn product(app: &TestApp, token: &str, sku: &str, price: i64, cost: Option<i64>) -> String {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/products",
        token,
        Some(
            json!({"sku": sku, "name": format!("کالا {sku}"), "unit_price": price, "unit_cost": cost}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

fn buy(app: &TestApp, token: &str, customer: &str, placed_at: Option<&str>, products: &[&String]) {
    let lines: Vec<Value> = products
        .iter()
        .map(|p| json!({"product_id": p, "quantity": 1}))
        .collect();
    let mut body = json!({"customer_id": customer, "status": "paid", "lines": lines});
    if let Some(at) = placed_at {
        body["placed_at"] = at.into();
    }
    let (status, order) = send(app, Method::POST, "/api/v1/orders", token, Some(body));
    assert_eq!(status, 201, "{order}");
}

fn offers(app: &TestApp, token: &str, customer: &str, query: &str) -> (u16, Value) {
    send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{customer}/next-best-offers{query}"),
        token,
        None,
    )
}

/// Nine baskets: tea in seven; sugar and cake in three each, always with tea (one
/// basket has all three); two of milk alone. tea → sugar and tea → cake have
/// confidence 3/7 and lift (3/7)/(3/9) = 9/7; sugar and cake together are in one basket,
/// under the support asked for.
#[test]
fn offers_rank_by_expected_margin_and_leave_out_what_was_bought_since() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "NB-TEA", 100, Some(40));
        let sugar = product(app, &admin, "NB-SUGAR", 50, None);
        let cake = product(app, &admin, "NB-CAKE", 300, Some(100));
        let milk = product(app, &admin, "NB-MILK", 70, None);
        let customers: Vec<String> = (1..=9)
            .map(|n| {
                id_of(&create_customer(
                    app,
                    &admin,
                    json!({"kind": "person", "first_name": "سبد", "last_name": format!("N{n}")}),
                ))
            })
            .collect();
        for (who, products) in [
            (0, vec![&tea, &sugar]),
            (1, vec![&tea, &sugar]),
            (2, vec![&tea, &cake]),
            (3, vec![&tea, &cake]),
            (4, vec![&tea, &sugar, &cake]),
            (5, vec![&tea]),
            (6, vec![&tea]),
            (7, vec![&milk]),
            (8, vec![&milk]),
        ] {
            buy(
                app,
                &admin,
                &customers[who],
                Some("2026-05-10T08:30:00Z"),
                &products,
            );
        }
        let run = finished_run(
            app,
            &admin,
            start(
                app,
                &admin,
                json!({"kind": "cross_sell", "parameters": {"as_of": "2026-06-30",
                       "lookback_days": 90, "min_support": 0.2, "min_confidence": 0.4,
                       "min_lift": 1.01}}),
            ),
        );
        assert_eq!(run["status"], "succeeded", "{run}");
        let (x, y) = (&customers[5], &customers[6]);
        let (status, consent) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{x}/consents"),
            &admin,
            Some(
                json!({"channel": "sms", "purpose": "marketing", "granted": true, "source": "web_form"}),
            ),
        );
        assert_eq!(status, 201, "{consent}");

        // Equal confidence: cake's margin (300 − 100) beats sugar's price (50).
        let (status, found) = offers(app, &admin, x, "");
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["cross_sell_run_id"], run["id"]);
        assert_eq!(found["marketing_channels"], json!(["sms"]));
        let skus: Vec<&str> = found["offers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["sku"].as_str().unwrap())
            .collect();
        assert_eq!(skus, ["NB-CAKE", "NB-SUGAR"], "{found}");
        let first = &found["offers"][0];
        assert!((first["expected_value"].as_f64().unwrap() - 3.0 / 7.0 * 200.0).abs() < 1e-9);
        assert_eq!(
            first["reasons"][0],
            json!({"kind": "bought_together", "because_of": tea,
                   "confidence": first["confidence"], "lift": first["reasons"][0]["lift"]})
        );
        assert!((first["reasons"][0]["lift"].as_f64().unwrap() - 9.0 / 7.0).abs() < 1e-9);
        assert_eq!(
            first["reasons"][1],
            json!({"kind": "margin", "margin": 200, "cost_known": true})
        );
        assert_eq!(found["excluded"], json!([]));
        let (_, one) = offers(app, &admin, x, "?limit=1");
        assert_eq!(one["offers"].as_array().unwrap().len(), 1);

        // Y bought cake after the run: it is left out, with when.
        buy(app, &admin, y, None, &[&cake]);
        let (_, found) = offers(app, &admin, y, "");
        assert_eq!(found["offers"][0]["sku"], "NB-SUGAR", "{found}");
        assert_eq!(found["offers"].as_array().unwrap().len(), 1);
        assert_eq!(found["excluded"][0]["product_id"], cake.as_str());
        assert_eq!(found["excluded"][0]["reason"]["kind"], "already_bought");
        assert_eq!(found["marketing_channels"], json!([]));

        // Nothing recommended to a milk buyer.
        let (_, none) = offers(app, &admin, &customers[7], "");
        assert_eq!(
            (none["offers"].clone(), none["cross_sell_run_id"].clone()),
            (json!([]), Value::Null)
        );

        let (status, problem) = offers(app, &admin, x, "?limit=0");
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("limit".to_string(), "out_of_range".to_string())]
        );
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        assert_eq!(offers(app, &sales, x, "").0, 404);
    });
}
