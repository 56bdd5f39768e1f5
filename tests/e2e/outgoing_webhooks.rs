//! Outgoing webhooks: deliveries to a real receiver that checks them with the official
//! Standard Webhooks library; a failing target retried until it answers; the delivery
//! log and a replay with the same `webhook-id`; a subscription that keeps failing
//! switched off and on again; loopback and private targets refused unless the server
//! allows them; the change feed read from a cursor; and who may do what.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    backends, create_customer, created, field_codes, id_of, merge_patch, person, send, TestApp,
};

/// A Python with the test servers' packages: `PEYVAND_TEST_PYTHON`, else the
/// repository's `.venv` that `make test` installs.
fn python() -> PathBuf {
    let python = std::env::var_os("PEYVAND_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    let usable = Command::new(&python)
        .args(["-c", "import standardwebhooks"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        usable,
        "{} cannot import standardwebhooks: run `make test`, or `pip install -r tests/contract/requirements.txt` \
         and point PEYVAND_TEST_PYTHON at that Python",
        python.display()
    );
    python
}

/// The receiver (`tests/support/webhook_receiver.py`) on a free port.
pub(crate) struct Receiver {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/webhook_receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the receiver prints its port");
        Receiver { port, dir, child }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secret deliveries are checked with.
    pub(crate) fn trust(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).unwrap();
    }

    /// Every request received so far, in order.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("received.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Waits until `done` holds of the requests received (the job workers deliver in
    /// the background).
    pub(crate) fn until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(Instant::now() < deadline, "{what}: {received:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn deliveries(app: &TestApp, token: &str, subscription: &str) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        &format!("/api/v1/webhook-subscriptions/{subscription}/deliveries"),
        token,
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

#[test]
fn deliveries_are_signed_retried_logged_and_replayed() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &["--webhooks-allow-private-targets"]);
        let app = &app;
        let admin = app.admin_token();
        let receiver = Receiver::start();
        let steady = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": receiver.url("/ok"), "event_types": ["customer.created", "order.placed"],
                   "description": "انبار"}),
        );
        let secret = steady["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"), "{steady}");
        receiver.trust(&secret);
        // The secret is shown once; the subscription never shows it again.
        let (status, shown) = send(
            app,
            Method::GET,
            &format!("/api/v1/webhook-subscriptions/{}", id_of(&steady)),
            &admin,
            None,
        );
        assert_eq!(status, 200);
        assert!(shown.get("secret").is_none() && !shown.to_string().contains(&secret));
        // A second subscription signs with its own secret; the receiver checks with the
        // first's, so here only its attempts and the answers count.
        let flaky = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": receiver.url("/flaky"), "event_types": ["*"]}),
        );

        let customer = id_of(&create_customer(
            app,
            &admin,
            person("نگار", "احمدی", "09121112233", "negar@example.ir"),
        ));
        // The steady target gets the event, verified by the Standard Webhooks library.
        let received = receiver.until("the customer.created delivery", |r| {
            r.iter().any(|x| x["path"] == "/ok")
        });
        let first = received.iter().find(|x| x["path"] == "/ok").unwrap();
        assert_eq!(first["verified"], true, "{first}");
        assert_eq!(first["payload"]["type"], "customer.created");
        assert_eq!(first["payload"]["data"]["subject"]["id"], customer.as_str());
        assert_eq!(
            first["payload"]["data"]["payload"]["customer_id"],
            customer.as_str()
        );

        // The flaky one answers 500 first; the job tries again and it is delivered.
        receiver.until("the flaky target's second attempt", |r| {
            r.iter().filter(|x| x["path"] == "/flaky").count() >= 2
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let retried = loop {
            let rows = deliveries(app, &admin, &id_of(&flaky));
            if rows.iter().any(|d| d["status"] == "succeeded") {
                break rows;
            }
            assert!(Instant::now() < deadline, "{rows:?}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let retried = &retried[0];
        assert_eq!(retried["attempts"], 2, "{retried}");
        assert_eq!(retried["response_status"], 204);
        assert_eq!(retried["event_type"], "customer.created");

        // The log of the steady one, and a replay with the same webhook-id.
        let logged = deliveries(app, &admin, &id_of(&steady));
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert_eq!(
            (logged[0]["status"].as_str(), logged[0]["attempts"].as_i64()),
            (Some("succeeded"), Some(1))
        );
        let delivery = id_of(&logged[0]);
        assert_eq!(first["webhook_id"], delivery.as_str());
        let replay = format!(
            "/api/v1/webhook-subscriptions/{}/deliveries/{delivery}/replay",
            id_of(&steady)
        );
        let (status, replayed) = send(app, Method::POST, &replay, &admin, None);
        assert_eq!(status, 202, "{replayed}");
        let received = receiver.until("the replay", |r| {
            r.iter()
                .filter(|x| x["webhook_id"] == delivery.as_str())
                .count()
                == 2
        });
        assert!(received
            .iter()
            .filter(|x| x["webhook_id"] == delivery.as_str())
            .all(|x| x["verified"] == true));

        // An order reaches both.
        let before = receiver.received().len();
        let (status, product) = send(
            app,
            Method::POST,
            "/api/v1/products",
            &admin,
            Some(
                json!({"sku": "BOOK-1", "name": "کتاب", "unit_price": 1_200_000, "unit_cost": 600_000}),
            ),
        );
        assert_eq!(status, 201, "{product}");
        let (status, order) = send(
            app,
            Method::POST,
            "/api/v1/orders",
            &admin,
            Some(json!({"customer_id": customer, "status": "paid",
                        "lines": [{"product_id": id_of(&product), "quantity": 1}]})),
        );
        assert_eq!(status, 201, "{order}");
        let received = receiver.until("the order.placed delivery", |r| {
            r[before..]
                .iter()
                .any(|x| x["path"] == "/ok" && x["payload"]["type"] == "order.placed")
        });
        let placed = received[before..]
            .iter()
            .find(|x| x["payload"]["type"] == "order.placed")
            .unwrap();
        assert_eq!(
            placed["payload"]["data"]["payload"]["order_id"],
            id_of(&order)
        );

        // The change feed holds the same events, in order, from a cursor.
        let (status, feed) = send(app, Method::GET, "/api/v1/changes?after=0", &admin, None);
        assert_eq!(status, 200, "{feed}");
        let types: Vec<&str> = feed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(types[0], "customer.created", "{feed}");
        assert!(types.contains(&"order.placed"), "{feed}");
        let (_, rest) = send(
            app,
            Method::GET,
            &format!("/api/v1/changes?after={}", feed["next_after"]),
            &admin,
            None,
        );
        assert_eq!(rest["data"], json!([]));
        assert_eq!(rest["next_after"], feed["next_after"]);
    }
}

#[test]
fn subscriptions_are_checked_guarded_and_switched_off_after_repeated_failures() {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        let app = &app;
        let admin = app.admin_token();
        // Loopback, private and link-local targets are refused by default.
        for (url, code) in [
            ("http://127.0.0.1:8080/hook", "private_address"),
            ("http://localhost/hook", "private_address"),
            ("http://169.254.169.254/latest/meta-data", "private_address"),
            ("http://10.0.0.7/hook", "private_address"),
            ("ftp://hooks.example.ir/x", "invalid_format"),
        ] {
            let (status, problem) = send(
                app,
                Method::POST,
                "/api/v1/webhook-subscriptions",
                &admin,
                Some(json!({"url": url, "event_types": ["*"]})),
            );
            assert_eq!(status, 422, "{url}: {problem}");
            assert_eq!(
                field_codes(&problem),
                [("url".to_string(), code.to_string())],
                "{url}"
            );
        }
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/webhook-subscriptions",
            &admin,
            Some(json!({"url": "https://hooks.example.ir/x", "event_types": ["order.shipped"]})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("event_types[0]".to_string(), "invalid_value".to_string())]
        );

        // Only `crm:configure` manages subscriptions and reads the feed.
        let (_, email, password) = app.create_user("sales", Some("all"));
        let sales = app.login(&email, &password).access_token;
        for (method, path) in [
            (Method::GET, "/api/v1/webhook-subscriptions"),
            (Method::GET, "/api/v1/changes"),
        ] {
            assert_eq!(send(app, method, path, &sales, None).0, 403, "{path}");
        }
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/webhook-subscriptions",
            &sales,
            Some(json!({"url": "https://hooks.example.ir/x", "event_types": ["*"]})),
        );
        assert_eq!(status, 403);
        // Nor may it read, change, delete or replay an existing one by id.
        let guarded = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": "https://hooks.example.ir/guarded", "event_types": ["*"]}),
        );
        let guarded = format!("/api/v1/webhook-subscriptions/{}", id_of(&guarded));
        for (method, path, body) in [
            (Method::GET, guarded.clone(), None),
            (
                Method::PATCH,
                guarded.clone(),
                Some(json!({"active": false})),
            ),
            (Method::DELETE, guarded.clone(), None),
            (Method::GET, format!("{guarded}/deliveries"), None),
            (
                Method::POST,
                format!("{guarded}/deliveries/{}/replay", uuid::Uuid::now_v7()),
                None,
            ),
        ] {
            assert_eq!(
                send(app, method.clone(), &path, &sales, body).0,
                403,
                "{method} {path}"
            );
        }
        assert_eq!(
            send(app, Method::GET, &guarded, &admin, None).1["active"],
            true
        );
        // A NUL or control character in the URL is named, not stored.
        for (url, code) in [
            ("https://hooks.example.ir/a\u{0}b", "nul_character"),
            ("https://hooks.example.ir/a\u{7}b", "control_character"),
        ] {
            let (status, problem) = send(
                app,
                Method::POST,
                "/api/v1/webhook-subscriptions",
                &admin,
                Some(json!({"url": url, "event_types": ["*"]})),
            );
            assert_eq!(status, 422, "{problem}");
            assert_eq!(
                field_codes(&problem),
                [("url".to_string(), code.to_string())]
            );
        }

        // Five deliveries given up in a row switch a subscription off; switching it on
        // clears them. No event is queued for it while it is off.
        let subscription = created(
            app,
            &admin,
            "/api/v1/webhook-subscriptions",
            json!({"url": "https://hooks.example.ir/peyvand", "event_types": ["ticket.created"]}),
        );
        let id = id_of(&subscription);
        {
            let mut conn = app.state.pool.get().expect("connection");
            for _ in 0..5 {
                persistence::webhooks::count_outcome(
                    &mut conn,
                    id.parse().unwrap(),
                    false,
                    domain::webhooks::DISABLE_AFTER_FAILURES,
                    "answered 503",
                )
                .expect("counted");
            }
        }
        let path = format!("/api/v1/webhook-subscriptions/{id}");
        let (_, off) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(off["active"], false, "{off}");
        assert_eq!(off["consecutive_failures"], 5);
        assert_eq!(off["disabled_reason"], "answered 503");
        create_customer(
            app,
            &admin,
            person("کاوه", "نادری", "09123334455", "kaveh@example.ir"),
        );
        assert_eq!(deliveries(app, &admin, &id), Vec::<Value>::new());
        let (status, on) = merge_patch(app, &path, &admin, &json!({"active": true}));
        assert_eq!(status, 200, "{on}");
        assert_eq!(
            (on["active"].as_bool(), on["consecutive_failures"].as_i64()),
            (Some(true), Some(0))
        );
        assert!(on["disabled_reason"].is_null());
        let (status, _) = send(app, Method::DELETE, &path, &admin, None);
        assert_eq!(status, 204);
        assert_eq!(send(app, Method::GET, &path, &admin, None).0, 404);
    }
}
