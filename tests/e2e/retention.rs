//! Retention rules (X-4): only `privacy:manage` sets them, each kind refuses what it
//! must not do, a dry run counts what would go and changes nothing, and a run deletes
//! or anonymises exactly the rows past their keep period of every kind — messages,
//! behavioural events, closed tickets, inactive leads, export files, webhook
//! deliveries, audit detail — leaving younger rows alone, auditing every batch, and
//! keeping the audit chain verifiable.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use persistence::schema::{
    behavioural_events, leads, messages, stored_files, tickets, webhook_deliveries,
};
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{
    create_customer, created, field_codes, finished_job, for_each_backend, id_of, person, send,
    TestApp,
};

const RULES: &str = "/api/v1/retention-rules";
const SHOP: &str = "https://shop.example.ir";

fn days_ago(days: i64) -> DbTime {
    DbTime(Utc::now() - Duration::days(days))
}

fn put_rule(app: &TestApp, token: &str, kind: &str, body: Value) -> (u16, Value) {
    send(
        app,
        Method::PUT,
        &format!("{RULES}/{kind}"),
        token,
        Some(body),
    )
}

/// A web-chat message from a new visitor; answers its id.
fn chat_message(app: &TestApp, key: &str, text: &str) -> Uuid {
    let chat: Value = app
        .client()
        .post(app.url(&format!("/api/v1/widget/{key}/sessions")))
        .header("Origin", SHOP)
        .json(&json!({}))
        .send()
        .expect("session")
        .json()
        .expect("chat");
    let token = chat["token"].as_str().expect("visitor token");
    let response = app
        .client()
        .post(app.url(&format!("/api/v1/widget/{key}/messages")))
        .header("Origin", SHOP)
        .header("Peyvand-Visitor-Token", token)
        .json(&json!({"client_message_id": Uuid::now_v7(), "text": text}))
        .send()
        .expect("message");
    assert!(response.status().is_success(), "{:?}", response.text());
    let mut conn = app.state.pool.get().unwrap();
    messages::table
        .filter(messages::body.eq(text))
        .select(messages::id)
        .first::<DbUuid>(&mut *conn)
        .expect("stored message")
        .0
}

/// A finished webhook delivery queued `age_days` ago.
fn delivery(app: &TestApp, subscription: Uuid, age_days: i64) -> Uuid {
    let mut conn = app.state.pool.get().unwrap();
    let id = Uuid::now_v7();
    persistence::webhooks::insert_deliveries(
        &mut conn,
        &[persistence::webhooks::DeliveryRow {
            id: DbUuid(id),
            subscription_id: DbUuid(subscription),
            event_id: DbUuid(Uuid::now_v7()),
            event_type: "customer.created".into(),
            body: r#"{"email":"sara@example.ir"}"#.into(),
            status: "delivered".into(),
            attempts: 1,
            response_status: Some(200),
            error: None,
            created_at: days_ago(age_days),
            last_attempt_at: Some(days_ago(age_days)),
            delivered_at: Some(days_ago(age_days)),
        }],
    )
    .expect("delivery");
    id
}

fn subscription(app: &TestApp) -> Uuid {
    let mut conn = app.state.pool.get().unwrap();
    let id = Uuid::now_v7();
    persistence::webhooks::insert(
        &mut conn,
        &persistence::webhooks::SubscriptionRow {
            id: DbUuid(id),
            url: "https://hooks.example.ir/crm".into(),
            event_types: DbJson(json!(["*"])),
            description: None,
            active: false,
            secret_key_id: "k".into(),
            secret_sealed: "sealed".into(),
            consecutive_failures: 0,
            disabled_reason: None,
            created_by: None,
            created_at: days_ago(400),
            updated_at: days_ago(400),
            version: 1,
            partner_id: None,
        },
    )
    .expect("subscription");
    id
}

fn export_file(app: &TestApp, age_days: i64) -> Uuid {
    let mut conn = app.state.pool.get().unwrap();
    let file = persistence::files::store(
        &mut conn,
        persistence::files::NewFile {
            purpose: persistence::files::EXPORT_RESULT,
            file_name: "customers.csv",
            content_type: "text/csv",
            created_by: None,
        },
        "name,email\nسارا,sara@example.ir\n".as_bytes(),
    )
    .expect("file");
    diesel::update(stored_files::table.find(DbUuid(file.id.0)))
        .set(stored_files::created_at.eq(days_ago(age_days)))
        .execute(&mut *conn)
        .expect("age the file");
    file.id.0
}

