//! Request and job spans: every line logged while a request is served — in the handler,
//! on the blocking pool, for the request itself — carries the request id, route and
//! principal; every line of a job carries the job id and the id of the request that
//! queued it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use e2e::support::{finished_job, Backend, TestApp};
use reqwest::Method;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use uuid::Uuid;

/// Request ids of this module's requests start with this, so that the capture keeps
/// only their lines among everything the other suites log in the same process.
const MARKER: &str = "span-test-";

/// A logged event with the fields of the spans it happened in.
type Line = BTreeMap<String, String>;

struct FieldsOf<'a>(&'a mut Line);

impl Visit for FieldsOf<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

struct SpanFields(Line);

/// Keeps the lines whose request id carries [`MARKER`].
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Line>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Line::new();
        attrs.record(&mut FieldsOf(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(SpanFields(fields)) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut FieldsOf(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Line::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.clone());
                }
            }
        }
        event.record(&mut FieldsOf(&mut line));
        if line
            .get("request_id")
            .is_some_and(|id| id.starts_with(MARKER))
        {
            self.0.lock().expect("capture").push(line);
        }
    }
}

/// The process-wide capture, installed once.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(capture.clone()),
        )
        .expect("no other global subscriber in the e2e process");
        capture
    })
}

fn lines_of(request_id: &str) -> Vec<Line> {
    capture()
        .0
        .lock()
        .expect("capture")
        .iter()
        .filter(|line| line.get("request_id").map(String::as_str) == Some(request_id))
        .cloned()
        .collect()
}

fn marked_request_id() -> String {
    format!("{MARKER}{}", Uuid::now_v7())
}

#[test]
fn request_lines_carry_the_request_id_route_and_principal() {
    capture();
    let app = TestApp::spawn(Backend::Sqlite);
    let token = app.admin_token();
    let me: serde_json::Value = app
        .authed(Method::GET, "/api/v1/users/me", &token)
        .send()
        .expect("me")
        .json()
        .expect("user");
    let request_id = marked_request_id();
    let status = app
        .authed(
            Method::GET,
            &format!("/api/v1/customers/{}", Uuid::now_v7()),
            &token,
        )
        .header("x-request-id", &request_id)
        .send()
        .expect("get")
        .status();
    assert_eq!(status, 404);
    let lines = lines_of(&request_id);
    let request = lines
        .iter()
        .find(|line| line.get("message").map(String::as_str) == Some("request"))
        .unwrap_or_else(|| panic!("no request line among {lines:?}"));
    assert_eq!(request["route"], "/api/v1/customers/{id}");
    assert_eq!(request["method"], "GET");
    assert_eq!(request["status"], "404");
    assert_eq!(
        request["principal"],
        me["id"].as_str().expect("user id"),
        "the authenticated user"
    );
}

#[test]
fn work_on_the_blocking_pool_logs_in_the_request_span() {
    capture();
    let app = TestApp::spawn(Backend::Sqlite);
    let request_id = marked_request_id();
    let span = tracing::info_span!("request", request_id = %request_id);
    let state = app.state.clone();
    actix_web::rt::System::new().block_on(async move {
        use tracing::Instrument;
        state
            .db(|_conn| {
                tracing::info!("on the blocking pool");
                Ok(())
            })
            .instrument(span)
            .await
            .expect("blocking work");
    });
    let lines = lines_of(&request_id);
    assert!(
        lines
            .iter()
            .any(|line| line.get("message").map(String::as_str) == Some("on the blocking pool")),
        "{lines:?}"
    );
}

#[test]
fn job_lines_carry_the_job_and_the_request_that_queued_it() {
    capture();
    let app = TestApp::spawn(Backend::Sqlite);
    let token = app.admin_token();
    let request_id = marked_request_id();
    let response = app
        .authed(Method::POST, "/api/v1/customers/duplicate-scans", &token)
        .header("x-request-id", &request_id)
        .send()
        .expect("start scan");
    let job = finished_job(&app, &token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    let lines = lines_of(&request_id);
    let done = lines
        .iter()
        .find(|line| line.get("message").map(String::as_str) == Some("job succeeded"))
        .unwrap_or_else(|| panic!("no job line among {lines:?}"));
    assert_eq!(done["job_id"], job["id"].as_str().expect("job id"));
    assert_eq!(done["kind"], "customers.duplicate_scan");
}
