//! Commerce (S-8, C-7, C-8): products, orders priced by the server, returns and
//! refunds, the purchase facts on customers, the lifecycle rules, and record visibility
//! of orders.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, merge_patch, send,
    TestApp, TEST_PASSWORD,
};

fn product(app: &TestApp, token: &str, sku: &str, price: i64) -> String {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/products",
        token,
        Some(
            json!({"sku": sku, "name": format!("کالا {sku}"), "unit_price": price, "unit_cost": price / 2}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

fn customer(app: &TestApp, token: &str, last: &str) -> String {
    id_of(&create_customer(
        app,
        token,
        json!({"kind": "person", "first_name": "مشتری", "last_name": last}),
    ))
}

fn order(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    send(app, Method::POST, "/api/v1/orders", token, Some(body))
}

fn placed(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = order(app, token, body);
    assert_eq!(status, 201, "{created}");
    created
}

fn overview(app: &TestApp, token: &str, customer: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{customer}/overview"),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn reasons(overview: &Value) -> Vec<String> {
    overview["lifecycle_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}:{}",
                t["to_stage"].as_str().unwrap(),
                t["reason"].as_str().unwrap()
            )
        })
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(id_of).collect()
}

#[test]
fn orders_are_priced_exactly_and_purchases_drive_facts_and_lifecycle() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-1", 333_333);
        let cup = product(app, &admin, "CUP-1", 1_000_000);
        let ali = customer(app, &admin, "کریمی");

        // The server prices the lines; a total the client got wrong is refused.
        let lines = json!([
            {"product_id": tea, "quantity": 3, "discount": 1},
            {"product_id": cup, "quantity": 1, "unit_price": 900_000}
        ]);
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": ali, "status": "paid", "lines": lines, "total": 1_900_000}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("total".into(), "mismatch".into())]
        );
        let placed_at = (Utc::now() - Duration::days(30)).to_rfc3339();
        let first = placed(
            app,
            &admin,
            json!({"customer_id": ali, "status": "paid", "lines": lines, "total": 1_899_998,
                   "placed_at": placed_at, "channel": "store"}),
        );
        assert_eq!(first["subtotal"], 1_899_999);
        assert_eq!(first["discount_total"], 1);
        assert_eq!(first["total"], 1_899_998);
        assert_eq!(first["lines"][0]["total"], 999_998);
        assert_eq!(first["lines"][0]["unit_cost"], 166_666);
        assert_eq!(first["lines"][1]["unit_price"], 900_000);
        assert_eq!(first["currency"], "IRR");

        // The first purchase: facts and the first-purchase rule.
        let view = overview(app, &admin, &ali);
        assert_eq!(view["purchases"]["order_count"], 1);
        assert_eq!(view["purchases"]["revenue"], 1_899_998);
        assert_eq!(view["purchases"]["average_order_value"], 1_899_998);
        assert_eq!(view["customer"]["lifecycle_stage"], "purchase");
        assert!(reasons(&view).contains(&"purchase:rule:first_purchase".to_string()));
        assert_eq!(view["orders"][0]["id"], first["id"]);
        assert_eq!(
            view["purchases"]["top_products"][0]["product_id"],
            json!(tea)
        );

        // A pending order is no purchase until it is paid; paying it repeats a purchase.
        let second = placed(
            app,
            &admin,
            json!({"customer_id": ali, "lines": [{"product_id": cup, "quantity": 2}]}),
        );
        assert_eq!(second["status"], "pending");
        assert_eq!(overview(app, &admin, &ali)["purchases"]["order_count"], 1);
        let path = format!("/api/v1/orders/{}", id_of(&second));
        let (status, paid) = merge_patch(app, &path, &admin, &json!({"status": "paid"}));
        assert_eq!(status, 200, "{paid}");
        let view = overview(app, &admin, &ali);
        assert_eq!(view["purchases"]["order_count"], 2);
        assert_eq!(view["purchases"]["revenue"], 1_899_998 + 2_000_000);
        assert_eq!(view["customer"]["lifecycle_stage"], "retention");
        assert!(reasons(&view).contains(&"retention:rule:repeat_purchase".to_string()));

        // Orders cannot go back, nor into a return state by hand.
        let (status, problem) = merge_patch(app, &path, &admin, &json!({"status": "pending"}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("status".into(), "invalid_transition".into())]
        );

        // Cancelling the paid order takes it out of the facts.
        let (status, _) = merge_patch(app, &path, &admin, &json!({"status": "cancelled"}));
        assert_eq!(status, 200);
        let view = overview(app, &admin, &ali);
        assert_eq!(view["purchases"]["order_count"], 1);
        assert_eq!(view["purchases"]["revenue"], 1_899_998);

        // Purchase facts are fields of the customer search.
        let bob = customer(app, &admin, "بی‌خرید");
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": {"and": [
                {"field": "revenue", "op": "gt", "value": 1_000_000},
                {"field": "last_order_at", "op": "lt", "value": (Utc::now() - Duration::days(7)).to_rfc3339()}
            ]}})),
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), vec![ali.clone()]);
        let (_, page) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": {"field": "order_count", "op": "eq", "value": 0}})),
        );
        assert!(ids(&page).contains(&bob));
        assert!(!ids(&page).contains(&ali));

        // Orders are searched by customer, product, period and status.
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/orders/search",
            &admin,
            Some(json!({"filter": {"and": [
                {"field": "customer_id", "op": "eq", "value": ali},
                {"field": "product_id", "op": "eq", "value": tea},
                {"field": "placed_at", "op": "gte", "value": (Utc::now() - Duration::days(60)).to_rfc3339()},
                {"field": "status", "op": "in", "value": ["paid", "fulfilled"]}
            ]}, "sort": [{"field": "placed_at", "direction": "desc"}]})),
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), vec![id_of(&first)]);

        // What orders name cannot be deleted; the business currency cannot change.
        let response = app
            .authed(Method::DELETE, &format!("/api/v1/products/{tea}"), &admin)
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");
        let response = app
            .authed(Method::DELETE, &format!("/api/v1/customers/{ali}"), &admin)
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");
        let (status, _) = merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"default_currency": "USD"}),
        );
        assert_eq!(status, 409);
    });
}

