//! The attribution report (`GET /api/v1/reports/attribution`, A-6) on a hand-made
//! history in November 2026 (Tehran time) whose credits are worked out by hand: each of
//! the five models on one customer's path, the window cutting off an older touch, a
//! purchase without touches, a refund, an order's own campaign, visibility, rights and
//! bad parameters.
//!
//! Campaign sends are written straight into `campaign_recipients` (nothing else writes
//! them yet); the SMS arrives through the line's webhook and is moved to its instant,
//! as the cross-channel report's test does; events and activities go through the API.

use application::acting::Acting;
use application::i18n::Lang;
use application::reports::attribution;
use application::reports::DayWindow;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::attribution::AttributionModel;
use persistence::conversations::{ConversationRow, MessageRow};
use persistence::sql_types::{DbTime, DbUuid};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::order_imports::product;
use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, send, TestApp,
};

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

fn customer(app: &TestApp, token: &str, first: &str, mobile: &str, owner: Option<Uuid>) -> String {
    let mut body = json!({"kind": "person", "first_name": first, "last_name": "آزمون",
                          "phones": [{"number": mobile}]});
    if let Some(owner) = owner {
        body["owner_id"] = owner.to_string().into();
    }
    id_of(&create_customer(app, token, body))
}

/// A campaign with its code and channel.
fn campaign(app: &TestApp, code: &str, channel: &str) -> Uuid {
    use persistence::schema::campaigns;
    let id = Uuid::now_v7();
    let now = DbTime(persistence::now());
    let mut conn = app.state.pool.get().expect("connection");
    diesel::insert_into(campaigns::table)
        .values((
            campaigns::id.eq(DbUuid(id)),
            campaigns::name.eq(code),
            campaigns::code.eq(code),
            campaigns::channel.eq(channel),
            campaigns::attribution_window_days.eq(30),
            campaigns::status.eq("completed"),
            campaigns::created_at.eq(now),
            campaigns::updated_at.eq(now),
            campaigns::version.eq(1_i64),
        ))
        .execute(&mut conn)
        .expect("store the campaign");
    id
}

/// A campaign's recipient `customer` with `outcome` at `instant`, with its message.
fn recipient(
    app: &TestApp,
    campaign: Uuid,
    customer: &str,
    outcome: &str,
    instant: &str,
    message: Option<Uuid>,
) {
    use persistence::schema::campaign_recipients as r;
    let mut conn = app.state.pool.get().expect("connection");
    diesel::insert_into(r::table)
        .values((
            r::campaign_id.eq(DbUuid(campaign)),
            r::customer_id.eq(DbUuid(customer.parse().unwrap())),
            r::outcome.eq(outcome),
            r::message_id.eq(message.map(DbUuid)),
            r::token.eq(Uuid::now_v7().simple().to_string()),
            r::sent_at.eq(DbTime(at(instant))),
            r::clicks.eq(0),
        ))
        .execute(&mut conn)
        .expect("store the recipient");
}

/// An SMS from `from` through the line's webhook, moved to `instant`.
fn sms(app: &TestApp, path: &str, id: &str, from: &str, instant: &str) {
    let response = app
        .client()
        .post(app.url(&format!("{path}/received")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "messageid={id}&from={from}&to=10004346&message=salam"
        ))
        .send()
        .expect("webhook request");
    assert_eq!(response.status(), 200);
    use persistence::schema::messages;
    let mut conn = app.state.pool.get().expect("connection");
    let moved = diesel::update(
        messages::table
            .filter(messages::direction.eq("inbound"))
            .filter(messages::provider_message_id.eq(id)),
    )
    .set(messages::occurred_at.eq(DbTime(at(instant))))
    .execute(&mut conn)
    .expect("move the message");
    assert_eq!(moved, 1);
}

