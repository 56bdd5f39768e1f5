//! Reports (`/api/v1/reports/...`) on a small hand-made order history whose figures are
//! worked out by hand: a Jalali month boundary (1 Farvardin 1405 = 21 March 2026) crossed
//! in Tehran half an hour after an order on the last evening of Esfand, a partial
//! refund, orders that are not sales, groupings, visibility and bad parameters.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::order_imports::product;
use e2e::support::{
    assert_problem, create_customer, field_codes, finished_job, for_each_backend, id_of,
    merge_patch, send, TestApp,
};
use tabular::Format;

fn order(app: &TestApp, token: &str, customer: &str, placed_at: &str, lines: Value) -> Value {
    order_with(app, token, customer, placed_at, "paid", None, lines)
}

fn order_with(
    app: &TestApp,
    token: &str,
    customer: &str,
    placed_at: &str,
    status: &str,
    channel: Option<&str>,
    lines: Value,
) -> Value {
    let mut body = json!({"customer_id": customer, "placed_at": placed_at, "status": status,
                          "lines": lines});
    if let Some(channel) = channel {
        body["channel"] = channel.into();
    }
    let (code, order) = send(app, Method::POST, "/api/v1/orders", token, Some(body));
    assert_eq!(code, 201, "{order}");
    order
}

fn report(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The first columns of an export of a grouped report by period.
const GROUPED_PERIOD: [&str; 5] = ["period", "start", "end", "group", "group_name"];

/// Exports a report as `body` asks (CSV unless its `format` says `xlsx`) and reads the
/// file back: the finished job, the file's headers and its rows.
pub(crate) fn exported(
    app: &TestApp,
    token: &str,
    body: Value,
) -> (Value, Vec<String>, Vec<Vec<String>>) {
    let format = match body["format"].as_str() {
        Some("xlsx") => Format::Xlsx,
        _ => Format::Csv,
    };
    let response = app
        .authed(Method::POST, "/api/v1/reports/exports", token)
        .json(&body)
        .send()
        .unwrap();
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    let file = app
        .authed(
            Method::GET,
            job["result"]["download"].as_str().unwrap(),
            token,
        )
        .send()
        .unwrap();
    assert_eq!(file.status(), 200);
    let sheet =
        tabular::read(&file.bytes().unwrap(), format, &Default::default()).expect("readable");
    let rows = sheet.rows.iter().map(|row| row.cells.clone()).collect();
    (job, sheet.headers, rows)
}

/// The (field, code) of each violation of an export `body` refused before a job starts.
fn refused_export(app: &TestApp, token: &str, body: Value) -> Vec<(String, String)> {
    let response = app
        .authed(Method::POST, "/api/v1/reports/exports", token)
        .json(&body)
        .send()
        .unwrap();
    field_codes(&assert_problem(response, 422, "validation_failed"))
}

/// (label, orders, buyers, gross, refunds, net, average order value) of each period.
fn totals(report: &Value) -> Vec<(String, i64, i64, i64, i64, i64, i64)> {
    report["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|period| {
            let t = &period["totals"];
            let n = |name: &str| t[name].as_i64().unwrap_or_else(|| panic!("{name}: {t}"));
            (
                period["label"].as_str().expect("label").to_string(),
                n("orders"),
                n("buyers"),
                n("gross"),
                n("refunds"),
                n("net"),
                n("average_order_value"),
            )
        })
        .collect()
}

/// A cohort's label, size and (buyers, rate) per period since its first.
type CohortRow = (String, i64, Vec<(i64, Value)>);