#[test]
fn bad_orders_name_every_broken_rule_and_write_nothing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-2", 100);
        let retired = product(app, &admin, "OLD-2", 100);
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/products/{retired}"),
            &admin,
            &json!({"active": false}),
        );
        assert_eq!(status, 200);
        let ali = customer(app, &admin, "بد");
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": uuid::Uuid::now_v7(), "channel": "store\nfront", "currency": "USD",
            "placed_at": (Utc::now() + Duration::days(2)).to_rfc3339(),
            "lines": [
                {"product_id": tea, "quantity": 0},
                {"product_id": retired, "quantity": 1},
                {"product_id": uuid::Uuid::now_v7(), "quantity": 1},
                {"product_id": tea, "quantity": 1, "discount": 101}
            ]}),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        for expected in [
            ("channel", "line_break"),
            ("placed_at", "in_future"),
            ("lines[0].quantity", "out_of_range"),
        ] {
            assert!(
                codes.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {codes:?}"
            );
        }
        // NUL is refused wherever it is, before any field rule.
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": ali, "notes": "a\u{0}b", "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("notes".into(), "nul_character".into())]
        );
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": uuid::Uuid::now_v7(), "currency": "USD",
            "lines": [
                {"product_id": retired, "quantity": 1},
                {"product_id": uuid::Uuid::now_v7(), "quantity": 1}
            ]}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![
                ("currency".into(), "unsupported_currency".into()),
                ("customer_id".into(), "not_found".into()),
                ("lines[0].product_id".into(), "inactive".into()),
                ("lines[1].product_id".into(), "not_found".into()),
            ]
        );
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": ali, "lines": [{"product_id": tea, "quantity": 1, "discount": 101}]}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("lines[0].discount".into(), "exceeds_line_amount".into())]
        );
        let many: Vec<Value> = (0..501)
            .map(|_| json!({"product_id": tea, "quantity": 1}))
            .collect();
        let (status, problem) = order(app, &admin, json!({"customer_id": ali, "lines": many}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("lines".into(), "invalid_length".into())]
        );
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": ali, "lines": [{"product_id": tea, "quantity": i64::MAX, "unit_price": i64::MAX}]}),
        );
        assert_eq!(status, 422, "{problem}");
        let (status, problem) = order(
            app,
            &admin,
            json!({"customer_id": ali, "placed_at": "0001-01-01T00:00:00Z",
                   "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("placed_at".into(), "out_of_range".into())]
        );
        // A taken external reference is a conflict, per source.
        let body = json!({"customer_id": ali, "source": "pos", "external_reference": "INV-1",
                          "lines": [{"product_id": tea, "quantity": 1}]});
        placed(app, &admin, body.clone());
        let (status, _) = order(app, &admin, body.clone());
        assert_eq!(status, 409);
        let mut other_source = body;
        other_source["source"] = json!("shop");
        placed(app, &admin, other_source);
        let (_, page) = send(app, Method::GET, "/api/v1/orders", &admin, None);
        assert_eq!(
            page["data"].as_array().unwrap().len(),
            2,
            "nothing else was written"
        );
        assert_eq!(overview(app, &admin, &ali)["purchases"]["order_count"], 0);
    });
}

