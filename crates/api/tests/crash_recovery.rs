//! The built server killed with SIGKILL under a write load and started again, on each
//! backend: customers written through the API, an import of 10,000 rows, webhook
//! deliveries to a local receiver and the recurring jobs all under way when the
//! process dies. After the restart every write that was acknowledged is there whole,
//! the import's rows are there exactly once and its job has succeeded, no job is left
//! running, every acknowledged customer's `customer.created` event reaches the
//! receiver, and the audit chain verifies.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use persistence::schema::{customers, jobs};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use test_databases::{backends, TestDatabase};

const ADMIN_EMAIL: &str = "crash-admin@example.com";
const ADMIN_PASSWORD: &str = "crash test password 1";
const IMPORTED_ROWS: usize = 10_000;
/// A job whose worker died is taken over after this; short, so that the test is quick.
const LEASE_SECONDS: &str = "3";

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str, data_dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_peyvand"))
            .args(["serve", "--database-url", database_url, "--data-dir"])
            .arg(data_dir)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--job-lease-seconds", LEASE_SECONDS, "--job-workers", "2"])
            .args(["--http-workers", "2", "--rate-limit-per-minute", "1000000"])
            .arg("--webhooks-allow-private-targets")
            .env("PEYVAND_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PEYVAND_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !client
            .get(server.url("/api/v1/ready"))
            .send()
            .is_ok_and(|response| response.status().is_success())
        {
            assert!(Instant::now() < deadline, "the server did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no shutdown of any kind.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(client: &Client, server: &Server) -> String {
    let answer: Value = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .expect("login")
        .json()
        .expect("tokens");
    answer["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

/// A webhook endpoint that answers 200 to everything and keeps the ids of the customers
/// whose `customer.created` it received.
fn receiver() -> (String, Arc<Mutex<HashSet<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(HashSet::new()));
    let kept = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || answer_delivery(stream, &kept));
        }
    });
    (url, received)
}

