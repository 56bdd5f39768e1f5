//! Omnichannel outbound (O-3): agents' replies sent through each provider's documented
//! HTTP API — here a local server speaking Telegram's `sendMessage`, WhatsApp Cloud
//! API's `/messages`, Instagram's `/me/messages` and Kavenegar's `sms/send.json` — as a
//! durable job; a customer who withdrew consent is refused and the refusal recorded; a
//! provider's refusal fails the message with its reason, an outage leaves it queued
//! for the next attempt; delivery reports move messages forward only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    backends, create_customer, created, field_codes, id_of, person, send, settled_message, Backend,
    TestApp,
};

/// A request the stand-in provider received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    authorization: Option<String>,
    pub(crate) body: String,
}

/// An HTTP server on a loopback port that answers as the providers do and keeps what
/// it was sent. Paths containing `fail-hard` answer 400 and `outage` 503, as a provider
/// refusing a message or being down would.
pub(crate) struct ProviderStub {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProviderStub {
    pub(crate) fn start() -> ProviderStub {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("stub binds"));
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("ip address")
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = server.clone();
            let received = received.clone();
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let mut body = String::new();
                    request.as_reader().read_to_string(&mut body).ok();
                    let path = request.url().to_string();
                    let authorization = request
                        .headers()
                        .iter()
                        .find(|header| header.field.equiv("Authorization"))
                        .map(|header| header.value.to_string());
                    let count = {
                        let mut received = received.lock().unwrap();
                        received.push(Received {
                            path: path.clone(),
                            authorization,
                            body: body.clone(),
                        });
                        received.len()
                    };
                    let (status, answer) = answer(&path, &body, count);
                    let response = tiny_http::Response::from_string(answer.to_string())
                        .with_status_code(status)
                        .with_header(
                            "Content-Type: application/json"
                                .parse::<tiny_http::Header>()
                                .unwrap(),
                        );
                    let _ = request.respond(response);
                }
            })
        };
        ProviderStub {
            url,
            received,
            server,
            thread: Some(thread),
        }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for ProviderStub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What each provider answers, as documented.
fn answer(path: &str, body: &str, count: usize) -> (u16, Value) {
    if path.contains("fail-hard") {
        return (
            400,
            json!({"error": {"message": "Recipient phone number not in allowed list", "code": 131030}}),
        );
    }
    if path.contains("outage") {
        return (503, json!({"error": "temporarily unavailable"}));
    }
    if path.contains("/sendMessage") {
        let chat: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        return (
            200,
            json!({"ok": true, "result": {"message_id": 500 + count,
            "chat": {"id": chat["chat_id"], "type": "private"}, "date": 1764800000, "text": chat["text"]}}),
        );
    }
    if path.ends_with("/messages") && path.contains("/me/") {
        return (
            200,
            json!({"recipient_id": "IGSID-9", "message_id": format!("m_out_{count}")}),
        );
    }
    if path.ends_with("/messages") {
        return (
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"input": "989121234567", "wa_id": "989121234567"}],
            "messages": [{"id": format!("wamid.OUT{count}")}]}),
        );
    }
    if path.ends_with("/sms/send.json") {
        return (
            200,
            json!({"return": {"status": 200, "message": "تایید شد"},
            "entries": [{"messageid": 8_800_000 + count, "message": "", "status": 1, "statustext": "در صف ارسال",
                         "sender": "10004346", "receptor": "09121234567", "date": 1764800000, "cost": 120}]}),
        );
    }
    (404, json!({"error": "unknown path"}))
}

pub(crate) fn spawn(stub: &ProviderStub, backend: Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        &[
            "--telegram-api-url",
            &stub.url,
            "--meta-graph-url",
            &format!("{}/v21.0", stub.url),
            "--kavenegar-api-url",
            &stub.url,
        ],
    )
}

