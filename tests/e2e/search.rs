//! `POST /api/v1/users/search`: conditions and groups, sorting with cursor paging,
//! relative dates in the business time zone on both calendars, and invalid filters.

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc};
use diesel::RunQueryDsl;
use domain::calendar::JalaliDate;
use e2e::support::{for_each_backend, TestApp, TEST_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Iran's offset from UTC; the country has kept no daylight saving time since 2022.
const TEHRAN_OFFSET_MINUTES: i64 = 3 * 60 + 30;

/// Creates a user through the API and returns its id.
fn create(app: &TestApp, token: &str, email: &str, display_name: &str, role: &str) -> Uuid {
    let response = app
        .authed(Method::POST, "/api/v1/users", token)
        .json(&json!({"email": email, "display_name": display_name, "password": TEST_PASSWORD, "role": role}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201, "creating {email}");
    let body: Value = response.json().unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

/// Sets a user's `created_at` directly in the database.
fn set_created_at(app: &TestApp, id: Uuid, at: DateTime<Utc>) {
    let mut conn = app.state.pool.get().unwrap();
    // Both backends accept the RFC 3339 text: PostgreSQL casts it to timestamptz and
    // uuid, SQLite stores exactly this text form.
    let updated = diesel::sql_query(format!(
        "UPDATE users SET created_at = '{}' WHERE id = '{id}'",
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    ))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(updated, 1);
}

fn search(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let response = app
        .authed(Method::POST, "/api/v1/users/search", token)
        .json(&body)
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

/// E-mail addresses of the non-admin users matching `filter`, sorted.
fn emails_matching(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let (status, body) = search(
        app,
        token,
        json!({"filter": {"and": [{"field": "role", "op": "neq", "value": "admin"}, filter]}, "limit": 200}),
    );
    assert_eq!(status, 200, "{body}");
    let mut emails: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    emails
}

fn ids_of(page: &Value) -> Vec<Uuid> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn conditions_and_groups_select_users() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let ali = "ali.rezaei@acme.example";
        let sara = "sara.ahmadi@acme.example";
        let reza = "reza.karimi@beta.example";
        let alireza = "alireza.nouri@beta.example";
        create(app, &admin, ali, "Ali Rezaei", "sales");
        create(app, &admin, sara, "Sara Ahmadi", "manager");
        create(app, &admin, reza, "Reza Karimi", "support");
        create(app, &admin, alireza, "Alireza Nouri", "sales");
        let matching = |filter: Value| emails_matching(app, &admin, filter);

        assert_eq!(
            matching(json!({"field": "role", "op": "eq", "value": "sales"})),
            [ali, alireza]
        );
        assert_eq!(
            matching(json!({"field": "role", "op": "in", "value": ["manager", "support"]})),
            [reza, sara]
        );
        assert_eq!(
            matching(json!({"field": "email", "op": "eq", "value": sara})),
            [sara]
        );
        assert_eq!(
            matching(json!({"field": "email", "op": "contains", "value": "@beta."})),
            [alireza, reza]
        );
        assert_eq!(
            matching(json!({"field": "display_name", "op": "starts_with", "value": "Ali"})),
            [ali, alireza]
        );
        // Text comparison ignores case.
        assert_eq!(
            matching(json!({"field": "display_name", "op": "contains", "value": "rEzA"})),
            [ali, alireza, reza]
        );
        assert_eq!(
            matching(json!({"or": [
                {"field": "role", "op": "eq", "value": "manager"},
                {"and": [
                    {"field": "role", "op": "eq", "value": "sales"},
                    {"field": "email", "op": "contains", "value": "beta"}
                ]}
            ]})),
            [alireza, sara]
        );
        assert_eq!(
            matching(json!({"and": [
                {"field": "role", "op": "not_in", "value": ["sales"]},
                {"field": "email", "op": "starts_with", "value": "reza."}
            ]})),
            [reza]
        );

        // Quick search looks in the e-mail address and the display name.
        let (status, body) = search(app, &admin, json!({"q": "NOURI"}));
        assert_eq!(status, 200);
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        assert_eq!(body["data"][0]["email"], alireza);
        assert_eq!(body["has_more"], false);

        // Reading users needs users:read.
        let partner = {
            let (_, email, password) = app.create_user("partner", None);
            app.login(&email, &password).access_token
        };
        assert_eq!(search(app, &partner, json!({})).0, 403);
        let anonymous = app
            .client()
            .post(app.url("/api/v1/users/search"))
            .json(&json!({}))
            .send()
            .unwrap();
        assert_eq!(anonymous.status(), 401);
    });
}

#[test]
fn sorted_pages_follow_the_cursor_in_a_stable_order() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let people = [
            ("p1@paging.example", "Bahar", "sales"),
            ("p2@paging.example", "Arash", "sales"),
            ("p3@paging.example", "Bahar", "support"),
            ("p4@paging.example", "Dara", "manager"),
            ("p5@paging.example", "Arash", "support"),
            ("p6@paging.example", "Bahar", "sales"),
            ("p7@paging.example", "Cyrus", "analyst"),
        ];
        let same_instant = Utc::now() - Duration::days(1);
        for (email, name, role) in people {
            let id = create(app, &admin, email, name, role);
            // Equal creation times leave the order to the id tie-breaker.
            set_created_at(app, id, same_instant);
        }
        let only_these = json!({"field": "email", "op": "contains", "value": "@paging."});

        for sort in [
            json!([{"field": "display_name", "direction": "asc"}, {"field": "role", "direction": "desc"}]),
            json!([{"field": "created_at", "direction": "desc"}]),
            json!([{"field": "role", "direction": "asc"}]),
        ] {
            let (status, whole) = search(
                app,
                &admin,
                json!({"filter": only_these, "sort": sort, "limit": 200}),
            );
            assert_eq!(status, 200, "{whole}");
            let expected = ids_of(&whole);
            assert_eq!(expected.len(), people.len());

            let mut paged = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut body = json!({"filter": only_these, "sort": sort, "limit": 3});
                if let Some(cursor) = &cursor {
                    body["cursor"] = cursor.clone().into();
                }
                let (status, page) = search(app, &admin, body);
                assert_eq!(status, 200, "{page}");
                pages += 1;
                paged.extend(ids_of(&page));
                match page["next_cursor"].as_str() {
                    Some(next) => {
                        assert_eq!(page["has_more"], true);
                        cursor = Some(next.to_string());
                    }
                    None => {
                        assert_eq!(page["has_more"], false);
                        break;
                    }
                }
            }
            assert_eq!(pages, 3, "{sort}");
            assert_eq!(paged, expected, "{sort}");
        }

        // The requested order, with the id as the final key.
        let (_, whole) = search(
            app,
            &admin,
            json!({"filter": only_these, "sort": [{"field": "display_name", "direction": "asc"}, {"field": "role", "direction": "desc"}], "limit": 200}),
        );
        let keys: Vec<(String, String)> = whole["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| {
                (
                    user["display_name"].as_str().unwrap().to_string(),
                    user["role"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        assert_eq!(keys, sorted);

        // A cursor belongs to the order it was made for.
        let (_, first) = search(
            app,
            &admin,
            json!({"filter": only_these, "sort": [{"field": "email", "direction": "asc"}], "limit": 2}),
        );
        let cursor = first["next_cursor"].as_str().unwrap();
        let (status, problem) = search(
            app,
            &admin,
            json!({"filter": only_these, "sort": [{"field": "role", "direction": "asc"}], "cursor": cursor}),
        );
        assert_eq!(status, 400);
        assert_eq!(problem["errors"][0]["field"], "cursor");
    });
}

