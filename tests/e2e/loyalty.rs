//! Loyalty points (M-5): lots earned and redeemed from the one expiring first, a balance
//! that is never below zero under concurrent redemptions, expiry by lot, the ledger,
//! the 360 view, merges and their undo, erasure and the personal-data export, and who
//! may do what.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{create_customer, field_codes, for_each_backend, id_of, person, send, TestApp};

fn account(app: &TestApp, token: &str, customer: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{customer}/loyalty"),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn earn(app: &TestApp, token: &str, customer: &str, points: i64, days: i64) -> Value {
    let (status, body) = send(
        app,
        Method::POST,
        &format!("/api/v1/customers/{customer}/loyalty/earn"),
        token,
        Some(json!({"points": points, "reason": "خرید",
                    "expires_at": (Utc::now() + Duration::days(days)).to_rfc3339()})),
    );
    assert_eq!(status, 201, "{body}");
    body
}

fn redeem(app: &TestApp, token: &str, customer: &str, points: i64) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("/api/v1/customers/{customer}/loyalty/redeem"),
        token,
        Some(json!({"points": points, "reason": "تخفیف سفارش"})),
    )
}

fn entries(app: &TestApp, token: &str, customer: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        &format!("/api/v1/customers/{customer}/loyalty/entries?limit=200"),
        token,
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

#[test]
fn points_are_redeemed_from_the_lot_that_expires_first() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let sara = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121234567", "sara@example.ir"),
        ));
        let late = earn(app, &admin, &sara, 50, 100);
        let soon = earn(app, &admin, &sara, 30, 10);
        let late_lot = late["entries"][0]["id"].as_str().unwrap().to_string();
        let soon_lot = soon["entries"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(soon["account"]["balance"], 80);

        // 40 points: all 30 of the lot expiring in 10 days, then 10 of the other.
        let (status, redeemed) = redeem(app, &admin, &sara, 40);
        assert_eq!(status, 200, "{redeemed}");
        let taken: Vec<(String, i64)> = redeemed["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["lot_id"].as_str().unwrap().to_string(),
                    e["points"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(taken, [(soon_lot.clone(), -30), (late_lot.clone(), -10)]);
        let now = account(app, &admin, &sara);
        assert_eq!(now["balance"], 40);
        assert_eq!(now["earned_total"], 80);
        assert_eq!(now["lots"].as_array().unwrap().len(), 1);
        assert_eq!(now["lots"][0]["remaining"], 40);

        // More than the balance: refused, nothing taken.
        let (status, problem) = redeem(app, &admin, &sara, 41);
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("points".to_string(), "exceeds_balance".to_string())]
        );
        assert_eq!(account(app, &admin, &sara)["balance"], 40);

        // The ledger, newest first, and the 360 view.
        let ledger = entries(app, &admin, &sara);
        let kinds: Vec<&str> = ledger.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.len(), 4);
        assert_eq!(kinds.iter().filter(|k| **k == "redeem").count(), 2);
        let (_, overview) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{sara}/overview"),
            &admin,
            None,
        );
        assert_eq!(
            overview["loyalty"][0]["balance"], 40,
            "{}",
            overview["loyalty"]
        );

        // Rules of the inputs.
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/loyalty/earn"),
            &admin,
            Some(json!({"points": 0, "reason": " ", "expires_at": "2020-01-01T00:00:00Z"})),
        );
        assert_eq!(status, 422);
        let fields: Vec<String> = field_codes(&problem).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["points", "reason", "expires_at"]);
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/loyalty/redeem"),
            &admin,
            Some(json!({"points": 5, "reason": "a\u{0}b"})),
        );
        assert_eq!(status, 422);

        // Who may do what: a sales user sees only its own customers and may not take
        // points away; a read-only user may not earn.
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        for (method, path, body) in [
            (
                Method::GET,
                format!("/api/v1/customers/{sara}/loyalty"),
                None,
            ),
            (
                Method::GET,
                format!("/api/v1/customers/{sara}/loyalty/entries"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/customers/{sara}/loyalty/redeem"),
                Some(json!({"points": 1, "reason": "x"})),
            ),
            (
                Method::POST,
                format!("/api/v1/customers/{sara}/loyalty/earn"),
                Some(json!({"points": 1, "reason": "x"})),
            ),
        ] {
            assert_eq!(send(app, method, &path, &sales, body).0, 404, "{path}");
        }
        let (_, email, password) = app.create_user("sales", Some("all"));
        let sales_all = app.login(&email, &password).access_token;
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/loyalty/deduct"),
            &sales_all,
            Some(json!({"points": 1, "reason": "x"})),
        );
        assert_eq!(status, 403);
        let (_, email, password) = app.create_user("read_only", None);
        let reader = app.login(&email, &password).access_token;
        assert_eq!(account(app, &reader, &sara)["balance"], 40);
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/loyalty/earn"),
            &reader,
            Some(json!({"points": 1, "reason": "x"})),
        );
        assert_eq!(status, 403);
        // An admin may take points away.
        let (status, deducted) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/loyalty/deduct"),
            &admin,
            Some(json!({"points": 15, "reason": "ثبت اشتباه"})),
        );
        assert_eq!(status, 200, "{deducted}");
        assert_eq!(deducted["account"]["balance"], 25);
    });
}