#[test]
fn returns_refund_exactly_and_never_past_what_was_bought() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-3", 1_000_000);
        let ali = customer(app, &admin, "مرجوعی");
        // 3 units for 1,000,000 − 1 = 2,999,999 rials.
        let bought = placed(
            app,
            &admin,
            json!({"customer_id": ali, "status": "fulfilled",
                   "lines": [{"product_id": tea, "quantity": 3, "discount": 1}]}),
        );
        let line = bought["lines"][0]["id"].as_str().unwrap().to_string();
        let returns = format!("/api/v1/orders/{}/returns", id_of(&bought));
        let give_back = |quantity: i64| {
            send(
                app,
                Method::POST,
                &returns,
                &admin,
                Some(
                    json!({"lines": [{"order_line_id": line, "quantity": quantity}], "reason": "شکسته"}),
                ),
            )
        };
        let (status, first) = give_back(1);
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["return"]["refund_total"], 999_999);
        assert_eq!(first["order"]["status"], "partially_returned");
        assert_eq!(first["order"]["net_total"], 2_000_000);
        assert_eq!(
            overview(app, &admin, &ali)["purchases"]["revenue"],
            2_000_000
        );

        let (status, problem) = give_back(3);
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("lines[0].quantity".into(), "exceeds_remaining".into())]
        );
        let (status, last) = give_back(2);
        assert_eq!(status, 201);
        assert_eq!(last["return"]["refund_total"], 2_000_000);
        assert_eq!(last["order"]["status"], "returned");
        assert_eq!(last["order"]["refunded_total"], 2_999_999);
        let view = overview(app, &admin, &ali);
        assert_eq!(view["purchases"]["revenue"], 0);
        assert_eq!(view["purchases"]["order_count"], 0);
        let (status, listed) = send(app, Method::GET, &returns, &admin, None);
        assert_eq!(status, 200);
        assert_eq!(listed.as_array().unwrap().len(), 2);

        // A pending order takes no returns.
        let pending = placed(
            app,
            &admin,
            json!({"customer_id": ali, "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/orders/{}/returns", id_of(&pending)),
            &admin,
            Some(
                json!({"lines": [{"order_line_id": pending["lines"][0]["id"], "quantity": 1}], "reason": "x"}),
            ),
        );
        assert_eq!(status, 409);
    });
}

#[test]
fn two_concurrent_returns_of_the_last_unit_refund_it_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-4", 500);
        let ali = customer(app, &admin, "همزمان");
        for _ in 0..3 {
            let bought = placed(
                app,
                &admin,
                json!({"customer_id": ali, "status": "paid", "lines": [{"product_id": tea, "quantity": 1}]}),
            );
            let path = format!("/api/v1/orders/{}/returns", id_of(&bought));
            let body = json!({"lines": [{"order_line_id": bought["lines"][0]["id"], "quantity": 1}], "reason": "دوبار"});
            let statuses: Vec<u16> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..2)
                    .map(|_| {
                        scope.spawn(|| send(app, Method::POST, &path, &admin, Some(body.clone())).0)
                    })
                    .collect();
                racers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            let mut sorted = statuses.clone();
            sorted.sort();
            assert!(
                sorted == vec![201, 409] || sorted == vec![201, 422],
                "one return wins, the other is refused: {statuses:?}"
            );
            let (_, now) = send(
                app,
                Method::GET,
                &format!("/api/v1/orders/{}", id_of(&bought)),
                &admin,
                None,
            );
            assert_eq!(now["refunded_total"], 500);
            assert_eq!(now["lines"][0]["returned_quantity"], 1);
        }
    });
}