fn sms_conversation(app: &TestApp, customer: &str) -> ConversationRow {
    use persistence::schema::conversations;
    let mut conn = app.state.pool.get().expect("connection");
    conversations::table
        .filter(conversations::channel.eq("sms"))
        .filter(conversations::customer_id.eq(DbUuid(customer.parse().unwrap())))
        .select(ConversationRow::as_select())
        .first(&mut conn)
        .expect("the conversation")
}

/// An outbound message on `conversation` at `instant`; its id.
fn outbound(
    app: &TestApp,
    conversation: &ConversationRow,
    instant: &str,
    status: &str,
    automatic: bool,
) -> Uuid {
    let id = Uuid::now_v7();
    let mut conn = app.state.pool.get().expect("connection");
    let now = DbTime(persistence::now());
    persistence::conversations::insert_message(
        &mut conn,
        &MessageRow {
            id: DbUuid(id),
            conversation_id: conversation.id,
            channel_account_id: conversation.channel_account_id,
            customer_id: conversation.customer_id,
            channel: conversation.channel.clone(),
            direction: "outbound".into(),
            provider_message_id: Some(id.to_string()),
            body: "پیام".into(),
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
    .expect("store the message");
    id
}

fn event(app: &TestApp, token: &str, customer: &str, instant: &str, properties: Value) {
    created(
        app,
        token,
        "/api/v1/events",
        json!({"name": "page_view", "customer": {"id": customer},
               "properties": properties, "occurred_at": instant}),
    );
}

fn activity(app: &TestApp, token: &str, kind: &str, subject: (&str, &str), instant: &str) {
    created(
        app,
        token,
        "/api/v1/activities",
        json!({"kind": kind, "subject_type": subject.0, "subject_id": subject.1,
               "occurred_at": instant}),
    );
}

fn order(app: &TestApp, token: &str, body: Value) -> Value {
    created(app, token, "/api/v1/orders", body)
}

fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = send(
        app,
        Method::GET,
        &format!("/api/v1/reports/attribution?{query}"),
        token,
        None,
    );
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// (key, conversions, revenue) of each row of `report[list]`, in order.
fn credits(report: &Value, list: &str) -> Vec<(String, f64, i64)> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list}: {report}"))
        .iter()
        .map(|row| {
            (
                row["key"].as_str().unwrap().to_string(),
                row["conversions"].as_f64().unwrap(),
                row["revenue"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Asserts `report[list]` is `expected`, conversions to the report's six decimals.
fn assert_credits(report: &Value, list: &str, expected: &[(&str, f64, i64)]) {
    let actual = credits(report, list);
    let keys = |rows: Vec<(String, i64)>| rows;
    assert_eq!(
        keys(actual.iter().map(|(k, _, r)| (k.clone(), *r)).collect()),
        keys(
            expected
                .iter()
                .map(|(k, _, r)| (k.to_string(), *r))
                .collect()
        ),
        "{list}: {report}"
    );
    for ((key, conversions, _), (_, wanted, _)) in actual.iter().zip(expected) {
        assert!(
            (conversions - wanted).abs() <= 1e-6,
            "{list} {key}: {conversions} ≠ {wanted}"
        );
    }
}

/// (conversions, revenue, attributed conversions, attributed revenue, paths without
/// touchpoints, touchpoints).
fn totals(report: &Value) -> [i64; 6] {
    [
        "conversions",
        "revenue",
        "attributed_conversions",
        "attributed_revenue",
        "paths_without_touchpoints",
        "touchpoints",
    ]
    .map(|name| {
        report["totals"][name]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}: {report}"))
    })
}

/// In UTC (Tehran is 3:30 ahead), with T = 20 Nov 10:00:
///
/// - Ali's purchase at T: 2 × 100,000, one unit returned, so 100,000 net. Before it:
///   the `winter-email` campaign (e-mail) sent at T − 40 d (outside the default 30-day
///   window); the `nowruz` campaign (SMS) sent at T − 10 d with its own message, which
///   counts once, as the send; a `push-test` recipient passed over (`skipped`); his SMS
///   at T − 5 d, answered automatically and then by a reply refused for want of
///   consent (neither a touch); a page view from Instagram for `insta-autumn` at
///   T − 2 d; a call at T − 1 d; a page view after the purchase (not before it). A
///   pending order is not a purchase.
///   His path in the default window: sms(nowruz) −10 d, sms −5 d, instagram
///   (insta-autumn) −2 d, call −1 d.
/// - Bita (owned by a sales user) buys 1 × 100,000 on 22 Nov without any touch.
/// - Cyrus buys 1 × 100,000 on 25 Nov 10:00 tagged with campaign `nowruz` (sold in
///   `store`) after a page view without UTM properties at −3 d (no marketing touch: it
///   says nothing of where he came from) and a meeting on his deal at −1 d. Path:
///   meeting −1 d, sms(nowruz) at the purchase (the order's campaign, on the campaign's
///   channel).
#[test]
fn attribution_models_credit_the_hand_computed_paths() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        let line = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "line", "settings": {},
                   "credentials": {"api_key": "kavenegar-key"}}),
        );
        let line = line["webhook_path"].as_str().unwrap().to_string();
        let p1 = product(app, &admin, "AT-1", 100_000);

        let ali = customer(app, &admin, "علی", "09121000011", None);
        let bita = customer(app, &admin, "بیتا", "09121000012", Some(sales_id));
        let cyrus = customer(app, &admin, "کوروش", "09121000013", None);

        let winter = campaign(app, "winter-email", "email");
        let nowruz = campaign(app, "nowruz", "sms");
        let push = campaign(app, "push-test", "push");
        recipient(app, winter, &ali, "sent", "2026-10-11T10:00:00Z", None);
        sms(app, &line, "a1", "09121000011", "2026-11-15T10:00:00Z");
        let conversation = sms_conversation(app, &ali);
        let nowruz_message = outbound(app, &conversation, "2026-11-10T10:00:00Z", "sent", true);
        recipient(
            app,
            nowruz,
            &ali,
            "sent",
            "2026-11-10T10:00:00Z",
            Some(nowruz_message),
        );
        recipient(app, push, &ali, "skipped", "2026-11-12T10:00:00Z", None);
        outbound(app, &conversation, "2026-11-15T10:00:30Z", "sent", true);
        outbound(app, &conversation, "2026-11-16T10:00:00Z", "refused", false);
        event(
            app,
            &admin,
            &ali,
            "2026-11-18T10:00:00Z",
            json!({"utm_source": "instagram", "utm_campaign": "insta-autumn"}),
        );
        activity(
            app,
            &admin,
            "call",
            ("customer", &ali),
            "2026-11-19T10:00:00Z",
        );
        event(
            app,
            &admin,
            &ali,
            "2026-11-20T11:00:00Z",
            json!({"utm_source": "telegram"}),
        );
        let bought = order(
            app,
            &admin,
            json!({"customer_id": ali, "placed_at": "2026-11-20T10:00:00Z", "status": "paid",
                   "lines": [{"product_id": p1, "quantity": 2}]}),
        );
        let (status, body) = send(
            app,
            Method::POST,
            &format!("/api/v1/orders/{}/returns", id_of(&bought)),
            &admin,
            Some(
                json!({"lines": [{"order_line_id": bought["lines"][0]["id"], "quantity": 1}],
                        "reason": "مرجوعی"}),
            ),
        );
        assert_eq!(status, 201, "{body}");
        order(
            app,
            &admin,
            json!({"customer_id": ali, "placed_at": "2026-11-20T12:00:00Z", "status": "pending",
                   "lines": [{"product_id": p1, "quantity": 1}]}),
        );

        order(
            app,
            &admin,
            json!({"customer_id": bita, "placed_at": "2026-11-22T10:00:00Z", "status": "paid",
                   "lines": [{"product_id": p1, "quantity": 1}]}),
        );

        event(
            app,
            &admin,
            &cyrus,
            "2026-11-22T10:00:00Z",
            json!({"path": "/tea"}),
        );
        let deal = created(
            app,
            &admin,
            "/api/v1/deals",
            json!({"title": "چای عمده", "customer_id": cyrus, "amount": 100_000}),
        );
        activity(
            app,
            &admin,
            "meeting",
            ("deal", &id_of(&deal)),
            "2026-11-24T10:00:00Z",
        );
        order(
            app,
            &admin,
            json!({"customer_id": cyrus, "placed_at": "2026-11-25T10:00:00Z", "status": "paid",
                   "channel": "store", "campaign": "nowruz",
                   "lines": [{"product_id": p1, "quantity": 1}]}),
        );

        // Ali's day alone, R = 100,000 over the path sms(nowruz), sms, instagram
        // (insta-autumn), call.
        let day = "from=2026-11-20&to=2026-11-20";
        // First touch: all to the nowruz send.
        let first = report(app, &admin, &format!("{day}&model=first_touch"));
        assert_eq!(first["model"], "first_touch");
        assert_eq!(first["window_days"], 30);
        assert_eq!(first["half_life_days"], Value::Null);
        assert_eq!(first["currency"], "IRR");
        assert_eq!(
            first["window"],
            json!({"from": "2026-11-20", "to": "2026-11-20"})
        );
        assert_eq!(totals(&first), [1, 100_000, 1, 100_000, 0, 4]);
        // Channels and campaigns touched but not credited are listed with nothing.
        assert_credits(
            &first,
            "channels",
            &[
                ("sms", 1.0, 100_000),
                ("call", 0.0, 0),
                ("instagram", 0.0, 0),
            ],
        );
        assert_credits(
            &first,
            "campaigns",
            &[("nowruz", 1.0, 100_000), ("insta-autumn", 0.0, 0)],
        );
        // Last touch: all to the call, which has no campaign.
        let last = report(app, &admin, &format!("{day}&model=last_touch"));
        assert_credits(
            &last,
            "channels",
            &[
                ("call", 1.0, 100_000),
                ("instagram", 0.0, 0),
                ("sms", 0.0, 0),
            ],
        );
        assert_credits(
            &last,
            "campaigns",
            &[("insta-autumn", 0.0, 0), ("nowruz", 0.0, 0)],
        );
        // Linear: a quarter each; SMS has two touches. Ties in revenue and conversions
        // go by key.
        let linear = report(app, &admin, &format!("{day}&model=linear"));
        assert_credits(
            &linear,
            "channels",
            &[
                ("sms", 0.5, 50_000),
                ("call", 0.25, 25_000),
                ("instagram", 0.25, 25_000),
            ],
        );
        assert_credits(
            &linear,
            "campaigns",
            &[("insta-autumn", 0.25, 25_000), ("nowruz", 0.25, 25_000)],
        );
        // Position based: 0.4, 0.1, 0.1, 0.4.
        let position = report(app, &admin, &format!("{day}&model=position_based"));
        assert_credits(
            &position,
            "channels",
            &[
                ("sms", 0.5, 50_000),
                ("call", 0.4, 40_000),
                ("instagram", 0.1, 10_000),
            ],
        );
        assert_credits(
            &position,
            "campaigns",
            &[("nowruz", 0.4, 40_000), ("insta-autumn", 0.1, 10_000)],
        );
        // Time decay with a one-day half-life: ages 10, 5, 2 and 1 days weigh 2^-10,
        // 2^-5, 2^-2, 2^-1, i.e. 1 : 32 : 256 : 512 of 801. SMS 33/801 = 0.041199
        // (4,119.85 → 4,120), Instagram 256/801 = 0.319600 (31,960.05 → 31,960), call
        // 512/801 = 0.639201 (63,920.10 → 63,920); nowruz 1/801 (124.84 → 125).
        let decay = report(
            app,
            &admin,
            &format!("{day}&model=time_decay&half_life_days=1"),
        );
        assert_eq!(decay["half_life_days"], 1);
        assert_credits(
            &decay,
            "channels",
            &[
                ("call", 512.0 / 801.0, 63_920),
                ("instagram", 256.0 / 801.0, 31_960),
                ("sms", 33.0 / 801.0, 4_120),
            ],
        );
        assert_credits(
            &decay,
            "campaigns",
            &[
                ("insta-autumn", 256.0 / 801.0, 31_960),
                ("nowruz", 1.0 / 801.0, 125),
            ],
        );
        // The default half-life is a week: shares 2^(-9/7), 2^(-4/7), 2^(-1/7), 1 of
        // their sum 2.988841: call 0.334578 (33,457.78 → 33,458).
        let week = report(app, &admin, &format!("{day}&model=time_decay"));
        assert_eq!(week["half_life_days"], 7);
        let call = credits(&week, "channels")
            .into_iter()
            .find(|(key, _, _)| key == "call")
            .expect("call");
        assert_eq!(call.2, 33_458, "{week}");
        // 45 days reach the winter e-mail, which becomes the first touch.
        let wide = report(
            app,
            &admin,
            &format!("{day}&model=first_touch&window_days=45"),
        );
        assert_eq!(wide["window_days"], 45);
        assert_eq!(totals(&wide), [1, 100_000, 1, 100_000, 0, 5]);
        assert_credits(
            &wide,
            "channels",
            &[
                ("email", 1.0, 100_000),
                ("call", 0.0, 0),
                ("instagram", 0.0, 0),
                ("sms", 0.0, 0),
            ],
        );
        assert_credits(
            &wide,
            "campaigns",
            &[
                ("winter-email", 1.0, 100_000),
                ("insta-autumn", 0.0, 0),
                ("nowruz", 0.0, 0),
            ],
        );

        // The month, linear: Ali as above; Bita without touches; Cyrus half each to
        // meeting and sms(nowruz) (50,000 each). SMS 0.5 + 0.5 = 1 (100,000); nowruz
        // 0.25 + 0.5 = 0.75 (75,000).
        let month = "from=2026-11-01&to=2026-11-30";
        let all = report(app, &admin, &format!("{month}&model=linear"));
        assert_eq!(totals(&all), [3, 300_000, 2, 200_000, 1, 6]);
        assert_credits(
            &all,
            "channels",
            &[
                ("sms", 1.0, 100_000),
                ("meeting", 0.5, 50_000),
                ("call", 0.25, 25_000),
                ("instagram", 0.25, 25_000),
            ],
        );
        assert_credits(
            &all,
            "campaigns",
            &[("nowruz", 0.75, 75_000), ("insta-autumn", 0.25, 25_000)],
        );
        // Last touch: Ali's call and Cyrus's order's own campaign.
        let last = report(app, &admin, &format!("{month}&model=last_touch"));
        assert_credits(
            &last,
            "channels",
            &[
                ("call", 1.0, 100_000),
                ("sms", 1.0, 100_000),
                ("instagram", 0.0, 0),
                ("meeting", 0.0, 0),
            ],
        );
        assert_credits(
            &last,
            "campaigns",
            &[("nowruz", 1.0, 100_000), ("insta-autumn", 0.0, 0)],
        );

        // Read a purchase or two at a time, the pages add up to the same report.
        let mut conn = app.state.pool.get().expect("connection");
        let whole = DayWindow {
            from: "2026-11-01".parse().unwrap(),
            to: "2026-11-30".parse().unwrap(),
        };
        for page in [1, 2] {
            let paged = attribution::report_in_pages(
                &mut conn,
                &Acting::system(Lang::En),
                whole,
                (AttributionModel::Linear, None, None),
                page,
            )
            .expect("the report");
            assert_eq!(
                serde_json::to_value(&paged).unwrap(),
                all,
                "pages of {page}"
            );
        }
        drop(conn);

        // A sales user with `own` visibility sees Bita's purchase only.
        let mine = report(app, &sales, &format!("{month}&model=linear"));
        assert_eq!(totals(&mine), [1, 100_000, 0, 0, 1, 0]);
        assert_credits(&mine, "channels", &[]);
        assert_credits(&mine, "campaigns", &[]);
    });
}

