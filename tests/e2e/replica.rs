//! A read-only replica (`--replica-database-url`): reports and model runs read from it
//! and its connections refuse writes; everything else reads and writes the database
//! itself. A replica that differs from the database shows which one each read went to.

use chrono::Utc;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};
use test_databases::TestDatabase;

use e2e::support::{backends, create_customer, created, person, send, TestApp, OWN_DATABASE_URL};

/// Orders in this year's sales report.
fn reported_orders(app: &TestApp, token: &str) -> i64 {
    let today = Utc::now().date_naive();
    let (status, report) = send(
        app,
        Method::GET,
        &format!(
            "/api/v1/reports/sales?from={}&to={}&bucket=year&calendar=gregorian",
            today.pred_opt().unwrap(),
            today.succ_opt().unwrap()
        ),
        token,
        None,
    );
    assert_eq!(status, 200, "{report}");
    report["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|period| period["totals"]["orders"].as_i64().unwrap())
        .sum()
}

/// A paid order of a new customer for a new product, placed now.
fn paid_order(app: &TestApp, token: &str, sku: &str) -> Value {
    let customer = create_customer(
        app,
        token,
        person("سارا", "کریمی", "09121234567", "sara@example.ir"),
    );
    let product = created(
        app,
        token,
        "/api/v1/products",
        json!({"sku": sku, "name": "چای", "unit_price": 250_000}),
    );
    created(
        app,
        token,
        "/api/v1/orders",
        json!({"customer_id": customer["id"], "status": "paid",
               "lines": [{"product_id": product["id"], "quantity": 2}]}),
    )
}

fn run_rfm(app: &TestApp, token: &str) -> Value {
    let started = app
        .authed(Method::POST, "/api/v1/analytics/runs", token)
        .json(&json!({"kind": "rfm"}))
        .send()
        .expect("start");
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let (_, run) = send(app, Method::GET, &location, token, None);
        if ["succeeded", "failed"].contains(&run["status"].as_str().unwrap_or("")) {
            return run;
        }
        assert!(std::time::Instant::now() < deadline, "{run}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn reports_and_model_runs_read_the_replica_whose_connections_refuse_writes() {
    for backend in backends() {
        let replica = TestDatabase::new(backend);
        let replica_url = replica.url().to_string();
        let writer = TestApp::spawn_on(replica, &[]);
        let app = TestApp::spawn_with(backend, &["--replica-database-url", &replica_url]);
        let admin = app.admin_token();
        paid_order(&app, &admin, "TEA-1");

        // The replica has not received the order yet: the report, read there, shows
        // none; the order list, read from the database, shows it.
        assert_eq!(reported_orders(&app, &admin), 0, "{backend}");
        let (_, orders) = send(&app, Method::GET, "/api/v1/orders", &admin, None);
        assert_eq!(
            orders["data"].as_array().map(Vec::len),
            Some(1),
            "{backend}"
        );
        // A model run reads its input there too: no purchases yet.
        let run = run_rfm(&app, &admin);
        assert_eq!(run["status"], "failed", "{backend}: {run}");
        assert!(run.to_string().contains("no purchases"), "{backend}: {run}");

        // Once an order has reached the replica (written there by a server of its
        // own, standing in for replication), the report shows it; the order list still
        // shows the database's.
        paid_order(&writer, &writer.admin_token(), "TEA-R");
        assert_eq!(reported_orders(&app, &admin), 1, "{backend}");
        let (_, orders) = send(&app, Method::GET, "/api/v1/orders", &admin, None);
        let first = orders["data"][0]["id"].clone();
        assert_eq!(
            orders["data"].as_array().map(Vec::len),
            Some(1),
            "{backend}"
        );
        let (_, on_replica) = send(
            &writer,
            Method::GET,
            "/api/v1/orders",
            &writer.admin_token(),
            None,
        );
        assert_ne!(on_replica["data"][0]["id"], first);

        // The replica's connections refuse writes.
        let mut conn = app
            .state
            .replica
            .as_ref()
            .expect("a replica")
            .get()
            .unwrap();
        let refused = diesel::sql_query("DELETE FROM orders").execute(&mut *conn);
        assert!(
            refused.is_err(),
            "{backend}: a write through the replica's pool"
        );
    }
}

#[test]
fn a_model_run_through_a_read_only_pool_stores_its_scores_in_the_database() {
    for backend in backends() {
        // The replica is the database itself, reached through the read-only pool.
        let app = TestApp::spawn_with(backend, &["--replica-database-url", OWN_DATABASE_URL]);
        let admin = app.admin_token();
        let order = paid_order(&app, &admin, "TEA-2");
        assert_eq!(reported_orders(&app, &admin), 1, "{backend}");
        let run = run_rfm(&app, &admin);
        assert_eq!(run["status"], "succeeded", "{backend}: {run}");
        assert_eq!(run["current"], true);
        // No report writes: each answers through the read-only pool.
        let today = Utc::now().date_naive();
        let range = format!("from={}&to={today}", today.pred_opt().unwrap());
        let product = order["lines"][0]["product_id"].as_str().unwrap();
        let lapsed = format!("lapsed-buyers?product_id={product}");
        for report in [
            "sales",
            "kpis",
            "cohorts",
            "acquisition",
            "funnel",
            "profitability",
            &lapsed,
            "forecast",
            "service",
            "channels",
            "attribution?model=linear",
            "feedback?metric=nps",
            "servqual",
            "acquisition-cost",
            "csat",
        ] {
            let separator = if report.contains('?') { '&' } else { '?' };
            let (status, answer) = send(
                &app,
                Method::GET,
                &format!("/api/v1/reports/{report}{separator}{range}"),
                &admin,
                None,
            );
            assert_eq!(status, 200, "{backend}: {report}: {answer}");
        }
    }
}
