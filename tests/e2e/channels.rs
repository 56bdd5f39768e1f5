//! Omnichannel inbound (O-2): channel accounts with sealed, write-only credentials; the
//! Telegram, WhatsApp, Instagram and SMS webhooks each checked by its provider's scheme
//! (a wrong secret or signature stores nothing, a replayed message is stored once);
//! senders recognised by phone in several Iranian formats, by a shared contact and by
//! messenger id, or made new leads; the ticket rule; an SMS opt-out word withdrawing
//! consent; each inbound message's sentiment and the customer's mean in the 360 view;
//! conversations seen only through their customer or lead; and erasure and the
//! personal-data export reaching them.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    create_customer, field_codes, for_each_backend, id_of, merge_patch, person, send, TestApp,
};

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn account(app: &TestApp, kind: &str, settings: Value, credentials: Value) -> Value {
    created(
        app,
        &app.admin_token(),
        "/api/v1/channel-accounts",
        json!({"kind": kind, "name": format!("{kind} line"), "settings": settings,
               "credentials": credentials}),
    )
}

/// Posts `body` to a webhook with extra headers; answers the status and JSON.
fn deliver(app: &TestApp, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let mut request = app
        .client()
        .post(app.url(path))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().expect("webhook request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let body: String = fields
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let response = app
        .client()
        .post(app.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .expect("form request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn conversations(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        &format!("/api/v1/conversations?{query}"),
        token,
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn messages(app: &TestApp, conversation: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        &format!("/api/v1/conversations/{conversation}/messages?limit=200"),
        &app.admin_token(),
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn telegram_update(user: i64, message: i64, text: &str) -> Vec<u8> {
    json!({"update_id": 900_000 + message, "message": {
        "message_id": message, "date": 1_764_800_000,
        "from": {"id": user, "is_bot": false, "first_name": "مریم", "last_name": "احمدی"},
        "chat": {"id": user, "type": "private"}, "text": text}})
    .to_string()
    .into_bytes()
}

#[test]
fn telegram_updates_need_the_secret_token_and_are_stored_once() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let bot = account(
            app,
            "telegram",
            json!({}),
            json!({"bot_token": "123456:ABC-DEF", "secret_token": "s3cret-token-1"}),
        );
        let path = bot["webhook_path"].as_str().unwrap().to_string();
        assert!(bot.get("credentials").is_none(), "{bot}");

        let update = telegram_update(70001, 1, "سلام، قیمت ارسال به شیراز؟");
        let header = "X-Telegram-Bot-Api-Secret-Token";
        for bad in [vec![], vec![(header, "s3cret-token-2")]] {
            let (status, problem) = deliver(app, &path, &bad, &update);
            assert_eq!(status, 401, "{problem}");
            assert_eq!(problem["code"], "invalid_signature");
        }
        assert!(conversations(app, &admin, "").is_empty(), "nothing stored");

        let good = [(header, "s3cret-token-1")];
        let (status, receipt) = deliver(app, &path, &good, &update);
        assert_eq!(status, 200, "{receipt}");
        assert_eq!(receipt["stored"], 1);
        let (_, replay) = deliver(app, &path, &good, &update);
        assert_eq!(
            (replay["stored"].as_i64(), replay["replayed"].as_i64()),
            (Some(0), Some(1))
        );

        // An unknown sender became a lead named as on Telegram.
        let list = conversations(app, &admin, "");
        assert_eq!(list.len(), 1, "{list:?}");
        let conversation = &list[0];
        assert_eq!(conversation["channel"], "telegram");
        assert_eq!(conversation["contact_kind"], "telegram");
        assert_eq!(conversation["contact_value"], "70001");
        let lead = conversation["lead_id"]
            .as_str()
            .expect("a lead")
            .to_string();
        let (_, lead_row) = send(
            app,
            Method::GET,
            &format!("/api/v1/leads/{lead}"),
            &admin,
            None,
        );
        assert_eq!(lead_row["first_name"], "مریم احمدی");
        assert_eq!(lead_row["source"], "telegram");
        let stored = messages(app, conversation["id"].as_str().unwrap());
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["direction"], "inbound");
        assert_eq!(stored[0]["status"], "received");
        assert_eq!(stored[0]["body"], "سلام، قیمت ارسال به شیراز؟");

        // A second message from the same user threads into the same conversation.
        deliver(app, &path, &good, &telegram_update(70001, 2, "؟"));
        assert_eq!(conversations(app, &admin, "").len(), 1);
        assert_eq!(messages(app, conversation["id"].as_str().unwrap()).len(), 2);

        // A customer who shares their own phone is recognised by it, and from then on
        // by their Telegram id.
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("رضا", "کریمی", "0912 345 6789", "reza@example.ir"),
        ));
        let contact = json!({"update_id": 1, "message": {"message_id": 10, "date": 1_764_800_100,
            "from": {"id": 70002, "is_bot": false, "first_name": "Reza"},
            "chat": {"id": 70002, "type": "private"},
            "contact": {"phone_number": "989123456789", "first_name": "Reza", "user_id": 70002}}});
        let (status, _) = deliver(app, &path, &good, contact.to_string().as_bytes());
        assert_eq!(status, 200);
        deliver(
            app,
            &path,
            &good,
            &telegram_update(70002, 11, "سفارش ۱۲۳ کجاست؟"),
        );
        let mine = conversations(app, &admin, &format!("customer_id={customer}"));
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(messages(app, mine[0]["id"].as_str().unwrap()).len(), 2);

        // Unknown and inactive accounts answer 404, whatever the token.
        let (status, _) = deliver(app, "/api/v1/webhooks/telegram/nope", &good, &update);
        assert_eq!(status, 404);
        let account_path = format!("/api/v1/channel-accounts/{}", id_of(&bot));
        let (status, _) = merge_patch(app, &account_path, &admin, &json!({"active": false}));
        assert_eq!(status, 200);
        let (status, _) = deliver(app, &path, &good, &telegram_update(70001, 3, "x"));
        assert_eq!(status, 404);
    });
}