/// (key, net) of each group of period `index`.
fn groups(report: &Value, index: usize) -> Vec<(Value, i64)> {
    report["periods"][index]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|group| {
            (
                group["key"].clone(),
                group["figures"]["net"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A (female, born 1990, Tehran, web) buys 2 × P1 (100,000) at 23:30 on 29 Esfand 1404
/// in Tehran and 1 × P2 (50,000) at 00:30 on 1 Farvardin 1405; B (male, born 2010,
/// Isfahan) buys 3 × P1 on 21 Farvardin and returns one (refund 100,000), then has a
/// pending and a cancelled order; C (no address, no birth date, owned by a sales user)
/// buys 2 × P2 in the shop on 26 Farvardin.
#[test]
fn sales_by_jalali_month_follow_the_calendar_the_time_zone_and_refunds() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        // The orders are months old: with the churn rule on, buying would churn them at
        // once, and this test churns one by hand.
        let (status, rules) = merge_patch(
            app,
            "/api/v1/settings/lifecycle-rules",
            &admin,
            &json!({"churn": {"enabled": false}}),
        );
        assert_eq!(status, 200, "{rules}");
        let (status, category) = send(
            app,
            Method::POST,
            "/api/v1/product-categories",
            &admin,
            Some(json!({"name": "لوازم"})),
        );
        assert_eq!(status, 201, "{category}");
        let category = id_of(&category);
        let p1 = product(app, &admin, "REP-1", 100_000);
        let (status, _) = merge_patch(
            app,
            &format!("/api/v1/products/{p1}"),
            &admin,
            &json!({"category_id": category, "unit_cost": 60_000}),
        );
        assert_eq!(status, 200);
        let p2 = product(app, &admin, "REP-2", 50_000);
        let a = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "آ", "last_name": "الف", "gender": "female",
                   "birth_date": "1990-05-01",
                   "addresses": [{"province": "تهران", "city": "تهران"}]}),
        ));
        let b = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "ب", "last_name": "ب", "gender": "male",
                   "birth_date": "2010-01-01",
                   "addresses": [{"province": "اصفهان", "city": "کاشان"}]}),
        ));
        let c = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "پ", "last_name": "پ",
                   "owner_id": sales_id}),
        ));
        order_with(
            app,
            &admin,
            &a,
            "2026-03-20T20:00:00Z",
            "paid",
            Some("web"),
            json!([{"product_id": p1, "quantity": 2}]),
        );
        order_with(
            app,
            &admin,
            &a,
            "2026-03-20T21:00:00Z",
            "paid",
            Some("web"),
            json!([{"product_id": p2, "quantity": 1}]),
        );
        let returned = order(
            app,
            &admin,
            &b,
            "2026-04-10T08:00:00Z",
            json!([{"product_id": p1, "quantity": 3}]),
        );
        let (status, body) = send(
            app,
            Method::POST,
            &format!("/api/v1/orders/{}/returns", id_of(&returned)),
            &admin,
            Some(
                json!({"lines": [{"order_line_id": returned["lines"][0]["id"], "quantity": 1}],
                       "reason": "مرجوعی"}),
            ),
        );
        assert_eq!(status, 201, "{body}");
        for status in ["pending", "cancelled"] {
            order_with(
                app,
                &admin,
                &b,
                "2026-04-12T08:00:00Z",
                status,
                None,
                json!([{"product_id": p1, "quantity": 5}]),
            );
        }
        order_with(
            app,
            &admin,
            &c,
            "2026-04-15T08:00:00Z",
            "paid",
            Some("shop"),
            json!([{"product_id": p2, "quantity": 2}]),
        );

        let base = "/api/v1/reports/sales?from=2026-03-11&to=2026-05-10";
        let monthly = report(app, &admin, base);
        assert_eq!(monthly["range"]["calendar"], "jalali");
        assert_eq!(monthly["range"]["bucket"], "month");
        assert_eq!(monthly["currency"], "IRR");
        assert_eq!(
            totals(&monthly),
            [
                ("1404-12".into(), 1, 1, 200_000, 0, 200_000, 200_000),
                ("1405-01".into(), 3, 3, 450_000, 100_000, 350_000, 116_667),
                ("1405-02".into(), 0, 0, 0, 0, 0, 0),
            ]
        );
        let period = &monthly["periods"][1];
        assert_eq!(
            (period["start"].as_str(), period["end"].as_str()),
            (Some("2026-03-21"), Some("2026-04-20"))
        );
        // The first period is cut at `from`, the last at `to`.
        assert_eq!(monthly["periods"][0]["start"], "2026-03-11");
        assert_eq!(monthly["periods"][2]["end"], "2026-05-10");

        // The same orders by Gregorian month: both of A's orders fall in March.
        let gregorian = report(
            app,
            &admin,
            "/api/v1/reports/sales?from=2026-03-01&to=2026-04-30&calendar=gregorian",
        );
        assert_eq!(
            totals(&gregorian),
            [
                ("2026-03".into(), 2, 1, 250_000, 0, 250_000, 125_000),
                ("2026-04".into(), 2, 2, 400_000, 100_000, 300_000, 150_000),
            ]
        );
        // By day around the boundary: 29 Esfand and 1 Farvardin.
        let days = report(
            app,
            &admin,
            "/api/v1/reports/sales?from=2026-03-20&to=2026-03-21&bucket=day",
        );
        assert_eq!(
            totals(&days),
            [
                ("1404-12-29".into(), 1, 1, 200_000, 0, 200_000, 200_000),
                ("1405-01-01".into(), 1, 1, 50_000, 0, 50_000, 50_000),
            ]
        );

        // Groupings of Farvardin.
        let by_product = report(app, &admin, &format!("{base}&group_by=product"));
        let farvardin = &by_product["periods"][1];
        assert_eq!(farvardin["totals"]["units"], 5, "{farvardin}");
        let products = farvardin["groups"].as_array().unwrap();
        assert_eq!(products.len(), 2);
        assert_eq!(products[0]["key"], p1.as_str());
        assert_eq!(products[0]["name"], "کالا REP-1");
        assert_eq!(
            products[0]["figures"],
            json!({"orders": 1, "buyers": 1, "units": 2, "gross": 300_000, "refunds": 100_000,
                   "net": 200_000, "average_order_value": 200_000})
        );
        assert_eq!(
            products[1]["figures"],
            json!({"orders": 2, "buyers": 2, "units": 3, "gross": 150_000, "refunds": 0,
                   "net": 150_000, "average_order_value": 75_000})
        );
        let by_category = report(app, &admin, &format!("{base}&group_by=category"));
        assert_eq!(
            groups(&by_category, 1),
            [(json!(category), 200_000), (Value::Null, 150_000)]
        );
        assert_eq!(by_category["periods"][1]["groups"][0]["name"], "لوازم");
        let by_province = report(app, &admin, &format!("{base}&group_by=province"));
        assert_eq!(
            groups(&by_province, 1),
            [
                (json!("اصفهان"), 200_000),
                (Value::Null, 100_000),
                (json!("تهران"), 50_000)
            ]
        );
        let by_age = report(app, &admin, &format!("{base}&group_by=age_range"));
        assert_eq!(
            groups(&by_age, 1),
            [
                (json!("under_18"), 200_000),
                (json!("unknown"), 100_000),
                (json!("35_44"), 50_000)
            ]
        );
        let by_gender = report(app, &admin, &format!("{base}&group_by=gender"));
        assert_eq!(
            groups(&by_gender, 1),
            [
                (json!("male"), 200_000),
                (Value::Null, 100_000),
                (json!("female"), 50_000)
            ]
        );
        let by_channel = report(app, &admin, &format!("{base}&group_by=channel"));
        assert_eq!(
            groups(&by_channel, 1),
            [
                (Value::Null, 200_000),
                (json!("shop"), 100_000),
                (json!("web"), 50_000)
            ]
        );
        assert_eq!(groups(&by_channel, 0), [(json!("web"), 200_000)]);

        // A sales user with `own` visibility sees the figures of their own customer.
        let own = report(app, &sales, base);
        assert_eq!(
            totals(&own),
            [
                ("1404-12".into(), 0, 0, 0, 0, 0, 0),
                ("1405-01".into(), 1, 1, 100_000, 0, 100_000, 100_000),
                ("1405-02".into(), 0, 0, 0, 0, 0, 0),
            ]
        );
        let own_products = report(app, &sales, &format!("{base}&group_by=product"));
        assert_eq!(groups(&own_products, 1), [(json!(p2), 100_000)]);

        // The same report as files: a row per period and group.
        for format in ["csv", "xlsx"] {
            let (job, headers, rows) = exported(
                app,
                &admin,
                json!({"report": "sales", "from": "2026-03-11", "to": "2026-05-10",
                       "group_by": "product", "format": format}),
            );
            assert_eq!(job["kind"], "reports.export");
            assert_eq!(job["result"]["rows"], 3, "{job}");
            assert_eq!(headers[..5], GROUPED_PERIOD);
            assert_eq!(
                headers[5..],
                [
                    "orders",
                    "buyers",
                    "units",
                    "gross (IRR)",
                    "refunds (IRR)",
                    "net (IRR)",
                    "average_order_value (IRR)"
                ]
            );
            assert_eq!(
                rows[0][..4],
                ["1404-12", "2026-03-11", "2026-03-20", p1.as_str()]
            );
            assert_eq!(rows[1][0], "1405-01");
            assert_eq!(rows[1][3], p1);
            assert_eq!(rows[1][7..11], ["2", "300000", "100000", "200000"]);
            assert_eq!(rows[2][3], p2);
        }
        assert_eq!(
            refused_export(
                app,
                &admin,
                json!({"report": "kpis", "from": "2026-03-11", "to": "2026-05-10",
                       "group_by": "product"})
            ),
            [("group_by".to_string(), "not_for_report".to_string())]
        );

        // Key figures of the same months. A bought before Farvardin: a returning,
        // repeat buyer; B and C are new.
        let kpis = report(
            app,
            &admin,
            "/api/v1/reports/kpis?from=2026-03-11&to=2026-05-10",
        );
        let farvardin = &kpis["periods"][1];
        assert_eq!(farvardin["label"], "1405-01");
        assert_eq!(farvardin["revenue"], 350_000);
        assert_eq!(farvardin["orders"], 3);
        assert_eq!(farvardin["average_order_value"], 116_667);
        assert_eq!(farvardin["active_customers"], 3);
        assert_eq!(farvardin["new_customers"], 2);
        assert_eq!(farvardin["repeat_purchase_rate"], 1.0 / 3.0);
        assert_eq!(farvardin["churned"], 0);
        assert_eq!(farvardin["churn_rate"], 0.0);
        let esfand = &kpis["periods"][0];
        assert_eq!(esfand["new_customers"], 1);
        assert_eq!(esfand["repeat_purchase_rate"], 0.0);
        assert_eq!(esfand["churn_rate"], Value::Null);
        assert_eq!(kpis["periods"][2]["repeat_purchase_rate"], Value::Null);
        assert_eq!(kpis["average_clv"], Value::Null);

        // Cohorts by first purchase: A in Esfand (and back in Farvardin), B and C in
        // Farvardin; nobody bought in Ordibehesht.
        let cohorts = report(
            app,
            &admin,
            "/api/v1/reports/cohorts?from=2026-03-11&to=2026-05-10",
        );
        let table: Vec<CohortRow> = cohorts["cohorts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|cohort| {
                (
                    cohort["label"].as_str().unwrap().to_string(),
                    cohort["customers"].as_i64().unwrap(),
                    cohort["retention"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|cell| (cell["buyers"].as_i64().unwrap(), cell["rate"].clone()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            table,
            [
                (
                    "1404-12".to_string(),
                    1,
                    vec![(1, json!(1.0)), (1, json!(1.0)), (0, json!(0.0))]
                ),
                (
                    "1405-01".to_string(),
                    2,
                    vec![(2, json!(1.0)), (0, json!(0.0))]
                ),
                ("1405-02".to_string(), 0, vec![(0, Value::Null)]),
            ]
        );
        let own_cohorts = report(
            app,
            &sales,
            "/api/v1/reports/cohorts?from=2026-03-11&to=2026-05-10",
        );
        assert_eq!(own_cohorts["cohorts"][0]["customers"], 0);
        assert_eq!(own_cohorts["cohorts"][1]["customers"], 1);

        // Who stopped buying P1 in Ordibehesht: B bought it in the 30 days before; A
        // only before that, unless the earlier window reaches back to Esfand.
        let lapsed = |token: &str, query: &str| {
            report(
                app,
                token,
                &format!("/api/v1/reports/lapsed-buyers?{query}"),
            )
        };
        let p1_lapsed = lapsed(
            &admin,
            &format!("product_id={p1}&from=2026-04-21&to=2026-05-20"),
        );
        assert_eq!(
            p1_lapsed["windows"],
            json!({"earlier": {"from": "2026-03-22", "to": "2026-04-20"},
                   "later": {"from": "2026-04-21", "to": "2026-05-20"}})
        );
        assert_eq!(
            p1_lapsed["data"],
            json!([{"customer_id": b, "display_name": "ب ب",
                    "last_bought_at": "2026-04-10T08:00:00Z", "orders": 1, "units": 2,
                    "net": 200_000}])
        );
        let both = lapsed(
            &admin,
            &format!(
                "product_id={p1}&from=2026-04-21&to=2026-05-20&earlier_from=2026-03-01&limit=1"
            ),
        );
        assert_eq!(both["data"].as_array().unwrap().len(), 1);
        assert_eq!(both["has_more"], true);
        let rest = lapsed(
            &admin,
            &format!(
                "product_id={p1}&from=2026-04-21&to=2026-05-20&earlier_from=2026-03-01&cursor={}",
                both["next_cursor"].as_str().unwrap()
            ),
        );
        let mut ids = vec![
            both["data"][0]["customer_id"].as_str().unwrap().to_string(),
            rest["data"][0]["customer_id"].as_str().unwrap().to_string(),
        ];
        ids.sort();
        let mut expected = vec![a.clone(), b.clone()];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(rest["has_more"], false);
        // As a file, every page at once, in the order of the pages.
        let (job, headers, rows) = exported(
            app,
            &admin,
            json!({"report": "lapsed_buyers", "product_id": p1, "from": "2026-04-21",
                   "to": "2026-05-20", "earlier_from": "2026-03-01", "format": "xlsx"}),
        );
        assert_eq!(job["result"]["rows"], 2, "{job}");
        assert_eq!(
            headers,
            [
                "customer_id",
                "display_name",
                "last_bought_at",
                "orders",
                "units",
                "net (IRR)"
            ]
        );
        let listed: Vec<Vec<String>> = [&both["data"][0], &rest["data"][0]]
            .into_iter()
            .map(|buyer| {
                vec![
                    buyer["customer_id"].as_str().unwrap().to_string(),
                    buyer["display_name"].as_str().unwrap().to_string(),
                    buyer["last_bought_at"].as_str().unwrap().to_string(),
                    buyer["orders"].to_string(),
                    buyer["units"].to_string(),
                    buyer["net"].to_string(),
                ]
            })
            .collect();
        assert_eq!(rows, listed);
        // The job reads them a page at a time: with pages of one buyer, two pages.
        let query = application::reports::export::ReportExportRequest {
            report: application::reports::export::ReportKind::LapsedBuyers,
            from: Some("2026-04-21".parse().unwrap()),
            to: Some("2026-05-20".parse().unwrap()),
            bucket: None,
            calendar: None,
            group_by: None,
            limit: None,
            product_id: Some(p1.parse().unwrap()),
            run_id: None,
            segment: None,
            earlier_from: Some("2026-03-01".parse().unwrap()),
            team_id: None,
            agent_id: None,
            channel: None,
            category_id: None,
            format: Default::default(),
            right_to_left: None,
        }
        .query()
        .unwrap();
        let system = application::acting::Acting::system(application::i18n::Lang::En);
        let mut conn = app.state.pool.get().expect("connection");
        let mut file =
            application::reports::export::ReportFile::open(&mut conn, &system, query, 1).unwrap();
        let mut pages = Vec::new();
        while let Some(page) = file.next_page(&mut conn, &system).unwrap() {
            assert_eq!(page.customers.ids.len(), page.rows.len());
            pages.push(page.rows);
        }
        drop(conn);
        assert_eq!(pages.len(), 2);
        assert!(pages.iter().all(|page| page.len() == 1));
        let (_, _, own_rows) = exported(
            app,
            &sales,
            json!({"report": "lapsed_buyers", "product_id": p1, "from": "2026-04-21",
                   "to": "2026-05-20", "earlier_from": "2026-03-01"}),
        );
        assert!(own_rows.is_empty(), "{own_rows:?}");
        // P2: A bought it on 1 Farvardin and not since; C bought it within the window.
        let p2_lapsed = lapsed(
            &admin,
            &format!("product_id={p2}&from=2026-04-15&to=2026-05-20&earlier_from=2026-03-01"),
        );
        assert_eq!(p2_lapsed["data"].as_array().unwrap().len(), 1);
        assert_eq!(p2_lapsed["data"][0]["customer_id"], a.as_str());
        // The sales user sees only their own customer, who never bought P1.
        let own_lapsed = lapsed(
            &sales,
            &format!("product_id={p1}&from=2026-04-21&to=2026-05-20&earlier_from=2026-03-01"),
        );
        assert_eq!(own_lapsed["data"], json!([]));
        for (query, field, code) in [
            (
                format!("product_id={p1}&from=2026-04-21&to=2026-04-01"),
                "to",
                "before_from",
            ),
            (
                format!("product_id={p1}&from=2026-04-21&to=2026-05-01&earlier_from=2026-04-21"),
                "earlier_from",
                "not_before_from",
            ),
            (
                format!(
                    "product_id={}&from=2026-04-21&to=2026-05-01",
                    uuid::Uuid::now_v7()
                ),
                "product_id",
                "not_found",
            ),
            // The earlier window may not reach back before 1900.
            (
                format!("product_id={p1}&from=1910-04-24&to=1992-09-22"),
                "earlier_from",
                "out_of_range",
            ),
        ] {
            let problem = assert_problem(
                app.authed(
                    Method::GET,
                    &format!("/api/v1/reports/lapsed-buyers?{query}"),
                    &admin,
                )
                .send()
                .unwrap(),
                422,
                "validation_failed",
            );
            assert_eq!(
                field_codes(&problem),
                [(field.to_string(), code.to_string())],
                "{query}"
            );
        }

        // Profitability of Esfand and Farvardin: P1 costs 60,000 a unit, P2 has no cost.
        // Lines kept: A 2 × P1 and 1 × P2, B 2 of 3 × P1, C 2 × P2.
        let profit = report(
            app,
            &admin,
            "/api/v1/reports/profitability?from=2026-03-11&to=2026-04-20&group_by=customer&limit=2",
        );
        assert_eq!(
            profit["totals"],
            json!({"customers": 3, "orders": 4, "revenue": 550_000, "product_cost": 240_000,
                   "gross_margin": 310_000, "margin_rate": 310_000.0 / 550_000.0,
                   "service_cost": null, "acquisition_cost": null, "lines_without_cost": 2})
        );
        let by_customer: Vec<(Value, i64)> = profit["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["key"].clone(),
                    g["figures"]["gross_margin"].as_i64().unwrap(),
                )
            })
            .collect();
        // A: 250,000 − 120,000; C: 100,000 − 0; B: 200,000 − 120,000 (left out by limit).
        assert_eq!(by_customer, [(json!(a), 130_000), (json!(c), 100_000)]);
        assert_eq!(profit["groups"][0]["name"], "آ الف");
        let own_profit = report(
            app,
            &sales,
            "/api/v1/reports/profitability?from=2026-03-11&to=2026-04-20",
        );
        assert_eq!(own_profit["totals"]["revenue"], 100_000);
        // As files: a row per group, or one of totals.
        let (_, headers, rows) = exported(
            app,
            &admin,
            json!({"report": "profitability", "from": "2026-03-11", "to": "2026-04-20",
                   "group_by": "customer", "limit": 2}),
        );
        assert_eq!(
            headers,
            [
                "from",
                "to",
                "group",
                "group_name",
                "customers",
                "orders",
                "revenue (IRR)",
                "product_cost (IRR)",
                "gross_margin (IRR)",
                "margin_rate",
                "service_cost (IRR)",
                "acquisition_cost (IRR)",
                "lines_without_cost"
            ]
        );
        let profit_row = |group: Option<[&Value; 2]>, f: &Value| {
            let mut row = vec!["2026-03-11".to_string(), "2026-04-20".to_string()];
            for cell in group.into_iter().flatten() {
                row.push(cell.as_str().unwrap_or_default().to_string());
            }
            for name in [
                "customers",
                "orders",
                "revenue",
                "product_cost",
                "gross_margin",
            ] {
                row.push(f[name].to_string());
            }
            row.push(format!("{:.6}", f["margin_rate"].as_f64().unwrap()));
            row.extend([String::new(), String::new()]);
            row.push(f["lines_without_cost"].to_string());
            row
        };
        let expected: Vec<Vec<String>> = profit["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| profit_row(Some([&g["key"], &g["name"]]), &g["figures"]))
            .collect();
        assert_eq!(rows, expected);
        let (_, headers, rows) = exported(
            app,
            &sales,
            json!({"report": "profitability", "from": "2026-03-11", "to": "2026-04-20"}),
        );
        assert_eq!(headers.len(), 11, "{headers:?}");
        assert_eq!(rows, [profit_row(None, &own_profit["totals"])]);

        let today = business_today();
        // Acquisition: the three customers were created today and have all bought, each
        // before they were created (a history entered afterwards: no conversion time).
        let acquired = report(
            app,
            &admin,
            &format!("/api/v1/reports/acquisition?from={today}&to={today}&group_by=source"),
        );
        let period = &acquired["periods"][0];
        assert_eq!(period["totals"]["acquired"], 3, "{acquired}");
        assert_eq!(period["totals"]["converted"], 3);
        assert_eq!(period["totals"]["conversion_rate"], 1.0);
        assert_eq!(
            period["totals"]["revenue"],
            200_000 + 50_000 + 200_000 + 100_000
        );
        assert_eq!(period["totals"]["average_clv"], Value::Null);
        assert_eq!(
            period["totals"]["average_days_to_first_purchase"],
            Value::Null
        );
        assert_eq!(
            period["groups"],
            json!([{"key": null, "name": null, "figures": period["totals"]}])
        );
        // Funnel of today's customers: each was created at `awareness` and moved to
        // `purchase` by its first order (skipping `consideration`), A then on to
        // `retention` by buying again within the window.
        let funnel = report(
            app,
            &admin,
            &format!("/api/v1/reports/funnel?from={today}&to={today}"),
        );
        let stages: Vec<(String, i64)> = funnel["periods"][0]["totals"]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["stage"].as_str().unwrap().to_string(),
                    s["reached"].as_i64().unwrap(),
                )
            })
            .collect();
        let reached_retention = stages[3].1;
        assert_eq!(funnel["periods"][0]["totals"]["customers"], 3, "{funnel}");
        assert_eq!(
            stages[..3],
            [
                ("awareness".to_string(), 3),
                ("consideration".to_string(), 3),
                ("purchase".to_string(), 3)
            ]
        );
        assert!(reached_retention <= 3);
        assert_eq!(
            funnel["periods"][0]["totals"]["stages"][2]["conversion_from_previous"],
            1.0
        );
        let own_funnel = report(
            app,
            &sales,
            &format!("/api/v1/reports/funnel?from={today}&to={today}"),
        );
        assert_eq!(own_funnel["periods"][0]["totals"]["customers"], 1);

        let own_acquired = report(
            app,
            &sales,
            &format!("/api/v1/reports/acquisition?from={today}&to={today}"),
        );
        assert_eq!(own_acquired["periods"][0]["totals"]["acquired"], 1);

        // A customer churned today counts in this month's churn rate: one of the three
        // who had bought before it.
        let (status, body) = merge_patch(
            app,
            &format!("/api/v1/customers/{a}"),
            &admin,
            &json!({"lifecycle_stage": "churned"}),
        );
        assert_eq!(status, 200, "{body}");
        let now = report(
            app,
            &admin,
            &format!("/api/v1/reports/kpis?from={today}&to={today}"),
        );
        assert_eq!(now["periods"][0]["churned"], 1, "{now}");
        assert_eq!(now["periods"][0]["churn_rate"], 1.0 / 3.0, "{now}");
        let own_now = report(
            app,
            &sales,
            &format!("/api/v1/reports/kpis?from={today}&to={today}"),
        );
        assert_eq!(own_now["periods"][0]["churned"], 0, "{own_now}");
        assert_eq!(own_now["periods"][0]["churn_rate"], 0.0, "{own_now}");
    });
}