/// The first instant of the local day `date` in Tehran.
fn tehran_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::minutes(TEHRAN_OFFSET_MINUTES)
}

#[test]
fn relative_dates_are_local_days_on_both_calendars() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let today = (Utc::now() + Duration::minutes(TEHRAN_OFFSET_MINUTES)).date_naive();
        let today_start = tehran_midnight(today);
        let gregorian_month_start = tehran_midnight(today.with_day(1).unwrap());
        let jalali_day = u64::from(JalaliDate::from_gregorian(today).day());
        let jalali_month_start = tehran_midnight(
            today
                .checked_sub_days(chrono::Days::new(jalali_day - 1))
                .unwrap(),
        );

        let hour = Duration::hours(1);
        let instants = [
            ("today", today_start + Duration::minutes(1)),
            ("two_days_ago", today_start - Duration::days(2)),
            (
                "six_days_ago",
                today_start - Duration::days(6) + Duration::minutes(1),
            ),
            (
                "seven_days_ago",
                today_start - Duration::days(6) - Duration::minutes(1),
            ),
            ("forty_days_ago", today_start - Duration::days(40)),
            ("gregorian_month_first_hour", gregorian_month_start + hour),
            ("gregorian_month_eve", gregorian_month_start - hour),
            ("jalali_month_first_hour", jalali_month_start + hour),
            ("jalali_month_eve", jalali_month_start - hour),
        ];
        for (name, at) in instants {
            let id = create(
                app,
                &admin,
                &format!("{name}@dates.example"),
                name,
                "support",
            );
            set_created_at(app, id, at);
        }
        let created = |value: Value| {
            emails_matching(
                app,
                &admin,
                json!({"and": [
                    {"field": "email", "op": "contains", "value": "@dates."},
                    {"field": "created_at", "op": "eq", "value": value}
                ]}),
            )
            .into_iter()
            .map(|email| email.trim_end_matches("@dates.example").to_string())
            .collect::<Vec<_>>()
        };
        let in_period = |predicate: &dyn Fn(DateTime<Utc>) -> bool| {
            let mut names: Vec<String> = instants
                .iter()
                .filter(|(_, at)| predicate(*at))
                .map(|(name, _)| name.to_string())
                .collect();
            names.sort();
            names
        };

        let today_end = today_start + Duration::days(1);
        assert_eq!(
            created(json!({"relative": "today"})),
            in_period(&|at| today_start <= at && at < today_end)
        );
        let week_start = today_start - Duration::days(6);
        let last_seven = created(json!({"relative": "last_n_days", "n": 7}));
        assert!(last_seven.contains(&"six_days_ago".to_string()));
        assert!(!last_seven.contains(&"seven_days_ago".to_string()));
        assert_eq!(
            last_seven,
            in_period(&|at| week_start <= at && at < today_end)
        );
        let gregorian = created(json!({"relative": "this_month"}));
        assert!(gregorian.contains(&"gregorian_month_first_hour".to_string()));
        assert!(!gregorian.contains(&"gregorian_month_eve".to_string()));
        assert_eq!(
            gregorian,
            in_period(&|at| gregorian_month_start <= at && at < today_end)
        );
        let jalali = created(json!({"relative": "this_month", "calendar": "jalali"}));
        assert!(jalali.contains(&"jalali_month_first_hour".to_string()));
        assert!(!jalali.contains(&"jalali_month_eve".to_string()));
        assert_eq!(
            jalali,
            in_period(&|at| jalali_month_start <= at && at < today_end)
        );
    });
}