#[test]
fn one_update_delivered_many_times_at_once_is_stored_once_with_one_lead() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let bot = account(
            app,
            "telegram",
            json!({"unknown_sender": "create_lead"}),
            json!({"bot_token": "123456:ABC-DEF", "secret_token": "s3cret-token-1"}),
        );
        let path = bot["webhook_path"].as_str().unwrap().to_string();
        let good = [("X-Telegram-Bot-Api-Secret-Token", "s3cret-token-1")];
        // A first message from a new sender: every delivery resolves the sender, opens
        // the conversation and makes a lead before the message's own insert finds it
        // stored; the deliveries that lose must keep none of that.
        let update = telegram_update(70_100, 1, "سلام");
        const DELIVERIES: usize = 8;
        let start = std::sync::Barrier::new(DELIVERIES);
        let receipts: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..DELIVERIES)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        deliver(app, &path, &good, &update)
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let count = |field: &str| {
            receipts
                .iter()
                .map(|(status, receipt)| {
                    assert_eq!(*status, 200, "{receipt}");
                    receipt[field].as_i64().unwrap()
                })
                .sum::<i64>()
        };
        assert_eq!((count("stored"), count("replayed")), (1, 7), "{receipts:?}");

        let list = conversations(app, &admin, "");
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(messages(app, list[0]["id"].as_str().unwrap()).len(), 1);
        let (status, leads) = send(app, Method::GET, "/api/v1/leads", &admin, None);
        assert_eq!(status, 200, "{leads}");
        let leads = leads["data"].as_array().unwrap();
        assert_eq!(leads.len(), 1, "{leads:?}");
        assert_eq!(list[0]["lead_id"], leads[0]["id"]);

        // The lead is known by its Telegram id once: the next message is its too.
        let (_, receipt) = deliver(app, &path, &good, &telegram_update(70_100, 2, "؟"));
        assert_eq!(receipt["stored"], 1, "{receipt}");
        let list = conversations(app, &admin, "");
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["lead_id"], leads[0]["id"]);
        assert_eq!(messages(app, list[0]["id"].as_str().unwrap()).len(), 2);
    });
}

