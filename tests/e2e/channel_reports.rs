//! The cross-channel report (`GET /api/v1/reports/channels`, O-5) on a hand-made
//! scenario in October and November 2025 (Gregorian months, Tehran time) whose figures
//! are worked out by hand: customers writing on Telegram and SMS through the real
//! webhooks, agents' replies (an automatic and a refused one among them), a lead made
//! of an unknown sender, a deal, orders inside and outside the 30-day attribution
//! window with a refund and a cancellation, and the touchpoint paths before first
//! orders, one of them longer than the four touches a path keeps. Also visibility, a
//! caller without `records:read`, and bad parameters.
//!
//! Webhooks store a conversation when its first message arrives, and SMS messages when
//! they arrive; the scenario plays in the past, so the test moves those instants to the
//! scenario's (the message times Telegram sends are taken as they are). Agents' replies
//! are stored as the reply use case stores them once sent.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use persistence::conversations::{ConversationRow, MessageRow};
use persistence::sql_types::{DbTime, DbUuid};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::order_imports::product;
use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, merge_patch, send,
    TestApp,
};

const TELEGRAM_SECRET: &str = "report-secret-token";

fn at(instant: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(instant)
        .expect("an instant")
        .with_timezone(&Utc)
}

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn customer(
    app: &TestApp,
    token: &str,
    (first, last): (&str, &str),
    mobile: &str,
    owner: Option<Uuid>,
) -> String {
    let mut body = json!({"kind": "person", "first_name": first, "last_name": last,
                          "phones": [{"number": mobile}]});
    if let Some(owner) = owner {
        body["owner_id"] = owner.to_string().into();
    }
    id_of(&create_customer(app, token, body))
}

/// A Telegram message (`text`) or shared contact (`phone`) from `user` at `instant`.
fn telegram(
    app: &TestApp,
    path: &str,
    user: i64,
    id: i64,
    instant: &str,
    text: Option<&str>,
    phone: Option<&str>,
) {
    let mut message = json!({"message_id": id, "date": at(instant).timestamp(),
        "from": {"id": user, "is_bot": false, "first_name": "کاربر"},
        "chat": {"id": user, "type": "private"}});
    if let Some(text) = text {
        message["text"] = text.into();
    }
    if let Some(phone) = phone {
        message["contact"] = json!({"phone_number": phone, "first_name": "کاربر", "user_id": user});
    }
    let body = json!({"update_id": 500_000 + id, "message": message});
    let response = app
        .client()
        .post(app.url(path))
        .header("Content-Type", "application/json")
        .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
        .body(body.to_string())
        .send()
        .expect("webhook request");
    assert_eq!(response.status(), 200);
    let receipt: Value = response.json().unwrap();
    assert_eq!(receipt["stored"], 1, "{receipt}");
}