#[test]
fn bad_report_parameters_name_the_parameter_and_the_rule() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let problem = assert_problem(
            app.authed(
                Method::GET,
                "/api/v1/reports/sales?from=2026-02-01&to=2026-01-01",
                &admin,
            )
            .send()
            .unwrap(),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [("to".to_string(), "before_from".to_string())]
        );
        let problem = assert_problem(
            app.authed(
                Method::GET,
                "/api/v1/reports/kpis?from=2000-01-01&to=2026-01-01&bucket=day",
                &admin,
            )
            .send()
            .unwrap(),
            422,
            "validation_failed",
        );
        assert_eq!(
            field_codes(&problem),
            [("bucket".to_string(), "too_many_periods".to_string())]
        );
        for query in [
            "from=2026-01-01",
            "from=2026-13-01&to=2026-12-01",
            "from=2026-01-01&to=2026-02-01&bucket=fortnight",
            "from=2026-01-01&to=2026-02-01&calendar=hijri",
            "from=2026-01-01&to=2026-02-01&group_by=shoe_size",
            "from=2026-01-01%00&to=2026-02-01",
            "from=2026-01-01&to=2026-02-01&extra=1",
        ] {
            let response = app
                .authed(
                    Method::GET,
                    &format!("/api/v1/reports/sales?{query}"),
                    &admin,
                )
                .send()
                .unwrap();
            assert_eq!(response.status(), 400, "{query}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{query}"
            );
        }
        let response = app
            .client()
            .get(app.url("/api/v1/reports/sales?from=2026-01-01&to=2026-02-01"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 401);

        // An export takes what the report's `GET` takes, and is refused as it would be.
        let unknown_product = uuid::Uuid::now_v7();
        for (body, expected) in [
            (
                json!({"report": "profitability", "bucket": "day", "calendar": "gregorian"}),
                vec![("bucket", "not_for_report"), ("calendar", "not_for_report")],
            ),
            (
                json!({"report": "lapsed_buyers", "group_by": "customer", "limit": 5,
                       "product_id": unknown_product}),
                vec![("limit", "not_for_report"), ("group_by", "not_for_report")],
            ),
            (
                json!({"report": "lapsed_buyers"}),
                vec![("product_id", "required")],
            ),
            (
                json!({"report": "funnel", "earlier_from": "2025-01-01"}),
                vec![("earlier_from", "not_for_report")],
            ),
            (
                json!({"report": "acquisition", "group_by": "tier"}),
                vec![("group_by", "not_for_report")],
            ),
            (
                json!({"report": "sales", "group_by": "referrer"}),
                vec![("group_by", "not_for_report")],
            ),
            (
                json!({"report": "profitability", "group_by": "customer", "limit": 0}),
                vec![("limit", "out_of_range")],
            ),
            (
                json!({"report": "lapsed_buyers", "product_id": unknown_product}),
                vec![("product_id", "not_found")],
            ),
            (
                json!({"report": "lapsed_buyers", "product_id": unknown_product,
                       "earlier_from": "2026-01-01"}),
                vec![("earlier_from", "not_before_from")],
            ),
            (
                json!({"report": "funnel", "bucket": "day", "from": "2000-01-01"}),
                vec![("bucket", "too_many_periods")],
            ),
        ] {
            let mut request = json!({"from": "2026-01-01", "to": "2026-02-01"});
            for (field, value) in body.as_object().unwrap() {
                request[field] = value.clone();
            }
            let expected: Vec<(String, String)> = expected
                .into_iter()
                .map(|(field, code)| (field.to_string(), code.to_string()))
                .collect();
            assert_eq!(
                refused_export(app, &admin, request.clone()),
                expected,
                "{request}"
            );
        }
    });
}