fn answer_delivery(stream: TcpStream, received: &Mutex<HashSet<String>>) {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if let Ok(event) = serde_json::from_slice::<Value>(&body) {
        if event["type"] == "customer.created" {
            if let Some(id) = event["data"]["subject"]["id"].as_str() {
                received.lock().unwrap().insert(id.to_string());
            }
        }
    }
    let _ = reader
        .into_inner()
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

fn import_file() -> Vec<u8> {
    let mut csv = String::from("code,first_name,last_name\n");
    for row in 0..IMPORTED_ROWS {
        csv.push_str(&format!("IMP-{row:05},مشتری,شماره {row}\n"));
    }
    csv.into_bytes()
}

fn job(client: &Client, server: &Server, token: &str, id: &str) -> Value {
    client
        .get(server.url(&format!("/api/v1/jobs/{id}")))
        .bearer_auth(token)
        .send()
        .expect("job")
        .json()
        .expect("job json")
}

/// Waits for `done`, polling; panics with `what` after two minutes.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_server_killed_under_write_load_loses_nothing_it_acknowledged() {
    for backend in backends() {
        let database = TestDatabase::new(backend);
        let data_dir = tempfile::tempdir().expect("data dir");
        let client = Client::new();
        let server = Server::start(database.url(), data_dir.path());
        let token = login(&client, &server);
        let (hook_url, received) = receiver();
        let subscribed = client
            .post(server.url("/api/v1/webhook-subscriptions"))
            .bearer_auth(&token)
            .json(&json!({"url": hook_url, "event_types": ["customer.created"]}))
            .send()
            .expect("subscribe");
        assert_eq!(subscribed.status(), 201);

        // Writers: customers through the API, each acknowledged one remembered.
        let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|writer| {
                let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
                let (url, token) = (server.url("/api/v1/customers"), token.clone());
                std::thread::spawn(move || {
                    let client = Client::new();
                    for n in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let email = format!("w{writer}-{n}@crash.example.ir");
                        let sent = client
                            .post(&url)
                            .bearer_auth(&token)
                            .json(&json!({"kind": "person", "first_name": "نویسنده",
                                          "last_name": format!("{writer}-{n}"),
                                          "emails": [{"address": email}]}))
                            .send();
                        match sent {
                            Ok(response) if response.status() == 201 => {
                                let created: Value = response.json().expect("customer");
                                let id = created["id"].as_str().unwrap().to_string();
                                acknowledged.lock().unwrap().push((id, email));
                            }
                            Ok(response) => {
                                assert!(
                                    !response.status().is_server_error(),
                                    "a write answered {}",
                                    response.status()
                                );
                            }
                            // The server is gone.
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();

        until("writes to be acknowledged", || {
            acknowledged.lock().unwrap().len() >= 30
        });
        // An import, killed while its job runs.
        let form = Form::new()
            .part(
                "file",
                Part::bytes(import_file())
                    .file_name("customers.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            )
            .part(
                "options",
                Part::text(
                    json!({"mapping": {"code": "code", "first_name": "first_name",
                                       "last_name": "last_name"}})
                    .to_string(),
                )
                .mime_str("application/json")
                .unwrap(),
            );
        let started = client
            .post(server.url("/api/v1/imports"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .expect("import");
        assert_eq!(started.status(), 202);
        let import: Value = started.json().expect("job");
        let import_id = import["id"].as_str().unwrap().to_string();
        let mut at_kill = Value::Null;
        until("the import to start", || {
            at_kill = job(&client, &server, &token, &import_id)["status"].clone();
            at_kill != "queued"
        });
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().expect("writer");
        }
        let acknowledged = acknowledged.lock().unwrap().clone();

        // Started again on the same database and data directory.
        let server = Server::start(database.url(), data_dir.path());
        let token = login(&client, &server);
        let mut finished = Value::Null;
        until("the import to finish", || {
            finished = job(&client, &server, &token, &import_id);
            assert_ne!(
                finished["status"], "failed",
                "the import failed after the restart"
            );
            finished["status"] == "succeeded"
        });
        let pool = database.pool();
        let mut conn = pool.get().expect("connection");
        let imported: i64 = customers::table
            .filter(customers::code.like("IMP-%"))
            .count()
            .get_result(&mut *conn)
            .expect("count");
        assert_eq!(imported as usize, IMPORTED_ROWS, "{backend}: imported once");

        let mut present = 0;
        for (id, email) in &acknowledged {
            let customer: Value = client
                .get(server.url(&format!("/api/v1/customers/{id}")))
                .bearer_auth(&token)
                .send()
                .expect("customer")
                .json()
                .expect("customer json");
            assert_eq!(customer["id"], id.as_str(), "{backend}: acknowledged {id}");
            assert_eq!(
                customer["emails"][0]["address"],
                email.as_str(),
                "{backend}: {id} whole"
            );
            present += 1;
        }

        until("every acknowledged customer's webhook", || {
            let received = received.lock().unwrap();
            acknowledged.iter().all(|(id, _)| received.contains(id))
        });
        until("no job left running", || {
            let running: i64 = jobs::table
                .filter(jobs::status.eq("running"))
                .count()
                .get_result(&mut *conn)
                .expect("count");
            running == 0
        });
        drop(conn);
        drop(server);

        let verified = Command::new(env!("CARGO_BIN_EXE_peyvand"))
            .args([
                "audit",
                "verify",
                "--database-url",
                database.url(),
                "--data-dir",
            ])
            .arg(data_dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .expect("audit verify");
        assert!(
            verified.status.success(),
            "{backend}: {}{}",
            String::from_utf8_lossy(&verified.stdout),
            String::from_utf8_lossy(&verified.stderr)
        );
        println!(
            "{backend}: {} writes acknowledged before SIGKILL, {present} present after the \
             restart; the import ({at_kill} at the kill, finished in attempt {}): \
             {imported} of {IMPORTED_ROWS} rows present once",
            acknowledged.len(),
            finished["attempts"]
        );
    }
}
