//! Model runs (`/api/v1/analytics/runs`): RFM segments on a small hand-made base with a
//! refund, a cancelled order and two purchases on one day; scores on customers, in the
//! search filter tree and sort and in the 360 view; permissions and visibility; bad
//! parameters. CDNOW imported as orders reproduces the published BG/NBD and
//! Gamma-Gamma parameters and agrees, customer by customer, with `peyvand analyze clv`
//! on the same orders exported to CSV.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::imports::{upload_to, CSV};
use crate::order_imports::product;
use e2e::support::{
    assert_problem, create_customer, field_codes, finished_job, for_each_backend, id_of,
    merge_patch, send, TestApp,
};

const RUNS: &str = "/api/v1/analytics/runs";

fn order(
    app: &TestApp,
    token: &str,
    customer: &str,
    day: &str,
    status: &str,
    line: Value,
) -> Value {
    let (code, body) = send(
        app,
        Method::POST,
        "/api/v1/orders",
        token,
        // Noon in Tehran, well inside the local day.
        Some(
            json!({"customer_id": customer, "placed_at": format!("{day}T08:30:00Z"),
                    "status": status, "lines": [line]}),
        ),
    );
    assert_eq!(code, 201, "{body}");
    body
}

/// Follows a run to its end, as a client polls it.
pub(crate) fn finished_run(
    app: &TestApp,
    token: &str,
    response: reqwest::blocking::Response,
) -> Value {
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(RUNS), "{location}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let (status, run) = send(app, Method::GET, &location, token, None);
        assert_eq!(status, 200, "{run}");
        if ["succeeded", "failed", "cancelled"].contains(&run["status"].as_str().unwrap_or("")) {
            return run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not finish: {run}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub(crate) fn start(app: &TestApp, token: &str, body: Value) -> reqwest::blocking::Response {
    app.authed(Method::POST, RUNS, token)
        .json(&body)
        .send()
        .expect("start run")
}

fn search(app: &TestApp, token: &str, body: Value) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/customers/search",
        token,
        Some(body),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
}

fn names(customers: &[Value]) -> Vec<String> {
    customers
        .iter()
        .map(|c| c["last_name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Five buyers whose recency, frequency and net spend all rank them in the same order,
/// so each is alone in its fifth: (days before 2026-06-30 of the last purchase, purchase
/// days, net spend) = A (1, 5, 500), B (10, 4, 400), C (30, 3, 300), D (60, 2, 200
/// after a refund of 100), E (90, 1, 100, plus a cancelled order); F never bought.
#[test]
fn rfm_scores_segment_a_hand_made_base_and_are_searchable() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        let item = product(app, &admin, "RFM-1", 50);
        let customer = |last: &str, owner: Option<uuid::Uuid>| {
            let mut body = json!({"kind": "person", "first_name": "مشتری", "last_name": last});
            if let Some(owner) = owner {
                body["owner_id"] = owner.to_string().into();
            }
            id_of(&create_customer(app, &admin, body))
        };
        let [a, b, c, d, e, f] = ["A", "B", "C", "D", "E", "F"]
            .map(|name| customer(name, (name == "A" || name == "E").then_some(sales_id)));
        let buy = |who: &str, day: &str, units: i64| {
            order(
                app,
                &admin,
                who,
                day,
                "paid",
                json!({"product_id": item, "quantity": units}),
            )
        };
        // A: five purchase days, two orders on the last one (one day, 500 in all).
        for day in ["2026-06-01", "2026-06-10", "2026-06-20", "2026-06-25"] {
            buy(&a, day, 2);
        }
        buy(&a, "2026-06-29", 1);
        buy(&a, "2026-06-29", 1);
        for day in ["2026-05-01", "2026-05-20", "2026-06-01", "2026-06-20"] {
            buy(&b, day, 2);
        }
        for day in ["2026-04-01", "2026-05-01", "2026-05-31"] {
            buy(&c, day, 2);
        }
        buy(&d, "2026-04-01", 3);
        let refunded = buy(&d, "2026-05-01", 3);
        let (status, body) = send(
            app,
            Method::POST,
            &format!("/api/v1/orders/{}/returns", id_of(&refunded)),
            &admin,
            Some(
                json!({"lines": [{"order_line_id": refunded["lines"][0]["id"], "quantity": 2}],
                        "reason": "مرجوعی"}),
            ),
        );
        assert_eq!(status, 201, "{body}");
        buy(&e, "2026-04-01", 2);
        order(
            app,
            &admin,
            &e,
            "2026-06-28",
            "cancelled",
            json!({"product_id": item, "quantity": 9}),
        );
        // After the run's day: not read.
        buy(&e, "2026-07-02", 9);

        // Sales users may not start runs nor read them; an analyst may.
        assert_problem(start(app, &sales, json!({"kind": "rfm"})), 403, "forbidden");
        let (analyst_id, analyst_email, _) = app.create_user("analyst", None);
        let analyst = app.login(&analyst_email, &password).access_token;
        let run = finished_run(
            app,
            &analyst,
            start(
                app,
                &analyst,
                json!({"kind": "rfm", "parameters": {"as_of": "2026-06-30"}}),
            ),
        );
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["kind"], "rfm");
        assert_eq!(run["current"], true);
        assert_eq!(run["created_by"], analyst_id.to_string());
        assert_eq!(run["parameters"], json!({"as_of": "2026-06-30"}));
        let result = &run["result"];
        assert_eq!(result["scored"], 5, "{result}");
        assert_eq!(
            result["input"],
            json!({"orders": 16, "customers": 5, "first_purchase": "2026-04-01",
                   "last_purchase": "2026-06-29"})
        );
        assert_eq!(
            result["segments"],
            json!({"champions": 1, "loyal": 1, "need_attention": 1, "hibernating": 1, "lost": 1})
        );
        let run_id = run["id"].as_str().unwrap().to_string();

        let expected = [
            (&a, 5, "champions"),
            (&b, 4, "loyal"),
            (&c, 3, "need_attention"),
            (&d, 2, "hibernating"),
            (&e, 1, "lost"),
        ];
        for (who, score, segment) in expected {
            let (status, body) = send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{who}"),
                &admin,
                None,
            );
            assert_eq!(status, 200);
            assert_eq!(
                body["scores"]["rfm"],
                json!({"run_id": run_id, "recency": score, "frequency": score,
                       "monetary": score, "segment": segment}),
                "{}",
                body["last_name"]
            );
            assert_eq!(body["scores"]["clv"], Value::Null);
        }
        let (_, never) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{f}"),
            &admin,
            None,
        );
        assert_eq!(
            never["scores"],
            json!({"rfm": null, "clv": null, "cluster": null, "churn": null, "recommendations": null})
        );
        let (_, overview) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{a}/overview"),
            &admin,
            None,
        );
        assert_eq!(
            overview["scores"]["rfm"]["segment"], "champions",
            "{overview}"
        );

        // The filter tree and sort see the scores; a customer created after the run has
        // none.
        customer("G", None);
        let found = search(
            app,
            &admin,
            json!({"filter": {"field": "score.rfm_monetary", "op": "gte", "value": 3},
                   "sort": [{"field": "score.rfm_segment", "direction": "asc"}]}),
        );
        assert_eq!(names(&found), ["A", "B", "C"]);
        let unscored = search(
            app,
            &admin,
            json!({"filter": {"field": "score.rfm_segment", "op": "is_null", "value": true},
                   "sort": [{"field": "created_at", "direction": "asc"}]}),
        );
        assert_eq!(names(&unscored), ["F", "G"]);
        let problem = assert_problem(
            app.authed(Method::POST, "/api/v1/customers/search", &admin)
                .json(
                    &json!({"filter": {"field": "score.rfm_segment", "op": "eq", "value": "vip"}}),
                )
                .send()
                .unwrap(),
            422,
            "validation_failed",
        );
        assert!(
            field_codes(&problem)
                .iter()
                .any(|(field, code)| field.ends_with("value") && code == "invalid_value"),
            "{problem}"
        );

        // A sales user with `own` visibility sees scores only on their own customers,
        // and no runs at all.
        let own = search(
            app,
            &sales,
            json!({"filter": {"field": "score.rfm_recency", "op": "gte", "value": 1},
                   "sort": [{"field": "score.rfm_segment", "direction": "desc"}]}),
        );
        assert_eq!(names(&own), ["E", "A"]);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{b}"),
            &sales,
            None,
        );
        assert_eq!(status, 404);
        assert_problem(
            app.authed(Method::GET, RUNS, &sales).send().unwrap(),
            403,
            "forbidden",
        );
        assert_problem(
            app.authed(Method::GET, &format!("{RUNS}/{run_id}"), &sales)
                .send()
                .unwrap(),
            403,
            "forbidden",
        );

        // Nor cancel or re-run them.
        for action in ["cancel", "rerun"] {
            assert_problem(
                app.authed(Method::POST, &format!("{RUNS}/{run_id}/{action}"), &sales)
                    .send()
                    .unwrap(),
                403,
                "forbidden",
            );
        }

        // A re-run becomes current; the listing shows both, newest first.
        let again = finished_run(
            app,
            &analyst,
            app.authed(Method::POST, &format!("{RUNS}/{run_id}/rerun"), &analyst)
                .send()
                .unwrap(),
        );
        assert_eq!(again["status"], "succeeded", "{again}");
        assert_eq!(again["request"], run["request"]);
        let (status, page) = send(
            app,
            Method::GET,
            &format!("{RUNS}?kind=rfm&limit=1"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["data"][0]["id"], again["id"]);
        assert_eq!(page["data"][0]["current"], true);
        assert_eq!(page["has_more"], true);
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, rest) = send(
            app,
            Method::GET,
            &format!("{RUNS}?kind=rfm&cursor={cursor}"),
            &admin,
            None,
        );
        assert_eq!(rest["data"][0]["id"], run_id);
        assert_eq!(rest["data"][0]["current"], false);
        let (_, body) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{a}"),
            &admin,
            None,
        );
        assert_eq!(body["scores"]["rfm"]["run_id"], again["id"]);
        let (_, none) = send(app, Method::GET, &format!("{RUNS}?kind=clv"), &admin, None);
        assert_eq!(none["data"], json!([]));
        // A finished run cannot be cancelled.
        assert_problem(
            app.authed(Method::POST, &format!("{RUNS}/{run_id}/cancel"), &analyst)
                .send()
                .unwrap(),
            409,
            "conflict",
        );

        // Exports carry the scores and purchase facts on request.
        let response = app
            .authed(Method::POST, "/api/v1/exports", &admin)
            .json(
                &json!({"filter": {"field": "last_name", "op": "eq", "value": "A"},
                          "columns": ["last_name", "score.rfm_segment", "score.rfm_recency",
                                      "revenue", "order_count", "score.p_alive", "score.cluster"],
                          "format": "csv"}),
            )
            .send()
            .unwrap();
        let job = finished_job(app, &admin, response);
        assert_eq!(job["status"], "succeeded", "{job}");
        let file = app
            .authed(
                Method::GET,
                job["result"]["download"].as_str().unwrap(),
                &admin,
            )
            .send()
            .unwrap();
        let sheet = tabular::read(
            &file.bytes().unwrap(),
            tabular::Format::Csv,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(
            sheet.rows[0].cells,
            ["A", "champions", "5", "500", "6", "", ""]
        );

        // Scores are a profile of the person: the personal-data export counts them and
        // an erasure removes them.
        let (status, held) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{d}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{held}");
        assert_eq!(held["held_in"]["scores"], 1, "{held}");
        assert_eq!(held["customer"]["scores"]["rfm"]["segment"], "hibernating");
        let (status, erasure) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{d}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erasure}");
        assert_eq!(erasure["erased"]["scores"], 1, "{erasure}");
        let (_, erased) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{d}"),
            &admin,
            None,
        );
        assert_eq!(
            erased["scores"],
            json!({"rfm": null, "clv": null, "cluster": null, "churn": null, "recommendations": null})
        );
    });
}

