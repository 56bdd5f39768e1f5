//! The product models (`cross_sell`, `elasticity` runs) and their reports: rules and
//! recommendations computed by hand on a few baskets, an elasticity recovered exactly
//! from demand that follows a known curve and agreeing with least squares computed here
//! on noisy demand; who may read them, paging and bad parameters.

use reqwest::Method;
use serde_json::{json, Value};

use crate::analytics::{finished_run, start};
use crate::order_imports::product;
use crate::reports::exported;
use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, send, TestApp,
};

/// An order of `lines` placed at noon in Tehran on `day`.
fn buy(app: &TestApp, token: &str, customer: &str, day: &str, lines: Value) -> Value {
    let (code, body) = send(
        app,
        Method::POST,
        "/api/v1/orders",
        token,
        Some(
            json!({"customer_id": customer, "placed_at": format!("{day}T08:30:00Z"),
                    "status": "paid", "lines": lines}),
        ),
    );
    assert_eq!(code, 201, "{body}");
    body
}

/// Starts a run and follows it to its success.
fn run(app: &TestApp, token: &str, body: Value) -> Value {
    let run = finished_run(app, token, start(app, token, body));
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn close(name: &str, ours: &Value, expected: f64) {
    let ours = ours.as_f64().unwrap_or_else(|| panic!("{name}: {ours}"));
    assert!(
        (ours - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{name}: {ours} != {expected}"
    );
}

/// Six customers, seven orders (baskets): C1 {tea, sugar} and later {milk}, C2 {tea,
/// sugar, milk}, C3 {tea, cake}, C4 {coffee, milk}, C5 {tea, sugar}, C6 {sugar}. Over
/// the 7 order baskets tea and sugar are in 4 each and together in 3: support 3/7,
/// confidence 3/4 both ways, lift 0.75 / (4/7) = 1.3125; every other pair is in one
/// basket only, under the 0.2 support asked for. Over the 6 customer baskets milk joins
/// tea and sugar for C1 and C2 (support 1/3) but with lift exactly 1, under the 1.01
/// asked for, and tea → sugar has lift 0.75 / (4/6) = 1.125.
#[test]
fn cross_sell_rules_and_recommendations_follow_the_baskets() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let [tea, sugar, milk, cake, coffee] = [
            ("CS-TEA", 100),
            ("CS-SUGAR", 50),
            ("CS-MILK", 70),
            ("CS-CAKE", 300),
            ("CS-COFFEE", 400),
        ]
        .map(|(sku, price)| product(app, &admin, sku, price));
        let customers: Vec<String> = (1..=6)
            .map(|n| {
                id_of(&create_customer(
                    app,
                    &admin,
                    json!({"kind": "person", "first_name": "سبد", "last_name": format!("C{n}")}),
                ))
            })
            .collect();
        let lines = |products: &[&String]| -> Value {
            products
                .iter()
                .map(|p| json!({"product_id": p, "quantity": 1}))
                .collect()
        };
        for (who, day, products) in [
            (0, "2026-05-01", vec![&tea, &sugar]),
            (0, "2026-05-20", vec![&milk]),
            (1, "2026-05-02", vec![&tea, &sugar, &milk]),
            (2, "2026-05-03", vec![&tea, &cake]),
            (3, "2026-05-04", vec![&coffee, &milk]),
            (4, "2026-05-05", vec![&tea, &sugar]),
            (5, "2026-05-06", vec![&sugar]),
        ] {
            buy(app, &admin, &customers[who], day, lines(&products));
        }
        // After the run's day: not read.
        buy(app, &admin, &customers[2], "2026-07-01", lines(&[&sugar]));

        let parameters = json!({"as_of": "2026-06-30", "lookback_days": 90,
                                "min_support": 0.2, "min_confidence": 0.5, "min_lift": 1.01});
        let by_order = run(
            app,
            &admin,
            json!({"kind": "cross_sell", "parameters": parameters}),
        );
        let result = &by_order["result"];
        assert_eq!(result["input"]["baskets"], 7, "{result}");
        assert_eq!(result["input"]["products"], 5);
        assert_eq!(result["rules"], json!({"found": 2, "kept": 2}));
        // C3 is recommended sugar (for the tea), C6 tea (for the sugar); the others own
        // both or bought neither.
        assert_eq!(result["scored"], 2);
        assert_eq!(result["customers"], 6);

        let report = get(app, &admin, "/api/v1/reports/cross-sell");
        assert_eq!(report["run_id"], by_order["id"]);
        let rules = report["data"].as_array().expect("rules");
        assert_eq!(rules.len(), 2, "{report}");
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (rank, rule) in rules.iter().enumerate() {
            assert_eq!(rule["rank"], rank as i64 + 1);
            assert_eq!(rule["baskets"], 3);
            close("support", &rule["support"], 3.0 / 7.0);
            close("confidence", &rule["confidence"], 0.75);
            close("lift", &rule["lift"], 0.75 / (4.0 / 7.0));
            pairs.push((
                rule["antecedent"]["sku"].as_str().unwrap().to_string(),
                rule["consequent"]["sku"].as_str().unwrap().to_string(),
            ));
        }
        pairs.sort();
        assert_eq!(
            pairs,
            [
                ("CS-SUGAR".to_string(), "CS-TEA".to_string()),
                ("CS-TEA".to_string(), "CS-SUGAR".to_string()),
            ]
        );
        // Only the rules from tea: what to offer tea buyers.
        let from_tea = get(
            app,
            &admin,
            &format!("/api/v1/reports/cross-sell?product_id={tea}"),
        );
        assert_eq!(from_tea["data"].as_array().unwrap().len(), 1);
        assert_eq!(from_tea["data"][0]["consequent"]["id"], sugar.as_str());

        let scores_of = |who: &String| {
            get(app, &admin, &format!("/api/v1/customers/{who}"))["scores"]["recommendations"]
                .clone()
        };
        let c3 = scores_of(&customers[2]);
        assert_eq!(c3["run_id"], by_order["id"]);
        assert_eq!(c3["products"].as_array().unwrap().len(), 1, "{c3}");
        assert_eq!(c3["products"][0]["product_id"], sugar.as_str());
        assert_eq!(c3["products"][0]["because_of"], tea.as_str());
        close("confidence", &c3["products"][0]["confidence"], 0.75);
        assert_eq!(
            scores_of(&customers[5])["products"][0]["product_id"],
            tea.as_str()
        );
        for owner_of_both in [0, 1, 3, 4] {
            assert_eq!(scores_of(&customers[owner_of_both]), Value::Null);
        }

        // Customers as baskets: six of them, and a new current run.
        let mut by_customer_parameters = parameters.clone();
        by_customer_parameters["basket"] = json!("customer");
        let by_customer = run(
            app,
            &admin,
            json!({"kind": "cross_sell", "parameters": by_customer_parameters}),
        );
        assert_eq!(by_customer["result"]["input"]["baskets"], 6);
        assert_eq!(by_customer["result"]["rules"]["kept"], 2);
        let report = get(app, &admin, "/api/v1/reports/cross-sell?limit=1");
        assert_eq!(report["run_id"], by_customer["id"]);
        assert_eq!(report["has_more"], true);
        close("lift", &report["data"][0]["lift"], 1.125);
        let cursor = report["next_cursor"].as_str().expect("cursor").to_string();
        let next = get(
            app,
            &admin,
            &format!("/api/v1/reports/cross-sell?limit=1&cursor={cursor}"),
        );
        assert_eq!(next["data"][0]["rank"], 2);
        assert_eq!(next["has_more"], false);
        assert_eq!(scores_of(&customers[2])["run_id"], by_customer["id"]);
        // The earlier run's rules stay readable by its id.
        let earlier = get(
            app,
            &admin,
            &format!(
                "/api/v1/reports/cross-sell?run_id={}",
                by_order["id"].as_str().unwrap()
            ),
        );
        close("lift", &earlier["data"][0]["lift"], 1.3125);
        // The rules as a file: every page, as the GET lists them.
        let (job, headers, rows) = exported(
            app,
            &admin,
            json!({"report": "cross_sell", "run_id": by_order["id"], "format": "csv"}),
        );
        assert_eq!(job["result"]["rows"], 2, "{job}");
        assert_eq!(headers[0], "rank");
        assert_eq!(headers[10], "lift");
        assert_eq!(rows[0][0], "1");
        assert_eq!(rows[0][10], "1.312500");
        let problem = assert_problem(
            app.authed(Method::POST, "/api/v1/reports/exports", &admin)
                .json(&json!({"report": "cross_sell", "from": "2026-01-01"}))
                .send()
                .expect("export"),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [("from".to_string(), "not_for_report".to_string())]
        );

        // A cursor of another report, a run of another kind, a sales user.
        let response = app
            .authed(
                Method::GET,
                &format!("/api/v1/reports/price-elasticity?cursor={cursor}"),
                &admin,
            )
            .send()
            .expect("request");
        assert_problem(response, 400, "invalid_cursor");
        let response = app
            .authed(
                Method::GET,
                &format!("/api/v1/reports/cross-sell?run_id={}", uuid::Uuid::now_v7()),
                &admin,
            )
            .send()
            .expect("request");
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [("run_id".to_string(), "no_succeeded_run".to_string())]
        );
        let (_, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        for path in [
            "/api/v1/reports/cross-sell",
            "/api/v1/reports/price-elasticity",
        ] {
            let response = app
                .authed(Method::GET, path, &sales)
                .send()
                .expect("request");
            assert_problem(response, 403, "forbidden");
        }
        let problem = assert_problem(
            start(
                app,
                &admin,
                json!({"kind": "cross_sell",
                       "parameters": {"min_support": 2, "recommendations": 11}}),
            ),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [
                (
                    "parameters.min_support".to_string(),
                    "out_of_range".to_string()
                ),
                (
                    "parameters.recommendations".to_string(),
                    "out_of_range".to_string()
                ),
            ]
        );
    });
}

