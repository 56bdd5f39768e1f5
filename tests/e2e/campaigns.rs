//! Marketing campaigns (M-2, A-4): an SMS campaign to a static segment through a local
//! server speaking Kavenegar's API reaches only the members who consented to
//! marketing and have a number; its links are tracked per recipient; its figures on a
//! hand-made history — delivery report, clicks, a reply, purchases by a recipient and
//! by code, a refund, purchases that do not count — are checked one by one, with its
//! costs, CPA, ROI and goal; the rules of the definition and launch; who may do what;
//! the acquisition cost report; erasure and the personal-data export.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::channel_replies::{spawn, ProviderStub};
use crate::order_imports::product;
use e2e::support::{
    backends, create_customer, created, field_codes, id_of, merge_patch, person, send, TestApp,
};

const PATH: &str = "/api/v1/campaigns";

fn consent(app: &TestApp, token: &str, customer: &str, purpose: &str, granted: bool) {
    created(
        app,
        token,
        &format!("/api/v1/customers/{customer}/consents"),
        json!({"channel": "sms", "purpose": purpose, "granted": granted, "source": "web_form"}),
    );
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

/// The campaign once its sending job has finished (or as it is after a minute).
fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, campaign) = send(app, Method::GET, &format!("{PATH}/{id}"), token, None);
        assert_eq!(status, 200, "{campaign}");
        if ["sent", "cancelled", "failed"].contains(&campaign["status"].as_str().unwrap())
            || Instant::now() > deadline
        {
            return campaign;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the provider stub got `count` SMS sends; their bodies.
fn sms_sent(stub: &ProviderStub, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sent: Vec<String> = stub
            .received()
            .into_iter()
            .filter(|call| call.path.ends_with("/sms/send.json"))
            .map(|call| call.body)
            .collect();
        if sent.len() >= count || Instant::now() > deadline {
            return sent;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `message=` of a form body, decoded.
fn form_value(body: &str, name: &str) -> String {
    reqwest::Url::parse(&format!("http://form.invalid/?{body}"))
        .expect("a form body")
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn order(app: &TestApp, token: &str, body: Value) -> Value {
    created(app, token, "/api/v1/orders", body)
}

#[test]
fn a_campaign_reaches_consenting_members_tracks_its_links_and_counts_what_it_brought() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        let sms = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط تبلیغات", "settings": {"provider_account_id": "10004346"},
                   "credentials": {"api_key": "KAVE-KEY"}}),
        );
        let base = sms["webhook_path"].as_str().unwrap().to_string();
        // Sara said yes to marketing by SMS; Reza never was asked; Mina said yes but
        // has no number; Omid is not in the segment at all.
        let sara = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        let reza = id_of(&create_customer(
            &app,
            &admin,
            person("رضا", "کریمی", "09127654321", "reza@example.ir"),
        ));
        let mina = id_of(&create_customer(
            &app,
            &admin,
            json!({"kind": "person", "first_name": "مینا", "last_name": "بی‌شماره"}),
        ));
        let omid = id_of(&create_customer(
            &app,
            &admin,
            person("امید", "رستمی", "09351112233", "omid@example.ir"),
        ));
        consent(&app, &admin, &sara, "marketing", true);
        consent(&app, &admin, &mina, "marketing", true);
        let segment = id_of(&created(
            &app,
            &admin,
            "/api/v1/segments",
            json!({"name": "مشتریان یلدا", "kind": "static"}),
        ));
        let (status, added) = send(
            &app,
            Method::POST,
            &format!("/api/v1/segments/{segment}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [sara, reza, mina]})),
        );
        assert_eq!(status, 200, "{added}");

        let body = json!({
            "name": "جشنواره یلدا", "code": "yalda-1405", "channel": "sms",
            "segment_id": segment,
            "message": {"channel_account_id": id_of(&sms),
                        "body": "یلدا مبارک! ۲۰٪ تخفیف: https://shop.example.ir/yalda یا https://shop.example.ir/یلدا"},
            "budget": 1_000_000,
            "goal": {"metric": "conversions", "target": 4},
            "attribution_window_days": 14
        });
        let campaign = created(&app, &admin, PATH, body.clone());
        let id = id_of(&campaign);
        assert_eq!(campaign["status"], "draft");
        assert!(campaign["launched_at"].is_null());

        // The code is the campaign's name in orders: it is unique.
        let (status, problem) = send(&app, Method::POST, PATH, &admin, Some(body.clone()));
        assert_eq!(status, 409, "{problem}");

        let (status, launched) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{id}/launch"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{launched}");
        assert_eq!(launched["status"], "scheduled");
        let done = finished(&app, &admin, &id);
        assert_eq!(done["status"], "sent", "{done}");
        assert!(done["completed_at"].is_string());

        // Only Sara's number got the text, its link replaced by her tracked one.
        let sent = sms_sent(&stub, 1);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(form_value(&sent[0], "receptor"), "09121234567");
        let text = form_value(&sent[0], "message");
        assert!(!text.contains("https://shop.example.ir/yalda"), "{text}");
        let tracked = domain::campaigns::links_in(&text)
            .into_iter()
            .find(|link| link.contains("/api/v1/campaign-links/"))
            .unwrap_or_else(|| panic!("a tracked link in {text}"));
        let path = tracked
            .split_once("/api/v1/")
            .map(|(_, rest)| format!("/api/v1/{rest}"))
            .unwrap();
        let no_redirects = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for _ in 0..2 {
            let response = no_redirects.get(app.url(&path)).send().unwrap();
            assert_eq!(response.status(), 302);
            assert_eq!(
                response.headers()["location"],
                "https://shop.example.ir/yalda"
            );
        }
        let (token, _) = path
            .trim_start_matches("/api/v1/campaign-links/")
            .split_once('/')
            .unwrap();
        // A Persian address goes out percent-encoded.
        let response = no_redirects
            .get(app.url(&format!("/api/v1/campaign-links/{token}/1")))
            .send()
            .unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(
            response.headers()["location"],
            "https://shop.example.ir/%DB%8C%D9%84%D8%AF%D8%A7"
        );
        for unknown in [
            format!("/api/v1/campaign-links/{token}/7"),
            "/api/v1/campaign-links/not-a-token/0".to_string(),
            "/api/v1/campaign-opens/not-a-token".to_string(),
        ] {
            let response = no_redirects.get(app.url(&unknown)).send().unwrap();
            assert_eq!(response.status(), 404, "{unknown}");
        }

        // Kavenegar reports the delivery; Sara answers.
        let settle = Instant::now() + Duration::from_secs(30);
        let provider_id = loop {
            let (_, page) = send(&app, Method::GET, "/api/v1/conversations", &admin, None);
            let conversation = page["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["customer_id"] == sara)
                .cloned();
            let messages = conversation.map(|row| {
                send(
                    &app,
                    Method::GET,
                    &format!("/api/v1/conversations/{}/messages", id_of(&row)),
                    &admin,
                    None,
                )
                .1
            });
            let provider =
                messages.and_then(|page| {
                    page["data"].as_array().unwrap().iter().find_map(|message| {
                        message["provider_message_id"].as_str().map(str::to_string)
                    })
                });
            if let Some(provider) = provider {
                break provider;
            }
            assert!(Instant::now() < settle, "the campaign message was not sent");
            std::thread::sleep(Duration::from_millis(50));
        };
        for (path, form) in [
            ("delivery", format!("messageid={provider_id}&status=10")),
            (
                "received",
                "messageid=in-yalda&from=09121234567&to=10004346&message=ممنون".to_string(),
            ),
        ] {
            let response = app
                .client()
                .post(app.url(&format!("{base}/{path}")))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .unwrap();
            assert_eq!(response.status(), 200);
        }

        // What it brought: Sara bought after her text (2,000,000, of which 500,000 was
        // refunded); Omid's order names the campaign (1,000,000); Reza, who was not
        // sent anything, bought too, and Omid's pending order is no purchase.
        let tea = product(&app, &admin, "YALDA-TEA", 500_000);
        let bought = order(
            &app,
            &admin,
            json!({"customer_id": sara, "status": "paid",
                   "lines": [{"product_id": tea, "quantity": 4}]}),
        );
        let (status, refund) = send(
            &app,
            Method::POST,
            &format!("/api/v1/orders/{}/returns", id_of(&bought)),
            &admin,
            Some(
                json!({"lines": [{"order_line_id": bought["lines"][0]["id"], "quantity": 1}],
                        "reason": "دیر رسید"}),
            ),
        );
        assert_eq!(status, 201, "{refund}");
        order(
            &app,
            &admin,
            json!({"customer_id": omid, "status": "paid", "campaign": "yalda-1405",
                   "lines": [{"product_id": tea, "quantity": 2}]}),
        );
        order(
            &app,
            &admin,
            json!({"customer_id": reza, "status": "paid",
                   "lines": [{"product_id": tea, "quantity": 1}]}),
        );
        order(
            &app,
            &admin,
            json!({"customer_id": omid, "status": "pending", "campaign": "yalda-1405",
                   "lines": [{"product_id": tea, "quantity": 9}]}),
        );
        // The business day in Tehran (UTC+3:30 all year).
        let today = (Utc::now() + chrono::TimeDelta::minutes(210))
            .date_naive()
            .to_string();
        for amount in [300_000, 200_000] {
            let cost = created(
                &app,
                &admin,
                &format!("{PATH}/{id}/costs"),
                json!({"amount": amount, "incurred_on": today, "note": "پیامک انبوه"}),
            );
            assert_eq!(cost["amount"], amount);
        }

        let figures = results(&app, &admin, &id);
        let expected = json!({
            "reach": 1, "skipped_no_consent": 1, "skipped_no_address": 1,
            "skipped_unsendable": 0, "failed": 0, "delivered": 1,
            // A click means it was read.
            "opened": 1, "clicked": 1, "clicks": 3, "replies": 1,
            "conversions": 2, "orders": 2,
            // 2,000,000 − 500,000 + 1,000,000.
            "revenue": 2_500_000,
            "cost": 500_000, "budget": 1_000_000, "budget_remaining": 500_000,
            "cost_per_acquisition": 250_000,
            // (2,500,000 − 500,000) / 500,000.
            "roi": 4.0,
            "delivery_rate": 1.0, "open_rate": 1.0, "click_rate": 1.0,
            // Sara of the one reached; Omid bought by the code.
            "converted_recipients": 1, "conversion_rate": 1.0,
            "goal": {"metric": "conversions", "target": 4, "actual": 2, "achievement": 0.5},
        });
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&figures[key], value, "{key}: {figures}");
        }

        // Launched: the audience, message and code stay; the budget and goal change.
        let (status, problem) = merge_patch(
            &app,
            &format!("{PATH}/{id}"),
            &admin,
            &json!({"code": "other", "segment_id": null}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![
                ("code".into(), "immutable".into()),
                ("segment_id".into(), "immutable".into())
            ]
        );
        let (status, changed) = merge_patch(
            &app,
            &format!("{PATH}/{id}"),
            &admin,
            &json!({"budget": 400_000, "goal": {"metric": "revenue", "target": 5_000_000}}),
        );
        assert_eq!(status, 200, "{changed}");
        let figures = results(&app, &admin, &id);
        assert_eq!(figures["budget_remaining"], -100_000);
        assert_eq!(figures["goal"]["achievement"], 0.5);
        for (verb, status) in [("launch", 409), ("cancel", 409)] {
            let (code, _) = send(
                &app,
                Method::POST,
                &format!("{PATH}/{id}/{verb}"),
                &admin,
                None,
            );
            assert_eq!(code, status, "{verb}");
        }
        let (status, _) = send(&app, Method::DELETE, &format!("{PATH}/{id}"), &admin, None);
        assert_eq!(status, 409, "a campaign that went out stays");

        // The acquisition cost report: costs by the day spent, customers by the
        // campaign or channel their record names.
        let acquired = id_of(&create_customer(
            &app,
            &admin,
            json!({"kind": "person", "last_name": "جذب‌شده", "acquisition_channel": "sms",
                   "acquisition_campaign": "yalda-1405"}),
        ));
        let cheap = created(
            &app,
            &admin,
            "/api/v1/products",
            json!({"sku": "COSTED", "name": "کالا", "unit_price": 300_000, "unit_cost": 100_000}),
        );
        order(
            &app,
            &admin,
            json!({"customer_id": acquired, "status": "paid",
                   "lines": [{"product_id": id_of(&cheap), "quantity": 2}]}),
        );
        for (group, key) in [("campaign", "yalda-1405"), ("channel", "sms")] {
            let (status, report) = send(
                &app,
                Method::GET,
                &format!(
                    "/api/v1/reports/acquisition-cost?from={today}&to={today}&group_by={group}"
                ),
                &admin,
                None,
            );
            assert_eq!(status, 200, "{report}");
            let row = report["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["key"] == key)
                .unwrap_or_else(|| panic!("{key} in {report}"))
                .clone();
            assert_eq!(row["cost"], 500_000, "{row}");
            assert_eq!(row["acquired"], 1, "{row}");
            assert_eq!(row["cac"], 500_000, "{row}");
            // 2 × (300,000 − 100,000).
            assert_eq!(row["gross_margin"], 400_000, "{row}");
            assert!(row["average_clv"].is_null(), "no clv run yet: {row}");
            let payback = row["payback_months"].as_f64().unwrap();
            assert!(payback > 0.0, "{row}");
        }
        // The profitability report's acquisition cost column: the one customer the
        // campaign acquired bears all its cost.
        let (status, profit) = send(
            &app,
            Method::GET,
            &format!("/api/v1/reports/profitability?from={today}&to={today}&group_by=customer"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{profit}");
        assert_eq!(profit["totals"]["acquisition_cost"], 500_000, "{profit}");
        for group in profit["groups"].as_array().unwrap() {
            let expected = if group["key"] == acquired.as_str() {
                json!(500_000)
            } else {
                Value::Null
            };
            assert_eq!(group["figures"]["acquisition_cost"], expected, "{group}");
        }
        let (status, problem) = send(
            &app,
            Method::GET,
            "/api/v1/reports/acquisition-cost?from=2026-12-02&to=2026-12-01",
            &admin,
            None,
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("to".into(), "before_from".into())]
        );

        // Sara's receipt is in her personal data; erasure takes it, and the figures
        // lose her.
        let (_, exported) = send(
            &app,
            Method::GET,
            &format!("/api/v1/customers/{sara}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(exported["held_in"]["campaign_receipts"], 1, "{exported}");
        assert_eq!(exported["campaign_receipts"][0]["outcome"], "sent");
        assert_eq!(exported["campaign_receipts"][0]["clicks"], 3);
        let (status, erased) = send(
            &app,
            Method::POST,
            &format!("/api/v1/customers/{sara}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["campaign_receipts"], 1, "{erased}");
        let figures = results(&app, &admin, &id);
        assert_eq!(figures["reach"], 0, "{figures}");
        assert_eq!(figures["clicks"], 0, "{figures}");
    }
}

#[test]
fn campaign_rules_and_rights() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;

        // Every broken rule named at once.
        let (status, problem) = send(
            &app,
            Method::POST,
            PATH,
            &admin,
            Some(json!({"name": " ", "code": "c1", "channel": "sms",
                        "segment_id": uuid::Uuid::now_v7(),
                        "message": {"channel_account_id": uuid::Uuid::now_v7()},
                        "budget": -5, "attribution_window_days": 400})),
        );
        assert_eq!(status, 422, "{problem}");
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            vec![
                ("attribution_window_days".into(), "out_of_range".into()),
                ("budget".into(), "out_of_range".into()),
                ("message.body".into(), "required".into()),
                ("message.channel_account_id".into(), "not_found".into()),
                ("name".into(), "required".into()),
                ("segment_id".into(), "not_found".into()),
            ]
        );
        let (status, problem) = send(
            &app,
            Method::POST,
            PATH,
            &admin,
            Some(json!({"name": "x", "code": "c1", "channel": "sms", "surprise": 1})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("surprise".into(), "unknown_field".into())]
        );

        // An advertisement: no message, so nothing to launch, but measured by its code.
        let billboard = created(
            &app,
            &sales,
            PATH,
            json!({"name": "بیلبورد همت", "code": "billboard-1405", "channel": "outdoor"}),
        );
        let id = id_of(&billboard);
        let (status, problem) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{id}/launch"),
            &admin,
            None,
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![
                ("segment_id".into(), "required".into()),
                ("message".into(), "required".into())
            ]
        );
        // Cost entries are checked.
        let (status, problem) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{id}/costs"),
            &sales,
            Some(json!({"amount": 0, "incurred_on": "2026-12-01"})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("amount".into(), "out_of_range".into())]
        );
        let cost = created(
            &app,
            &sales,
            &format!("{PATH}/{id}/costs"),
            json!({"amount": 90_000_000, "incurred_on": "2026-12-01"}),
        );
        let (_, listed) = send(
            &app,
            Method::GET,
            &format!("{PATH}/{id}/costs"),
            &sales,
            None,
        );
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        let (status, _) = send(
            &app,
            Method::DELETE,
            &format!("{PATH}/{id}/costs/{}", id_of(&cost)),
            &sales,
            None,
        );
        assert_eq!(status, 204);
        let (status, _) = send(
            &app,
            Method::DELETE,
            &format!("{PATH}/{id}/costs/{}", id_of(&cost)),
            &sales,
            None,
        );
        assert_eq!(status, 404);

        // Sales staff plan campaigns; launching, cancelling and deleting are for
        // those who configure the CRM, and the results (every recipient and buyer)
        // for those who see all customers.
        for (method, path) in [
            (Method::POST, format!("{PATH}/{id}/launch")),
            (Method::POST, format!("{PATH}/{id}/cancel")),
            (Method::DELETE, format!("{PATH}/{id}")),
            (Method::GET, format!("{PATH}/{id}/results")),
        ] {
            let (status, _) = send(&app, method.clone(), &path, &sales, None);
            assert_eq!(status, 403, "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, PATH.to_string()),
            (Method::GET, format!("{PATH}/{id}")),
            (Method::GET, format!("{PATH}/{id}/results")),
            (Method::POST, format!("{PATH}/{id}/costs")),
        ] {
            let status = app
                .client()
                .request(method.clone(), app.url(&path))
                .send()
                .unwrap()
                .status();
            assert_eq!(status, 401, "{method} {path}");
        }
        let (status, listed) = send(
            &app,
            Method::GET,
            &format!("{PATH}?channel=outdoor"),
            &sales,
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);

        // Out of range: a schedule years away, a cost on a day out of the calendar's
        // range, costs past the ceiling.
        let (status, problem) = merge_patch(
            &app,
            &format!("{PATH}/{id}"),
            &sales,
            &json!({"scheduled_at": "+10000-01-01T00:00:00Z"}),
        );
        assert_eq!(status, 422, "{problem}");
        let (status, problem) = merge_patch(
            &app,
            &format!("{PATH}/{id}"),
            &sales,
            &json!({"scheduled_at": "2031-01-01T00:00:00Z"}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("scheduled_at".into(), "out_of_range".into())]
        );
        let (status, problem) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{id}/costs"),
            &sales,
            Some(json!({"amount": 5, "incurred_on": "2300-01-01"})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("incurred_on".into(), "out_of_range".into())]
        );
        let ceiling = domain::campaigns::MAX_AMOUNT;
        created(
            &app,
            &sales,
            &format!("{PATH}/{id}/costs"),
            json!({"amount": ceiling, "incurred_on": "2026-12-01"}),
        );
        let (status, problem) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{id}/costs"),
            &sales,
            Some(json!({"amount": 1, "incurred_on": "2026-12-01"})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("amount".into(), "exceeds_total".into())]
        );
        // The acquisition cost report counts every cost: it needs visibility `all`.
        let (status, _) = send(
            &app,
            Method::GET,
            "/api/v1/reports/acquisition-cost?from=2026-12-01&to=2026-12-01",
            &sales,
            None,
        );
        assert_eq!(status, 403);

        // A draft is cancelled, then deleted.
        let (status, cancelled) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{id}/cancel"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(cancelled["status"], "cancelled");
        let (status, _) = send(&app, Method::DELETE, &format!("{PATH}/{id}"), &admin, None);
        assert_eq!(status, 204);
        let (status, _) = send(&app, Method::GET, &format!("{PATH}/{id}"), &admin, None);
        assert_eq!(status, 404);
    }
}