/// Records that `customer` first entered lifecycle `stage` at `at`: a stage history
/// long before the customer was created, which the API cannot write.
fn entered(app: &TestApp, customer: &str, stage: &str, at: &str) {
    use persistence::sql_types::{DbTime, DbUuid};
    let mut conn = app.state.pool.get().expect("connection");
    persistence::customers::history::record_transitions(
        &mut conn,
        &[persistence::customers::history::LifecycleTransitionRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            customer_id: DbUuid(customer.parse().expect("uuid")),
            from_stage: None,
            to_stage: stage.to_string(),
            reason: "manual".to_string(),
            changed_by: None,
            changed_at: DbTime(at.parse().expect("time")),
        }],
    )
    .expect("transition");
}

/// The local day of the business (Tehran keeps UTC+03:30 all year since 2022).
fn business_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::minutes(210)).date_naive()
}

/// (mean, median) days of the step into stage `rank` of `figures`.
fn step_days(figures: &Value, rank: usize) -> (f64, f64) {
    let stage = &figures["stages"][rank];
    let days = |name: &str| {
        stage[name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {stage}"))
    };
    (
        days("mean_days_from_previous"),
        days("median_days_from_previous"),
    )
}

/// A value as an export writes it: text as is, a whole number in digits, a decimal with
/// six places, nothing for `null`.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Number(n) if n.is_i64() => n.to_string(),
        Value::Number(n) => format!("{:.6}", n.as_f64().unwrap()),
        other => panic!("no cell for {other}"),
    }
}