/// An SMS from `from` through the line's webhook, moved to `instant`.
fn sms(app: &TestApp, path: &str, id: &str, from: &str, instant: &str) {
    let body = format!("messageid={id}&from={from}&to=10004346&message=salam");
    let response = app
        .client()
        .post(app.url(&format!("{path}/received")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .expect("webhook request");
    assert_eq!(response.status(), 200);
    use persistence::schema::messages;
    let mut conn = app.state.pool.get().expect("connection");
    let moved = diesel::update(
        messages::table
            .filter(messages::channel.eq("sms"))
            .filter(messages::direction.eq("inbound"))
            .filter(messages::provider_message_id.eq(id)),
    )
    .set(messages::occurred_at.eq(DbTime(at(instant))))
    .execute(&mut conn)
    .expect("move the message");
    assert_eq!(moved, 1);
}

/// The conversation on `channel` of `customer`, or of the only lead without one.
fn conversation(app: &TestApp, channel: &str, customer: Option<&str>) -> ConversationRow {
    use persistence::schema::conversations;
    let mut conn = app.state.pool.get().expect("connection");
    let query = conversations::table
        .filter(conversations::channel.eq(channel))
        .select(ConversationRow::as_select())
        .into_boxed();
    let query = match customer {
        Some(id) => query.filter(conversations::customer_id.eq(DbUuid(id.parse().unwrap()))),
        None => query
            .filter(conversations::customer_id.is_null())
            .filter(conversations::lead_id.is_not_null()),
    };
    query.first(&mut conn).expect("the conversation")
}

/// An outbound message on `conversation` at `instant`, as the reply use case leaves it
/// once the provider took it (or refused for want of consent).
fn reply(
    app: &TestApp,
    conversation: &ConversationRow,
    instant: &str,
    status: &str,
    automatic: bool,
) {
    let mut conn = app.state.pool.get().expect("connection");
    let now = DbTime(persistence::now());
    persistence::conversations::insert_message(
        &mut conn,
        &MessageRow {
            id: DbUuid(Uuid::now_v7()),
            conversation_id: conversation.id,
            channel_account_id: conversation.channel_account_id,
            customer_id: conversation.customer_id,
            channel: conversation.channel.clone(),
            direction: "outbound".into(),
            provider_message_id: Some(Uuid::now_v7().to_string()),
            body: "پاسخ".into(),
            subject: None,
            sentiment_score: None,
            sentiment_label: None,
            scheduled_at: None,
            status: status.into(),
            automatic,
            sent_by: None,
            error: None,
            occurred_at: DbTime(at(instant)),
            created_at: now,
            updated_at: now,
        },
    )
    .expect("store the reply");
}

/// Dates every conversation from its first inbound message, as if stored then.
fn date_conversations(app: &TestApp) {
    let mut conn = app.state.pool.get().expect("connection");
    diesel::sql_query(
        "UPDATE conversations SET created_at = (SELECT MIN(m.occurred_at) FROM messages m \
         WHERE m.conversation_id = conversations.id AND m.direction = 'inbound')",
    )
    .execute(&mut conn)
    .expect("date the conversations");
}

fn order(
    app: &TestApp,
    token: &str,
    customer: &str,
    placed_at: &str,
    status: &str,
    product: &str,
    quantity: i64,
) -> Value {
    created(
        app,
        token,
        "/api/v1/orders",
        json!({"customer_id": customer, "placed_at": placed_at, "status": status,
               "lines": [{"product_id": product, "quantity": quantity}]}),
    )
}

fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("/api/v1/reports/channels?{query}"),
        token,
        None,
    );
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// A channel's figures in a list of channels.
fn channel<'a>(channels: &'a Value, name: &str) -> &'a Value {
    channels
        .as_array()
        .expect("channels")
        .iter()
        .find(|figures| figures["channel"] == name)
        .unwrap_or_else(|| panic!("{name} in {channels}"))
}

/// (in, out, automatic out, conversations, leads, deals, orders) of a channel.
fn counts(figures: &Value) -> [i64; 7] {
    [
        "messages_in",
        "messages_out",
        "automatic_out",
        "conversations",
        "leads",
        "deals",
        "orders",
    ]
    .map(|name| {
        figures[name]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}: {figures}"))
    })
}

/// (conversations, mean, p50, p90) of a channel's first responses.
fn response(figures: &Value) -> (i64, Value, Value, Value) {
    let times = &figures["first_response"];
    (
        times["conversations"].as_i64().unwrap(),
        times["mean_seconds"].clone(),
        times["p50_seconds"].clone(),
        times["p90_seconds"].clone(),
    )
}

/// (currency, orders, gross, refunds, net) per currency of a channel.
fn revenue(figures: &Value) -> Vec<(String, i64, i64, i64, i64)> {
    figures["revenue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let n = |name: &str| row[name].as_i64().unwrap();
            (
                row["currency"].as_str().unwrap().to_string(),
                n("orders"),
                n("gross"),
                n("refunds"),
                n("net"),
            )
        })
        .collect()
}

