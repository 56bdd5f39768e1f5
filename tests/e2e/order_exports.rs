//! `POST /api/v1/orders/exports` and the download of its file: every format and layout
//! gives back the exact figures of known orders (read back with `tabular`), amounts in
//! toman or rials as the business shows them, Jalali dates, and the caller's visibility.

use domain::commerce::money::{parse_major_amount, parse_toman};
use domain::commerce::Currency;
use e2e::support::{
    assert_problem, create_customer, field_codes, finished_job, for_each_backend, id_of, send,
    TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};
use tabular::{Format, InputSheet};

/// Runs an order export to its end; returns the job's result and the file's bytes.
fn export(app: &TestApp, token: &str, body: Value) -> (Value, Vec<u8>) {
    let response = app
        .authed(Method::POST, "/api/v1/orders/exports", token)
        .json(&body)
        .send()
        .expect("export request");
    let job = finished_job(app, token, response);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "orders.export");
    assert_eq!(job["progress"], 1.0);
    let result = job["result"].clone();
    let file = app
        .authed(
            Method::GET,
            result["download"].as_str().expect("download"),
            token,
        )
        .send()
        .expect("download");
    assert_eq!(file.status(), 200);
    (result, file.bytes().expect("body").to_vec())
}

fn read(bytes: &[u8], format: Format) -> InputSheet {
    tabular::read(bytes, format, &Default::default()).expect("readable export")
}

/// The cell under `header` of each row, by order id.
fn column(sheet: &InputSheet, header: &str) -> Vec<String> {
    let index = sheet
        .headers
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header} in {:?}", sheet.headers));
    sheet
        .rows
        .iter()
        .map(|row| row.cells[index].clone())
        .collect()
}

fn product(app: &TestApp, token: &str, sku: &str, name: &str, price: i64) -> String {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/products",
        token,
        Some(json!({"sku": sku, "name": name, "unit_price": price})),
    );
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

fn place(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, order) = send(app, Method::POST, "/api/v1/orders", token, Some(body));
    assert_eq!(status, 201, "{order}");
    order
}

fn get_order(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, order) = send(
        app,
        Method::GET,
        &format!("/api/v1/orders/{id}"),
        token,
        None,
    );
    assert_eq!(status, 200, "{order}");
    order
}

/// Two known orders: the first of two lines with odd rial amounts (half a toman) and a
/// partial return; the second placed at 00:30 Tehran time on 1 Farvardin 1405, which is
/// still 20 March 2026 in UTC.
fn known_orders(app: &TestApp, admin: &str) -> (Value, Value) {
    let tea = product(app, admin, "TEA-X1", "چای سیاه", 333_335);
    let cup = product(app, admin, "CUP-X1", "فنجان", 1_000_000);
    let customer = id_of(&create_customer(
        app,
        admin,
        json!({"kind": "person", "code": "C-77", "first_name": "مریم", "last_name": "احمدی"}),
    ));
    let first = place(
        app,
        admin,
        json!({"customer_id": customer, "status": "fulfilled", "channel": "store",
               "campaign": "yalda", "source": "pos", "external_reference": "INV-1",
               "lines": [{"product_id": tea, "quantity": 3, "discount": 7},
                         {"product_id": cup, "quantity": 1, "unit_price": 900_005}]}),
    );
    let line = first["lines"][0]["id"].as_str().expect("line id");
    let (status, returned) = send(
        app,
        Method::POST,
        &format!("/api/v1/orders/{}/returns", id_of(&first)),
        admin,
        Some(json!({"lines": [{"order_line_id": line, "quantity": 1}], "reason": "شکسته"})),
    );
    assert_eq!(status, 201, "{returned}");
    let second = place(
        app,
        admin,
        json!({"customer_id": customer, "status": "paid", "placed_at": "2026-03-20T21:00:00Z",
               "lines": [{"product_id": cup, "quantity": 2}]}),
    );
    (
        get_order(app, admin, &id_of(&first)),
        get_order(app, admin, &id_of(&second)),
    )
}