#[test]
fn whatsapp_and_instagram_notifications_are_signed_by_the_app_secret() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let secret = "meta-app-secret";
        let whatsapp = account(
            app,
            "whatsapp",
            json!({"ticket_rule": "open_or_attach", "provider_account_id": "106540352242922"}),
            json!({"access_token": "EAAG-token", "app_secret": secret, "verify_token": "verify-me"}),
        );
        let path = whatsapp["webhook_path"].as_str().unwrap().to_string();

        // The subscription handshake answers the challenge for the verify token only.
        let handshake = |token: &str| {
            let response = app
                .client()
                .get(app.url(&format!(
                    "{path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
                )))
                .send()
                .unwrap();
            (response.status().as_u16(), response.text().unwrap())
        };
        assert_eq!(handshake("verify-me"), (200, "1158201444".to_string()));
        assert_eq!(handshake("guess").0, 403);

        let customer = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        let notification = |from: &str, id: &str, text: &str| {
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
                "field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "982100000000", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": "Sara"}, "wa_id": from}],
                    "messages": [{"from": from, "id": id, "timestamp": "1764800000",
                                  "type": "text", "text": {"body": text}}]}}]}]})
            .to_string()
            .into_bytes()
        };
        let body = notification("989121234567", "wamid.A1", "کالا خراب رسیده");
        let signature = channels::meta::sign(secret.as_bytes(), &body);
        let header = "X-Hub-Signature-256";
        let wrong = channels::meta::sign(b"another secret", &body);
        for bad in [vec![], vec![(header, wrong.as_str())]] {
            let (status, problem) = deliver(app, &path, &bad, &body);
            assert_eq!(status, 401, "{problem}");
        }
        let tampered = notification("989121234567", "wamid.A1", "کالا سالم رسیده");
        let (status, _) = deliver(app, &path, &[(header, signature.as_str())], &tampered);
        assert_eq!(status, 401, "a signature covers the exact body");
        assert!(conversations(app, &admin, "").is_empty());

        let (status, receipt) = deliver(app, &path, &[(header, signature.as_str())], &body);
        assert_eq!(
            (status, receipt["stored"].as_i64()),
            (200, Some(1)),
            "{receipt}"
        );
        let (_, replay) = deliver(app, &path, &[(header, signature.as_str())], &body);
        assert_eq!(replay["replayed"], 1);

        // Recognised by phone (stored as 0912…, sent as 98912…), and the ticket rule
        // opened a ticket on the WhatsApp channel with the message.
        let mine = conversations(app, &admin, &format!("customer_id={customer}"));
        assert_eq!(mine.len(), 1, "{mine:?}");
        let ticket = mine[0]["ticket_id"].as_str().expect("a ticket").to_string();
        let (_, ticket_row) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{ticket}"),
            &admin,
            None,
        );
        assert_eq!(ticket_row["channel"], "whatsapp");
        assert_eq!(ticket_row["customer_id"], customer.as_str());
        assert_eq!(ticket_row["subject"], "کالا خراب رسیده");
        // The next message goes to the same ticket as the customer's words.
        let follow_up = notification("989121234567", "wamid.A2", "عکسش را فرستادم");
        let signed = channels::meta::sign(secret.as_bytes(), &follow_up);
        deliver(app, &path, &[(header, signed.as_str())], &follow_up);
        let (_, ticket_messages) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/messages?limit=100"),
            &admin,
            None,
        );
        assert!(
            ticket_messages["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|message| {
                    message["kind"] == "customer" && message["body"] == "عکسش را فرستادم"
                }),
            "{ticket_messages}"
        );
        assert_eq!(conversations(app, &admin, "").len(), 1);

        // An unknown number becomes a lead with that number.
        let stranger = notification("989351112233", "wamid.B1", "سلام");
        let signed = channels::meta::sign(secret.as_bytes(), &stranger);
        deliver(app, &path, &[(header, signed.as_str())], &stranger);
        let all = conversations(app, &admin, "");
        let lead = all
            .iter()
            .find_map(|conversation| conversation["lead_id"].as_str())
            .expect("a lead for the stranger")
            .to_string();
        let (_, lead_row) = send(
            app,
            Method::GET,
            &format!("/api/v1/leads/{lead}"),
            &admin,
            None,
        );
        assert_eq!(
            lead_row["phones"][0]["number"], "+989351112233",
            "{lead_row}"
        );
        // Deleting the lead deletes what only the lead wrote.
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/leads/{lead}"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        let remaining = conversations(app, &admin, "");
        assert_eq!(remaining.len(), all.len() - 1);
        assert!(remaining
            .iter()
            .all(|conversation| conversation["lead_id"] != lead.as_str()));

        // Instagram: the same scheme, its own payload; echoes are not customer messages.
        let instagram = account(
            app,
            "instagram",
            json!({"unknown_sender": "keep_unlinked"}),
            json!({"access_token": "IG-token", "app_secret": "ig-secret", "verify_token": "v"}),
        );
        let ig_path = instagram["webhook_path"].as_str().unwrap().to_string();
        let body = json!({"object": "instagram", "entry": [{"id": "1784", "time": 1764800000000_i64, "messaging": [
            {"sender": {"id": "IGSID-9"}, "recipient": {"id": "1784"}, "timestamp": 1764800000000_i64,
             "message": {"mid": "m_1", "text": "موجود دارید؟"}},
            {"sender": {"id": "1784"}, "recipient": {"id": "IGSID-9"}, "timestamp": 1764800001000_i64,
             "message": {"mid": "m_2", "text": "بله", "is_echo": true}}]}]})
        .to_string()
        .into_bytes();
        let signed = channels::meta::sign(b"ig-secret", &body);
        let (status, receipt) = deliver(app, &ig_path, &[(header, signed.as_str())], &body);
        assert_eq!(
            (status, receipt["stored"].as_i64()),
            (200, Some(1)),
            "{receipt}"
        );
        let unlinked = conversations(app, &admin, "unlinked=true");
        assert_eq!(unlinked.len(), 1, "kept without a lead: {unlinked:?}");
        assert_eq!(unlinked[0]["contact_value"], "IGSID-9");
        // A body that is no notification, correctly signed, is a 400 naming the body.
        let junk = br#"{"object":"page","entry":[]}"#;
        let signed = channels::meta::sign(b"ig-secret", junk);
        let (status, problem) = deliver(app, &ig_path, &[(header, signed.as_str())], junk);
        assert_eq!(status, 400, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("body".into(), "invalid_payload".into())]
        );
    });
}