#[test]
fn concurrent_redemptions_never_take_more_than_the_balance() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let ali = id_of(&create_customer(
            app,
            &admin,
            person("علی", "رضایی", "09351112233", "ali@example.ir"),
        ));
        earn(app, &admin, &ali, 60, 30);
        earn(app, &admin, &ali, 40, 60);
        let outcomes: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..10)
                .map(|_| scope.spawn(|| redeem(app, &admin, &ali, 30).0))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let succeeded = outcomes.iter().filter(|s| **s == 200).count();
        assert_eq!(succeeded, 3, "{outcomes:?}");
        assert!(
            outcomes.iter().all(|s| *s == 200 || *s == 422),
            "{outcomes:?}"
        );
        let now = account(app, &admin, &ali);
        assert_eq!(now["balance"], 10);
        // No lot went below zero.
        let ledger = entries(app, &admin, &ali);
        let taken: i64 = ledger
            .iter()
            .filter(|e| e["kind"] == "redeem")
            .map(|e| e["points"].as_i64().unwrap())
            .sum();
        assert_eq!(taken, -90);
    });
}

#[test]
fn lots_expire_first_in_first_out() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mina = id_of(&create_customer(
            app,
            &admin,
            person("مینا", "نوری", "09131110000", "mina@example.ir"),
        ));
        let customer: Uuid = mina.parse().unwrap();
        // A lot that expired yesterday (written straight to the ledger: the API gives
        // only future expiries) counts for nothing and is never redeemed from.
        let mut conn = app.state.pool.get().unwrap();
        let now = persistence::now();
        let expired = persistence::loyalty::EntryRow {
            id: persistence::sql_types::DbUuid(Uuid::now_v7()),
            customer_id: persistence::sql_types::DbUuid(customer),
            origin_customer_id: persistence::sql_types::DbUuid(customer),
            kind: "earn".into(),
            points: 70,
            lot_id: None,
            expires_at: Some(persistence::sql_types::DbTime(now - Duration::days(1))),
            reason: Some("قدیمی".into()),
            source: None,
            created_by: None,
            created_at: persistence::sql_types::DbTime(now - Duration::days(400)),
        };
        persistence::loyalty::append(&mut conn, std::slice::from_ref(&expired)).unwrap();
        earn(app, &admin, &mina, 20, 10);
        earn(app, &admin, &mina, 50, 100);
        assert_eq!(account(app, &admin, &mina)["balance"], 70);
        let (status, redeemed) = redeem(app, &admin, &mina, 25);
        assert_eq!(status, 200);
        assert!(redeemed["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["lot_id"] != json!(expired.id.0.to_string())));

        // The daily run writes off what remains of each lot expired in its window: the
        // old lot now, and, thirty days on, the one that expires in ten days (used up
        // already, so nothing) — but not the one of a hundred days.
        let written =
            application::loyalty::expire(&mut conn, now - Duration::days(2), now).unwrap();
        assert_eq!(written, 1);
        let again = application::loyalty::expire(&mut conn, now - Duration::days(2), now).unwrap();
        assert_eq!(again, 0, "a lot is written off once");
        let later = application::loyalty::expire(&mut conn, now, now + Duration::days(30)).unwrap();
        assert_eq!(later, 0);
        let ledger = entries(app, &admin, &mina);
        let expiry: Vec<&Value> = ledger.iter().filter(|e| e["kind"] == "expire").collect();
        assert_eq!(expiry.len(), 1);
        assert_eq!(expiry[0]["points"], -70);
        assert_eq!(expiry[0]["lot_id"], json!(expired.id.0.to_string()));
        assert_eq!(account(app, &admin, &mina)["balance"], 45);
        // Fifty days on, the lot of a hundred days still holds 45 points.
        let later =
            application::loyalty::expire(&mut conn, now, now + Duration::days(150)).unwrap();
        assert_eq!(later, 1);
        assert!(entries(app, &admin, &mina)
            .iter()
            .any(|e| e["kind"] == "expire" && e["points"] == -45));
    });
}

