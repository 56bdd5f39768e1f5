//! Concurrent writes: merges racing each other, lock conflicts met inside a write
//! transaction, and `If-Match` lists.

use std::sync::{Arc, Barrier};

use actix_web::ResponseError;
use api::error::ApiError;
use application::{transaction, AppError};
use e2e::support::{create_customer, id_of, merge_patch_request, person, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

fn merge(app: &TestApp, token: &str, winner: &str, losers: &[&str]) -> (u16, Value) {
    let response = app
        .authed(Method::POST, "/api/v1/customers/merge", token)
        .json(&json!({"winner_id": winner, "loser_ids": losers}))
        .send()
        .expect("merge");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Two people to merge, with distinct contact details.
fn pair(app: &TestApp, token: &str, round: usize) -> (String, String) {
    let a = create_customer(
        app,
        token,
        person(
            "Sara",
            "Ahmadi",
            &format!("0912100{round:04}"),
            &format!("sara{round}@example.com"),
        ),
    );
    let b = create_customer(
        app,
        token,
        person(
            "Sarah",
            "Ahmadi",
            &format!("0912200{round:04}"),
            &format!("sarah{round}@example.com"),
        ),
    );
    (id_of(&a), id_of(&b))
}

/// Runs `requests` at the same moment, each on its own thread, and collects their
/// answers in order.
fn at_once<F>(requests: Vec<F>) -> Vec<(u16, Value)>
where
    F: FnOnce() -> (u16, Value) + Send,
{
    let start = Barrier::new(requests.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = requests
            .into_iter()
            .map(|request| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    request()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("request thread"))
            .collect()
    })
}

#[test]
fn crossed_merges_never_fail_with_a_server_error() {
    for backend in e2e::support::backends() {
        let app = TestApp::spawn(backend);
        let admin = app.admin_token();
        for round in 0..5 {
            let (a, b) = pair(&app, &admin, round);
            let (app, admin) = (&app, &admin);
            let answers = at_once(
                [(&a, &b), (&b, &a)]
                    .into_iter()
                    .map(|(winner, loser)| move || merge(app, admin, winner, &[loser]))
                    .collect(),
            );
            let mut statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
            statuses.sort_unstable();
            assert_eq!(
                statuses,
                [201, 409],
                "{backend:?} round {round}: {answers:?}"
            );
            let (_, refused) = answers
                .iter()
                .find(|(status, _)| *status == 409)
                .expect("one refused");
            assert!(
                matches!(
                    refused["code"].as_str(),
                    Some("conflict" | "concurrent_update")
                ),
                "{backend:?}: {refused}"
            );
        }
    }
}

#[test]
fn a_repeated_merge_is_refused_as_already_merged_not_as_a_failed_precondition() {
    for backend in e2e::support::backends() {
        let app = TestApp::spawn(backend);
        let admin = app.admin_token();
        for round in 0..3 {
            let (a, b) = pair(&app, &admin, round);
            let answers = at_once(
                (0..5)
                    .map(|_| || merge(&app, &admin, &a, &[&b]))
                    .collect::<Vec<_>>(),
            );
            let created = answers.iter().filter(|(status, _)| *status == 201).count();
            assert_eq!(created, 1, "{backend:?}: {answers:?}");
            for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
                assert_eq!(*status, 409, "{backend:?}: {body}");
                assert_eq!(body["code"], "conflict", "{backend:?}: {body}");
                let detail = body["detail"].as_str().expect("detail");
                assert!(
                    detail.contains(&b) && detail.contains("already merged"),
                    "{backend:?}: {detail}"
                );
            }
        }
    }
}