#[test]
fn bad_run_requests_name_the_field_and_the_rule() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cases = [
            (
                json!({"kind": "rfm", "parameters": {"as_of": "2999-01-01"}}),
                "parameters.as_of",
                "in_future",
            ),
            (
                json!({"kind": "clv", "parameters": {"calibration_end": "2026-01-31", "holdout_end": "2026-01-01"}}),
                "parameters.holdout_end",
                "not_after_calibration_end",
            ),
            (
                json!({"kind": "clv", "parameters": {"horizon_months": 0}}),
                "parameters.horizon_months",
                "out_of_range",
            ),
            (
                json!({"kind": "clv", "parameters": {"margin": 1.5}}),
                "parameters.margin",
                "out_of_range",
            ),
        ];
        for (body, field, code) in cases {
            let problem =
                assert_problem(start(app, &admin, body.clone()), 422, "validation_failed");
            assert_eq!(
                field_codes(&problem),
                [(field.to_string(), code.to_string())],
                "{body}"
            );
        }
        let mut deep = json!({"as_of": "2026-01-01"});
        for _ in 0..200 {
            deep = json!({"nested": deep});
        }
        for body in [
            json!({"kind": "astrology"}),
            json!({"kind": "rfm", "parameters": {"k": 3}}),
            json!({"parameters": {}}),
            json!({"kind": "rfm\u{0}"}),
            json!({"kind": "rfm", "parameters": {"as_of": "2026-01-01\u{0}"}}),
            json!({"kind": "clv", "parameters": {"horizon_months": "12\u{7}"}}),
            json!({"kind": "clv", "parameters": {"horizon_months": 1e300}}),
            json!({"kind": "rfm", "parameters": deep}),
            json!({"kind": "rfm", "parameters": {"as_of": "x".repeat(3_000_000)}}),
            json!([{"kind": "rfm"}]),
        ] {
            let response = start(app, &admin, body.clone());
            let status = response.status().as_u16();
            assert!(
                [400, 413, 422].contains(&status),
                "{status} for {}",
                &body.to_string()[..80.min(body.to_string().len())]
            );
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
        let (_, runs) = send(app, Method::GET, RUNS, &admin, None);
        assert_eq!(runs["data"], json!([]), "a refused request left a run");
        // No purchases: the run fails with the reason, and nothing is current.
        let run = finished_run(app, &admin, start(app, &admin, json!({"kind": "clv"})));
        assert_eq!(run["status"], "failed", "{run}");
        assert_eq!(run["errors"][0]["code"], "validation_failed", "{run}");
        assert!(
            run["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("no purchases"),
            "{run}"
        );
        assert_eq!(run["current"], false);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{RUNS}/{}", uuid::Uuid::now_v7()),
            &admin,
            None,
        );
        assert_eq!(status, 404);
    });
}

