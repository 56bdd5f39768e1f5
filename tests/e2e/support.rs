//! Test servers over SQLite and PostgreSQL, and the requests many suites make.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};
use test_databases::TestDatabase;
pub use test_databases::{backends, Backend};

/// Runs `test` against a fresh server on every backend.
pub fn for_each_backend(test: impl Fn(&TestApp)) {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        test(&app);
    }
}

/// Stands for the server's own database URL in [`TestApp::spawn_with`]'s flags.
pub const OWN_DATABASE_URL: &str = "{own-database-url}";

/// A running server and the database it owns.
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    pub database_url: String,
    pub state: api::state::AppState,
    client: reqwest::blocking::Client,
    server: Option<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>,
    _data_dir: tempfile::TempDir,
    /// Last field: it is removed after `Drop::drop` has stopped the server and after
    /// `state` has closed its pool.
    _database: TestDatabase,
}

impl Drop for TestApp {
    /// Stops the server and its job workers so that each test's database connections
    /// are released (PostgreSQL has a connection limit shared by the whole suite).
    fn drop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
            let _ = thread.join();
        }
    }
}

impl TestApp {
    pub fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[])
    }

    /// Starts a server with extra `peyvand serve` flags (e.g. `--rate-limit-per-minute`)
    /// on a fresh database that is already migrated, so the server's own migration run
    /// at start finds nothing to do. [`OWN_DATABASE_URL`] in a flag stands for that
    /// database's URL.
    pub fn spawn_with(backend: Backend, extra_args: &[&str]) -> TestApp {
        Self::spawn_on(TestDatabase::new(backend), extra_args)
    }

    /// [`TestApp::spawn_with`] on `database`, which the server owns from then on.
    pub fn spawn_on(database: TestDatabase, extra_args: &[&str]) -> TestApp {
        let backend = database.backend();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url = database.url().to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("local addr");
        let data_dir_arg = data_dir.path().to_string_lossy().into_owned();
        let mut args = vec![
            "peyvand",
            "serve",
            "--database-url",
            &database_url,
            "--data-dir",
            &data_dir_arg,
            "--http-workers",
            "1",
            "--db-pool-size",
            "4",
        ];
        let extra_args: Vec<String> = extra_args
            .iter()
            .map(|arg| arg.replace(OWN_DATABASE_URL, &database_url))
            .collect();
        args.extend(extra_args.iter().map(String::as_str));
        let cli = api::cli::Cli::try_parse_from(args).expect("valid serve flags");
        let api::cli::Command::Serve(config) = cli.command else {
            unreachable!("serve was parsed")
        };
        let state = api::app::prepare_state(*config).expect("server state");
        let server_state = state.clone();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let server_thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = api::app::serve(server_state, listener).expect("server starts");
                handle_tx
                    .send(server.handle())
                    .expect("test waits for the handle");
                server.await.expect("server runs");
            })
        });
        let handle = handle_rx.recv().expect("server handle");
        TestApp {
            backend,
            base_url: format!("http://{address}"),
            database_url,
            state,
            client: reqwest::blocking::Client::builder()
                .build()
                .expect("http client"),
            server: Some((handle, server_thread)),
            _data_dir: data_dir,
            _database: database,
        }
    }

    /// The server's data directory (generated keys, the audit anchor).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    /// A request with `Authorization: Bearer <token>` (an access token or an API key).
    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::blocking::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// Logs in and returns the token pair; panics unless the login succeeds.
    pub fn login(&self, email: &str, password: &str) -> TokenPair {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .expect("login request");
        assert_eq!(response.status(), 200, "login of {email} failed");
        let body: serde_json::Value = response.json().expect("token pair");
        TokenPair {
            access_token: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            refresh_token: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_string(),
        }
    }

    /// Creates a fresh admin directly in the database (as the first-start bootstrap
    /// does) and returns an access token for them.
    pub fn admin_token(&self) -> String {
        self.admin().access_token
    }

    /// Creates a fresh admin (password [`TEST_PASSWORD`]) directly in the database, as
    /// the first-start bootstrap does, and logs them in: a session of their own.
    pub fn admin(&self) -> TokenPair {
        let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
        let credentials = application::accounts::bootstrap::AdminCredentials::new(
            &email,
            Some(TEST_PASSWORD.to_string()),
        )
        .expect("admin credentials");
        let mut conn = self.state.pool.get().expect("db connection");
        application::accounts::bootstrap::insert_admin(
            &mut conn,
            &persistence::audit::Actor::system(),
            &credentials,
            false,
        )
        .expect("insert admin");
        self.login(&email, TEST_PASSWORD)
    }

    /// Creates a user through the API (as an admin) with `role` and, if given,
    /// `visibility`; returns `(id, email, password)`.
    pub fn create_user(
        &self,
        role: &str,
        visibility: Option<&str>,
    ) -> (uuid::Uuid, String, String) {
        let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
        let mut body = serde_json::json!({
            "email": email, "display_name": format!("Test {role}"), "password": TEST_PASSWORD, "role": role
        });
        if let Some(visibility) = visibility {
            body["visibility"] = visibility.into();
        }
        let response = self
            .authed(reqwest::Method::POST, "/api/v1/users", &self.admin_token())
            .json(&body)
            .send()
            .expect("create user request");
        assert_eq!(response.status(), 201, "creating a {role} user failed");
        let created: serde_json::Value = response.json().expect("user");
        let id = created["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("user id");
        (id, email, TEST_PASSWORD.to_string())
    }
}