/// Two write transactions that each lock one of two customers and then wait for the
/// other's: a real deadlock on PostgreSQL. On SQLite, where a write transaction holds
/// the whole database, a second writer that may not wait meets a locked database.
/// Either way the loser must be a retryable 409, not a 500.
#[test]
fn a_lock_conflict_inside_a_write_transaction_is_a_retryable_409() {
    for backend in e2e::support::backends() {
        let app = TestApp::spawn(backend);
        let admin = app.admin_token();
        let (a, b) = pair(&app, &admin, 0);
        let (a, b): (Uuid, Uuid) = (a.parse().unwrap(), b.parse().unwrap());
        let failures: Vec<ApiError> = match backend {
            Backend::Postgres => {
                let both_hold_one = Arc::new(Barrier::new(2));
                let lock_crosswise = |first: Uuid, second: Uuid| {
                    let both_hold_one = both_hold_one.clone();
                    let url = app.database_url.clone();
                    std::thread::spawn(move || {
                        let mut conn = persistence::db::establish(&url).expect("connect");
                        transaction(&mut conn, |conn| {
                            persistence::customers::lock_for_update(conn, &[first])?;
                            both_hold_one.wait();
                            persistence::customers::lock_for_update(conn, &[second])?;
                            Ok::<_, AppError>(())
                        })
                        .map_err(ApiError::from)
                    })
                };
                let one = lock_crosswise(a, b);
                let other = lock_crosswise(b, a);
                [one, other]
                    .into_iter()
                    .filter_map(|thread| thread.join().expect("thread").err())
                    .collect()
            }
            Backend::Sqlite => {
                let mut holder = persistence::db::establish(&app.database_url).expect("connect");
                let mut impatient = persistence::db::establish(&app.database_url).expect("connect");
                diesel::connection::SimpleConnection::batch_execute(
                    &mut impatient,
                    "PRAGMA busy_timeout = 0",
                )
                .expect("no busy wait");
                let held = transaction(&mut holder, |_| {
                    Ok(transaction(&mut impatient, |_| Ok(())).map_err(ApiError::from))
                })
                .expect("the holder commits");
                held.err().into_iter().collect()
            }
        };
        assert_eq!(failures.len(), 1, "{backend:?}: {failures:?}");
        let failure = &failures[0];
        assert!(
            matches!(failure, ApiError::ConcurrentUpdate(_)),
            "{backend:?}: {failure:?}"
        );
        let response = failure.error_response();
        assert_eq!(response.status().as_u16(), 409, "{backend:?}");
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            Some("1"),
            "{backend:?}"
        );
        assert_eq!(
            failure.to_problem(api::i18n::Lang::En).code,
            "concurrent_update"
        );
    }
}

#[test]
fn if_match_takes_a_list_of_tags_or_a_star() {
    for backend in e2e::support::backends() {
        let app = TestApp::spawn(backend);
        let admin = app.admin_token();
        let customer = create_customer(
            &app,
            &admin,
            person("Reza", "Karimi", "09121234567", "reza@example.com"),
        );
        let path = format!("/api/v1/customers/{}", id_of(&customer));
        let current = || {
            let response = app.authed(Method::GET, &path, &admin).send().unwrap();
            response.headers()["etag"].to_str().unwrap().to_string()
        };
        let patch = |if_match: &[&str], title: &str| {
            let mut request = merge_patch_request(&app, &path, &admin);
            for line in if_match {
                request = request.header("if-match", *line);
            }
            let response = request
                .body(json!({"title": title}).to_string())
                .send()
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().unwrap_or(Value::Null))
        };
        let stale = current();
        let (status, body) = patch(&["*"], "star");
        assert_eq!(status, 200, "{backend:?}: {body}");

        let (status, body) = patch(&[&format!("\"stale\", {}", current())], "list");
        assert_eq!(status, 200, "{backend:?}: {body}");

        let (status, body) = patch(&["\"stale\"", &current()], "two lines");
        assert_eq!(status, 200, "{backend:?}: {body}");

        let (status, body) = patch(&[&format!("\"other\", {stale}")], "without current");
        assert_eq!(status, 412, "{backend:?}: {body}");
        assert_eq!(body["code"], "precondition_failed");

        let (status, body) = patch(&[&format!("W/{}", current())], "weak");
        assert_eq!(
            status, 412,
            "{backend:?}: If-Match compares strongly: {body}"
        );

        let (status, body) = patch(&["not-a-tag"], "malformed");
        assert_eq!(status, 400, "{backend:?}: {body}");
        assert_eq!(body["code"], "malformed_request");
        assert!(body["detail"].as_str().unwrap().contains("If-Match"));
    }
}