#[test]
fn merges_move_points_and_erasure_keeps_them_without_words() {
    for_each_backend(|app| {
        let admin = app.admin_token();
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
        earn(app, &admin, &winner, 10, 30);
        earn(app, &admin, &loser, 25, 30);
        let (status, merged) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merged}");
        assert_eq!(account(app, &admin, &winner)["balance"], 35);
        // A merged-away customer's account cannot change.
        assert_eq!(redeem(app, &admin, &loser, 1).0, 409);
        assert_eq!(redeem(app, &admin, &winner, 30).0, 200);
        let merge_id = merged["merge"]["id"].as_str().unwrap();
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/merges/{merge_id}/undo"),
            &admin,
            None,
        );
        assert_eq!(status, 200);
        // The loser's lot comes back with what the winner took from it.
        let (winner_now, loser_now) = (account(app, &admin, &winner), account(app, &admin, &loser));
        assert_eq!(
            winner_now["balance"].as_i64().unwrap() + loser_now["balance"].as_i64().unwrap(),
            5
        );
        assert_eq!(loser_now["earned_total"], 25);

        let (_, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{winner}/personal-data"),
            &admin,
            None,
        );
        assert!(exported["loyalty_entries"].as_array().unwrap().len() >= 2);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{winner}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert!(erased["erased"]["loyalty_entries"].as_u64().unwrap() >= 2);
        assert!(entries(app, &admin, &winner)
            .iter()
            .all(|e| e["reason"].is_null()));
        assert_eq!(redeem(app, &admin, &winner, 1).0, 409);
    });
}

#[test]
fn rules_give_points_for_paid_orders_and_events_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, problem) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"order_amount_unit": 0, "event_points": {"Bad": 5}}}),
        );
        assert_eq!(status, 422, "{problem}");
        let (status, settings) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"points_per_order_unit": 2, "order_amount_unit": 1_000_000,
                                "event_points": {"review.written": 50}, "validity_days": 90}}),
        );
        assert_eq!(status, 200, "{settings}");
        let nika = id_of(&create_customer(
            app,
            &admin,
            person("نیکا", "کامرانی", "09141112222", "nika@example.ir"),
        ));
        let (status, product) = send(
            app,
            Method::POST,
            "/api/v1/products",
            &admin,
            Some(json!({"sku": "LOY-1", "name": "کالا", "unit_price": 2_500_000})),
        );
        assert_eq!(status, 201, "{product}");
        let product = id_of(&product);
        // A pending order earns nothing; paid, 5,000,000 earns 2 × 5 = 10, once.
        let (status, order) = send(
            app,
            Method::POST,
            "/api/v1/orders",
            &admin,
            Some(json!({"customer_id": nika, "status": "pending",
                        "lines": [{"product_id": product, "quantity": 2}]})),
        );
        assert_eq!(status, 201, "{order}");
        assert_eq!(account(app, &admin, &nika)["balance"], 0);
        let (status, paid) = e2e::support::merge_patch(
            app,
            &format!("/api/v1/orders/{}", id_of(&order)),
            &admin,
            &json!({"status": "paid"}),
        );
        assert_eq!(status, 200, "{paid}");
        let (status, _) = e2e::support::merge_patch(
            app,
            &format!("/api/v1/orders/{}", id_of(&order)),
            &admin,
            &json!({"status": "fulfilled"}),
        );
        assert_eq!(status, 200);
        let now = account(app, &admin, &nika);
        assert_eq!(now["balance"], 10, "{now}");
        // Its lot lasts the rules' 90 days from when the order was placed.
        let expires: chrono::DateTime<Utc> = now["lots"][0]["expires_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let placed: chrono::DateTime<Utc> = order["placed_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires - placed, Duration::days(90));

        // Events of a rewarded name earn per event, once per event id.
        let (_, key) = send(
            app,
            Method::POST,
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "app", "scopes": ["events:write"]})),
        );
        let key = key["key"].as_str().unwrap().to_string();
        let review = Uuid::now_v7().to_string();
        for _ in 0..2 {
            let (status, _) = send(
                app,
                Method::POST,
                "/api/v1/events/batch",
                &key,
                Some(json!({"events": [
                    {"id": review, "name": "review.written", "customer": {"id": nika}},
                    {"name": "page_view", "customer": {"id": nika}}
                ]})),
            );
            assert_eq!(status, 200);
        }
        assert_eq!(account(app, &admin, &nika)["balance"], 60);
        let sources = entries(app, &admin, &nika)
            .iter()
            .filter(|e| e["kind"] == "earn")
            .count();
        assert_eq!(sources, 2);
    });
}