#[test]
fn only_privacy_managers_set_rules_and_each_kind_refuses_what_it_must_not_do() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("manager", None);
        let manager = app.login(&email, &password).access_token;
        for (method, path, body) in [
            (Method::GET, RULES.to_string(), None),
            (
                Method::PUT,
                format!("{RULES}/messages"),
                Some(json!({"keep_days": 30, "action": "delete"})),
            ),
            (Method::POST, format!("{RULES}/dry-run"), Some(json!({}))),
            (Method::POST, format!("{RULES}/runs"), None),
        ] {
            let (status, problem) = send(app, method, &path, &manager, body);
            assert_eq!(status, 403, "{path}: {problem}");
        }

        let (status, problem) = put_rule(
            app,
            &admin,
            "audit_detail",
            json!({"keep_days": 0, "action": "delete"}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("keep_days".to_string(), "out_of_range".to_string()),
                ("action".to_string(), "not_for_kind".to_string())
            ]
        );
        let (status, _) = put_rule(
            app,
            &admin,
            "everything",
            json!({"keep_days": 30, "action": "delete"}),
        );
        assert_eq!(status, 404);
        let (status, problem) = put_rule(
            app,
            &admin,
            "messages",
            json!({"keep_days": 30, "action": "shred"}),
        );
        assert_eq!(status, 422, "{problem}");

        let response = app
            .authed(Method::PUT, &format!("{RULES}/messages"), &admin)
            .json(&json!({"keep_days": 365, "action": "anonymise"}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let (status, changed) = put_rule(
            app,
            &admin,
            "messages",
            json!({"keep_days": 180, "action": "anonymise", "enabled": false}),
        );
        assert_eq!(
            (status, changed["version"].as_i64()),
            (200, Some(2)),
            "{changed}"
        );
        // A change based on the first version is refused.
        let stale = app
            .authed(Method::PUT, &format!("{RULES}/messages"), &admin)
            .header("If-Match", etag)
            .json(&json!({"keep_days": 30, "action": "delete"}))
            .send()
            .unwrap();
        assert_eq!(stale.status(), 412);

        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{RULES}/dry-run"),
            &admin,
            Some(json!({"rules": [
                {"kind": "leads", "keep_days": 1, "action": "delete"}
            ]})),
        );
        assert_eq!(status, 422, "{problem}");
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{RULES}/dry-run"),
            &admin,
            Some(json!({"rules": [
                {"kind": "messages", "keep_days": 1, "action": "delete"},
                {"kind": "messages", "keep_days": 2, "action": "delete"}
            ]})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("rules[1].kind".to_string(), "duplicate".to_string())]
        );

        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("{RULES}/messages"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        let (status, rules) = send(app, Method::GET, RULES, &admin, None);
        assert_eq!(
            (status, rules["items"].as_array().map(Vec::len)),
            (200, Some(0))
        );
        let (status, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?resource_type=retention_rule",
            &admin,
            None,
        );
        assert_eq!(status, 200);
        let actions: Vec<&str> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "retention_rule.delete",
                "retention_rule.update",
                "retention_rule.create"
            ]
        );
    });
}