#[test]
fn a_campaign_whose_account_is_deactivated_after_its_launch_fails_with_the_reason() {
    use diesel::prelude::*;
    use persistence::schema::jobs;
    use persistence::sql_types::DbTime;

    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        let sms = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط", "settings": {"provider_account_id": "10004346"},
                   "credentials": {"api_key": "KAVE-KEY"}}),
        );
        let sara = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        consent(&app, &admin, &sara, "marketing", true);
        let segment = id_of(&created(
            &app,
            &admin,
            "/api/v1/segments",
            json!({"name": "همه", "kind": "static"}),
        ));
        send(
            &app,
            Method::POST,
            &format!("/api/v1/segments/{segment}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [sara]})),
        );
        // A link made of the customer's data is not tracked: it would differ from
        // recipient to recipient.
        let template = created(
            &app,
            &admin,
            "/api/v1/message-templates",
            json!({"name": "کد تخفیف", "channel": "sms",
                   "body_fa": "{{ customer.first_name }} عزیز: https://shop.example.ir/c/{{ customer.last_name }} و https://shop.example.ir/all"}),
        );
        let tomorrow = (Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
        let campaign = id_of(&created(
            &app,
            &admin,
            PATH,
            json!({"name": "فردا", "code": "tomorrow", "channel": "sms", "segment_id": segment,
                   "scheduled_at": tomorrow,
                   "message": {"channel_account_id": id_of(&sms), "template_id": id_of(&template)}}),
        ));
        let (status, launched) = send(
            &app,
            Method::POST,
            &format!("{PATH}/{campaign}/launch"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{launched}");
        assert_eq!(launched["status"], "scheduled");
        let (status, _) = merge_patch(
            &app,
            &format!("/api/v1/channel-accounts/{}", id_of(&sms)),
            &admin,
            &json!({"active": false}),
        );
        assert_eq!(status, 200);
        // The day comes.
        let mut conn = app.state.pool.get().expect("connection");
        diesel::update(jobs::table.filter(jobs::kind.eq("campaigns.send")))
            .set(jobs::run_at.eq(DbTime(Utc::now())))
            .execute(&mut *conn)
            .expect("job due now");
        drop(conn);
        let done = finished(&app, &admin, &campaign);
        assert_eq!(done["status"], "failed", "{done}");
        assert!(sms_sent(&stub, 0).is_empty());
        let (_, audit) = send(
            &app,
            Method::GET,
            "/api/v1/audit-events?action=campaign.fail",
            &admin,
            None,
        );
        assert!(
            audit["data"][0]["changes"]["reason"]
                .as_str()
                .unwrap()
                .contains("deactivated"),
            "{audit}"
        );
        assert_eq!(results(&app, &admin, &campaign)["reach"], 0);

        // Active again, a new campaign with the template goes out, the link made of
        // the customer's data as written and the other tracked.
        merge_patch(
            &app,
            &format!("/api/v1/channel-accounts/{}", id_of(&sms)),
            &admin,
            &json!({"active": true}),
        );
        let again = id_of(&created(
            &app,
            &admin,
            PATH,
            json!({"name": "امروز", "code": "today", "channel": "sms", "segment_id": segment,
                   "message": {"channel_account_id": id_of(&sms), "template_id": id_of(&template)}}),
        ));
        send(
            &app,
            Method::POST,
            &format!("{PATH}/{again}/launch"),
            &admin,
            None,
        );
        assert_eq!(finished(&app, &admin, &again)["status"], "sent");
        let text = form_value(&sms_sent(&stub, 1)[0], "message");
        assert!(text.starts_with("سارا عزیز"), "{text}");
        assert!(text.contains("https://shop.example.ir/c/محمدی"), "{text}");
        assert!(!text.contains("https://shop.example.ir/all"), "{text}");
        assert!(text.contains("/api/v1/campaign-links/"), "{text}");
    }
}