/// The conversation of an inbound SMS from `from` on the line at `base`.
fn sms_conversation(app: &TestApp, base: &str, from: &str, id: &str) -> String {
    let response = app
        .client()
        .post(app.url(&format!("{base}/received")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "messageid={id}&from={from}&to=10004346&message=salam"
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, page) = send(
        app,
        Method::GET,
        "/api/v1/conversations",
        &app.admin_token(),
        None,
    );
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|conversation| {
            conversation["contact_value"].as_str() == Some(&format!("+98{}", &from[1..]))
        })
        .map(|conversation| conversation["id"].as_str().unwrap().to_string())
        .expect("the conversation")
}

#[test]
fn replies_go_out_through_each_providers_api() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        let sms = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط پیامک", "settings": {"provider_account_id": "10004346"},
                   "credentials": {"api_key": "KAVE-KEY"}}),
        );
        let base = sms["webhook_path"].as_str().unwrap().to_string();
        let customer = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        let conversation = sms_conversation(&app, &base, "09121234567", "in-1");
        let reply = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "سلام، سفارش شما ارسال شد."}),
        );
        assert_eq!(reply["status"], "queued");
        let sent = settled_message(&app, &conversation, reply["id"].as_str().unwrap());
        assert_eq!(sent["status"], "sent", "{sent}");
        let call = stub
            .received()
            .into_iter()
            .find(|call| call.path.ends_with("/sms/send.json"))
            .expect("Kavenegar was called");
        assert_eq!(call.path, "/v1/KAVE-KEY/sms/send.json");
        assert!(call.body.contains("receptor=09121234567"), "{}", call.body);
        assert!(call.body.contains("sender=10004346"), "{}", call.body);
        let provider_id = sent["provider_message_id"].as_str().unwrap().to_string();

        // Kavenegar's delivery report moves it to delivered; a late "sent" does not
        // move it back.
        for (status, expected) in [("10", 1), ("4", 0)] {
            let response = app
                .client()
                .post(app.url(&format!("{base}/delivery")))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("messageid={provider_id}&status={status}"))
                .send()
                .unwrap();
            let receipt: Value = response.json().unwrap();
            assert_eq!(receipt["delivery_updates"], expected, "{status}: {receipt}");
        }
        let delivered = settled_message(&app, &conversation, reply["id"].as_str().unwrap());
        assert_eq!(delivered["status"], "delivered");

        // A customer who withdrew SMS consent for service messages is refused, and the
        // refusal is recorded.
        created(
            &app,
            &admin,
            &format!("/api/v1/customers/{customer}/consents"),
            json!({"channel": "sms", "purpose": "service", "granted": false, "source": "phone_call"}),
        );
        let calls_before = stub.received().len();
        let refused = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "پیام دوم"}),
        );
        assert_eq!(refused["status"], "refused");
        assert!(
            refused["error"].as_str().unwrap().contains("consent"),
            "{refused}"
        );
        assert_eq!(stub.received().len(), calls_before, "nothing was sent");

        // Bad input: too long for an SMS, blank.
        let path = format!("/api/v1/conversations/{conversation}/messages");
        let (status, problem) = send(
            &app,
            Method::POST,
            &path,
            &admin,
            Some(json!({"body": "ب".repeat(600)})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("body".into(), "too_long".into())]
        );
        let (status, _) = send(
            &app,
            Method::POST,
            &path,
            &admin,
            Some(json!({"body": "  "})),
        );
        assert_eq!(status, 422);

        // Telegram and WhatsApp: the documented requests, with the bot token in the
        // path and the access token as a bearer.
        let bot = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "telegram", "name": "ربات", "credentials": {"bot_token": "123:BOT", "secret_token": "t"}}),
        );
        let update = json!({"update_id": 1, "message": {"message_id": 7, "date": 1764800000,
            "from": {"id": 4242, "is_bot": false, "first_name": "Nima"},
            "chat": {"id": 4242, "type": "private"}, "text": "hi"}});
        app.client()
            .post(app.url(bot["webhook_path"].as_str().unwrap()))
            .header("X-Telegram-Bot-Api-Secret-Token", "t")
            .json(&update)
            .send()
            .unwrap();
        let (_, page) = send(&app, Method::GET, "/api/v1/conversations", &admin, None);
        let telegram = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["channel"] == "telegram")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let reply = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{telegram}/messages"),
            json!({"body": "درود"}),
        );
        let sent = settled_message(&app, &telegram, reply["id"].as_str().unwrap());
        assert_eq!(sent["status"], "sent", "{sent}");
        assert!(sent["provider_message_id"]
            .as_str()
            .unwrap()
            .starts_with("4242:"));
        let call = stub
            .received()
            .into_iter()
            .find(|call| call.path.contains("sendMessage"))
            .unwrap();
        assert_eq!(call.path, "/bot123:BOT/sendMessage");
        let sent_body: Value = serde_json::from_str(&call.body).unwrap();
        assert_eq!(
            (sent_body["chat_id"].as_str(), sent_body["text"].as_str()),
            (Some("4242"), Some("درود"))
        );

        let whatsapp = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "whatsapp", "name": "واتساپ", "settings": {"provider_account_id": "106540352242922"},
                   "credentials": {"access_token": "EAAG", "app_secret": "s", "verify_token": "v"}}),
        );
        let notification = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
            "value": {"messages": [{"from": "989121234567", "id": "wamid.IN1", "timestamp": "1764800000",
                                    "type": "text", "text": {"body": "سلام"}}]}}]}]})
        .to_string();
        let signature = channels::meta::sign(b"s", notification.as_bytes());
        app.client()
            .post(app.url(whatsapp["webhook_path"].as_str().unwrap()))
            .header("X-Hub-Signature-256", signature)
            .header("Content-Type", "application/json")
            .body(notification)
            .send()
            .unwrap();
        let (_, page) = send(&app, Method::GET, "/api/v1/conversations", &admin, None);
        let wa = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["channel"] == "whatsapp")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let reply = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{wa}/messages"),
            json!({"body": "در خدمتیم"}),
        );
        let sent = settled_message(&app, &wa, reply["id"].as_str().unwrap());
        assert_eq!(sent["status"], "sent", "{sent}");
        let call = stub
            .received()
            .into_iter()
            .find(|call| call.path == "/v21.0/106540352242922/messages")
            .expect("the Cloud API was called");
        assert_eq!(call.authorization.as_deref(), Some("Bearer EAAG"));
        let sent_body: Value = serde_json::from_str(&call.body).unwrap();
        assert_eq!(sent_body["messaging_product"], "whatsapp");
        assert_eq!(sent_body["to"], "989121234567");
        assert_eq!(sent_body["text"]["body"], "در خدمتیم");
        // WhatsApp's status notification: read.
        let provider_id = sent["provider_message_id"].as_str().unwrap();
        let status = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
            "value": {"statuses": [{"id": provider_id, "status": "read", "timestamp": "1764800100",
                                    "recipient_id": "989121234567"}]}}]}]})
        .to_string();
        let signature = channels::meta::sign(b"s", status.as_bytes());
        let response = app
            .client()
            .post(app.url(whatsapp["webhook_path"].as_str().unwrap()))
            .header("X-Hub-Signature-256", signature)
            .header("Content-Type", "application/json")
            .body(status)
            .send()
            .unwrap();
        let receipt: Value = response.json().unwrap();
        assert_eq!(receipt["delivery_updates"], 1, "{receipt}");
        assert_eq!(
            settled_message(&app, &wa, reply["id"].as_str().unwrap())["status"],
            "read"
        );
    }
}