/// The CDNOW sample, one order per transaction, amounts ×1000 so that the CLV of every
/// customer is large in minor units (stored money is whole minor units).
fn cdnow_orders() -> String {
    cdnow_orders_shifted(0)
}

/// [`cdnow_orders`] with every date `days` later.
fn cdnow_orders_shifted(days: u64) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/cdnow/CDNOW_sample.txt"
    ))
    .expect("CDNOW sample");
    let mut csv = String::from(
        "order_reference,customer,customer_last_name,placed_at,sku,quantity,unit_price\n",
    );
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let day = chrono::NaiveDate::parse_from_str(fields[2], "%Y%m%d").expect("date")
            + chrono::Days::new(days);
        let amount = (fields[4].parse::<f64>().expect("amount") * 1000.0).round() as i64;
        csv.push_str(&format!(
            "CD-{n},cd{id},CDNOW {id},{day},CD,1,{amount}\n",
            id = fields[1]
        ));
    }
    csv
}

fn assert_3sf(name: &str, value: f64, expected: f64) {
    let tolerance = 0.5 * 10f64.powf(expected.abs().log10().floor() - 2.0);
    assert!(
        (value - expected).abs() <= tolerance,
        "{name} = {value}, published {expected}"
    );
}

fn relative_close(name: &str, ours: f64, theirs: f64, tolerance: f64) {
    let scale = theirs.abs().max(1e-12);
    assert!(
        ((ours - theirs) / scale).abs() <= tolerance,
        "{name}: run {ours}, CLI {theirs}"
    );
}