#[test]
fn merges_move_orders_to_the_winner_and_undo_moves_them_back() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-5", 1_000);
        let winner = customer(app, &admin, "برنده");
        let loser = customer(app, &admin, "بازنده");
        placed(
            app,
            &admin,
            json!({"customer_id": winner, "status": "paid", "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        let lost = placed(
            app,
            &admin,
            json!({"customer_id": loser, "status": "paid", "lines": [{"product_id": tea, "quantity": 2}]}),
        );
        let (status, merged) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merged}");
        let view = overview(app, &admin, &winner);
        assert_eq!(view["purchases"]["order_count"], 2);
        assert_eq!(view["purchases"]["revenue"], 3_000);
        let (_, moved) = send(
            app,
            Method::GET,
            &format!("/api/v1/orders/{}", id_of(&lost)),
            &admin,
            None,
        );
        assert_eq!(moved["customer_id"], json!(winner));
        let merge_id = merged["merge"]["id"].as_str().unwrap();
        let (status, undone) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/merges/{merge_id}/undo"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{undone}");
        assert_eq!(
            overview(app, &admin, &winner)["purchases"]["revenue"],
            1_000
        );
        assert_eq!(overview(app, &admin, &loser)["purchases"]["revenue"], 2_000);
        let (_, back) = send(
            app,
            Method::GET,
            &format!("/api/v1/orders/{}", id_of(&lost)),
            &admin,
            None,
        );
        assert_eq!(back["customer_id"], json!(loser));
    });
}

#[test]
fn a_sales_user_sees_only_the_orders_of_customers_they_may_see() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, _) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, TEST_PASSWORD).access_token;
        let tea = product(app, &admin, "TEA-6", 1_000);
        let theirs = customer(app, &admin, "دیگری");
        let hidden = placed(
            app,
            &admin,
            json!({"customer_id": theirs, "status": "paid", "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        let mine = id_of(&create_customer(
            app,
            &sales,
            json!({"kind": "person", "last_name": "خودم"}),
        ));
        let visible = placed(
            app,
            &sales,
            json!({"customer_id": mine, "status": "paid", "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        let hidden_path = format!("/api/v1/orders/{}", id_of(&hidden));

        let (status, _) = send(app, Method::GET, &hidden_path, &sales, None);
        assert_eq!(status, 404);
        let (status, _) = merge_patch(app, &hidden_path, &sales, &json!({"status": "fulfilled"}));
        assert_eq!(status, 404);
        let (status, _) = send(
            app,
            Method::POST,
            &format!("{hidden_path}/returns"),
            &sales,
            Some(
                json!({"lines": [{"order_line_id": hidden["lines"][0]["id"], "quantity": 1}], "reason": "x"}),
            ),
        );
        assert_eq!(status, 404);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{hidden_path}/returns"),
            &sales,
            None,
        );
        assert_eq!(status, 404);
        let (_, page) = send(app, Method::GET, "/api/v1/orders", &sales, None);
        assert_eq!(ids(&page), vec![id_of(&visible)]);
        let (_, page) = send(
            app,
            Method::POST,
            "/api/v1/orders/search",
            &sales,
            Some(json!({"filter": {"field": "customer_id", "op": "eq", "value": theirs}})),
        );
        assert!(ids(&page).is_empty());
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{theirs}/overview"),
            &sales,
            None,
        );
        assert_eq!(status, 404);
        let (status, problem) = order(
            app,
            &sales,
            json!({"customer_id": theirs, "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("customer_id".into(), "not_found".into())]
        );
        // The catalogue is read by everyone and changed only with crm:configure.
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/products/{tea}"),
            &sales,
            None,
        );
        assert_eq!(status, 200);
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/products",
            &sales,
            Some(json!({"sku": "X", "name": "x", "unit_price": 1})),
        );
        assert_eq!(status, 403);
        let (status, _) = merge_patch(
            app,
            "/api/v1/settings/lifecycle-rules",
            &sales,
            &json!({"churn": {"after_days": 1}}),
        );
        assert_eq!(status, 403);
    });
}