#[test]
fn provider_refusals_fail_the_message_and_outages_keep_it_queued() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        let line = |name: &str, key: &str| {
            created(
                &app,
                &admin,
                "/api/v1/channel-accounts",
                json!({"kind": "sms", "name": name, "settings": {"provider_account_id": "1000"},
                       "credentials": {"api_key": key}}),
            )["webhook_path"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let refusing = line("refusing", "fail-hard");
        let down = line("down", "outage");
        let conversation = sms_conversation(&app, &refusing, "09127778899", "r-1");
        let reply = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "test"}),
        );
        let failed = settled_message(&app, &conversation, reply["id"].as_str().unwrap());
        assert_eq!(failed["status"], "failed");
        assert!(
            failed["error"].as_str().unwrap().contains("400"),
            "{failed}"
        );

        let conversation = sms_conversation(&app, &down, "09127778800", "d-1");
        let reply = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "test"}),
        );
        // The first attempt reaches the provider and fails; the job waits for its
        // next attempt with the message still queued.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stub
            .received()
            .iter()
            .any(|call| call.path.contains("outage"))
        {
            assert!(Instant::now() < deadline, "the provider was never called");
            std::thread::sleep(Duration::from_millis(50));
        }
        let message = message_now(&app, &conversation, reply["id"].as_str().unwrap());
        assert_eq!(message["status"], "queued", "{message}");
        assert!(message["provider_message_id"].is_null());
    }
}