#[test]
fn cdnow_orders_give_the_published_parameters_and_the_cli_figures() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        import_cdnow(app, &admin, cdnow_orders());

        let run = finished_run(
            app,
            &admin,
            start(
                app,
                &admin,
                json!({"kind": "clv", "parameters": {"calibration_end": "1997-09-30",
                       "holdout_end": "1998-06-30", "time_unit": "week"}}),
            ),
        );
        assert_eq!(run["status"], "succeeded", "{run}");
        let result = &run["result"];
        assert_eq!(result["scored"], 2357);
        assert_eq!(result["input"]["customers"], 2357);
        let bg = &result["bgnbd"]["parameters"];
        let number = |value: &Value| value.as_f64().expect("number");
        assert_3sf("r", number(&bg["r"]), 0.243);
        assert_3sf("alpha", number(&bg["alpha"]), 4.414);
        assert_3sf("a", number(&bg["a"]), 0.793);
        assert_3sf("b", number(&bg["b"]), 2.426);
        assert_3sf(
            "log-likelihood",
            number(&result["bgnbd"]["report"]["log_likelihood"]),
            -9582.4,
        );
        assert!(number(&result["bgnbd"]["report"]["standard_errors"]["r"]) > 0.0);
        let gg = &result["gamma_gamma"]["parameters"];
        assert_3sf("p", number(&gg["p"]), 6.25);
        assert_3sf("q", number(&gg["q"]), 3.74);
        assert_3sf("v", number(&gg["v"]) / 1000.0, 15.44);
        assert_eq!(result["gamma_gamma"]["report"]["customers"], 946);
        // The holdout check over weeks 40–78: 1,882 repeat purchases happened; BG/NBD
        // expects about 12 % fewer (it under-predicts the customers with one to three
        // calibration repeats on CDNOW, as in Fader, Hardie and Lee's figure), and the
        // expectation rises with the calibration frequency.
        let holdout = &result["holdout"];
        assert_eq!(holdout["length"], 39.0);
        let buckets = holdout["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 8);
        assert_eq!(buckets[7]["frequency"], "7+");
        assert_eq!(
            buckets
                .iter()
                .map(|b| b["customers"].as_i64().unwrap())
                .sum::<i64>(),
            2357
        );
        assert_eq!(buckets[0]["customers"], 1411, "{holdout}");
        let predicted: Vec<f64> = buckets
            .iter()
            .map(|b| number(&b["predicted_mean"]))
            .collect();
        assert!(
            predicted.windows(2).all(|pair| pair[0] < pair[1]),
            "{holdout}"
        );
        assert_eq!(holdout["actual_total"], 1882, "{holdout}");
        let total = number(&holdout["predicted_total"]);
        assert!((1550.0..1750.0).contains(&total), "{holdout}");

        // The same orders exported to CSV and given to `peyvand analyze clv`.
        let export = finished_job(
            app,
            &admin,
            app.authed(Method::POST, "/api/v1/orders/exports", &admin)
                .json(&json!({"format": "csv", "calendar": "gregorian",
                              "columns": ["customer_code", "placed_on", "net_total"],
                              "sort": [{"field": "placed_at", "direction": "asc"}]}))
                .send()
                .unwrap(),
        );
        assert_eq!(export["status"], "succeeded", "{export}");
        let file = app
            .authed(
                Method::GET,
                &format!("/api/v1/exports/{}/file", export["id"].as_str().unwrap()),
                &admin,
            )
            .send()
            .unwrap();
        assert_eq!(file.status(), 200);
        let dir = tempfile::tempdir().unwrap();
        let (transactions, scores) = (dir.path().join("orders.csv"), dir.path().join("scores.csv"));
        std::fs::write(&transactions, file.bytes().unwrap()).unwrap();
        api::cli::run(
            <api::cli::Cli as clap::Parser>::try_parse_from([
                "peyvand",
                "analyze",
                "clv",
                "--transactions",
                transactions.to_str().unwrap(),
                "--calibration-end",
                "1997-09-30",
                "--unit",
                "week",
                "--customer-column",
                "customer_code",
                "--date-column",
                "placed_on",
                // CSV amounts are shown as the business shows them: in toman, a tenth
                // of the stored rials.
                "--amount-column",
                "net_total (toman)",
                "--out",
                scores.to_str().unwrap(),
            ])
            .expect("analyze flags"),
        )
        .expect("analyze clv");
        let mut reader = csv::Reader::from_path(&scores).unwrap();
        let headers = reader.headers().unwrap().clone();
        let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let (id, p_alive, purchases, clv) = (
            column("customer_id"),
            column("p_alive"),
            column("expected_purchases"),
            column("clv"),
        );
        let cli: HashMap<String, (f64, f64, f64)> = reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                let figure = |i: usize| record[i].parse::<f64>().unwrap();
                (
                    record[id].to_string(),
                    (figure(p_alive), figure(purchases), 10.0 * figure(clv)),
                )
            })
            .collect();
        assert_eq!(cli.len(), 2357);

        let mut compared = 0;
        let mut cursor: Option<String> = None;
        loop {
            let mut body = json!({"filter": {"field": "score.clv", "op": "is_null", "value": false},
                                  "sort": [{"field": "score.clv", "direction": "desc"}], "limit": 200});
            if let Some(cursor) = &cursor {
                body["cursor"] = cursor.clone().into();
            }
            let (status, page) = send(
                app,
                Method::POST,
                "/api/v1/customers/search",
                &admin,
                Some(body),
            );
            assert_eq!(status, 200, "{page}");
            for customer in page["data"].as_array().unwrap() {
                let code = customer["code"].as_str().unwrap();
                let (theirs_alive, theirs_purchases, theirs_clv) = cli[code];
                let ours = &customer["scores"]["clv"];
                relative_close("p_alive", number(&ours["p_alive"]), theirs_alive, 1e-6);
                relative_close(
                    "expected_purchases",
                    number(&ours["expected_purchases"]),
                    theirs_purchases,
                    1e-6,
                );
                // Stored CLV is whole minor units: equal to the CLI's to within its
                // rounding, or 1e-6 relative.
                let our_clv = number(&ours["clv"]);
                assert!(
                    (our_clv - theirs_clv).abs() <= (1e-6 * theirs_clv.abs()).max(0.5 + 1e-9),
                    "{code}: run {our_clv}, CLI {theirs_clv}"
                );
                compared += 1;
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(compared, 2357);

        // Churn learnt from the same history: the buyers as of 1998-01-01, labelled by
        // whether they bought in the next half year, predict who buys nothing after
        // 1998-06-30.
        let churn = finished_run(
            app,
            &admin,
            start(
                app,
                &admin,
                json!({"kind": "churn", "parameters": {"as_of": "1998-06-30", "window_days": 180}}),
            ),
        );
        assert_eq!(churn["status"], "succeeded", "{churn}");
        let result = &churn["result"];
        assert_eq!(result["scored"], 2357);
        let trained = result["training"]["buyers"].as_u64().unwrap()
            + result["holdout"]["buyers"].as_u64().unwrap();
        assert_eq!(trained, 2357, "every CDNOW buyer had bought by 1998-01-01");
        let auc = number(&result["holdout"]["auc"]);
        assert!(auc > 0.75, "holdout AUC {auc}");
        let mean_risk = |filter: Value| {
            let page = search(app, &admin, json!({"filter": filter, "limit": 200}));
            assert!(!page.is_empty(), "{filter}");
            page.iter()
                .map(|c| number(&c["scores"]["churn"]["risk"]))
                .sum::<f64>()
                / page.len() as f64
        };
        let recent = mean_risk(
            json!({"field": "last_order_at", "op": "gte", "value": "1998-06-01T00:00:00Z"}),
        );
        let lapsed = mean_risk(
            json!({"field": "last_order_at", "op": "lt", "value": "1997-03-01T00:00:00Z"}),
        );
        assert!(recent < lapsed, "recent buyers {recent}, lapsed {lapsed}");
        let risky = search(
            app,
            &admin,
            json!({"filter": {"field": "score.churn_risk", "op": "gt", "value": 0.5},
                   "limit": 20}),
        );
        assert!(!risky.is_empty());
        for customer in &risky {
            let drivers = customer["scores"]["churn"]["drivers"].as_array().unwrap();
            assert!(!drivers.is_empty() && drivers.len() <= 3, "{customer}");
            assert!(drivers.iter().all(|d| number(&d["contribution"]) > 0.0));
        }
    });
}