#[test]
fn referrals_reward_the_referrer_once_at_the_first_purchase_never_oneself() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, problem) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"referral_points": -1, "referral_link": "ftp://x/{code}"}}),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        assert!(
            codes.contains(&("loyalty.referral_points".into(), "out_of_range".into())),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("loyalty.referral_link".into(), "invalid_format".into())),
            "{codes:?}"
        );
        let (status, settings) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"referral_points": 300,
                                "referral_link": "https://shop.example.ir/r/{code}"}}),
        );
        assert_eq!(status, 200, "{settings}");
        let sara = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121234567", "sara@example.ir"),
        ));
        let (status, made) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/referral-code"),
            &admin,
            None,
        );
        assert_eq!(status, 201, "{made}");
        let code = made["code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 8);
        assert_eq!(made["link"], format!("https://shop.example.ir/r/{code}"));
        let (status, again) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/referral-code"),
            &admin,
            None,
        );
        assert_eq!((status, again["code"].clone()), (200, json!(code)));
        // Typed in lower case with a dash, the code still finds its owner.
        let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
        let (status, resolved) = send(
            app,
            Method::GET,
            &format!("/api/v1/referral-codes/{typed}"),
            &admin,
            None,
        );
        assert_eq!(
            (status, resolved["customer_id"].clone()),
            (200, json!(sara)),
            "{resolved}"
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                "/api/v1/referral-codes/ZZZZZZZZ",
                &admin,
                None
            )
            .0,
            404
        );

        let (status, product) = send(
            app,
            Method::POST,
            "/api/v1/products",
            &admin,
            Some(json!({"sku": "REF-1", "name": "کالا", "unit_price": 1_000_000})),
        );
        assert_eq!(status, 201, "{product}");
        let product = id_of(&product);
        let order = |customer: &str, status: &str| {
            let (code, body) = send(
                app,
                Method::POST,
                "/api/v1/orders",
                &admin,
                Some(json!({"customer_id": customer, "status": status,
                            "lines": [{"product_id": product, "quantity": 1}]})),
            );
            assert_eq!(code, 201, "{body}");
            body
        };
        let mut referred = person("رضا", "احمدی", "09121234568", "reza@example.ir");
        referred["referred_by_customer_id"] = json!(sara);
        let reza = id_of(&create_customer(app, &admin, referred));
        // Pending is no purchase; paid is; a second purchase earns nothing more.
        let pending = order(&reza, "pending");
        assert_eq!(account(app, &admin, &sara)["balance"], 0);
        let (status, paid) = e2e::support::merge_patch(
            app,
            &format!("/api/v1/orders/{}", id_of(&pending)),
            &admin,
            &json!({"status": "paid"}),
        );
        assert_eq!(status, 200, "{paid}");
        assert_eq!(account(app, &admin, &sara)["balance"], 300);
        order(&reza, "paid");
        assert_eq!(account(app, &admin, &sara)["balance"], 300);
        let reasons: Vec<Value> = entries(app, &admin, &sara)
            .iter()
            .map(|e| e["reason"].clone())
            .collect();
        assert_eq!(reasons, [json!("referral")]);

        // The same person under a second record (same phone) earns nothing.
        let mut twin = person("سارا", "کریمی‌نژاد", "09121234567", "sara.k@example.ir");
        twin["referred_by_customer_id"] = json!(sara);
        let response = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .header("Peyvand-Confirm-Duplicate", "true")
            .json(&twin)
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let twin: Value = response.json().unwrap();
        order(&id_of(&twin), "paid");
        assert_eq!(account(app, &admin, &sara)["balance"], 300);

        // A user who may not see Sara cannot make or read her code.
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        assert_eq!(
            send(
                app,
                Method::POST,
                &format!("/api/v1/customers/{sara}/referral-code"),
                &sales,
                None
            )
            .0,
            404
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("/api/v1/referral-codes/{code}"),
                &sales,
                None
            )
            .0,
            404
        );
        // Erasure forgets the code.
        let (_, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{sara}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(exported["referral_codes"], json!([code]));
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["referral_codes"], 1);
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("/api/v1/referral-codes/{code}"),
                &admin,
                None
            )
            .0,
            404
        );
    });
}

