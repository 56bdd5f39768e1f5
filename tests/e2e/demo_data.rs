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