fn import_cdnow(app: &TestApp, token: &str, csv: String) {
    let response = upload_to(
        app,
        "/api/v1/orders/imports",
        token,
        ("cdnow.csv", CSV, csv.into_bytes()),
        json!({"source": "cdnow", "create_missing_customers": true, "create_missing_products": true}),
    );
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
}

/// Customers a search filter finds, counted page by page.
fn count(app: &TestApp, token: &str, filter: Value) -> usize {
    let mut found = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"filter": filter, "limit": 200});
        if let Some(cursor) = &cursor {
            body["cursor"] = cursor.clone().into();
        }
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            token,
            Some(body),
        );
        assert_eq!(status, 200, "{page}");
        found += page["data"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return found,
        }
    }
}

/// The churn rule by P(alive): once a CLV run has succeeded, the daily check churns the
/// customers the model thinks gone (P(alive) below the threshold) instead of waiting for
/// the inactivity window, and leaves those who bought after the run.
#[test]
fn the_churn_rule_can_follow_p_alive() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let rules = "/api/v1/settings/lifecycle-rules";
        let (status, problem) = merge_patch(
            app,
            rules,
            &admin,
            &json!({"churn": {"p_alive_below": 1.5}}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [(
                "churn.p_alive_below".to_string(),
                "out_of_range".to_string()
            )]
        );
        // No customer lapses by inactivity in this test: only the model decides.
        let (status, body) =
            merge_patch(app, rules, &admin, &json!({"churn": {"after_days": 3650}}));
        assert_eq!(status, 200, "{body}");
        // CDNOW moved so that its last day is two days ago.
        let last = chrono::NaiveDate::from_ymd_opt(1998, 6, 30).unwrap();
        let shift = (chrono::Utc::now().date_naive() - chrono::Days::new(2) - last).num_days();
        import_cdnow(app, &admin, cdnow_orders_shifted(shift as u64));

        let mut conn = app.state.pool.get().expect("connection");
        let check = |conn: &mut persistence::DbConnection| {
            application::commerce::lifecycle::check_churn(conn, persistence::now())
                .unwrap()
                .churned
        };
        let (status, body) = merge_patch(
            app,
            rules,
            &admin,
            &json!({"churn": {"p_alive_below": 0.3}}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["churn"]["p_alive_below"], 0.3);
        // Before any CLV run the inactivity window still decides.
        assert_eq!(check(&mut conn), 0);

        let run = finished_run(app, &admin, start(app, &admin, json!({"kind": "clv"})));
        assert_eq!(run["status"], "succeeded", "{run}");
        let unlikely = json!({"field": "score.p_alive", "op": "lt", "value": 0.3});
        let expected = count(app, &admin, unlikely.clone());
        assert!(expected > 100, "{expected}");
        // One of them buys after the run: it stays.
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": unlikely, "limit": 1})),
        );
        assert_eq!(status, 200);
        let buyer = page["data"][0]["id"].as_str().unwrap().to_string();
        let cd = product(app, &admin, "CD-AGAIN", 15_000);
        let (status, body) = send(
            app,
            Method::POST,
            "/api/v1/orders",
            &admin,
            Some(json!({"customer_id": buyer, "status": "paid",
                        "lines": [{"product_id": cd, "quantity": 1}]})),
        );
        assert_eq!(status, 201, "{body}");

        assert_eq!(check(&mut conn), expected - 1);
        assert_eq!(check(&mut conn), 0, "a second check moves nobody");
        let churned = json!({"field": "lifecycle_stage", "op": "eq", "value": "churned"});
        assert_eq!(count(app, &admin, churned), expected - 1);
        let (_, still) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{buyer}"),
            &admin,
            None,
        );
        assert_ne!(still["lifecycle_stage"], "churned", "{still}");
    });
}

