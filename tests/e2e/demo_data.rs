//! `peyvand demo-data` on both backends: what it creates, that search finds it, and
//! that it does not run twice by accident.

use clap::Parser;
use diesel::prelude::*;
use e2e::support::{for_each_backend, TestApp};
use persistence::schema::{customers, labels, notes, personnel, users};
use reqwest::Method;
use serde_json::{json, Value};

/// Runs the command on the app's database; errors come back as text.
fn demo_data(app: &TestApp, extra: &[&str]) -> Result<(), String> {
    let mut args = vec![
        "peyvand",
        "demo-data",
        "--database-url",
        &app.database_url,
        "--customers",
        "300",
        "--seed",
        "7",
    ];
    args.extend_from_slice(extra);
    api::cli::run(api::cli::Cli::try_parse_from(args).expect("demo-data flags"))
        .map_err(|err| format!("{err:#}"))
}

#[test]
fn demo_data_loads_a_searchable_customer_base_once() {
    for_each_backend(|app| {
        demo_data(app, &[]).expect("first run");
        let mut conn = app.state.pool.get().unwrap();
        let count_of = |kind: &str, conn: &mut persistence::DbConnection| -> i64 {
            customers::table
                .filter(customers::kind.eq(kind))
                .count()
                .get_result(conn)
                .unwrap()
        };
        let (persons, organizations) = (
            count_of("person", &mut conn),
            count_of("organization", &mut conn),
        );
        assert_eq!(persons + organizations, 300);
        assert!(
            organizations > 10 && persons > 200,
            "{persons} / {organizations}"
        );
        let links: i64 = personnel::table.count().get_result(&mut conn).unwrap();
        assert!(links >= organizations, "every organization lists people");
        let note_count: i64 = notes::table.count().get_result(&mut conn).unwrap();
        assert!(note_count > 50);
        let preferences: i64 = notes::table
            .filter(notes::kind.eq("communication_preference"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert!(preferences > 0);
        let label_count: i64 = labels::table.count().get_result(&mut conn).unwrap();
        assert_eq!(label_count, 12);
        let demo_users: i64 = users::table
            .filter(users::email.like("%.demo@example.com"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(demo_users, 5);

        // A purchase history: most customers bought, many more than once, some came
        // back with returns, and the facts and stages agree with the orders.
        use persistence::schema::{order_returns, orders};
        let buyers: i64 = customers::table
            .filter(customers::order_count.gt(0))
            .count()
            .get_result(&mut conn)
            .unwrap();
        let repeat: i64 = customers::table
            .filter(customers::order_count.ge(2))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert!((150..=260).contains(&buyers), "{buyers} buyers of 300");
        assert!(repeat > 30, "{repeat} repeat buyers");
        let order_count: i64 = orders::table.count().get_result(&mut conn).unwrap();
        let returns: i64 = order_returns::table.count().get_result(&mut conn).unwrap();
        assert!(
            order_count > buyers && returns > 0,
            "{order_count} orders, {returns} returns"
        );
        let nets: Vec<(String, i64, i64)> = orders::table
            .select((orders::status, orders::total, orders::refunded_total))
            .load(&mut conn)
            .unwrap();
        let revenue: i64 = nets
            .iter()
            .filter(|(status, _, _)| status != "returned")
            .map(|(_, total, refunded)| total - refunded)
            .sum();
        let facts: Vec<i64> = customers::table
            .select(customers::revenue)
            .load(&mut conn)
            .unwrap();
        assert_eq!(facts.iter().sum::<i64>(), revenue);
        let stages_without_orders: i64 = customers::table
            .filter(customers::order_count.eq(0))
            .filter(customers::lifecycle_stage.eq_any(["purchase", "retention"]))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(stages_without_orders, 0);
        let churned: i64 = customers::table
            .filter(customers::lifecycle_stage.eq("churned"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert!(churned > 10, "{churned} churned");
        let (id, last_name): (persistence::sql_types::DbUuid, String) = customers::table
            .filter(customers::kind.eq("person"))
            .filter(customers::last_name.like("%ی%"))
            .order(customers::code)
            .select((customers::id, customers::last_name.assume_not_null()))
            .first(&mut conn)
            .unwrap();

        // Search finds the Persian name however it is typed (Arabic yeh and kaf).
        let admin = app.admin_token();
        let typed = last_name.replace('ی', "ي").replace('ک', "ك");
        let page: Value = app
            .authed(Method::POST, "/api/v1/customers/search", &admin)
            .json(&json!({"q": typed, "limit": 200}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == id.0.to_string()),
            "{typed} did not find {last_name}"
        );

        let refused = demo_data(app, &[]).expect_err("a second run needs --force");
        assert!(refused.contains("--force"), "{refused}");
        demo_data(app, &["--force"]).expect("forced run");
        let total: i64 = customers::table.count().get_result(&mut conn).unwrap();
        assert_eq!(total, 600);
        let demo_users: i64 = users::table
            .filter(users::email.like("%.demo@example.com"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(demo_users, 5, "a forced run reuses the demo users");
    });
}