/// A campaign send stays with the customer it was sent to; merged into another since,
/// it still leads the survivor's purchase.
#[test]
fn campaign_sends_follow_merges() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let nowruz = campaign(app, "nowruz-merge", "sms");
        let loser = customer(app, &admin, "تکراری", "09120000101", None);
        let winner = customer(app, &admin, "اصلی", "09120000102", None);
        recipient(app, nowruz, &loser, "sent", "2026-11-20T08:00:00Z", None);
        let (status, merged) = send(
            app,
            Method::POST,
            "/api/v1/customers/merge",
            &admin,
            Some(json!({"winner_id": winner, "loser_ids": [loser]})),
        );
        assert_eq!(status, 201, "{merged}");
        let tea = created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": "MERGE-TEA", "name": "چای", "unit_price": 100_000}),
        );
        let placed = order(
            app,
            &admin,
            json!({"customer_id": winner, "status": "paid",
                   "lines": [{"product_id": id_of(&tea), "quantity": 1}]}),
        );
        let mut conn = app.state.pool.get().expect("connection");
        diesel::update(
            persistence::schema::orders::table.filter(
                persistence::schema::orders::id.eq(DbUuid(id_of(&placed).parse().unwrap())),
            ),
        )
        .set(persistence::schema::orders::placed_at.eq(DbTime(at("2026-11-22T08:00:00Z"))))
        .execute(&mut conn)
        .expect("back-date the order");
        drop(conn);
        let last = report(
            app,
            &admin,
            "from=2026-11-01&to=2026-11-30&model=last_touch",
        );
        assert_credits(&last, "campaigns", &[("nowruz-merge", 1.0, 100_000)]);
    });
}