const SCHEDULES: &str = "/api/v1/analytics/schedules";

/// Queued occurrences of model-run schedules.
fn queued_occurrences(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use persistence::schema::jobs;
    let mut conn = app.state.pool.get().expect("connection");
    jobs::table
        .filter(jobs::kind.eq(application::analytics::schedules::SCHEDULED_RUN))
        .count()
        .get_result(&mut *conn)
        .expect("jobs")
}

/// Runs the occurrence `at` of `schedule` as the worker would when it comes.
fn occur(app: &TestApp, schedule: &str, at: &str) -> Value {
    let mut conn = app.state.pool.get().expect("connection");
    application::analytics::schedules::run_occurrence(
        &mut conn,
        &application::analytics::schedules::OccurrencePayload {
            schedule_id: schedule.parse().expect("uuid"),
            at: at.parse().expect("time"),
        },
    )
    .expect("occurrence")
}

#[test]
fn scheduled_runs_follow_the_business_clock_and_run_each_occurrence_once() {
    // No job workers: a queued run stays queued, so "while that run is queued" below
    // holds whatever the machine's pace (a worker would finish a run of one buyer at
    // once); the occurrences are run by hand as a worker would.
    for backend in e2e::support::backends() {
        let app = &TestApp::spawn_with(backend, &["--job-workers", "0"]);
        let admin = app.admin_token();
        let (_, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        let item = product(app, &admin, "SCH-1", 10);
        let buyer = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "زمان", "last_name": "بندی"}),
        ));
        order(
            app,
            &admin,
            &buyer,
            "2026-06-01",
            "paid",
            json!({"product_id": item, "quantity": 1}),
        );

        // Bad patterns and parameters name the field and the rule; sales may not.
        let cases = [
            (
                json!({"request": {"kind": "rfm"}, "cron": "*/5 * * * *"}),
                "cron",
                "too_frequent",
            ),
            (
                json!({"request": {"kind": "rfm"}, "cron": "0 0 30 2 *"}),
                "cron",
                "never_occurs",
            ),
            (
                json!({"request": {"kind": "rfm"}, "cron": "at two"}),
                "cron",
                "invalid_cron",
            ),
            (
                json!({"request": {"kind": "rfm", "parameters": {"as_of": "2999-01-01"}},
                       "cron": "0 2 * * *"}),
                "request.parameters.as_of",
                "in_future",
            ),
        ];
        for (body, field, code) in cases {
            let problem = assert_problem(
                app.authed(Method::POST, SCHEDULES, &admin)
                    .json(&body)
                    .send()
                    .unwrap(),
                422,
                "validation_failed",
            );
            assert_eq!(
                field_codes(&problem),
                [(field.to_string(), code.to_string())],
                "{body}"
            );
        }
        assert_problem(
            app.authed(Method::POST, SCHEDULES, &sales)
                .json(&json!({"request": {"kind": "rfm"}, "cron": "0 2 * * *"}))
                .send()
                .unwrap(),
            403,
            "forbidden",
        );

        // Every night at 02:00 in Tehran, which is 22:30 UTC.
        let (status, schedule) = send(
            app,
            Method::POST,
            SCHEDULES,
            &admin,
            Some(json!({"request": {"kind": "rfm"}, "cron": "0 2 * * *"})),
        );
        assert_eq!(status, 201, "{schedule}");
        assert_eq!(schedule["kind"], "rfm");
        assert_eq!(schedule["enabled"], true);
        let id = schedule["id"].as_str().unwrap().to_string();
        let first = schedule["next_run_at"].as_str().unwrap().to_string();
        assert!(first.ends_with("T22:30:00Z"), "{first}");
        assert_problem(
            app.authed(Method::GET, &format!("{SCHEDULES}/{id}"), &sales)
                .send()
                .unwrap(),
            403,
            "forbidden",
        );

        // Nor list, change or delete them.
        assert_problem(
            app.authed(Method::GET, SCHEDULES, &sales).send().unwrap(),
            403,
            "forbidden",
        );
        let (status, _) = merge_patch(
            app,
            &format!("{SCHEDULES}/{id}"),
            &sales,
            &json!({"enabled": false}),
        );
        assert_eq!(status, 403);
        assert_problem(
            app.authed(Method::DELETE, &format!("{SCHEDULES}/{id}"), &sales)
                .send()
                .unwrap(),
            403,
            "forbidden",
        );
        // Hostile bodies are refused with a problem, and leave no schedule behind.
        let mut deep = json!({"kind": "rfm"});
        for _ in 0..200 {
            deep = json!({"nested": deep});
        }
        for body in [
            json!({"request": {"kind": "rfm"}, "cron": "0 2 * *\u{0} *"}),
            json!({"request": {"kind": "rfm"}, "cron": "0 2\u{7} * * *"}),
            json!({"request": {"kind": "rfm"}, "cron": "1,".repeat(200_000)}),
            json!({"request": deep, "cron": "0 2 * * *"}),
            json!([{"request": {"kind": "rfm"}, "cron": "0 2 * * *"}]),
        ] {
            let response = app
                .authed(Method::POST, SCHEDULES, &admin)
                .json(&body)
                .send()
                .unwrap();
            let status = response.status().as_u16();
            assert!([400, 413, 422].contains(&status), "{status}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
        let (_, listed) = send(app, Method::GET, SCHEDULES, &admin, None);
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);

        // Every process queues the next occurrence at start: one job for it.
        assert_eq!(queued_occurrences(app), 1);
        for _ in 0..2 {
            let mut conn = app.state.pool.get().unwrap();
            application::analytics::schedules::queue_all(&mut conn).unwrap();
        }
        assert_eq!(queued_occurrences(app), 1);

        // The occurrence queues a run recorded with the schedule and the next occurrence,
        // a day later; the same occurrence again does nothing.
        let outcome = occur(app, &id, &first);
        let run_id = outcome["run_id"].as_str().expect("a run").to_string();
        let (_, run) = send(app, Method::GET, &format!("{RUNS}/{run_id}"), &admin, None);
        assert_eq!(run["schedule_id"], id.as_str(), "{run}");
        assert_eq!(run["created_by"], Value::Null);
        let (_, schedule) = send(app, Method::GET, &format!("{SCHEDULES}/{id}"), &admin, None);
        assert_eq!(schedule["last_run_id"], run_id.as_str());
        let second = schedule["next_run_at"].as_str().unwrap().to_string();
        let gap = second.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
            - first.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        assert_eq!(gap, chrono::Duration::days(1), "{first} → {second}");
        assert_eq!(queued_occurrences(app), 2);
        let again = occur(app, &id, &first);
        assert!(again["skipped"].is_string(), "{again}");

        // While that run is queued, the next occurrence is skipped, and the one after
        // is queued anyway.
        let busy = occur(app, &id, &second);
        assert!(
            busy["skipped"]
                .as_str()
                .unwrap()
                .contains("queued or running"),
            "{busy}"
        );
        assert!(busy["next_run_at"].is_string(), "{busy}");

        // Disabled, it has no next occurrence and a queued one does nothing; a change
        // needs the current version.
        let response = app
            .authed(Method::PATCH, &format!("{SCHEDULES}/{id}"), &admin)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", "\"stale\"")
            .body(r#"{"enabled": false}"#)
            .send()
            .unwrap();
        assert_eq!(response.status(), 412);
        let (status, disabled) = merge_patch(
            app,
            &format!("{SCHEDULES}/{id}"),
            &admin,
            &json!({"enabled": false, "cron": "30 3 * * 6"}),
        );
        assert_eq!(status, 200, "{disabled}");
        assert_eq!(disabled["next_run_at"], Value::Null);
        assert_eq!(disabled["cron"], "30 3 * * 6");
        let next = busy["next_run_at"].as_str().unwrap();
        assert!(occur(app, &id, next)["skipped"].is_string());

        let (status, page) = send(app, Method::GET, SCHEDULES, &admin, None);
        assert_eq!(status, 200);
        assert_eq!(page["data"][0]["id"], id.as_str());
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("{SCHEDULES}/{id}"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        let (status, _) = send(app, Method::GET, &format!("{SCHEDULES}/{id}"), &admin, None);
        assert_eq!(status, 404);
        assert!(occur(app, &id, next)["skipped"].is_string());
    }
}