/// Password of every user the helpers create.
pub const TEST_PASSWORD: &str = "correct horse battery";

/// Tokens from a login.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

/// Sends `body` (if any) as JSON with the bearer `token`; returns the status and the
/// JSON answer (`null` when the answer has no JSON body).
pub fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = app.authed(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(serde_json::Value::Null))
}

/// The request example of a media type in the OpenAPI `doc`: its own `example` (or first
/// of its `examples`), else the example of the schema it refers to.
pub fn request_example(
    doc: &serde_json::Value,
    media: &serde_json::Value,
) -> Option<serde_json::Value> {
    if let Some(example) = media.get("example") {
        return Some(example.clone());
    }
    if let Some(example) = media["examples"]
        .as_object()
        .and_then(|all| all.values().next())
    {
        return example.get("value").cloned();
    }
    let schema = match media["schema"]["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/schemas/")?;
            &doc["components"]["schemas"][name]
        }
        None => &media["schema"],
    };
    schema
        .get("example")
        .or_else(|| schema["examples"].as_array().and_then(|all| all.first()))
        .cloned()
}

/// A JSON Merge Patch request (`application/merge-patch+json`) of `path` as `token`,
/// for the caller to add headers such as `If-Match` and the body.
pub fn merge_patch_request(app: &TestApp, path: &str, token: &str) -> RequestBuilder {
    app.authed(Method::PATCH, path, token)
        .header("content-type", "application/merge-patch+json")
}

/// Sends `body` as a JSON Merge Patch of `path`; returns the status and the JSON answer.
pub fn merge_patch(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = merge_patch_request(app, path, token)
        .body(body.to_string())
        .send()
        .expect("patch request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// The status and body of a problem answer, checking its media type.
pub fn problem(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(content_type, "application/problem+json", "status {status}");
    (status, response.json().expect("problem body"))
}

/// Expects a problem answer with `status` and `code`; returns its body.
pub fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    let (actual, body) = problem(response);
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    body
}

/// A problem's field errors as `(field, code)` pairs, in the problem's order.
pub fn field_codes(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_string(),
                        e["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a customer through the API, confirming a likely duplicate; returns it.
pub fn create_customer(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .authed(Method::POST, "/api/v1/customers", token)
        .header("Peyvand-Confirm-Duplicate", "true")
        .json(&body)
        .send()
        .expect("create customer");
    let status = response.status();
    let created: Value = response.json().expect("customer");
    assert_eq!(status, 201, "creating {body}: {created}");
    created
}

/// A person with a name, a mobile and an e-mail address.
pub fn person(first: &str, last: &str, mobile: &str, email: &str) -> Value {
    json!({
        "kind": "person",
        "first_name": first,
        "last_name": last,
        "phones": [{"number": mobile}],
        "emails": [{"address": email}],
    })
}

/// The `id` of a resource as the API returned it.
pub fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_string()
}

/// Stores a tag straight in the database, for suites that are not about the label
/// routes; returns its id.
pub fn insert_tag(app: &TestApp, name: &str) -> uuid::Uuid {
    let mut conn = app.state.pool.get().expect("connection");
    let now = persistence::sql_types::DbTime(persistence::now());
    let id = uuid::Uuid::now_v7();
    persistence::labels::insert(
        &mut conn,
        &persistence::labels::LabelRow {
            id: persistence::sql_types::DbUuid(id),
            kind: persistence::labels::TAG.to_string(),
            name: name.to_string(),
            name_key: domain::persian::search_key(name),
            description: None,
            color: None,
            rank: None,
            created_at: now,
            updated_at: now,
            version: 1,
        },
    )
    .expect("insert tag");
    id
}

/// Follows a 202 job answer until the job has finished (succeeded, failed or
/// cancelled); returns the job.
pub fn finished_job(app: &TestApp, token: &str, response: Response) -> Value {
    assert_eq!(response.status(), 202, "a job was started");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let job: Value = app
            .authed(Method::GET, &location, token)
            .send()
            .expect("get job")
            .json()
            .expect("job");
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {job}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// POSTs `body` to `path` and answers the created resource; panics unless 201.
pub fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

/// The outbound message `message` of `conversation` once its sending job has moved
/// it out of `queued` (or as it is after a minute).
pub fn settled_message(app: &TestApp, conversation: &str, message: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, page) = send(
            app,
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages?limit=200"),
            &app.admin_token(),
            None,
        );
        let found = page["data"]
            .as_array()
            .expect("a page")
            .iter()
            .find(|row| row["id"] == message)
            .cloned()
            .expect("the message");
        if found["status"] != "queued" || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