#[test]
fn an_sms_opt_out_word_withdraws_sms_consent() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let line = account(app, "sms", json!({}), json!({"api_key": "kavenegar-key"}));
        let base = line["webhook_path"].as_str().unwrap().to_string();
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("علی", "رضایی", "+98 (0) 912 000 1122", "ali@example.ir"),
        ));
        let consents = format!("/api/v1/customers/{customer}/consents");
        for purpose in ["marketing", "surveys"] {
            created(
                app,
                &admin,
                &consents,
                json!({"channel": "sms", "purpose": purpose, "granted": true, "source": "web_form"}),
            );
        }
        let received = format!("{base}/received");
        let (status, problem) = form(
            app,
            &received,
            &[("messageid", "1"), ("from", "09120001122")],
        );
        assert_eq!(status, 400, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "to");

        let (status, receipt) = form(
            app,
            &received,
            &[
                ("messageid", "8792343"),
                ("from", "۰۹۱۲۰۰۰۱۱۲۲"),
                ("to", "10004346"),
                ("message", "لغو"),
            ],
        );
        assert_eq!(
            (status, receipt["stored"].as_i64()),
            (200, Some(1)),
            "{receipt}"
        );
        let (_, state) = send(app, Method::GET, &consents, &admin, None);
        let current = state["current"].as_array().unwrap();
        for purpose in ["marketing", "surveys"] {
            let row = current
                .iter()
                .find(|row| row["channel"] == "sms" && row["purpose"] == purpose)
                .unwrap();
            assert_eq!(row["granted"], false, "{purpose}: {state}");
        }
        let withdrawal = state["ledger"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(withdrawal["source"], "sms_opt_out");
        assert_eq!(withdrawal["evidence"], "message 8792343");

        // A sentence with the word in it is a message, not an opt-out.
        created(
            app,
            &admin,
            &consents,
            json!({"channel": "sms", "purpose": "marketing", "granted": true, "source": "web_form"}),
        );
        form(
            app,
            &received,
            &[
                ("messageid", "8792344"),
                ("from", "989120001122"),
                ("to", "10004346"),
                ("message", "سفارشم را لغو نکنید"),
            ],
        );
        let (_, state) = send(app, Method::GET, &consents, &admin, None);
        let marketing = state["current"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["channel"] == "sms" && row["purpose"] == "marketing")
            .unwrap()
            .clone();
        assert_eq!(marketing["granted"], true);
        let mine = conversations(app, &admin, &format!("customer_id={customer}"));
        assert_eq!(mine.len(), 1);
        assert_eq!(messages(app, mine[0]["id"].as_str().unwrap()).len(), 2);

        // A delivery report for a message nobody sent changes nothing; a bad status is
        // a 400 naming it.
        let delivery = format!("{base}/delivery");
        let (status, receipt) = form(app, &delivery, &[("messageid", "1"), ("status", "10")]);
        assert_eq!(
            (status, receipt["delivery_updates"].as_i64()),
            (200, Some(0))
        );
        let (status, problem) = form(app, &delivery, &[("messageid", "1"), ("status", "ten")]);
        assert_eq!(status, 400);
        assert_eq!(field_codes(&problem)[0].0, "status");
    });
}