/// Three groups of four buyers each, as of 2026-06-30: frequent big spenders of June,
/// two-time buyers of April and one-time small buyers of January; each buyer a little
/// different from the others of its group.
#[test]
fn clusters_put_buyers_who_behave_alike_together() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let item = product(app, &admin, "KM-1", 1_000);
        let mut groups: Vec<Vec<String>> = Vec::new();
        let plans: [(&[&str], i64); 3] = [
            (
                &[
                    "2026-06-01",
                    "2026-06-08",
                    "2026-06-15",
                    "2026-06-22",
                    "2026-06-27",
                ],
                40,
            ),
            (&["2026-04-02", "2026-04-20"], 6),
            (&["2026-01-05"], 1),
        ];
        for (group, (days, units)) in plans.iter().enumerate() {
            let mut members = Vec::new();
            for member in 0..4_i64 {
                let id = id_of(&create_customer(
                    app,
                    &admin,
                    json!({"kind": "person", "first_name": "خوشه",
                           "last_name": format!("{group}-{member}")}),
                ));
                for (i, day) in days.iter().enumerate() {
                    // Shift each member's days a little so no two buyers are identical.
                    let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()
                        + chrono::Days::new(member as u64);
                    order(
                        app,
                        &admin,
                        &id,
                        &day.to_string(),
                        "paid",
                        json!({"product_id": item, "quantity": units + member + i as i64}),
                    );
                }
                members.push(id);
            }
            groups.push(members);
        }
        let clusters_of = |members: &[String]| -> Vec<Value> {
            members
                .iter()
                .map(|id| {
                    let (_, body) = send(
                        app,
                        Method::GET,
                        &format!("/api/v1/customers/{id}"),
                        &admin,
                        None,
                    );
                    body["scores"]["cluster"]["cluster"].clone()
                })
                .collect()
        };

        let run = finished_run(
            app,
            &admin,
            start(
                app,
                &admin,
                json!({"kind": "clusters", "parameters": {"as_of": "2026-06-30", "k": 3}}),
            ),
        );
        assert_eq!(run["status"], "succeeded", "{run}");
        let result = &run["result"];
        assert_eq!(result["k"], 3);
        assert_eq!(result["k_chosen_by"], "request");
        assert_eq!(result["scored"], 12);
        assert_eq!(
            result["features"],
            json!([
                "recency_days",
                "purchase_days",
                "log_net_spend",
                "tenure_days"
            ])
        );
        let mut seen = Vec::new();
        for members in &groups {
            let clusters = clusters_of(members);
            assert!(clusters.iter().all(|c| *c == clusters[0]), "{clusters:?}");
            assert!(!seen.contains(&clusters[0]), "two groups share a cluster");
            seen.push(clusters[0].clone());
            let profile = &result["profiles"][clusters[0].as_u64().unwrap() as usize];
            assert_eq!(profile["customers"], 4, "{profile}");
        }
        // The January buyers' cluster: one purchase day each, last one in January.
        let january = &result["profiles"][seen[2].as_u64().unwrap() as usize];
        assert_eq!(january["mean_purchase_days"], 1.0);
        assert!(
            january["mean_recency_days"].as_f64().unwrap() > 170.0,
            "{january}"
        );
        let found = search(
            app,
            &admin,
            json!({"filter": {"field": "score.cluster", "op": "eq", "value": seen[0]}}),
        );
        assert_eq!(found.len(), 4);

        // Without k, the silhouette chooses it: here the three groups.
        let auto = finished_run(
            app,
            &admin,
            start(
                app,
                &admin,
                json!({"kind": "clusters", "parameters": {"as_of": "2026-06-30"}}),
            ),
        );
        assert_eq!(auto["status"], "succeeded", "{auto}");
        assert_eq!(auto["result"]["k_chosen_by"], "silhouette");
        assert_eq!(auto["result"]["k"], 3, "{}", auto["result"]["silhouettes"]);
        assert_eq!(
            auto["result"]["silhouettes"].as_array().unwrap().len(),
            7,
            "k from 2 to 8"
        );
        let problem = assert_problem(
            start(
                app,
                &admin,
                json!({"kind": "clusters", "parameters": {"k": 11}}),
            ),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [("parameters.k".to_string(), "out_of_range".to_string())]
        );
    });
}