fn paths(report: &Value) -> Vec<(Vec<String>, i64)> {
    report["paths"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["path"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
                row["customers"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn path(channels: &[&str]) -> Vec<String> {
    channels.iter().map(|c| c.to_string()).collect()
}

/// In UTC (Tehran is 3:30 ahead):
///
/// - Sara (S) shares her contact on Telegram on 5 Oct at 08:00:00 and writes at 08:01;
///   an off-hours reply goes out at 08:00:30 and an agent replies at 08:03:00 (180 s).
///   She texts by SMS on 10 Oct and on Telegram again on 12 Oct, and places her first
///   order (2 × 100,000) on 15 Oct; one unit is returned (refund 100,000). Her order
///   follows both her Telegram (5 Oct) and SMS (10 Oct) conversations.
/// - An unknown Telegram user writes on 20 Oct at 07:00 and becomes a lead; a reply
///   refused at 07:01 does not count, an agent's reply at 07:10 does (600 s).
/// - Reza (R) texts by SMS on 25 Oct at 06:00, answered at 06:01 (60 s); a deal for
///   him is created on 26 Oct; he texts again on 20 Nov and places his first order
///   (5 × 100,000) on 28 Nov, 34 days after his conversation started: not attributed.
/// - Nima (N) shares his contact on Telegram on 1 Nov at 08:00, and goes SMS 2 Nov
///   10:00 (answered at 10:00:20, 20 s), Telegram 11:00, SMS 12:00, Telegram 13:00;
///   his first order (3 × 100,000) on 3 Nov, a cancelled one on 4 Nov. His touches
///   telegram → sms → telegram → sms → telegram keep the last four.
/// - Kian (K), owned by a sales user, texts by SMS on 5 Nov and orders (1 × 100,000)
///   on 6 Nov.
/// - Leila (L) orders on 10 Nov without having written.
#[test]
fn channel_figures_follow_the_messages_conversations_and_orders() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        let (status, rules) = merge_patch(
            app,
            "/api/v1/settings/lifecycle-rules",
            &admin,
            &json!({"churn": {"enabled": false}}),
        );
        assert_eq!(status, 200, "{rules}");
        let bot = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "telegram", "name": "bot", "settings": {},
                   "credentials": {"bot_token": "123456:ABC-DEF", "secret_token": TELEGRAM_SECRET}}),
        );
        let bot = bot["webhook_path"].as_str().unwrap().to_string();
        let line = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "line", "settings": {},
                   "credentials": {"api_key": "kavenegar-key"}}),
        );
        let line = line["webhook_path"].as_str().unwrap().to_string();
        let p1 = product(app, &admin, "CH-1", 100_000);

        let sara = customer(app, &admin, ("سارا", "رحیمی"), "09121000001", None);
        let reza = customer(app, &admin, ("رضا", "کاظمی"), "09121000002", None);
        let nima = customer(app, &admin, ("نیما", "صدری"), "09121000003", None);
        let kian = customer(
            app,
            &admin,
            ("کیان", "افشار"),
            "09121000004",
            Some(sales_id),
        );
        let leila = customer(app, &admin, ("لیلا", "نوروزی"), "09121000005", None);

        telegram(
            app,
            &bot,
            81001,
            1,
            "2025-10-05T08:00:00Z",
            None,
            Some("989121000001"),
        );
        telegram(
            app,
            &bot,
            81001,
            2,
            "2025-10-05T08:01:00Z",
            Some("سلام"),
            None,
        );
        sms(app, &line, "s1", "09121000001", "2025-10-10T09:00:00Z");
        telegram(
            app,
            &bot,
            81001,
            3,
            "2025-10-12T10:00:00Z",
            Some("باز هم"),
            None,
        );
        telegram(
            app,
            &bot,
            81002,
            4,
            "2025-10-20T07:00:00Z",
            Some("قیمت؟"),
            None,
        );
        sms(app, &line, "s2", "09121000002", "2025-10-25T06:00:00Z");
        sms(app, &line, "s3", "09121000002", "2025-11-20T09:00:00Z");
        telegram(
            app,
            &bot,
            81003,
            5,
            "2025-11-01T08:00:00Z",
            None,
            Some("989121000003"),
        );
        sms(app, &line, "s4", "09121000003", "2025-11-02T10:00:00Z");
        telegram(app, &bot, 81003, 6, "2025-11-02T11:00:00Z", Some("۱"), None);
        sms(app, &line, "s5", "09121000003", "2025-11-02T12:00:00Z");
        telegram(app, &bot, 81003, 7, "2025-11-02T13:00:00Z", Some("۲"), None);
        sms(app, &line, "s6", "09121000004", "2025-11-05T09:00:00Z");
        date_conversations(app);

        let sara_telegram = conversation(app, "telegram", Some(&sara));
        reply(app, &sara_telegram, "2025-10-05T08:00:30Z", "sent", true);
        reply(
            app,
            &sara_telegram,
            "2025-10-05T08:03:00Z",
            "delivered",
            false,
        );
        let lead_telegram = conversation(app, "telegram", None);
        reply(
            app,
            &lead_telegram,
            "2025-10-20T07:01:00Z",
            "refused",
            false,
        );
        reply(app, &lead_telegram, "2025-10-20T07:10:00Z", "sent", false);
        reply(
            app,
            &conversation(app, "sms", Some(&reza)),
            "2025-10-25T06:01:00Z",
            "read",
            false,
        );
        reply(
            app,
            &conversation(app, "sms", Some(&nima)),
            "2025-11-02T10:00:20Z",
            "sent",
            false,
        );

        let deal = created(
            app,
            &admin,
            "/api/v1/deals",
            json!({"title": "خرید عمده", "customer_id": reza, "amount": 1_000_000}),
        );
        {
            use persistence::schema::deals;
            let mut conn = app.state.pool.get().expect("connection");
            diesel::update(deals::table.find(DbUuid(id_of(&deal).parse().unwrap())))
                .set(deals::created_at.eq(DbTime(at("2025-10-26T10:00:00Z"))))
                .execute(&mut conn)
                .expect("date the deal");
        }
        let returned = order(app, &admin, &sara, "2025-10-15T12:00:00Z", "paid", &p1, 2);
        let (status, body) = send(
            app,
            Method::POST,
            &format!("/api/v1/orders/{}/returns", id_of(&returned)),
            &admin,
            Some(
                json!({"lines": [{"order_line_id": returned["lines"][0]["id"], "quantity": 1}],
                        "reason": "مرجوعی"}),
            ),
        );
        assert_eq!(status, 201, "{body}");
        order(app, &admin, &reza, "2025-11-28T10:00:00Z", "paid", &p1, 5);
        order(app, &admin, &nima, "2025-11-03T10:00:00Z", "paid", &p1, 3);
        order(
            app,
            &admin,
            &nima,
            "2025-11-04T10:00:00Z",
            "cancelled",
            &p1,
            4,
        );
        order(app, &admin, &kian, "2025-11-06T10:00:00Z", "paid", &p1, 1);
        order(app, &admin, &leila, "2025-11-10T10:00:00Z", "paid", &p1, 1);

        let query = "from=2025-10-01&to=2025-11-30&calendar=gregorian";
        let all = report(app, &admin, query);
        assert_eq!(all["attribution_days"], 30);
        assert_eq!(all["path_touches"], 4);
        assert_eq!(all["currency"], "IRR");
        let periods = all["periods"].as_array().unwrap();
        assert_eq!(
            periods
                .iter()
                .map(|p| (
                    p["label"].as_str().unwrap(),
                    p["start"].as_str().unwrap(),
                    p["end"].as_str().unwrap()
                ))
                .collect::<Vec<_>>(),
            [
                ("2025-10", "2025-10-01", "2025-10-31"),
                ("2025-11", "2025-11-01", "2025-11-30")
            ]
        );
        let names: Vec<&str> = periods[0]["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["channel"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "telegram",
                "whatsapp",
                "instagram",
                "sms",
                "email",
                "web_chat"
            ]
        );

        let (october, november) = (&periods[0]["channels"], &periods[1]["channels"]);
        let none = (0, Value::Null, Value::Null, Value::Null);
        // October on Telegram: Sara's 3 messages and the lead's; out the off-hours reply
        // and two agent replies (the refused one left out); both conversations answered.
        let telegram_october = channel(october, "telegram");
        assert_eq!(counts(telegram_october), [4, 3, 1, 2, 1, 0, 1]);
        assert_eq!(
            response(telegram_october),
            (2, json!(390.0), json!(180), json!(600))
        );
        let sara_order = ("IRR".to_string(), 1, 200_000, 100_000, 100_000);
        assert_eq!(revenue(telegram_october), std::slice::from_ref(&sara_order));
        // October by SMS: Sara's and Reza's conversations; Reza's deal; Sara's order.
        let sms_october = channel(october, "sms");
        assert_eq!(counts(sms_october), [2, 1, 0, 2, 0, 1, 1]);
        assert_eq!(
            response(sms_october),
            (1, json!(60.0), json!(60), json!(60))
        );
        assert_eq!(revenue(sms_october), std::slice::from_ref(&sara_order));
        // November: Nima's Telegram conversation, unanswered, led to his order.
        let telegram_november = channel(november, "telegram");
        assert_eq!(counts(telegram_november), [3, 0, 0, 1, 0, 0, 1]);
        assert_eq!(response(telegram_november), none);
        assert_eq!(
            revenue(telegram_november),
            [("IRR".to_string(), 1, 300_000, 0, 300_000)]
        );
        // November by SMS: Reza's second text (his conversation began in October), Nima's
        // two, Kian's; Nima's and Kian's conversations led to their orders.
        let sms_november = channel(november, "sms");
        assert_eq!(counts(sms_november), [4, 1, 0, 2, 0, 0, 2]);
        assert_eq!(
            response(sms_november),
            (1, json!(20.0), json!(20), json!(20))
        );
        assert_eq!(
            revenue(sms_november),
            [("IRR".to_string(), 2, 400_000, 0, 400_000)]
        );
        for period in periods {
            for quiet in ["whatsapp", "instagram", "email"] {
                let figures = channel(&period["channels"], quiet);
                assert_eq!(counts(figures), [0; 7]);
                assert_eq!(response(figures), none);
                assert_eq!(revenue(figures), []);
            }
        }

        // Over the whole range the percentiles are over all conversations.
        let totals = &all["totals"];
        assert_eq!(counts(channel(totals, "telegram")), [7, 3, 1, 3, 1, 0, 2]);
        assert_eq!(
            response(channel(totals, "telegram")),
            (2, json!(390.0), json!(180), json!(600))
        );
        assert_eq!(
            revenue(channel(totals, "telegram")),
            [("IRR".to_string(), 2, 500_000, 100_000, 400_000)]
        );
        assert_eq!(counts(channel(totals, "sms")), [6, 2, 0, 4, 0, 1, 3]);
        assert_eq!(
            response(channel(totals, "sms")),
            (2, json!(40.0), json!(20), json!(60))
        );
        assert_eq!(
            revenue(channel(totals, "sms")),
            [("IRR".to_string(), 3, 600_000, 100_000, 500_000)]
        );

        // Paths before first orders: Sara, Reza, Nima (last four of five), Kian; Leila
        // bought without writing.
        assert_eq!(all["paths"]["first_buyers"], 5);
        assert_eq!(all["paths"]["with_touches"], 4);
        assert_eq!(
            paths(&all),
            [
                (path(&["sms"]), 2),
                (path(&["telegram", "sms", "telegram"]), 1),
                (path(&["sms", "telegram", "sms", "telegram"]), 1),
            ]
        );
        let top = report(app, &admin, &format!("{query}&paths=1"));
        assert_eq!(paths(&top), [(path(&["sms"]), 2)]);

        // A week bucket cuts the same figures finer: 20 Oct is a Monday, the lead's
        // conversation is alone in its Saturday-to-Friday week.
        let weekly = report(
            app,
            &admin,
            "from=2025-10-18&to=2025-10-24&bucket=week&calendar=gregorian",
        );
        let week = &weekly["periods"][0]["channels"];
        assert_eq!(counts(channel(week, "telegram")), [1, 1, 0, 1, 1, 0, 0]);
        assert_eq!(
            response(channel(week, "telegram")),
            (1, json!(600.0), json!(600), json!(600))
        );

        // A sales user with `own` visibility sees Kian's conversation and path only.
        let mine = report(app, &sales, query);
        assert_eq!(
            counts(channel(&mine["periods"][1]["channels"], "sms")),
            [1, 0, 0, 1, 0, 0, 1]
        );
        assert_eq!(counts(channel(&mine["totals"], "telegram")), [0; 7]);
        assert_eq!(
            revenue(channel(&mine["totals"], "sms")),
            [("IRR".to_string(), 1, 100_000, 0, 100_000)]
        );
        assert_eq!(mine["paths"]["first_buyers"], 1);
        assert_eq!(paths(&mine), [(path(&["sms"]), 1)]);
    });
}