#[test]
fn credentials_are_sealed_write_only_and_replaceable() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/channel-accounts",
            &admin,
            Some(
                json!({"kind": "telegram", "name": "Bot", "credentials": {"bot_token": "1:x", "api_key": "k"}}),
            ),
        );
        assert_eq!(status, 422);
        let codes = field_codes(&problem);
        assert!(
            codes.contains(&("credentials.api_key".into(), "unknown_field".into())),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("credentials.secret_token".into(), "required".into())),
            "{codes:?}"
        );

        let bot = account(
            app,
            "telegram",
            json!({}),
            json!({"bot_token": "777:SECRET-BOT-TOKEN", "secret_token": "first-secret"}),
        );
        let id = id_of(&bot);
        let path = format!("/api/v1/channel-accounts/{id}");
        let (_, listed) = send(app, Method::GET, "/api/v1/channel-accounts", &admin, None);
        let text = listed.to_string();
        assert!(
            !text.contains("SECRET-BOT-TOKEN") && !text.contains("first-secret"),
            "{text}"
        );

        // Sealed at rest: the stored row holds neither value.
        let mut conn = app.state.pool.get().unwrap();
        use persistence::schema::channel_accounts as accounts;
        let sealed: String = accounts::table
            .filter(accounts::id.eq(persistence::sql_types::DbUuid(id.parse().unwrap())))
            .select(accounts::credentials_sealed)
            .first(&mut conn)
            .unwrap();
        drop(conn);
        assert!(!sealed.contains("SECRET-BOT-TOKEN") && !sealed.contains("first-secret"));
        // …and the audit log has no credentials either.
        let (_, events) = send(
            app,
            Method::GET,
            "/api/v1/audit-events?limit=200",
            &admin,
            None,
        );
        assert!(!events.to_string().contains("first-secret"));

        // Replacing the credentials: the old secret token stops working.
        let (status, changed) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"credentials": {"bot_token": "777:SECRET-BOT-TOKEN", "secret_token": "second-secret"}}),
        );
        assert_eq!(status, 200, "{changed}");
        let hook = bot["webhook_path"].as_str().unwrap();
        let update = telegram_update(5, 1, "hi");
        let header = "X-Telegram-Bot-Api-Secret-Token";
        assert_eq!(
            deliver(app, hook, &[(header, "first-secret")], &update).0,
            401
        );
        assert_eq!(
            deliver(app, hook, &[(header, "second-secret")], &update).0,
            200
        );
        let (status, problem) = merge_patch(app, &path, &admin, &json!({"kind": "sms"}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("kind".into(), "immutable".into())]
        );

        // Resealing under the current key changes nothing and is allowed to admins only.
        let (status, resealed) = send(
            app,
            Method::POST,
            "/api/v1/channel-accounts/reseal",
            &admin,
            None,
        );
        assert_eq!(
            (status, resealed["resealed"].as_i64()),
            (200, Some(0)),
            "{resealed}"
        );
        let (_, email, password) = app.create_user("sales", Some("all"));
        let sales = app.login(&email, &password).access_token;
        for (method, target) in [
            (Method::GET, "/api/v1/channel-accounts".to_string()),
            (Method::GET, path.clone()),
            (Method::POST, "/api/v1/channel-accounts/reseal".to_string()),
        ] {
            let (status, _) = send(app, method, &target, &sales, None);
            assert_eq!(status, 403, "{target}");
        }
        // An account with conversations cannot be deleted, only deactivated.
        let (status, _) = send(app, Method::DELETE, &path, &admin, None);
        assert_eq!(status, 409);
    });
}