#[test]
fn invalid_filters_are_422_naming_each_path() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, problem) = search(
            app,
            &admin,
            json!({
                "filter": {"and": [
                    {"field": "password_hash", "op": "eq", "value": "x"},
                    {"field": "role", "op": "contains", "value": "sal"},
                    {"field": "is_active", "op": "eq", "value": "yes"},
                    {"field": "role", "op": "eq", "value": "boss"},
                    {"field": "created_at", "op": "gte", "value": "yesterday"}
                ]},
                "sort": [{"field": "team_id", "direction": "asc"}]
            }),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["code"], "validation_failed");
        let mut fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["field"].as_str().unwrap())
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "filter.and[0].field",
                "filter.and[1].op",
                "filter.and[2].value",
                "filter.and[3].value",
                "filter.and[4].value",
                "sort[0].field"
            ]
        );

        // The body itself is checked as any JSON body is.
        let (status, problem) = search(app, &admin, json!({"filters": {}}));
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["field"], "filters");
        let (status, problem) = search(app, &admin, json!({"limit": 0}));
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["field"], "limit");
        let (status, problem) = search(app, &admin, json!({"cursor": "not-a-cursor"}));
        assert_eq!(status, 400);
        assert_eq!(problem["errors"][0]["field"], "cursor");
    });
}