/// The rows an export of a report by period holds for `period` of its `GET`: for the
/// totals, or when `grouped` for each group, a row of the `figures` (`None`: the stages
/// of a funnel) after the period and the group's key and name.
fn period_rows(period: &Value, grouped: bool, figures: Option<&[&str]>) -> Vec<Vec<String>> {
    let when = ["label", "start", "end"].map(|name| cell(&period[name]));
    let sections: Vec<(Vec<String>, &Value)> = if grouped {
        period["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (vec![cell(&g["key"]), cell(&g["name"])], &g["figures"]))
            .collect()
    } else {
        vec![(Vec::new(), &period["totals"])]
    };
    let mut rows = Vec::new();
    for (named, f) in sections {
        let lines: Vec<Vec<String>> = match figures {
            Some(names) => vec![names.iter().map(|name| cell(&f[name])).collect()],
            None => f["stages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|stage| {
                    let mut line = vec![cell(&f["customers"])];
                    line.extend(
                        [
                            "stage",
                            "reached",
                            "conversion_from_previous",
                            "mean_days_from_previous",
                            "median_days_from_previous",
                        ]
                        .map(|name| cell(&stage[name])),
                    );
                    line
                })
                .collect(),
        };
        for line in lines {
            rows.push(when.iter().chain(&named).chain(&line).cloned().collect());
        }
    }
    rows
}