#[test]
fn conversations_are_seen_through_their_customer_and_reached_by_erasure() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let line = account(app, "sms", json!({}), json!({"api_key": "k"}));
        let received = format!("{}/received", line["webhook_path"].as_str().unwrap());
        let (owner_id, owner_email, password) = app.create_user("sales", Some("own"));
        let owner = app.login(&owner_email, &password).access_token;
        let (_, other_email, _) = app.create_user("sales", Some("own"));
        let other = app.login(&other_email, &password).access_token;
        let mut body = person("نگار", "صادقی", "09125556677", "negar@example.ir");
        body["owner_id"] = json!(owner_id.to_string());
        let customer = id_of(&create_customer(app, &admin, body));
        form(
            app,
            &received,
            &[
                ("messageid", "m1"),
                ("from", "09125556677"),
                ("to", "1000"),
                ("message", "کد تخفیفم کار نمی‌کند"),
            ],
        );
        let mine = conversations(app, &owner, "");
        assert_eq!(mine.len(), 1);
        let id = mine[0]["id"].as_str().unwrap().to_string();
        assert!(conversations(app, &other, "").is_empty());
        for target in [
            format!("/api/v1/conversations/{id}"),
            format!("/api/v1/conversations/{id}/messages"),
        ] {
            assert_eq!(send(app, Method::GET, &target, &owner, None).0, 200);
            assert_eq!(
                send(app, Method::GET, &target, &other, None).0,
                404,
                "{target}"
            );
        }
        let (status, _) = send(
            app,
            Method::GET,
            "/api/v1/conversations",
            "not-a-token",
            None,
        );
        assert_eq!(status, 401);

        // The customer's timeline shows the message, to the owner only.
        let timeline = format!("/api/v1/customers/{customer}/timeline?kind=message");
        let (status, page) = send(app, Method::GET, &timeline, &owner, None);
        assert_eq!(status, 200, "{page}");
        let entry = &page["data"][0];
        assert_eq!(
            (
                entry["kind"].as_str(),
                entry["channel"].as_str(),
                entry["direction"].as_str()
            ),
            (Some("message"), Some("sms"), Some("inbound")),
            "{page}"
        );
        assert_eq!(entry["link"]["href"], format!("/api/v1/conversations/{id}"));
        assert_eq!(send(app, Method::GET, &timeline, &other, None).0, 404);

        // The personal-data export holds the conversation; erasure deletes it.
        let (status, data) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(
            data["conversations"][0]["messages"][0]["body"],
            "کد تخفیفم کار نمی‌کند"
        );
        assert_eq!(data["held_in"]["conversations"], 1);
        let (status, erasure) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{customer}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erasure}");
        assert_eq!(erasure["erased"]["conversations"], 1);
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("/api/v1/conversations/{id}"),
                &admin,
                None
            )
            .0,
            404
        );
    });
}