const ORDER_AMOUNTS: [(&str, &str); 5] = [
    ("subtotal", "subtotal"),
    ("discount_total", "discount_total"),
    ("total", "total"),
    ("refunded_total", "refunded_total"),
    ("net_total", "net_total"),
];

const LINE_AMOUNTS: [(&str, &str); 4] = [
    ("unit_price", "unit_price"),
    ("line_discount", "discount"),
    ("line_total", "total"),
    ("line_refunded", "refunded"),
];

/// Checks an order-layout sheet's rows against `orders`, reading amounts with `parse`.
fn check_order_rows(
    sheet: &InputSheet,
    orders: &[&Value],
    unit: &str,
    parse: impl Fn(&str) -> i64,
) {
    assert_eq!(sheet.rows.len(), orders.len());
    let ids = column(sheet, "order_id");
    for order in orders {
        let row = ids
            .iter()
            .position(|id| *id == id_of(order))
            .expect("order exported");
        for (header, member) in ORDER_AMOUNTS {
            let shown = &column(sheet, &format!("{header} ({unit})"))[row];
            assert_eq!(
                parse(shown),
                order[member].as_i64().expect("amount"),
                "{header} of {}",
                id_of(order)
            );
        }
        assert_eq!(column(sheet, "status")[row], order["status"]);
        assert_eq!(column(sheet, "customer_code")[row], "C-77");
        assert!(column(sheet, "customer_name")[row].contains("احمدی"));
        assert_eq!(column(sheet, "currency")[row], "IRR");
    }
}