#[test]
fn tiers_follow_points_earned_in_the_window_up_and_down() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tier = |name: &str| {
            let (status, body) = send(
                app,
                Method::POST,
                "/api/v1/tiers",
                &admin,
                Some(json!({"name": name})),
            );
            assert_eq!(status, 201, "{body}");
            id_of(&body)
        };
        let (silver, gold, vip) = (tier("نقره‌ای"), tier("طلایی"), tier("ویژه"));
        let (status, problem) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"tiers": [{"tier_id": silver, "minimum": 100},
                                          {"tier_id": silver, "minimum": -5}],
                                "tier_window_days": 0}}),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        assert!(
            codes.contains(&("loyalty.tiers[1].minimum".into(), "out_of_range".into())),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("loyalty.tiers[1]".into(), "duplicate".into())),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("loyalty.tier_window_days".into(), "out_of_range".into())),
            "{codes:?}"
        );
        let (status, problem) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"tiers": [{"tier_id": uuid::Uuid::now_v7(), "minimum": 100}]}}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [(
                "loyalty.tiers[0].tier_id".to_string(),
                "not_found".to_string()
            )]
        );
        let (status, settings) = e2e::support::merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"loyalty": {"tiers": [{"tier_id": gold, "minimum": 500},
                                          {"tier_id": silver, "minimum": 100}],
                                "tier_window_days": 365}}),
        );
        assert_eq!(status, 200, "{settings}");
        let customer = |first: &str, phone: &str| {
            id_of(&create_customer(
                app,
                &admin,
                person(first, "وفادار", phone, &format!("{phone}@example.ir")),
            ))
        };
        let (ali, bita, cyrus, dara) = (
            customer("علی", "09131000001"),
            customer("بیتا", "09131000002"),
            customer("کوروش", "09131000003"),
            customer("دارا", "09131000004"),
        );
        earn(app, &admin, &ali, 120, 30);
        earn(app, &admin, &bita, 700, 30);
        earn(app, &admin, &cyrus, 50, 30);
        // Dara sits in a tier outside the programme: left alone.
        let (status, _) = e2e::support::merge_patch(
            app,
            &format!("/api/v1/customers/{dara}"),
            &admin,
            &json!({"tier_id": vip}),
        );
        assert_eq!(status, 200);
        earn(app, &admin, &dara, 900, 30);
        let mut conn = app.state.pool.get().unwrap();
        let now = persistence::now();
        let changes = application::loyalty::retier(&mut conn, now).unwrap();
        assert_eq!(
            (changes.upgraded, changes.downgraded),
            (2, 0),
            "{changes:?}"
        );
        let tier_of = |id: &str| {
            let (_, body) = send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{id}"),
                &admin,
                None,
            );
            body["tier_id"].clone()
        };
        assert_eq!(tier_of(&ali), json!(silver));
        assert_eq!(tier_of(&bita), json!(gold));
        assert_eq!(tier_of(&cyrus), Value::Null);
        assert_eq!(tier_of(&dara), json!(vip));
        // A year and more on, the points earned fall out of the window: down they go.
        let later = application::loyalty::retier(&mut conn, now + Duration::days(400)).unwrap();
        assert_eq!((later.upgraded, later.downgraded), (0, 2), "{later:?}");
        assert_eq!(tier_of(&bita), Value::Null);
        assert_eq!(tier_of(&dara), json!(vip));
        // Nothing to change: a run changes nothing.
        let again = application::loyalty::retier(&mut conn, now + Duration::days(400)).unwrap();
        assert_eq!((again.upgraded, again.downgraded), (0, 0));
    });
}
