//! The audit log over HTTP (filters, pages, single events, admin only) and the
//! tamper-evidence check, from the command line and as a job, with the signed
//! checkpoint that catches the newest events removed.

use api::cli::{run, Cli};
use clap::Parser;
use diesel::prelude::*;
use e2e::support::{finished_job, for_each_backend, send, TestApp};
use persistence::schema::{audit_checkpoints, audit_events};
use persistence::sql_types::DbJson;
use reqwest::Method;
use serde_json::{json, Value};

fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    send(app, Method::GET, path, token, None)
}

/// `peyvand audit verify` on the app's database; the error text on a broken chain.
fn cli_verify(app: &TestApp) -> Result<(), String> {
    let cli = Cli::try_parse_from([
        "peyvand",
        "audit",
        "verify",
        "--database-url",
        &app.database_url,
    ])
    .expect("flags");
    run(cli).map_err(|err| err.to_string())
}

/// `peyvand audit verify` with the server's data directory, whose checkpoint key and
/// anchor file it then checks too.
fn cli_verify_anchored(app: &TestApp) -> Result<(), String> {
    let data_dir = app.data_dir().to_string_lossy().into_owned();
    let cli = Cli::try_parse_from([
        "peyvand",
        "audit",
        "verify",
        "--database-url",
        &app.database_url,
        "--data-dir",
        &data_dir,
    ])
    .expect("flags");
    run(cli).map_err(|err| err.to_string())
}

/// Starts a verification job through the API and returns its finished resource.
fn verify_via_api(app: &TestApp, admin: &str) -> Value {
    let started = app
        .authed(Method::POST, "/api/v1/audit-events/verifications", admin)
        .send()
        .expect("post");
    let job = finished_job(app, admin, started);
    assert_eq!(job["status"], "succeeded", "{job}");
    job
}

#[test]
fn admins_list_filter_and_page_the_audit_log() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (user_id, email, password) = app.create_user("sales", None);
        app.create_user("support", None);

        let (status, first) = get(app, "/api/v1/audit-events?limit=2", &admin);
        assert_eq!(status, 200);
        assert_eq!(first["has_more"], true);
        let seqs: Vec<i64> = first["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|e| e["seq"].as_i64().expect("seq"))
            .collect();
        assert!(seqs[0] > seqs[1], "newest first");
        let cursor = first["next_cursor"].as_str().expect("cursor");
        let (_, second) = get(
            app,
            &format!("/api/v1/audit-events?limit=2&cursor={cursor}"),
            &admin,
        );
        assert_eq!(
            second["data"][0]["seq"].as_i64(),
            Some(seqs[1] - 1),
            "pages continue without gaps"
        );

        let path = format!("/api/v1/audit-events?resource_type=user&resource_id={user_id}");
        let (_, about_user) = get(app, &path, &admin);
        let events = about_user["data"].as_array().expect("data");
        assert!(!events.is_empty());
        assert!(events
            .iter()
            .all(|e| e["resource_id"] == user_id.to_string().as_str()
                && e["resource_type"] == "user"));
        let event = &events[0];
        assert!(
            event["actor_id"].is_string() && event["hash"].as_str().is_some_and(|h| h.len() == 64)
        );

        let (status, one) = get(
            app,
            &format!("/api/v1/audit-events/{}", event["id"].as_str().expect("id")),
            &admin,
        );
        assert_eq!(status, 200);
        assert_eq!(&one, event);
        let (status, _) = get(
            app,
            &format!("/api/v1/audit-events/{}", uuid::Uuid::now_v7()),
            &admin,
        );
        assert_eq!(status, 404);

        let action = event["action"].as_str().expect("action");
        let (_, by_action) = get(
            app,
            &format!("/api/v1/audit-events?action={action}&limit=200"),
            &admin,
        );
        assert!(by_action["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["action"] == action));
        let (_, future) = get(
            app,
            "/api/v1/audit-events?since=2999-01-01T00:00:00Z",
            &admin,
        );
        assert_eq!(future["data"], json!([]));

        let (status, problem) = get(
            app,
            "/api/v1/audit-events?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            &admin,
        );
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["field"], "until");
        assert_eq!(
            get(app, "/api/v1/audit-events?actor_id=nope", &admin).0,
            400
        );
        assert_eq!(
            get(app, "/api/v1/audit-events?cursor=%21%21", &admin).0,
            400
        );

        let sales = app.login(&email, &password).access_token;
        assert_eq!(get(app, "/api/v1/audit-events", &sales).0, 403);
        assert_eq!(
            get(
                app,
                &format!("/api/v1/audit-events/{}", event["id"].as_str().expect("id")),
                &sales
            )
            .0,
            403
        );
    });
}

#[test]
fn verification_finds_the_first_tampered_or_deleted_event() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        for role in ["sales", "support", "analyst"] {
            app.create_user(role, None);
        }
        cli_verify(app).expect("an untouched chain verifies");
        let intact = verify_via_api(app, &admin);
        assert_eq!(intact["result"]["intact"], true);

        let mut conn = app.state.pool.get().expect("connection");
        diesel::update(audit_events::table.filter(audit_events::seq.eq(3)))
            .set(audit_events::changes.eq(Some(DbJson(
                json!({"role": {"before": null, "after": "admin"}}),
            ))))
            .execute(&mut conn)
            .expect("tamper with an event");
        let err = cli_verify(app).expect_err("tampering is detected");
        assert!(err.contains("seq 3"), "{err}");
        let report = verify_via_api(app, &admin)["result"].clone();
        assert_eq!(report["intact"], false, "{:?}", app.backend);
        assert_eq!(report["first_broken_seq"], 3);
        assert_eq!(report["events_checked"], 2);

        diesel::delete(audit_events::table.filter(audit_events::seq.eq(2)))
            .execute(&mut conn)
            .expect("delete an event");
        let err = cli_verify(app).expect_err("deletion is detected");
        assert!(err.contains("seq 2"), "{err}");
    });
}

#[test]
fn a_signed_checkpoint_catches_the_newest_events_removed() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        for role in ["sales", "support"] {
            app.create_user(role, None);
        }
        let mut conn = app.state.pool.get().expect("connection");
        let checkpoint = app
            .state
            .audit_anchor
            .checkpoint(&mut conn)
            .expect("checkpoint")
            .expect("a chain end");
        app.create_user("analyst", None);
        let report = verify_via_api(app, &admin)["result"].clone();
        assert_eq!(report["intact"], true, "{report}");
        assert_eq!(report["anchored_seq"], checkpoint.seq, "{report}");
        cli_verify_anchored(app).expect("an untouched chain verifies with its anchor");

        // The newest events go, and the stored checkpoints with them: the chain that is
        // left still links, but the anchor file outside the database names an event it
        // no longer has.
        diesel::delete(audit_events::table.filter(audit_events::seq.ge(checkpoint.seq)))
            .execute(&mut conn)
            .expect("cut the chain");
        diesel::delete(audit_checkpoints::table)
            .execute(&mut conn)
            .expect("remove the checkpoints");
        cli_verify(app).expect("without the anchor the shorter chain still links");
        let err = cli_verify_anchored(app).expect_err("the anchor catches the cut");
        assert!(err.contains(&format!("seq {}", checkpoint.seq)), "{err}");
        let report = verify_via_api(app, &admin)["result"].clone();
        assert_eq!(report["intact"], false, "{report}");
        assert!(
            report["reason"].as_str().unwrap().contains("checkpoint"),
            "{report}"
        );
    });
}