fn message_now(app: &TestApp, conversation: &str, message: &str) -> Value {
    let (_, page) = send(
        app,
        Method::GET,
        &format!("/api/v1/conversations/{conversation}/messages?limit=200"),
        &app.admin_token(),
        None,
    );
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == message)
        .cloned()
        .unwrap()
}

#[test]
fn messages_outside_working_hours_get_one_automatic_reply_per_closed_spell() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        // Open one hour a day, six hours away from now in Tehran: now is closed.
        let tehran = chrono::Utc::now() + chrono::Duration::minutes(210);
        let start = (chrono::Timelike::hour(&tehran) + 6) % 24;
        let start = start.min(22);
        let span =
            json!([{"start": format!("{start:02}:00"), "end": format!("{:02}:00", start + 1)}]);
        let days = [
            "saturday",
            "sunday",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
        ];
        let hours: serde_json::Map<String, Value> = days
            .iter()
            .map(|day| (day.to_string(), span.clone()))
            .collect();
        let response = app
            .authed(Method::PATCH, "/api/v1/settings/business", &admin)
            .header("Content-Type", "application/merge-patch+json")
            .json(&json!({"working_hours": hours}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);

        let bot = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "telegram", "name": "ربات",
                   "settings": {"off_hours_reply": "سلام! ساعت کاری ما تمام شده؛ فردا پاسخ می‌دهیم."},
                   "credentials": {"bot_token": "9:AUTO", "secret_token": "t"}}),
        );
        let hook = bot["webhook_path"].as_str().unwrap().to_string();
        let now = chrono::Utc::now().timestamp();
        for message in [1, 2] {
            let update = json!({"update_id": message, "message": {"message_id": message, "date": now,
                "from": {"id": 8080, "is_bot": false, "first_name": "Leila"},
                "chat": {"id": 8080, "type": "private"}, "text": "کسی هست؟"}});
            let response = app
                .client()
                .post(app.url(&hook))
                .header("X-Telegram-Bot-Api-Secret-Token", "t")
                .json(&update)
                .send()
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        let (_, page) = send(&app, Method::GET, "/api/v1/conversations", &admin, None);
        let conversation = page["data"][0]["id"].as_str().unwrap().to_string();
        let (_, messages) = send(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages?limit=200"),
            &admin,
            None,
        );
        let automatic: Vec<&Value> = messages["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|message| message["automatic"] == true)
            .collect();
        assert_eq!(
            automatic.len(),
            1,
            "one reply for the closed spell: {messages}"
        );
        assert_eq!(automatic[0]["direction"], "outbound");
        let sent = settled_message(&app, &conversation, automatic[0]["id"].as_str().unwrap());
        assert_eq!(sent["status"], "sent", "{sent}");
        let call = stub
            .received()
            .into_iter()
            .find(|call| call.path == "/bot9:AUTO/sendMessage")
            .expect("the reply was sent");
        assert!(call.body.contains("ساعت کاری"), "{}", call.body);
    }
}