fn assert_days(actual: (f64, f64), expected: (f64, f64)) {
    assert!(
        (actual.0 - expected.0).abs() < 1e-6 && (actual.1 - expected.1).abs() < 1e-6,
        "(mean, median) {actual:?}, expected {expected:?}"
    );
}

/// Seven customers created today, with a stage history entered by hand: all became
/// aware on 1 January 2026 and considered buying 1, 2 and 10 days later (source `web`)
/// or 1, 2, 4 and 9 days later (source `fair`, the last three owned by a sales user).
#[test]
fn funnel_steps_have_a_mean_and_a_median() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        let mut customers = Vec::new();
        for (index, (source, days, owner)) in [
            ("web", 1, None),
            ("web", 2, None),
            ("web", 10, None),
            ("fair", 1, None),
            ("fair", 2, Some(&sales_id)),
            ("fair", 4, Some(&sales_id)),
            ("fair", 9, Some(&sales_id)),
        ]
        .into_iter()
        .enumerate()
        {
            let mut body = json!({"kind": "person", "first_name": "مشتری",
                                  "last_name": format!("شماره {index}"),
                                  "acquisition_source": source});
            if let Some(owner) = owner {
                body["owner_id"] = owner.to_string().into();
            }
            let id = id_of(&create_customer(app, &admin, body));
            entered(app, &id, "awareness", "2026-01-01T00:00:00Z");
            entered(
                app,
                &id,
                "consideration",
                &format!("2026-01-{:02}T00:00:00Z", 1 + days),
            );
            customers.push(id);
        }
        let today = business_today();
        let path = format!("/api/v1/reports/funnel?from={today}&to={today}&group_by=source");
        let funnel = report(app, &admin, &path);
        let period = &funnel["periods"][0];
        assert_eq!(period["totals"]["customers"], 7, "{funnel}");
        assert_eq!(period["totals"]["stages"][1]["reached"], 7);
        // All seven: 1, 1, 2, 2, 4, 9, 10.
        assert_days(step_days(&period["totals"], 1), (29.0 / 7.0, 2.0));
        let awareness = &period["totals"]["stages"][0];
        assert_eq!(awareness["mean_days_from_previous"], Value::Null);
        assert_eq!(awareness["median_days_from_previous"], Value::Null);
        // Nobody went further: no step into `purchase`.
        assert_eq!(
            period["totals"]["stages"][2]["median_days_from_previous"],
            Value::Null
        );
        let groups = period["groups"].as_array().unwrap();
        assert_eq!(groups[0]["key"], "fair", "{funnel}");
        // An even count: the median is the mean of the middle two, (2 + 4) / 2.
        assert_days(step_days(&groups[0]["figures"], 1), (4.0, 3.0));
        assert_eq!(groups[1]["key"], "web");
        assert_days(step_days(&groups[1]["figures"], 1), (13.0 / 3.0, 2.0));

        // The sales user's three: 2, 4, 9.
        let own = report(app, &sales, &path);
        let own_period = &own["periods"][0];
        assert_eq!(own_period["totals"]["customers"], 3, "{own}");
        assert_days(step_days(&own_period["totals"], 1), (5.0, 4.0));
        assert_eq!(own_period["groups"].as_array().unwrap().len(), 1);
        assert_days(
            step_days(&own_period["groups"][0]["figures"], 1),
            (5.0, 4.0),
        );

        // As files: a row per group (or the totals) and stage.
        let (_, headers, rows) = exported(
            app,
            &admin,
            json!({"report": "funnel", "from": today, "to": today, "group_by": "source"}),
        );
        assert_eq!(headers[..5], GROUPED_PERIOD);
        assert_eq!(
            headers[5..],
            [
                "customers",
                "stage",
                "reached",
                "conversion_from_previous",
                "mean_days_from_previous",
                "median_days_from_previous"
            ]
        );
        assert_eq!(rows, period_rows(period, true, None));
        assert_eq!(rows.len(), 2 * 5);
        assert_eq!(
            rows[1][5..],
            [
                "4",
                "consideration",
                "4",
                "1.000000",
                "4.000000",
                "3.000000"
            ]
        );
        let (_, headers, rows) = exported(
            app,
            &sales,
            json!({"report": "funnel", "from": today, "to": today, "calendar": "gregorian",
                   "bucket": "day"}),
        );
        assert_eq!(headers.len(), 9, "{headers:?}");
        let own_daily = report(
            app,
            &sales,
            &format!(
                "/api/v1/reports/funnel?from={today}&to={today}&calendar=gregorian&bucket=day"
            ),
        );
        assert_eq!(rows, period_rows(&own_daily["periods"][0], false, None));
        assert_eq!(rows[1][7..], ["5.000000", "4.000000"]);
    });
}