#[test]
fn attribution_needs_records_read_and_names_bad_parameters() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let query = "/api/v1/reports/attribution?from=2026-11-01&to=2026-11-30&model=linear";
        let key = created(
            app,
            &admin,
            "/api/v1/api-keys",
            json!({"name": "users only", "scopes": ["users:read"]}),
        );
        let key = key["key"].as_str().unwrap().to_string();
        assert_problem(
            app.authed(Method::GET, query, &key).send().unwrap(),
            403,
            "forbidden",
        );
        let response = app.client().get(app.url(query)).send().unwrap();
        assert_eq!(response.status(), 401);
        let empty = report(app, &admin, "from=2026-11-01&to=2026-11-30&model=linear");
        assert_eq!(totals(&empty), [0; 6]);

        let base = "from=2026-11-01&to=2026-11-30";
        for (query, field, code) in [
            (
                "from=2026-11-30&to=2026-11-01&model=linear".to_string(),
                "to",
                "before_from",
            ),
            (
                format!("{base}&model=linear&window_days=0"),
                "window_days",
                "out_of_range",
            ),
            (
                format!("{base}&model=first_touch&window_days=366"),
                "window_days",
                "out_of_range",
            ),
            (
                format!("{base}&model=time_decay&half_life_days=0"),
                "half_life_days",
                "out_of_range",
            ),
            (
                format!("{base}&model=linear&half_life_days=7"),
                "half_life_days",
                "time_decay_only",
            ),
            (
                "from=2025-01-01&to=2026-01-02&model=linear".to_string(),
                "to",
                "too_long",
            ),
        ] {
            let response = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/reports/attribution?{query}"),
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
        // A model not listed, or none, is a parameter that cannot be read: 400 naming
        // it, as for every enumerated parameter.
        for (query, field) in [
            (format!("{base}&model=u_shaped"), "model"),
            (base.to_string(), "model"),
            (format!("{base}&model=linear&lookback=3"), "lookback"),
        ] {
            let response = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/reports/attribution?{query}"),
                    &admin,
                )
                .send()
                .unwrap();
            let problem = assert_problem(response, 400, "malformed_request");
            assert_eq!(field_codes(&problem)[0].0, field, "{query}: {problem}");
        }
    });
}