#[test]
fn the_churn_check_moves_lapsed_customers_once_and_buying_wins_them_back() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tea = product(app, &admin, "TEA-7", 1_000);
        let lapsed = customer(app, &admin, "قدیمی");
        let recent = customer(app, &admin, "تازه");
        let long_ago = (Utc::now() - Duration::days(200)).to_rfc3339();
        placed(
            app,
            &admin,
            json!({"customer_id": lapsed, "status": "paid", "placed_at": long_ago, "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        placed(
            app,
            &admin,
            json!({"customer_id": recent, "status": "paid", "lines": [{"product_id": tea, "quantity": 1}]}),
        );

        // Rules are configurable; windows are bounded.
        let (status, problem) = merge_patch(
            app,
            "/api/v1/settings/lifecycle-rules",
            &admin,
            &json!({"churn": {"after_days": 0}}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("churn.after_days".into(), "out_of_range".into())]
        );
        let (status, rules) = merge_patch(
            app,
            "/api/v1/settings/lifecycle-rules",
            &admin,
            &json!({"churn": {"after_days": 150}}),
        );
        assert_eq!(status, 200, "{rules}");
        assert_eq!(rules["churn"], json!({"enabled": true, "after_days": 150}));

        let mut conn = app.state.pool.get().expect("connection");
        let check =
            application::commerce::lifecycle::check_churn(&mut conn, persistence::now()).unwrap();
        assert_eq!(check.churned, 1);
        let again =
            application::commerce::lifecycle::check_churn(&mut conn, persistence::now()).unwrap();
        assert_eq!(again.churned, 0, "a second run moves nobody");
        let view = overview(app, &admin, &lapsed);
        assert_eq!(view["customer"]["lifecycle_stage"], "churned");
        assert!(reasons(&view).contains(&"churned:rule:churn".to_string()));
        assert_eq!(
            overview(app, &admin, &recent)["customer"]["lifecycle_stage"],
            "purchase"
        );

        // Two processes scheduling the same day's check leave one job.
        use application::jobs::churn_check::schedule_next;
        let (first_run, first) = schedule_next(&mut conn, persistence::now()).unwrap();
        let (second_run, second) = schedule_next(&mut conn, persistence::now()).unwrap();
        assert_eq!(first_run, second_run);
        assert!(!(first && second), "the occurrence is scheduled once");
        drop(conn);

        placed(
            app,
            &admin,
            json!({"customer_id": lapsed, "status": "paid", "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        let view = overview(app, &admin, &lapsed);
        assert_eq!(view["customer"]["lifecycle_stage"], "retention");
        assert!(reasons(&view).contains(&"retention:rule:win_back".to_string()));

        // A manual change is recorded as manual.
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/customers/{lapsed}"),
            &admin,
            &json!({"lifecycle_stage": "advocacy"}),
        );
        assert_eq!(status, 200);
        assert!(reasons(&overview(app, &admin, &lapsed)).contains(&"advocacy:manual".to_string()));
    });
}

/// Every page of a customer search with `sort`, `limit` customers at a time.
fn all_pages(app: &TestApp, token: &str, filter: Value, sort: Value, limit: u32) -> Vec<Value> {
    let mut customers = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            token,
            Some(json!({"filter": filter, "sort": sort, "limit": limit, "cursor": cursor})),
        );
        assert_eq!(status, 200, "{page}");
        customers.extend(page["data"].as_array().unwrap().iter().cloned());
        if page["has_more"] != true {
            return customers;
        }
        cursor = page["next_cursor"].clone();
    }
}

/// A paid order of `quantity` units of `product` placed `days_ago` days ago.
fn buy(app: &TestApp, token: &str, customer: &str, product: &str, quantity: i64, days_ago: i64) {
    placed(
        app,
        token,
        json!({"customer_id": customer, "status": "paid",
               "lines": [{"product_id": product, "quantity": quantity}],
               "placed_at": (Utc::now() - Duration::days(days_ago)).to_rfc3339()}),
    );
}