#[test]
fn a_message_like_a_canned_question_is_answered_automatically_above_the_threshold() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        created(
            &app,
            &admin,
            "/api/v1/canned-answers",
            json!({"title_fa": "زمان ارسال", "question": "سفارشم کی می‌رسد؟ زمان ارسال سفارش",
                   "answer_fa": "{{customer.first_name}} عزیز، سفارش‌ها ظرف دو روز کاری می‌رسند.",
                   "answer_en": "Dear {{customer.first_name}}, orders arrive within two working days."}),
        );
        created(
            &app,
            &admin,
            "/api/v1/canned-answers",
            json!({"title_fa": "پیگیری تیکت", "question": "وضعیت تیکت من چیست",
                   "answer_fa": "تیکت {{ticket.number}} در حال بررسی است."}),
        );
        // An out-of-range threshold is refused.
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/channel-accounts",
            &admin,
            Some(
                json!({"kind": "sms", "name": "خط", "settings": {"auto_answer_min_score": -1},
                        "credentials": {"api_key": "KAVE-KEY"}}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![(
                "settings.auto_answer_min_score".into(),
                "out_of_range".into()
            )]
        );
        let line = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط پیامک",
                   "settings": {"provider_account_id": "10004346", "auto_answer_min_score": 0.3},
                   "credentials": {"api_key": "KAVE-KEY"}}),
        );
        let base = line["webhook_path"].as_str().unwrap().to_string();
        create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        );
        let received = |id: &str, text: &str| {
            let response = app
                .client()
                .post(app.url(&format!("{base}/received")))
                .form(&[
                    ("messageid", id),
                    ("from", "09121234567"),
                    ("to", "10004346"),
                    ("message", text),
                ])
                .send()
                .unwrap();
            assert_eq!(response.status(), 200);
        };
        received("q-1", "سلام، سفارشم کی می‌رسد؟");
        received("q-2", "Hi, when will my order arrive? Orders time");
        received("q-3", "ممنون");
        received("q-4", "وضعیت تیکت من چیست؟");
        let (_, page) = send(&app, Method::GET, "/api/v1/conversations", &admin, None);
        let conversation = page["data"][0]["id"].as_str().unwrap().to_string();
        let (_, messages) = send(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages?limit=50"),
            &admin,
            None,
        );
        let automatic: Vec<&str> = messages["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|message| message["automatic"] == true)
            .map(|message| message["body"].as_str().unwrap())
            .collect();
        // The Persian question gets the Persian answer with the customer's name, the
        // English one the English text; the thanks matches nothing; the ticket
        // question's answer needs a ticket number the system does not choose, so it
        // waits for an agent.
        assert_eq!(
            automatic,
            vec![
                "سارا عزیز، سفارش‌ها ظرف دو روز کاری می‌رسند.",
                "Dear سارا, orders arrive within two working days."
            ],
            "{messages}"
        );
        let (_, answers) = send(&app, Method::GET, "/api/v1/canned-answers", &admin, None);
        let used = answers["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|answer| answer["title_fa"] == "زمان ارسال")
            .unwrap()["usage_count"]
            .clone();
        assert_eq!(used, 2, "{answers}");
    }
}