/// (acquired, converted, revenue, name) of each group of the first period's `groups`
/// of an acquisition report, by key.
fn acquisition_groups(report: &Value) -> BTreeMap<String, (i64, i64, i64, Value)> {
    report["periods"][0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|group| {
            let figures = &group["figures"];
            let n = |name: &str| figures[name].as_i64().expect("figure");
            (
                group["key"].as_str().unwrap_or("(none)").to_string(),
                (
                    n("acquired"),
                    n("converted"),
                    n("revenue"),
                    group["name"].clone(),
                ),
            )
        })
        .collect()
}

/// (customers, name) of each group of the first period of a funnel report, by key.
fn funnel_groups(report: &Value) -> BTreeMap<String, (i64, Value)> {
    report["periods"][0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|group| {
            (
                group["key"].as_str().unwrap_or("(none)").to_string(),
                (
                    group["figures"]["customers"].as_i64().expect("customers"),
                    group["name"].clone(),
                ),
            )
        })
        .collect()
}

/// Referring customers X (the admin's) and Y (a sales user's) and a referring manager
/// R; customers created today: c1 (referred by X, bought 100,000), c2 (by X, the sales
/// user's), c3 (by Y and by R, the sales user's, bought 50,000), c4 (by R), c5 (by
/// nobody), besides X and Y themselves.
#[test]
fn acquisition_and_funnel_by_referrer_name_only_what_the_caller_may_know() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (sales_id, sales_email, password) = app.create_user("sales", None);
        let sales = app.login(&sales_email, &password).access_token;
        let (manager, _, _) = app.create_user("manager", None);
        let sales_id = sales_id.to_string();
        let customer = |name: &str, extra: Value| {
            let mut body = json!({"kind": "organization", "organization_name": name});
            for (field, value) in extra.as_object().unwrap() {
                body[field] = value.clone();
            }
            id_of(&create_customer(app, &admin, body))
        };
        let x = customer("ارجاع ایکس", json!({}));
        let y = customer("ارجاع وای", json!({"owner_id": sales_id}));
        let c1 = customer("مشتری یک", json!({"referred_by_customer_id": x}));
        customer(
            "مشتری دو",
            json!({"referred_by_customer_id": x, "owner_id": sales_id}),
        );
        let c3 = customer(
            "مشتری سه",
            json!({"referred_by_customer_id": y, "referred_by_user_id": manager,
                   "owner_id": sales_id}),
        );
        customer("مشتری چهار", json!({"referred_by_user_id": manager}));
        customer("مشتری پنج", json!({}));
        let product_id = product(app, &admin, "REF-1", 50_000);
        for (buyer, quantity) in [(&c1, 2), (&c3, 1)] {
            let (status, body) = send(
                app,
                Method::POST,
                "/api/v1/orders",
                &admin,
                Some(json!({"customer_id": buyer, "status": "paid",
                            "lines": [{"product_id": product_id, "quantity": quantity}]})),
            );
            assert_eq!(status, 201, "{body}");
        }
        let (x_key, y_key, r_key) = (
            format!("customer:{x}"),
            format!("customer:{y}"),
            format!("user:{manager}"),
        );
        let today = business_today();
        let path = |report: &str| {
            format!("/api/v1/reports/{report}?from={today}&to={today}&group_by=referrer")
        };

        let all = report(app, &admin, &path("acquisition"));
        assert_eq!(all["group_by"], "referrer");
        assert_eq!(all["periods"][0]["totals"]["acquired"], 7, "{all}");
        assert_eq!(
            acquisition_groups(&all),
            BTreeMap::from([
                (x_key.clone(), (2, 1, 100_000, json!("ارجاع ایکس"))),
                (y_key.clone(), (1, 1, 50_000, json!("ارجاع وای"))),
                (r_key.clone(), (2, 1, 50_000, json!("Test manager"))),
                ("(none)".to_string(), (3, 0, 0, Value::Null)),
            ])
        );
        // Largest first: the customers without a referrer.
        assert_eq!(all["periods"][0]["groups"][0]["key"], Value::Null);
        assert_eq!(
            funnel_groups(&report(app, &admin, &path("funnel"))),
            BTreeMap::from([
                (x_key.clone(), (2, json!("ارجاع ایکس"))),
                (y_key.clone(), (1, json!("ارجاع وای"))),
                (r_key.clone(), (2, json!("Test manager"))),
                ("(none)".to_string(), (3, Value::Null)),
            ])
        );

        // The sales user's customers are Y, c2 and c3: X referred one of them, but X is
        // not theirs to see, so its group has no name.
        let own = report(app, &sales, &path("acquisition"));
        assert_eq!(own["periods"][0]["totals"]["acquired"], 3, "{own}");
        assert_eq!(
            acquisition_groups(&own),
            BTreeMap::from([
                (x_key.clone(), (1, 0, 0, Value::Null)),
                (y_key.clone(), (1, 1, 50_000, json!("ارجاع وای"))),
                (r_key.clone(), (1, 1, 50_000, json!("Test manager"))),
                ("(none)".to_string(), (1, 0, 0, Value::Null)),
            ])
        );
        assert_eq!(
            funnel_groups(&report(app, &sales, &path("funnel"))),
            BTreeMap::from([
                (x_key.clone(), (1, Value::Null)),
                (y_key.clone(), (1, json!("ارجاع وای"))),
                (r_key.clone(), (1, json!("Test manager"))),
                ("(none)".to_string(), (1, Value::Null)),
            ])
        );

        // An API key that may read records but not users sees every customer's
        // referrer by name, and users by id only.
        let (status, key) = send(
            app,
            Method::POST,
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "reports", "scopes": ["records:read"]})),
        );
        assert_eq!(status, 201, "{key}");
        let by_key = report(app, key["key"].as_str().unwrap(), &path("acquisition"));
        let groups = acquisition_groups(&by_key);
        assert_eq!(groups[&x_key].3, json!("ارجاع ایکس"));
        assert_eq!(groups[&r_key], (2, 1, 50_000, Value::Null));

        // As files: a row per group, named as in the report.
        let figures = [
            "acquired",
            "converted",
            "conversion_rate",
            "revenue",
            "average_clv",
            "average_days_to_first_purchase",
        ];
        let mut downloads = Vec::new();
        for (token, shown) in [(&admin, &all), (&sales, &own)] {
            let (job, headers, rows) = exported(
                app,
                token,
                json!({"report": "acquisition", "from": today, "to": today,
                       "group_by": "referrer"}),
            );
            assert_eq!(headers[..5], GROUPED_PERIOD);
            assert_eq!(
                headers[5..],
                [
                    "acquired",
                    "converted",
                    "conversion_rate",
                    "revenue (IRR)",
                    "average_clv (IRR)",
                    "average_days_to_first_purchase"
                ]
            );
            assert_eq!(
                rows,
                period_rows(&shown["periods"][0], true, Some(&figures))
            );
            downloads.push((
                token,
                job["result"]["download"].as_str().unwrap().to_string(),
            ));
        }
        // Both files name Y: erasing Y deletes them.
        let (status, erasure) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{y}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erasure}");
        assert_eq!(erasure["erased"]["export_files"], 2, "{erasure}");
        for (token, download) in downloads {
            let response = app.authed(Method::GET, &download, token).send().unwrap();
            assert_eq!(response.status(), 410);
        }
    });
}