#[test]
fn orders_export_in_every_format_and_layout_with_their_exact_figures() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (first, second) = known_orders(app, &admin);
        // The figures this test is about: not whole tomans, a discount and a refund.
        assert_eq!(first["total"], 3 * 333_335 - 7 + 900_005);
        assert!(first["refunded_total"].as_i64().unwrap() > 0);
        assert_eq!(first["lines"][0]["returned_quantity"], 1);
        let orders = [&first, &second];

        for (format, name) in [(Format::Csv, "csv"), (Format::Xlsx, "xlsx")] {
            // One row per order, amounts in toman (the default display).
            let (result, bytes) = export(app, &admin, json!({"format": name}));
            assert_eq!(result["rows"], 2);
            let sheet = read(&bytes, format);
            check_order_rows(&sheet, &orders, "toman", |text| {
                parse_toman(text).expect("toman")
            });
            assert!(!sheet.headers.contains(&"sku".to_string()));
            let at = column(&sheet, "order_id")
                .iter()
                .position(|id| *id == id_of(&second))
                .unwrap();
            assert_eq!(column(&sheet, "placed_at")[at], "2026-03-20T21:00:00Z");
            assert_eq!(
                column(&sheet, "placed_on")[at],
                "2026-03-21",
                "Tehran's date"
            );
            assert_eq!(column(&sheet, "total (toman)")[at], "200000");

            // One row per line, in the Jalali calendar.
            let (result, bytes) = export(
                app,
                &admin,
                json!({"format": name, "layout": "lines", "calendar": "jalali",
                       "sort": [{"field": "placed_at", "direction": "asc"}]}),
            );
            assert_eq!(result["rows"], 3);
            let sheet = read(&bytes, format);
            assert_eq!(
                column(&sheet, "order_id"),
                [id_of(&second), id_of(&first), id_of(&first)]
            );
            assert_eq!(column(&sheet, "placed_on")[0], "1405/01/01");
            assert_eq!(column(&sheet, "line_number"), ["1", "1", "2"]);
            assert_eq!(column(&sheet, "sku"), ["CUP-X1", "TEA-X1", "CUP-X1"]);
            assert_eq!(column(&sheet, "product_name")[1], "چای سیاه");
            let lines = [&second["lines"][0], &first["lines"][0], &first["lines"][1]];
            for (row, line) in lines.iter().enumerate() {
                for (header, member) in LINE_AMOUNTS {
                    let shown = &column(&sheet, &format!("{header} (toman)"))[row];
                    assert_eq!(
                        parse_toman(shown),
                        Ok(line[member].as_i64().unwrap()),
                        "{header}"
                    );
                }
                assert_eq!(
                    column(&sheet, "quantity")[row],
                    line["quantity"].to_string()
                );
                assert_eq!(
                    column(&sheet, "returned_quantity")[row],
                    line["returned_quantity"].to_string()
                );
                // The order's columns are repeated on each of its lines.
                let order = if row == 0 { &second } else { &first };
                for (header, member) in ORDER_AMOUNTS {
                    assert_eq!(
                        parse_toman(&column(&sheet, &format!("{header} (toman)"))[row]),
                        Ok(order[member].as_i64().unwrap()),
                        "{header}"
                    );
                }
            }
        }

        // JSON: integer minor units, whatever the display.
        for layout in ["orders", "lines"] {
            let (_, bytes) = export(
                app,
                &admin,
                json!({"format": "json", "layout": layout,
                       "sort": [{"field": "placed_at", "direction": "asc"}]}),
            );
            let rows: Vec<Value> = serde_json::from_slice(&bytes).expect("json array");
            let last = rows.last().expect("rows");
            assert_eq!(last["order_id"], first["id"]);
            assert_eq!(last["total"], first["total"]);
            assert_eq!(last["refunded_total"], first["refunded_total"]);
            assert_eq!(last["net_total"], first["net_total"]);
            if layout == "lines" {
                assert_eq!(rows.len(), 3);
                assert_eq!(last["line_total"], first["lines"][1]["total"]);
                assert_eq!(rows[1]["line_refunded"], first["lines"][0]["refunded"]);
                assert_eq!(rows[1]["unit_price"], 333_335);
            } else {
                assert_eq!(rows.len(), 2);
                assert_eq!(rows[0]["subtotal"], second["subtotal"]);
            }
        }

        // Shown in rials, amounts are whole numbers of IRR.
        let response = app
            .authed(Method::PATCH, "/api/v1/settings/business", &admin)
            .header("content-type", "application/merge-patch+json")
            .body(json!({"currency_display": "rial"}).to_string())
            .send()
            .expect("settings");
        assert_eq!(response.status(), 200);
        let (_, bytes) = export(
            app,
            &admin,
            json!({"format": "xlsx", "columns": ["order_id", "status", "customer_code",
                   "customer_name", "currency", "subtotal", "discount_total", "total",
                   "refunded_total", "net_total"]}),
        );
        let sheet = read(&bytes, Format::Xlsx);
        check_order_rows(&sheet, &orders, "IRR", |text| {
            parse_major_amount(text, Currency::IRR).expect("rials")
        });
        assert_eq!(sheet.headers.len(), 10);

        // Columns are checked before the job is queued.
        let response = app
            .authed(Method::POST, "/api/v1/orders/exports", &admin)
            .json(&json!({"columns": ["total", "sku", "total", "colour"]}))
            .send()
            .expect("bad export");
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [
                ("columns[1]".to_string(), "needs_lines_layout".to_string()),
                ("columns[2]".to_string(), "duplicate".to_string()),
                ("columns[3]".to_string(), "unknown_field".to_string())
            ]
        );
    });
}

#[test]
fn an_order_export_holds_only_the_orders_its_creator_may_see() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cup = product(app, &admin, "CUP-V1", "فنجان", 500_000);
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        let mine = id_of(&create_customer(
            app,
            &sales,
            json!({"kind": "person", "first_name": "سهم", "last_name": "فروشنده"}),
        ));
        let theirs = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "دیگری", "last_name": "مدیر"}),
        ));
        let my_order = place(
            app,
            &sales,
            json!({"customer_id": mine, "status": "paid", "lines": [{"product_id": cup, "quantity": 1}]}),
        );
        place(
            app,
            &admin,
            json!({"customer_id": theirs, "status": "paid", "lines": [{"product_id": cup, "quantity": 4}]}),
        );

        let (result, bytes) = export(app, &sales, json!({"format": "json", "layout": "lines"}));
        assert_eq!(result["rows"], 1);
        let rows: Vec<Value> = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["order_id"], my_order["id"]);
        assert_eq!(rows[0]["customer_id"], json!(mine));

        let (result, _) = export(app, &admin, json!({"format": "csv"}));
        assert_eq!(result["rows"], 2);

        // Another sales user cannot fetch the file.
        let response = app
            .authed(Method::POST, "/api/v1/orders/exports", &sales)
            .json(&json!({"format": "csv"}))
            .send()
            .expect("export");
        let job = finished_job(app, &sales, response);
        let (_, email, password) = app.create_user("sales", Some("own"));
        let other = app.login(&email, &password).access_token;
        let (status, _) = send(
            app,
            Method::GET,
            job["result"]["download"].as_str().expect("download"),
            &other,
            None,
        );
        assert_eq!(status, 404);
    });
}