/// Sets the business's quiet hours to the two hours around now in Tehran, which the
/// default settings' time zone is.
fn quiet_now(app: &TestApp, token: &str) {
    let minute = |offset: i64| {
        let tehran = chrono::Utc::now() + chrono::Duration::minutes(210 + offset);
        let of_day = (tehran.timestamp().rem_euclid(86_400)) / 60;
        format!("{:02}:{:02}", of_day / 60, of_day % 60)
    };
    let response = app
        .authed(Method::PATCH, "/api/v1/settings/business", token)
        .header("content-type", "application/merge-patch+json")
        .body(
            json!({"quiet_hours": {"start": minute(-60), "end": minute(60), "on_days_off": false}})
                .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn templates_fill_in_the_customer_in_persian_and_quiet_hours_hold_what_the_business_starts() {
    for backend in backends() {
        let stub = ProviderStub::start();
        let app = spawn(&stub, backend);
        let admin = app.admin_token();
        let sms = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط پیامک", "settings": {"provider_account_id": "10004346"},
                   "credentials": {"api_key": "KAVE-KEY"}}),
        );
        let account = id_of(&sms);
        let mut sara = person("سارا", "محمدی", "09121234567", "sara@example.ir");
        sara["birth_date"] = json!("1990-03-21");
        sara["code"] = json!("C-1001");
        let customer = id_of(&create_customer(&app, &admin, sara));

        // Templates are checked when saved, field by field.
        for (body, field, code) in [
            (
                json!({"name": "x", "body_fa": "سلام {{ customer.phone }}"}),
                "body_fa",
                "unknown_variable",
            ),
            (
                json!({"name": "x", "body_fa": "سلام {{ customer.name "}),
                "body_fa",
                "invalid_template",
            ),
            (
                json!({"name": "x", "body_fa": "{{ customer.name | shout }}"}),
                "body_fa",
                "invalid_template",
            ),
            (
                json!({"name": "x", "body_fa": "{% include 'x' %}"}),
                "body_fa",
                "invalid_template",
            ),
            (
                json!({"name": "x", "channel": "sms", "subject_fa": "موضوع", "body_fa": "سلام"}),
                "subject_fa",
                "not_allowed",
            ),
            (
                json!({"name": "x", "channel": "email", "body_fa": "سلام"}),
                "subject_fa",
                "required",
            ),
            (json!({"name": " ", "body_fa": "سلام"}), "name", "required"),
            (
                json!({"name": "x", "body_fa": "سلام\u{0}"}),
                "body_fa",
                "nul_character",
            ),
        ] {
            let (status, problem) = send(
                &app,
                Method::POST,
                "/api/v1/message-templates",
                &admin,
                Some(body.clone()),
            );
            assert_eq!(status, 422, "{body}: {problem}");
            assert!(
                field_codes(&problem).contains(&(field.to_string(), code.to_string())),
                "{body}: {problem}"
            );
        }
        let birthday = created(
            &app,
            &admin,
            "/api/v1/message-templates",
            json!({"name": "تبریک تولد", "channel": "sms",
                   "body_fa": "{{ customer.first_name }} عزیز، زادروز {{ customer.birth_date | jalali('long') }} مبارک. کد اشتراک: {{ customer.code | fa_digits }}، خرید شما: {{ customer.revenue | toman }}{% if customer.city %} در {{ customer.city }}{% endif %}",
                   "body_en": "Dear {{ customer.name }}, happy birthday ({{ customer.birth_date | jalali }})."}),
        );
        assert_eq!(birthday["active"], true);
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/message-templates",
            &admin,
            Some(json!({"name": "تبریک تولد", "body_fa": "سلام"})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("name".to_string(), "already_exists".to_string())]
        );
        let persian_only = created(
            &app,
            &admin,
            "/api/v1/message-templates",
            json!({"name": "فقط فارسی", "body_fa": "سلام {{ customer.name }}"}),
        );
        let (_, listed) = send(
            &app,
            Method::GET,
            "/api/v1/message-templates?channel=telegram",
            &admin,
            None,
        );
        let names: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec!["فقط فارسی"],
            "an SMS template is not a Telegram one"
        );

        // The preview is what is sent: 21 March 1990 is 1 Farvardin 1369.
        let template = id_of(&birthday);
        let (status, preview) = send(
            &app,
            Method::POST,
            &format!("/api/v1/message-templates/{template}/preview"),
            &admin,
            Some(json!({"customer_id": customer})),
        );
        assert_eq!(status, 200, "{preview}");
        let expected =
            "سارا عزیز، زادروز ۱ فروردین ۱۳۶۹ مبارک. کد اشتراک: C-۱۰۰۱، خرید شما: ۰ تومان";
        assert_eq!(preview["body"], expected);
        let (_, english) = send(
            &app,
            Method::POST,
            &format!("/api/v1/message-templates/{template}/preview"),
            &admin,
            Some(json!({"customer_id": customer, "language": "en"})),
        );
        assert_eq!(
            english["body"],
            "Dear سارا محمدی, happy birthday (1369/01/01)."
        );

        let start = |body: Value| {
            send(
                &app,
                Method::POST,
                "/api/v1/conversations",
                &admin,
                Some(body),
            )
        };
        let (status, started) = start(
            json!({"channel_account_id": account, "customer_id": customer, "template_id": template}),
        );
        assert_eq!(status, 201, "{started}");
        assert_eq!(started["message"]["body"], expected);
        assert_eq!(started["message"]["scheduled_at"], Value::Null);
        let conversation = started["conversation"]["id"].as_str().unwrap().to_string();
        let sent = settled_message(
            &app,
            &conversation,
            started["message"]["id"].as_str().unwrap(),
        );
        assert_eq!(sent["status"], "sent", "{sent}");

        for (body, field, code) in [
            (
                json!({"channel_account_id": account, "customer_id": customer, "template_id": template, "body": "سلام"}),
                "template_id",
                "conflicting",
            ),
            (
                json!({"channel_account_id": account, "customer_id": customer}),
                "body",
                "required",
            ),
            (
                json!({"channel_account_id": account, "customer_id": customer, "template_id": id_of(&persian_only), "language": "en"}),
                "language",
                "not_available",
            ),
            (
                json!({"channel_account_id": account, "customer_id": customer, "template_id": account}),
                "template_id",
                "not_found",
            ),
        ] {
            let (status, problem) = start(body.clone());
            assert_eq!(status, 422, "{body}: {problem}");
            assert_eq!(
                field_codes(&problem),
                vec![(field.to_string(), code.to_string())],
                "{body}"
            );
        }
        let (status, _) = send(
            &app,
            Method::PATCH,
            &format!("/api/v1/message-templates/{template}"),
            &admin,
            Some(json!({"active": false})),
        );
        assert_eq!(status, 200);
        let (status, problem) = start(
            json!({"channel_account_id": account, "customer_id": customer, "template_id": template}),
        );
        assert_eq!(
            (status, field_codes(&problem)),
            (
                422,
                vec![("template_id".to_string(), "inactive".to_string())]
            )
        );

        // Quiet hours: what the business starts waits for their end; an answer to the
        // customer's own message of today goes out at once.
        quiet_now(&app, &admin);
        let reza = id_of(&create_customer(
            &app,
            &admin,
            person("رضا", "کریمی", "09351234567", "reza@example.ir"),
        ));
        let (status, held) = start(
            json!({"channel_account_id": account, "customer_id": reza, "body": "پیش‌فاکتور شما آماده است."}),
        );
        assert_eq!(status, 201, "{held}");
        assert_eq!(held["message"]["status"], "queued");
        let due: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(held["message"]["scheduled_at"].clone()).expect("held back");
        let wait = due - chrono::Utc::now();
        assert!(
            wait > chrono::Duration::minutes(55) && wait <= chrono::Duration::minutes(61),
            "due {due}"
        );
        let base = sms["webhook_path"].as_str().unwrap().to_string();
        let answered = sms_conversation(&app, &base, "09121234567", "in-quiet");
        let (status, reply) = send(
            &app,
            Method::POST,
            &format!("/api/v1/conversations/{answered}/messages"),
            &admin,
            Some(json!({"body": "سلام، بله."})),
        );
        assert_eq!(status, 201, "{reply}");
        assert_eq!(reply["scheduled_at"], Value::Null);
        let sent = settled_message(&app, &answered, reply["id"].as_str().unwrap());
        assert_eq!(sent["status"], "sent", "{sent}");
        // The held one is still waiting, its job due at the end of the quiet hours.
        let conversation = held["conversation"]["id"].as_str().unwrap();
        let (_, page) = send(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages"),
            &admin,
            None,
        );
        assert_eq!(page["data"][0]["status"], "queued");
    }
}
