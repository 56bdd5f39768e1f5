//! The business calendar through the settings: working hours, recurring holidays and
//! the week are stored and checked, and the time zone decides what "today" is.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{for_each_backend, send, TestApp};

fn patch_settings(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let response = app
        .authed(Method::PATCH, "/api/v1/settings/business", token)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .expect("settings request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn violations(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn default_calendar_is_the_iranian_week_with_the_solar_holidays() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, settings) = send(app, Method::GET, "/api/v1/settings/business", &admin, None);
        assert_eq!(status, 200);
        assert_eq!(settings["first_day_of_week"], "saturday");
        assert_eq!(
            settings["working_hours"]["thursday"],
            json!([{"start": "08:00", "end": "12:00"}])
        );
        assert_eq!(settings["working_hours"]["friday"], json!([]));
        let recurring = settings["recurring_holidays"].as_array().unwrap();
        assert_eq!(recurring.len(), 10);
        assert_eq!(recurring[0], json!({"month": 1, "day": 1, "name": "نوروز"}));
    });
}

#[test]
fn working_hours_and_recurring_holidays_are_checked_and_normalised() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (status, changed) = patch_settings(
            app,
            &admin,
            json!({
                "working_hours": {
                    "thursday": [],
                    "saturday": [{"start": "13:00", "end": "17:30"}, {"start": "8:00", "end": "12:00"}]
                },
                "recurring_holidays": [{"month": 9, "day": 30, "name": " یلدا "}],
                "first_day_of_week": "monday"
            }),
        );
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["working_hours"]["thursday"], json!([]));
        assert_eq!(
            changed["working_hours"]["saturday"],
            json!([{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:30"}])
        );
        // Days the patch left out keep their hours.
        assert_eq!(
            changed["working_hours"]["sunday"],
            json!([{"start": "08:00", "end": "16:00"}])
        );
        assert_eq!(
            changed["recurring_holidays"],
            json!([{"month": 9, "day": 30, "name": "یلدا"}])
        );
        let (_, stored) = send(app, Method::GET, "/api/v1/settings/business", &admin, None);
        assert_eq!(stored["first_day_of_week"], "monday");
        assert_eq!(stored["working_hours"], changed["working_hours"]);

        let (status, problem) = patch_settings(
            app,
            &admin,
            json!({
                "working_hours": {
                    "sunday": [{"start": "25:00", "end": "10:00"}],
                    "monday": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
                    "tuesday": [{"start": "10:00", "end": "09:00"}]
                },
                "recurring_holidays": [{"month": 7, "day": 31, "name": "x"}]
            }),
        );
        assert_eq!(status, 422, "{problem}");
        let found = violations(&problem);
        for expected in [
            ("working_hours.sunday[0].start", "invalid_time"),
            ("working_hours.monday", "overlapping"),
            ("working_hours.tuesday[0].end", "invalid_range"),
            ("recurring_holidays[0]", "invalid_date"),
        ] {
            assert!(
                found.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {problem}"
            );
        }
        // Nothing of the refused change was kept.
        let (_, after) = send(app, Method::GET, "/api/v1/settings/business", &admin, None);
        assert_eq!(after["working_hours"], changed["working_hours"]);

        let (status, problem) = patch_settings(
            app,
            &admin,
            json!({"weekend_days": ["saturday", "sunday", "monday"],
                   "working_hours": {"tuesday": [], "wednesday": [], "thursday": [], "friday": []}}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            violations(&problem),
            vec![("working_hours".to_string(), "no_working_time".to_string())]
        );
    });
}

#[test]
fn the_time_zone_decides_what_today_is() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // Kiritimati (UTC+14) is always one or two dates ahead of Pago Pago (UTC-11).
        let kiritimati_today = (Utc::now() + Duration::hours(14)).date_naive();
        let customer = json!({
            "kind": "person",
            "last_name": "تقویم",
            "birth_date": kiritimati_today.to_string()
        });
        let (status, _) = patch_settings(app, &admin, json!({"time_zone": "Pacific/Pago_Pago"}));
        assert_eq!(status, 200);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &admin,
            Some(customer.clone()),
        );
        assert_eq!(status, 422, "{problem}");
        assert!(violations(&problem).contains(&("birth_date".into(), "in_future".into())));

        let (status, _) = patch_settings(app, &admin, json!({"time_zone": "Pacific/Kiritimati"}));
        assert_eq!(status, 200);
        let (status, created) = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &admin,
            Some(customer),
        );
        assert_eq!(status, 201, "{created}");
    });
}

#[test]
fn only_configurers_change_the_calendar_and_hostile_values_are_refused() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let (status, _) = send(app, Method::GET, "/api/v1/settings/business", &sales, None);
        assert_eq!(status, 200, "every signed-in user reads the settings");
        let (status, problem) =
            patch_settings(app, &sales, json!({"working_hours": {"friday": []}}));
        assert_eq!(status, 403, "{problem}");
        let anonymous = app
            .client()
            .get(app.url("/api/v1/settings/business"))
            .send()
            .expect("request");
        assert_eq!(anonymous.status(), 401);

        let many: Vec<Value> = (1..=41)
            .map(|day| json!({"month": 7, "day": (day % 30) + 1, "name": "x"}))
            .collect();
        let (status, problem) = patch_settings(app, &admin, json!({"recurring_holidays": many}));
        assert_eq!(status, 422, "{problem}");
        assert!(violations(&problem).contains(&("recurring_holidays".into(), "too_many".into())));
        let spans: Vec<Value> = (0..7)
            .map(|hour| json!({"start": format!("0{hour}:00"), "end": format!("0{hour}:30")}))
            .collect();
        let (status, problem) =
            patch_settings(app, &admin, json!({"working_hours": {"sunday": spans}}));
        assert_eq!(status, 422, "{problem}");
        assert!(violations(&problem).contains(&("working_hours.sunday".into(), "too_many".into())));
        for hostile in ["08:00\u{0}", "08\u{7}:00"] {
            let (status, problem) = patch_settings(
                app,
                &admin,
                json!({"working_hours": {"sunday": [{"start": hostile, "end": "12:00"}]}}),
            );
            assert_eq!(status, 422, "{problem}");
        }
        let (status, problem) = patch_settings(
            app,
            &admin,
            json!({"recurring_holidays": [{"month": 300, "day": 1, "name": "x"}]}),
        );
        assert!((400..500).contains(&status), "{status} {problem}");
        let (_, after) = send(app, Method::GET, "/api/v1/settings/business", &admin, None);
        assert_eq!(
            after["recurring_holidays"].as_array().map(Vec::len),
            Some(10)
        );
    });
}