#[test]
fn an_order_export_naming_an_erased_customer_is_deleted() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let cup = product(app, &admin, "CUP-E1", "فنجان", 500_000);
        let customer = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "Hamid", "last_name": "Ordersonce"}),
        ));
        place(
            app,
            &admin,
            json!({"customer_id": customer, "status": "paid", "lines": [{"product_id": cup, "quantity": 1}]}),
        );
        let (result, bytes) = export(app, &admin, json!({"format": "csv"}));
        assert!(String::from_utf8(bytes).unwrap().contains("Ordersonce"));
        let (status, erasure) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{customer}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erasure}");
        assert_eq!(erasure["erased"]["export_files"], 1, "{erasure}");
        let response = app
            .authed(Method::GET, result["download"].as_str().unwrap(), &admin)
            .send()
            .expect("download");
        assert_problem(response, 410, "gone");
        // The order stays, under the anonymised customer.
        let (_, bytes) = export(app, &admin, json!({"format": "csv"}));
        let file = String::from_utf8(bytes).unwrap();
        assert!(
            !file.contains("Ordersonce") && file.contains(&customer),
            "{file}"
        );
    });
}

#[test]
fn a_customer_whose_orders_span_several_pages_is_exported_in_full() {
    for_each_backend(|app| {
        use persistence::orders::{OrderLineRow, OrderRecord, OrderRow};
        use persistence::sql_types::{DbTime, DbUuid};

        let admin = app.admin_token();
        let cup: uuid::Uuid = product(app, &admin, "CUP-P1", "فنجان", 1_000)
            .parse()
            .unwrap();
        let customer: uuid::Uuid = id_of(&create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "پر", "last_name": "خرید"}),
        ))
        .parse()
        .unwrap();
        // More orders of one customer than an export reads per page, stored directly.
        let now = persistence::now();
        let records: Vec<OrderRecord> = (0..1_201)
            .map(|n| {
                let id = uuid::Uuid::now_v7();
                let placed = DbTime(now - chrono::Duration::minutes(n));
                OrderRecord {
                    row: OrderRow {
                        id: DbUuid(id),
                        customer_id: DbUuid(customer),
                        placed_at: placed,
                        status: "paid".into(),
                        channel: None,
                        campaign: None,
                        source: None,
                        external_reference: None,
                        currency: "IRR".into(),
                        subtotal: 1_000,
                        discount_total: 0,
                        total: 1_000,
                        refunded_total: 0,
                        notes: None,
                        created_by: None,
                        created_at: placed,
                        updated_at: placed,
                        version: 1,
                    },
                    lines: vec![OrderLineRow {
                        id: DbUuid(uuid::Uuid::now_v7()),
                        order_id: DbUuid(id),
                        position: 0,
                        product_id: DbUuid(cup),
                        quantity: 1,
                        unit_price: 1_000,
                        unit_cost: None,
                        discount: 0,
                        total: 1_000,
                        returned_quantity: 0,
                        refunded: 0,
                    }],
                }
            })
            .collect();
        let mut conn = app.state.pool.get().expect("connection");
        persistence::orders::insert_many(&mut conn, &records).expect("orders");
        drop(conn);

        let (result, bytes) = export(app, &admin, json!({"format": "csv", "layout": "lines"}));
        assert_eq!(result["rows"], 1_201);
        let sheet = read(&bytes, Format::Csv);
        assert_eq!(sheet.rows.len(), 1_201);
        assert!(column(&sheet, "total (toman)")
            .iter()
            .all(|total| total == "100"));
    });
}