#[test]
fn inbound_messages_carry_their_sentiment_and_the_customer_its_mean() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let bot = account(
            app,
            "telegram",
            json!({}),
            json!({"bot_token": "123456:ABC-DEF", "secret_token": "s3cret-token-1"}),
        );
        let path = bot["webhook_path"].as_str().unwrap().to_string();
        let good = [("X-Telegram-Bot-Api-Secret-Token", "s3cret-token-1")];
        let customer = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "رحیمی", "0912 111 2233", "sara@example.ir"),
        ));
        let (_, overview) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/overview"),
            &admin,
            None,
        );
        assert_eq!(overview["sentiment"]["messages"], 0, "{overview}");
        assert!(overview["sentiment"]["average_score"].is_null());

        // Sent now, so that they fall within the customer's 90-day window.
        let now = chrono::Utc::now().timestamp();
        let contact = json!({"update_id": 1, "message": {"message_id": 20, "date": now,
            "from": {"id": 70010, "is_bot": false, "first_name": "Sara"},
            "chat": {"id": 70010, "type": "private"},
            "contact": {"phone_number": "989121112233", "first_name": "Sara", "user_id": 70010}}});
        deliver(app, &path, &good, contact.to_string().as_bytes());
        for (id, text) in [(21, "خيلي ممنون، عالي بود 👍"), (22, "کیفیتش خوب نبود")]
        {
            let update = json!({"update_id": 900_000 + id, "message": {
                "message_id": id, "date": now,
                "from": {"id": 70010, "is_bot": false, "first_name": "Sara"},
                "chat": {"id": 70010, "type": "private"}, "text": text}});
            let (status, receipt) = deliver(app, &path, &good, update.to_string().as_bytes());
            assert_eq!(
                (status, receipt["stored"].as_i64()),
                (200, Some(1)),
                "{receipt}"
            );
        }
        let mine = conversations(app, &admin, &format!("customer_id={customer}"));
        let stored = messages(app, mine[0]["id"].as_str().unwrap());
        let of = |body: &str| {
            stored
                .iter()
                .find(|message| message["body"] == body)
                .unwrap_or_else(|| panic!("{body} in {stored:?}"))
        };
        let praise = of("خيلي ممنون، عالي بود 👍");
        assert_eq!(praise["sentiment_label"], "positive", "{praise}");
        assert!(praise["sentiment_score"].as_f64().unwrap() > 0.0);
        let complaint = of("کیفیتش خوب نبود");
        assert_eq!(complaint["sentiment_label"], "negative", "{complaint}");
        assert!(complaint["sentiment_score"].as_f64().unwrap() < 0.0);

        // The 360 view's mean is over every scored inbound message of the customer.
        let inbound: Vec<f64> = stored
            .iter()
            .filter(|message| message["direction"] == "inbound")
            .map(|message| message["sentiment_score"].as_f64().expect("scored"))
            .collect();
        let (_, overview) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/overview"),
            &admin,
            None,
        );
        let sentiment = &overview["sentiment"];
        assert_eq!(
            sentiment["messages"].as_u64(),
            Some(inbound.len() as u64),
            "{sentiment}"
        );
        let mean = inbound.iter().sum::<f64>() / inbound.len() as f64;
        let average = sentiment["average_score"].as_f64().expect("a mean");
        assert!((average - mean).abs() < 1e-9, "{average} {mean}");
        assert!(sentiment["label"].is_string() && sentiment["since"].is_string());
    });
}