#[test]
fn customers_sort_by_purchase_facts_across_pages_with_empty_dates_first() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let pen = product(app, &admin, "PEN-1", 1_000);
        // (revenue in units, days since the last purchase): ties on revenue, and three
        // customers who never bought.
        let plan: [(i64, Option<i64>); 8] = [
            (5, Some(40)),
            (2, Some(3)),
            (5, Some(10)),
            (9, Some(20)),
            (0, None),
            (2, Some(60)),
            (0, None),
            (0, None),
        ];
        let mut customers = Vec::new();
        for (i, (units, days_ago)) in plan.iter().enumerate() {
            let id = customer(app, &admin, &format!("خریدار {i}"));
            if let Some(days_ago) = days_ago {
                // Two orders, so that first and last purchase differ.
                buy(app, &admin, &id, &pen, 1, days_ago + 100);
                if *units > 1 {
                    buy(app, &admin, &id, &pen, units - 1, *days_ago);
                }
            }
            customers.push((id, units * 1_000, *days_ago));
        }
        let ids = |page: &[Value]| -> Vec<String> { page.iter().map(id_of).collect() };

        // The facts are on the customer resource, read-only.
        let (_, one) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{}", customers[3].0),
            &admin,
            None,
        );
        assert_eq!(one["revenue"], 9_000, "{one}");
        assert_eq!(one["order_count"], 2);
        assert!(one["first_order_at"].as_str().unwrap() < one["last_order_at"].as_str().unwrap());

        // Revenue, descending, two at a time: every customer once, ties by id descending.
        let page = all_pages(
            app,
            &admin,
            Value::Null,
            json!([{"field": "revenue", "direction": "desc"}]),
            2,
        );
        let mut expected = customers.clone();
        expected.sort_by(|a, b| (b.1, &b.0).cmp(&(a.1, &a.0)));
        assert_eq!(
            ids(&page),
            expected.iter().map(|c| c.0.clone()).collect::<Vec<_>>()
        );
        let revenues: Vec<i64> = page
            .iter()
            .map(|c| c["revenue"].as_i64().unwrap())
            .collect();
        assert_eq!(revenues, vec![9_000, 5_000, 5_000, 2_000, 2_000, 0, 0, 0]);
        // Order count ascending, three at a time.
        let page = all_pages(
            app,
            &admin,
            Value::Null,
            json!([{"field": "order_count"}]),
            3,
        );
        let counts: Vec<i64> = page
            .iter()
            .map(|c| c["order_count"].as_i64().unwrap())
            .collect();
        assert_eq!(counts, vec![0, 0, 0, 2, 2, 2, 2, 2]);
        assert_eq!(page.len(), 8);

        // The last purchase: customers without one come before every date ascending and
        // after every date descending, pages crossing from one to the other.
        let mut with_dates: Vec<&(String, i64, Option<i64>)> =
            customers.iter().filter(|c| c.2.is_some()).collect();
        with_dates.sort_by_key(|c| std::cmp::Reverse(c.2));
        let mut never: Vec<String> = customers
            .iter()
            .filter(|c| c.2.is_none())
            .map(|c| c.0.clone())
            .collect();
        never.sort();
        let ascending: Vec<String> = never
            .iter()
            .cloned()
            .chain(with_dates.iter().map(|c| c.0.clone()))
            .collect();
        for limit in [1, 2, 4] {
            let page = all_pages(
                app,
                &admin,
                Value::Null,
                json!([{"field": "last_order_at", "direction": "asc"}]),
                limit,
            );
            assert_eq!(ids(&page), ascending, "limit {limit}");
            let page = all_pages(
                app,
                &admin,
                Value::Null,
                json!([{"field": "last_order_at", "direction": "desc"}]),
                limit,
            );
            let mut descending = ascending.clone();
            descending.reverse();
            assert_eq!(ids(&page), descending, "limit {limit}");
        }
        // First purchase, with the nulls in a multi-key sort.
        let page = all_pages(
            app,
            &admin,
            Value::Null,
            json!([{"field": "first_order_at", "direction": "desc"}, {"field": "revenue"}]),
            3,
        );
        assert_eq!(page.len(), 8);
        assert!(
            page[5..].iter().all(|c| c["first_order_at"].is_null()),
            "{page:?}"
        );

        // A filter on both facts, sorted by revenue: bought more than 1,000 and last
        // bought over a week ago.
        let page = all_pages(
            app,
            &admin,
            json!({"and": [
                {"field": "revenue", "op": "gt", "value": 1_000},
                {"field": "last_order_at", "op": "lt", "value": (Utc::now() - Duration::days(7)).to_rfc3339()}
            ]}),
            json!([{"field": "revenue", "direction": "asc"}]),
            1,
        );
        let mut expected: Vec<&(String, i64, Option<i64>)> = customers
            .iter()
            .filter(|c| c.1 > 1_000 && c.2.is_some_and(|days| days > 7))
            .collect();
        expected.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        assert_eq!(
            ids(&page),
            expected.iter().map(|c| c.0.clone()).collect::<Vec<_>>()
        );
        assert_eq!(page.len(), 4);

        // A cursor of one sort does not continue another.
        let (_, first) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"sort": [{"field": "last_order_at"}], "limit": 1})),
        );
        let response = app
            .authed(Method::POST, "/api/v1/customers/search", &admin)
            .json(&json!({"sort": [{"field": "revenue"}], "cursor": first["next_cursor"]}))
            .send()
            .unwrap();
        assert_problem(response, 400, "invalid_cursor");
    });
}