#[test]
fn a_run_removes_exactly_what_is_past_its_keep_period_and_a_dry_run_counts_it_first() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121234567", "sara@example.ir"),
        ));

        // Messages: one old, one new.
        let account = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "web_chat", "name": "گفتگوی سایت",
                   "settings": {"web_chat": {"allowed_origins": [SHOP]}}}),
        );
        let key = account["site_key"].as_str().unwrap().to_string();
        let old_message = chat_message(app, &key, "شماره کارت من ۶۰۳۷ است");
        let new_message = chat_message(app, &key, "سلام، سفارشم کجاست؟");

        // Behavioural events: 100 days old and today.
        let (status, device) = send(
            app,
            Method::POST,
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "shop app", "scopes": ["events:write"]})),
        );
        assert_eq!(status, 201, "{device}");
        let device = device["key"].as_str().unwrap().to_string();
        for (name, age) in [("old_view", 100), ("new_view", 0)] {
            let (status, stored) = send(
                app,
                Method::POST,
                "/api/v1/events",
                &device,
                Some(json!({"id": Uuid::now_v7(), "name": name,
                            "customer": {"id": customer},
                            "occurred_at": (Utc::now() - Duration::days(age)).to_rfc3339()})),
            );
            assert_eq!(status, 201, "{stored}");
        }

        // Tickets: one closed long ago, one closed today, one open and old.
        let ticket = |subject: &str| {
            id_of(&created(
                app,
                &admin,
                "/api/v1/tickets",
                json!({"subject": subject, "customer_id": customer}),
            ))
        };
        let old_closed = ticket("کارت بانکی ۶۰۳۷ را اشتباه زدم");
        let new_closed = ticket("فاکتور");
        let old_open = ticket("هنوز باز");
        {
            let mut conn = app.state.pool.get().unwrap();
            for (id, status, closed) in [
                (&old_closed, "closed", Some(days_ago(100))),
                (&new_closed, "closed", Some(days_ago(0))),
                (&old_open, "open", None),
            ] {
                diesel::update(tickets::table.find(DbUuid(id.parse().unwrap())))
                    .set((
                        tickets::status.eq(status),
                        tickets::closed_at.eq(closed),
                        tickets::updated_at.eq(days_ago(100)),
                    ))
                    .execute(&mut *conn)
                    .unwrap();
            }
        }

        // Leads: one untouched for 100 days, one fresh, one converted long ago.
        let lead = |first: &str| {
            id_of(&created(
                app,
                &admin,
                "/api/v1/leads",
                json!({"first_name": first, "last_name": "رضایی", "source": "exhibition",
                       "emails": [{"address": format!("{first}@lead.example.ir")}]}),
            ))
        };
        let (stale_lead, fresh_lead, converted_lead) = (lead("stale"), lead("fresh"), lead("won"));
        {
            let mut conn = app.state.pool.get().unwrap();
            for (id, status) in [(&stale_lead, "new"), (&converted_lead, "converted")] {
                diesel::update(leads::table.find(DbUuid(id.parse().unwrap())))
                    .set((
                        leads::status.eq(status),
                        leads::updated_at.eq(days_ago(100)),
                    ))
                    .execute(&mut *conn)
                    .unwrap();
            }
        }

        // Files and deliveries.
        let (old_file, new_file) = (export_file(app, 100), export_file(app, 0));
        let hook = subscription(app);
        let (old_delivery, new_delivery) = (delivery(app, hook, 100), delivery(app, hook, 0));
        {
            let mut conn = app.state.pool.get().unwrap();
            diesel::update(messages::table.find(DbUuid(old_message)))
                .set(messages::occurred_at.eq(days_ago(100)))
                .execute(&mut *conn)
                .unwrap();
        }

        let rules = [
            ("messages", "anonymise"),
            ("behavioural_events", "delete"),
            ("closed_tickets", "anonymise"),
            ("inactive_leads", "delete"),
            ("export_files", "delete"),
            ("webhook_deliveries", "delete"),
        ];
        for (kind, action) in rules {
            let (status, rule) = put_rule(
                app,
                &admin,
                kind,
                json!({"keep_days": 30, "action": action}),
            );
            assert_eq!(status, 201, "{kind}: {rule}");
        }
        // A disabled rule is not applied (nor counted).
        let (status, _) = put_rule(
            app,
            &admin,
            "audit_detail",
            json!({"keep_days": 1, "action": "anonymise", "enabled": false}),
        );
        assert_eq!(status, 201);

        let dry_run = |body: Value| {
            let (status, report) = send(
                app,
                Method::POST,
                &format!("{RULES}/dry-run"),
                &admin,
                Some(body),
            );
            assert_eq!(status, 200, "{report}");
            report["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kind| {
                    (
                        kind["kind"].as_str().unwrap().to_string(),
                        kind["rows"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let expected: Vec<(String, i64)> = [
            ("behavioural_events", 1),
            ("closed_tickets", 1),
            ("export_files", 1),
            ("inactive_leads", 1),
            ("messages", 1),
            ("webhook_deliveries", 1),
        ]
        .into_iter()
        .map(|(kind, rows)| (kind.to_string(), rows))
        .collect();
        assert_eq!(dry_run(json!({})), expected);
        // Proposed rules are counted instead: none of the tickets is 200 days closed.
        assert_eq!(
            dry_run(
                json!({"rules": [{"kind": "closed_tickets", "keep_days": 200, "action": "delete"}]})
            ),
            [("closed_tickets".to_string(), 0)]
        );
        // Nothing changed.
        let mut conn = app.state.pool.get().unwrap();
        let body_of = |conn: &mut persistence::db::DbConnection, id: Uuid| {
            messages::table
                .find(DbUuid(id))
                .select(messages::body)
                .first::<String>(conn)
                .optional()
                .unwrap()
        };
        assert_eq!(
            body_of(&mut conn, old_message).as_deref(),
            Some("شماره کارت من ۶۰۳۷ است")
        );
        drop(conn);

        let started = app
            .authed(Method::POST, &format!("{RULES}/runs"), &admin)
            .send()
            .unwrap();
        let job = finished_job(app, &admin, started);
        assert_eq!(job["status"], "succeeded", "{job}");
        let applied: Vec<(String, i64)> = job["result"]["applied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kind| {
                (
                    kind["kind"].as_str().unwrap().to_string(),
                    kind["rows"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(applied, expected, "{job}");

        let mut conn = app.state.pool.get().unwrap();
        // Messages: the old one's text is gone, the row and the new one stay.
        assert_eq!(
            body_of(&mut conn, old_message).as_deref(),
            Some("[removed]")
        );
        assert_eq!(
            body_of(&mut conn, new_message).as_deref(),
            Some("سلام، سفارشم کجاست؟")
        );
        // Behavioural events: only the new one is left.
        let names: Vec<String> = behavioural_events::table
            .select(behavioural_events::event_name)
            .load(&mut *conn)
            .unwrap();
        assert_eq!(names, ["new_view"]);
        // Files and deliveries: the old ones are gone.
        let files: Vec<DbUuid> = stored_files::table
            .select(stored_files::id)
            .load(&mut *conn)
            .unwrap();
        assert!(!files.contains(&DbUuid(old_file)) && files.contains(&DbUuid(new_file)));
        let deliveries: Vec<DbUuid> = webhook_deliveries::table
            .select(webhook_deliveries::id)
            .load(&mut *conn)
            .unwrap();
        assert_eq!(deliveries, [DbUuid(new_delivery)]);
        assert!(!deliveries.contains(&DbUuid(old_delivery)));
        drop(conn);

        // Tickets: the old closed one is anonymised but still counted; the others stay.
        let get = |path: String| {
            let (status, found) = send(app, Method::GET, &path, &admin, None);
            (status, found)
        };
        let (status, anonymised) = get(format!("/api/v1/tickets/{old_closed}"));
        assert_eq!(status, 200);
        assert_eq!(anonymised["subject"], "[removed]");
        assert_eq!(anonymised["status"], "closed");
        assert_eq!(
            get(format!("/api/v1/tickets/{new_closed}")).1["subject"],
            "فاکتور"
        );
        assert_eq!(
            get(format!("/api/v1/tickets/{old_open}")).1["subject"],
            "هنوز باز"
        );
        // Leads: the stale one is deleted; the fresh and the converted ones stay.
        assert_eq!(get(format!("/api/v1/leads/{stale_lead}")).0, 404);
        assert_eq!(get(format!("/api/v1/leads/{fresh_lead}")).0, 200);
        assert_eq!(get(format!("/api/v1/leads/{converted_lead}")).0, 200);

        // Every batch is audited with the records it reached; the lead's own events lost
        // their detail.
        let (_, events) =
            get("/api/v1/audit-events?action=retention.apply&resource_id=inactive_leads".into());
        let event = &events["data"][0];
        assert_eq!(event["actor_type"], "system", "{events}");
        assert_eq!(event["changes"]["ids"], json!([stale_lead]));
        let (_, events) = get(format!(
            "/api/v1/audit-events?resource_type=lead&resource_id={stale_lead}"
        ));
        assert_eq!(events["data"][0]["changes"]["redacted"], true, "{events}");

        // The rule shows its last run.
        let (_, rule) = get(format!("{RULES}/inactive_leads"));
        assert_eq!(rule["last_removed"], 1, "{rule}");
        assert!(rule["last_applied_at"].is_string());

        // A second run finds nothing more.
        let started = app
            .authed(Method::POST, &format!("{RULES}/runs"), &admin)
            .send()
            .unwrap();
        let job = finished_job(app, &admin, started);
        assert!(
            job["result"]["applied"]
                .as_array()
                .unwrap()
                .iter()
                .all(|kind| kind["rows"] == 0),
            "{job}"
        );
    });
}

#[test]
fn audit_detail_goes_but_the_chain_still_verifies() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "کریمی", "09121234567", "sara@example.ir"),
        ));
        let (status, _) = put_rule(
            app,
            &admin,
            "audit_detail",
            json!({"keep_days": 1, "action": "anonymise"}),
        );
        assert_eq!(status, 201);
        // Two days from now, every event so far is past a day's keep period.
        let mut conn = app.state.pool.get().unwrap();
        let applied = application::administration::retention::apply(
            &mut conn,
            Utc::now() + Duration::days(2),
            &|| true,
        )
        .expect("apply")
        .expect("not stopped");
        assert_eq!(applied.len(), 1);
        assert!(applied[0].rows >= 2, "{applied:?}");
        drop(conn);

        let (_, events) = send(
            app,
            Method::GET,
            &format!("/api/v1/audit-events?resource_type=customer&resource_id={customer}"),
            &admin,
            None,
        );
        let created = &events["data"][0];
        assert_eq!(created["action"], "customer.create");
        assert_eq!(created["changes"]["redacted"], true, "{created}");
        assert!(!created.to_string().contains("sara@example.ir"));

        let started = app
            .authed(Method::POST, "/api/v1/audit-events/verifications", &admin)
            .send()
            .unwrap();
        let job = finished_job(app, &admin, started);
        assert_eq!(job["result"]["intact"], true, "{job}");
    });
}