/// Least-squares slope of ln y on ln x, computed here independently of the product.
fn log_log_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|p| p.0.ln()).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1.ln()).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    sxy / sxx
}

/// Twelve whole weeks (Saturday 2026-04-04 to Friday 2026-06-26, the business week
/// starting on Saturday), one order of each product a week:
/// - P follows q = 16,000,000 / p² exactly (p 1000 → 16 units, 2000 → 4, 4000 → 1),
///   one week's price 1000 reached by a discount off 2000: elasticity −2 exactly;
/// - Q follows q ≈ 6000 / p with deterministic noise: the product's elasticity is the
///   least-squares slope computed here, and its confidence interval holds −1;
/// - R sells in two weeks only (skipped: too few periods), S at one price (skipped).
#[test]
fn elasticity_recovers_a_known_demand_curve() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let [p, q, r, s] =
            ["EL-P", "EL-Q", "EL-R", "EL-S"].map(|sku| product(app, &admin, sku, 1_000));
        let buyer = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "کشش", "last_name": "قیمت"}),
        ));
        let first_day = chrono::NaiveDate::from_ymd_opt(2026, 4, 4).unwrap();
        let p_prices = [1_000_i64, 2_000, 4_000];
        let q_prices = [1_000_i64, 1_500, 2_000];
        let noise = [
            1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 0.92, 1.08, 1.0, 0.97, 1.03, 1.0,
        ];
        let mut q_points = Vec::new();
        for week in 0..12_usize {
            // Tuesday of the week.
            let day = (first_day + chrono::Days::new(week as u64 * 7 + 3)).to_string();
            let p_price = p_prices[week % 3];
            let p_units = 16_000_000 / (p_price * p_price);
            let p_line = if week == 3 {
                // 16 units at 2000 less 16,000: 1000 a unit paid.
                json!({"product_id": p, "quantity": 16, "unit_price": 2_000, "discount": 16_000})
            } else {
                json!({"product_id": p, "quantity": p_units, "unit_price": p_price})
            };
            let q_price = q_prices[week % 3];
            let q_units = (6_000.0 / q_price as f64 * 10.0 * noise[week]).round() as i64;
            q_points.push((q_price as f64, q_units as f64 / 7.0));
            let mut lines = vec![
                p_line,
                json!({"product_id": q, "quantity": q_units, "unit_price": q_price}),
                json!({"product_id": s, "quantity": 3, "unit_price": 500}),
            ];
            if week < 2 {
                lines
                    .push(json!({"product_id": r, "quantity": 2, "unit_price": 700 + week as i64}));
            }
            buy(app, &admin, &buyer, &day, Value::Array(lines));
        }
        let elasticity = run(
            app,
            &admin,
            json!({"kind": "elasticity",
                   "parameters": {"as_of": "2026-06-26", "lookback_days": 84}}),
        );
        let result = &elasticity["result"];
        assert_eq!(result["input"]["products"], 4, "{result}");
        assert_eq!(result["input"]["periods"], 12);
        assert_eq!(result["fitted"], 2, "{result}");
        assert_eq!(
            result["skipped"],
            json!({"one_price": 1, "too_few_periods": 1})
        );

        let report = get(app, &admin, "/api/v1/reports/price-elasticity");
        assert_eq!(report["run_id"], elasticity["id"]);
        let rows = report["data"].as_array().expect("rows");
        assert_eq!(rows.len(), 2, "{report}");
        let of = |sku: &str| {
            rows.iter()
                .find(|row| row["product"]["sku"] == sku)
                .unwrap_or_else(|| panic!("{sku} in {report}"))
                .clone()
        };
        let exact = of("EL-P");
        close("elasticity", &exact["elasticity"], -2.0);
        close("r_squared", &exact["r_squared"], 1.0);
        assert_eq!(exact["segment"], "all");
        assert_eq!(exact["periods"], 12);
        assert_eq!(exact["units"], 16 * 4 + 4 * 4 + 4);
        let noisy = of("EL-Q");
        close("elasticity", &noisy["elasticity"], log_log_slope(&q_points));
        let (low, high) = (
            noisy["ci_low"].as_f64().unwrap(),
            noisy["ci_high"].as_f64().unwrap(),
        );
        assert!(low < -1.0 && -1.0 < high, "[{low}, {high}]");

        // Per RFM segment: the one buyer's segment gives the same fit as all buyers.
        run(
            app,
            &admin,
            json!({"kind": "rfm", "parameters": {"as_of": "2026-06-26"}}),
        );
        let segment = get(app, &admin, &format!("/api/v1/customers/{buyer}"))["scores"]["rfm"]
            ["segment"]
            .as_str()
            .expect("segment")
            .to_string();
        run(
            app,
            &admin,
            json!({"kind": "elasticity",
                   "parameters": {"as_of": "2026-06-26", "lookback_days": 84,
                                  "by_segment": true}}),
        );
        let by_segment = get(
            app,
            &admin,
            &format!("/api/v1/reports/price-elasticity?product_id={p}&segment={segment}"),
        );
        assert_eq!(
            by_segment["data"].as_array().unwrap().len(),
            1,
            "{by_segment}"
        );
        close("elasticity", &by_segment["data"][0]["elasticity"], -2.0);
        let all = get(app, &admin, "/api/v1/reports/price-elasticity?limit=1");
        assert_eq!(all["has_more"], true);
        let (_, headers, rows) = exported(
            app,
            &admin,
            json!({"report": "price_elasticity", "product_id": p, "format": "xlsx"}),
        );
        assert_eq!(headers[3], "segment");
        assert_eq!(rows.len(), 2, "all buyers and the one segment: {rows:?}");
        let elasticity_column = headers.iter().position(|h| h == "elasticity").unwrap();
        for row in &rows {
            assert_eq!(row[elasticity_column], "-2.000000", "{row:?}");
        }
        let problem = assert_problem(
            app.authed(
                Method::GET,
                "/api/v1/reports/price-elasticity?segment=whales",
                &admin,
            )
            .send()
            .expect("request"),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [("segment".to_string(), "unknown_segment".to_string())]
        );
    });
}