#[test]
fn a_customer_change_never_writes_the_purchase_facts() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let pen = product(app, &admin, "PEN-2", 1_500);
        let ali = customer(app, &admin, "ثابت");
        buy(app, &admin, &ali, &pen, 2, 5);
        let path = format!("/api/v1/customers/{ali}");
        let (_, before) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(before["revenue"], 3_000, "{before}");

        // The facts are no members of the writable customer.
        for (member, value) in [
            ("revenue", json!(0)),
            ("order_count", json!(0)),
            ("first_order_at", json!("2020-01-01T00:00:00Z")),
            ("last_order_at", json!("2020-01-01T00:00:00Z")),
        ] {
            let (status, problem) = merge_patch(app, &path, &admin, &json!({member: value}));
            assert_eq!(status, 422, "{problem}");
            assert_eq!(
                field_codes(&problem),
                vec![(member.to_string(), "unknown_field".to_string())]
            );
        }
        // A change of the profile keeps them, in the answer and as stored.
        let (status, changed) = merge_patch(app, &path, &admin, &json!({"title": "دکتر"}));
        assert_eq!(status, 200, "{changed}");
        let (_, after) = send(app, Method::GET, &path, &admin, None);
        for fact in ["revenue", "order_count", "first_order_at", "last_order_at"] {
            assert_eq!(changed[fact], before[fact], "{fact}");
            assert_eq!(after[fact], before[fact], "{fact}");
        }
        // A purchase after the change counts as before.
        buy(app, &admin, &ali, &pen, 1, 1);
        let (_, after) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(after["revenue"], 4_500);
        assert_eq!(after["order_count"], 2);
    });
}