#[test]
fn channel_report_needs_records_read_and_names_bad_parameters() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let key = created(
            app,
            &admin,
            "/api/v1/api-keys",
            json!({"name": "users only", "scopes": ["users:read"]}),
        );
        let key = key["key"].as_str().unwrap().to_string();
        let response = app
            .authed(
                Method::GET,
                "/api/v1/reports/channels?from=2025-10-01&to=2025-10-31",
                &key,
            )
            .send()
            .unwrap();
        assert_problem(response, 403, "forbidden");
        let response = app
            .client()
            .get(app.url("/api/v1/reports/channels?from=2025-10-01&to=2025-10-31"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 401);

        for (query, field, code) in [
            ("from=2025-10-31&to=2025-10-01", "to", "before_from"),
            (
                "from=2025-10-01&to=2025-10-31&paths=0",
                "paths",
                "out_of_range",
            ),
            (
                "from=2025-10-01&to=2025-10-31&paths=101",
                "paths",
                "out_of_range",
            ),
            (
                "from=1990-01-01&to=2025-10-31&bucket=day",
                "bucket",
                "too_many_periods",
            ),
        ] {
            let response = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/reports/channels?{query}"),
                    &admin,
                )
                .send()
                .unwrap();
            let problem = assert_problem(response, 422, "validation_failed");
            assert_eq!(
                field_codes(&problem),
                [(field.to_string(), code.to_string())],
                "{query}"
            );
        }
        // A parameter that cannot be read is a 400 naming it; a value that does not
        // parse as a date or number is named only as `query` (serde does not say which).
        for (query, field) in [
            ("to=2025-10-31", "from"),
            ("from=2025-10-01&to=2025-10-31&bucket=fortnight", "bucket"),
            ("from=2025-10-01&to=2025-10-31&calendar=hijri", "calendar"),
            ("from=2025-10-01&to=2025-10-31&channel=sms", "channel"),
            ("from=2025-13-01&to=2025-10-31", "query"),
            ("from=2025-10-01&to=2025-10-31&paths=many", "query"),
        ] {
            let response = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/reports/channels?{query}"),
                    &admin,
                )
                .send()
                .unwrap();
            let problem = assert_problem(response, 400, "malformed_request");
            assert_eq!(field_codes(&problem)[0].0, field, "{query}: {problem}");
        }
    });
}
