//! Test servers over SQLite and PostgreSQL.

use std::net::TcpListener;

use clap::Parser;
use test_databases::TestDatabase;
pub use test_databases::{backends, Backend};

/// Runs `test` against a fresh server on every backend.
pub fn for_each_backend(test: impl Fn(&TestApp)) {
    for backend in backends() {
        let app = TestApp::spawn(backend);
        test(&app);
    }
}

/// A running server and the database it owns.
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    pub database_url: String,
    pub state: api::state::AppState,
    client: reqwest::blocking::Client,
    server: Option<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>,
    _data_dir: tempfile::TempDir,
    /// Removed after the server has stopped (see `Drop`): fields drop after `drop`.
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
    /// at start finds nothing to do.
    pub fn spawn_with(backend: Backend, extra_args: &[&str]) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::new(backend);
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
        args.extend_from_slice(extra_args);
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
        let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
        let hash = api::auth::password::hash(TEST_PASSWORD).expect("hash");
        let mut conn = self.state.pool.get().expect("db connection");
        api::auth::bootstrap::insert_admin(
            &mut conn,
            &persistence::audit::Actor::system(),
            &email,
            hash,
            false,
        )
        .expect("insert admin");
        self.login(&email, TEST_PASSWORD).access_token
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