#[test]
fn products_carry_custom_fields_checked_against_the_product_definitions() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let define = |body: Value| {
            let (status, field) = send(
                app,
                Method::POST,
                "/api/v1/custom-fields",
                &admin,
                Some(body),
            );
            assert_eq!(status, 201, "{field}");
            id_of(&field)
        };
        let grade = define(json!({"key": "grade", "label": "درجه", "kind": "select",
                                  "options": ["A", "B"], "entity": "product"}));
        define(
            json!({"key": "warranty_months", "label": "گارانتی", "kind": "integer", "entity": "product"}),
        );
        define(json!({"key": "branch", "label": "شعبه", "kind": "text"}));
        define(
            json!({"key": "fragile", "label": "شکستنی", "kind": "boolean", "entity": "product"}),
        );

        let create = |body: Value| send(app, Method::POST, "/api/v1/products", &admin, Some(body));
        let (status, tea) = create(json!({"sku": "TEA-9", "name": "چای", "unit_price": 100,
            "custom_fields": {"grade": "A", "warranty_months": "۱۲"}}));
        assert_eq!(status, 201, "{tea}");
        assert_eq!(
            tea["custom_fields"],
            json!({"grade": "A", "warranty_months": 12})
        );
        let path = format!("/api/v1/products/{}", id_of(&tea));
        let (_, read) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(read["custom_fields"], tea["custom_fields"]);

        // Every broken value is named, with the product's own rules, and nothing is written.
        let (status, problem) = create(json!({"sku": "", "name": "قهوه", "unit_price": 100,
            "custom_fields": {"grade": "C", "warranty_months": "many", "branch": "Vanak"}}));
        assert_eq!(status, 422, "{problem}");
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            vec![
                (
                    "custom_fields.branch".to_string(),
                    "unknown_field".to_string()
                ),
                (
                    "custom_fields.grade".to_string(),
                    "not_an_option".to_string()
                ),
                (
                    "custom_fields.warranty_months".to_string(),
                    "invalid_type".to_string()
                ),
                ("sku".to_string(), "required".to_string()),
            ]
        );
        // A customer field is no product field, and a product field no customer field.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &admin,
            Some(json!({"kind": "person", "last_name": "ب", "custom_fields": {"grade": "A"}})),
        );
        assert_eq!(status, 422, "{problem}");

        // Merge Patch: members merge, `null` removes, a bad value changes nothing.
        let (status, patched) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"custom_fields": {"grade": "B"}}),
        );
        assert_eq!(status, 200, "{patched}");
        assert_eq!(
            patched["custom_fields"],
            json!({"grade": "B", "warranty_months": 12})
        );
        let (status, problem) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"custom_fields": {"grade": "Z"}}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![(
                "custom_fields.grade".to_string(),
                "not_an_option".to_string()
            )]
        );
        let (_, read) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(
            read["custom_fields"],
            json!({"grade": "B", "warranty_months": 12})
        );

        // Product searches filter on `custom.<key>` by the field's type.
        let (status, cup) = create(json!({"sku": "CUP-9", "name": "فنجان", "unit_price": 50,
            "custom_fields": {"warranty_months": 6, "fragile": true}}));
        assert_eq!(status, 201, "{cup}");
        let found = |filter: Value| -> (u16, Vec<String>) {
            let (status, page) = send(
                app,
                Method::POST,
                "/api/v1/products/search",
                &admin,
                Some(json!({"filter": filter, "sort": [{"field": "name"}]})),
            );
            let skus = page["data"]
                .as_array()
                .map(|data| {
                    data.iter()
                        .map(|p| p["sku"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (status, skus)
        };
        let skus = |list: &[&str]| (200, list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            found(json!({"field": "custom.grade", "op": "eq", "value": "B"})),
            skus(&["TEA-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.grade", "op": "is_null", "value": true})),
            skus(&["CUP-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.grade", "op": "neq", "value": "A"})),
            skus(&["TEA-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.warranty_months", "op": "gte", "value": 10})),
            skus(&["TEA-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.warranty_months", "op": "in", "value": [6, 12]})),
            skus(&["CUP-9", "TEA-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.grade", "op": "contains", "value": "b"})),
            skus(&["TEA-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.fragile", "op": "eq", "value": true})),
            skus(&["CUP-9"])
        );
        assert_eq!(
            found(json!({"field": "custom.fragile", "op": "eq", "value": false})),
            skus(&[])
        );
        assert_eq!(
            found(json!({"field": "custom.fragile", "op": "neq", "value": false})),
            skus(&["CUP-9"])
        );
        for unknown in ["custom.branch", "custom.nope"] {
            let (status, _) = found(json!({"field": unknown, "op": "eq", "value": "x"}));
            assert_eq!(status, 422, "{unknown}");
        }
        let (status, _) =
            found(json!({"field": "custom.warranty_months", "op": "eq", "value": "many"}));
        assert_eq!(status, 422);

        // A product field with values cannot be deleted, as a customer field cannot.
        let grade_path = format!("/api/v1/custom-fields/{grade}");
        let response = app
            .authed(Method::DELETE, &grade_path, &admin)
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");
        let (status, patched) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"custom_fields": {"grade": null}}),
        );
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["custom_fields"], json!({"warranty_months": 12}));
        let response = app
            .authed(Method::DELETE, &grade_path, &admin)
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
    });
}
