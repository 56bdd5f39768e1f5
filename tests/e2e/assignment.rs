//! Assignment (`/api/v1/assignment-rules`, `/api/v1/territories`, users' availability,
//! `POST /leads/{id}/assign`): rules tried in order with a user, a team by round robin
//! or least load, or a territory by city before province; capacity and out-of-office
//! periods; manual overrides; the history of every assignment; fairness under
//! concurrent creates; roles and visibility.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{assert_problem, field_codes, for_each_backend, id_of, send, TestApp};

const LEADS: &str = "/api/v1/leads";
const RULES: &str = "/api/v1/assignment-rules";
const TERRITORIES: &str = "/api/v1/territories";

fn create(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, created) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "creating {body} at {path}: {created}");
    created
}

fn team(app: &TestApp, admin: &str, name: &str) -> String {
    id_of(&create(
        app,
        admin,
        "/api/v1/teams",
        json!({"name": format!("{name} {}", Uuid::now_v7().simple())}),
    ))
}

/// `count` sales users in `team`, sorted by id (the rotation's order).
fn members(app: &TestApp, admin: &str, team: &str, count: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..count)
        .map(|_| {
            id_of(&create(
                app,
                admin,
                "/api/v1/users",
                json!({"email": format!("m-{}@example.com", Uuid::now_v7().simple()),
                       "display_name": "عضو تیم", "password": "a long enough password",
                       "role": "sales", "team_id": team}),
            ))
        })
        .collect();
    ids.sort();
    ids
}

fn owner(lead: &Value) -> String {
    lead["owner_id"].as_str().expect("an owner").to_string()
}

fn history(app: &TestApp, token: &str, lead: &Value) -> Vec<Value> {
    let (status, page) = send(
        app,
        Method::GET,
        &format!("{LEADS}/{}/assignments", id_of(lead)),
        token,
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
}

#[test]
fn rules_send_leads_to_a_user_a_team_or_a_territory_in_order() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let fairs = team(app, &admin, "نمایشگاه");
        let fair_members = members(app, &admin, &fairs, 3);
        let centre = team(app, &admin, "مرکز");
        let centre_members = members(app, &admin, &centre, 2);
        let english = members(app, &admin, &team(app, &admin, "انگلیسی"), 1).remove(0);

        let by_language = create(
            app,
            &admin,
            RULES,
            json!({"name": "انگلیسی‌زبان", "record_kind": "lead", "position": 10,
                   "condition": {"field": "language", "op": "eq", "value": "en"},
                   "target": {"kind": "user", "user_id": english}}),
        );
        let by_source = create(
            app,
            &admin,
            RULES,
            json!({"name": "نمایشگاه", "record_kind": "lead", "position": 20,
                   "condition": {"field": "source", "op": "eq", "value": "exhibition"},
                   "target": {"kind": "team", "team_id": fairs, "strategy": "round_robin"}}),
        );
        create(
            app,
            &admin,
            RULES,
            json!({"name": "منطقه‌ای", "record_kind": "lead", "position": 30,
                   "target": {"kind": "territory"}}),
        );
        create(
            app,
            &admin,
            TERRITORIES,
            json!({"name": "مرکزی", "provinces": ["اصفهان", "یزد"], "team_id": centre,
                   "strategy": "least_load"}),
        );
        // Written with Arabic kaf: the same city as the Persian spelling below.
        create(
            app,
            &admin,
            TERRITORIES,
            json!({"name": "کاشان", "cities": ["كاشان"], "team_id": fairs}),
        );

        // The rules' order: language first, even for a lead from an exhibition.
        let lead = create(
            app,
            &admin,
            LEADS,
            json!({"company": "Acme", "language": "EN", "source": "exhibition"}),
        );
        assert_eq!(lead["language"], "en");
        assert_eq!(owner(&lead), english);
        let recorded = history(app, &admin, &lead);
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0]["method"], "user");
        assert_eq!(recorded[0]["rule_id"], by_language["id"]);

        // Round robin walks the team in id order, the team filed on the lead.
        let picked: Vec<String> = (0..6)
            .map(|i| {
                let lead = create(
                    app,
                    &admin,
                    LEADS,
                    json!({"company": format!("غرفه {i}"), "source": "exhibition"}),
                );
                assert_eq!(lead["team_id"].as_str(), Some(fairs.as_str()));
                owner(&lead)
            })
            .collect();
        let start = fair_members
            .iter()
            .position(|m| *m == picked[0])
            .expect("a member");
        let expected: Vec<String> = (0..6)
            .map(|i| fair_members[(start + i) % 3].clone())
            .collect();
        assert_eq!(picked, expected);

        // The territory: a city before its province, spelling aside; least load shares
        // the centre's leads evenly.
        let kashan = create(
            app,
            &admin,
            LEADS,
            json!({"company": "فرش کاشان", "city": "کاشان", "province": "اصفهان"}),
        );
        assert!(fair_members.contains(&owner(&kashan)));
        assert!(history(app, &admin, &kashan)[0]["reason"]
            .as_str()
            .unwrap()
            .contains("by city"));
        let centre_owners: Vec<String> = (0..4)
            .map(|i| {
                owner(&create(
                    app,
                    &admin,
                    LEADS,
                    json!({"company": format!("یزدباف {i}"), "province": "یزد"}),
                ))
            })
            .collect();
        for member in &centre_members {
            assert_eq!(centre_owners.iter().filter(|o| *o == member).count(), 2);
        }

        // No rule applies: the creator's defaults, recorded as such.
        let tehran = create(
            app,
            &admin,
            LEADS,
            json!({"company": "تهران‌کالا", "province": "تهران"}),
        );
        let admin_id = id_of(&send(app, Method::GET, "/api/v1/users/me", &admin, None).1);
        assert_eq!(owner(&tehran), admin_id);
        assert_eq!(history(app, &admin, &tehran)[0]["method"], "default");
        // An owner given is a manual assignment; no rule runs.
        let given = create(
            app,
            &admin,
            LEADS,
            json!({"company": "دستی", "source": "exhibition", "owner_id": centre_members[0]}),
        );
        assert_eq!(owner(&given), centre_members[0]);
        assert_eq!(history(app, &admin, &given)[0]["method"], "manual");

        // Capacity and absence pass members over; the reason says so.
        let (a, b, c) = (&fair_members[0], &fair_members[1], &fair_members[2]);
        let (status, body) = send(
            app,
            Method::GET,
            &format!("/api/v1/users/{a}/availability"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{body}");
        let held = body["open_items"]["lead"].as_i64().expect("open leads");
        assert!(held >= 2, "{body}");
        let (status, body) = send(
            app,
            Method::PUT,
            &format!("/api/v1/users/{a}/capacity"),
            &admin,
            Some(json!({"record_kind": "lead", "max_open": held})),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["capacities"]["lead"], held);
        let now = chrono::Utc::now();
        let (status, absence) = send(
            app,
            Method::POST,
            &format!("/api/v1/users/{b}/absences"),
            &admin,
            Some(json!({"starts_at": now - chrono::Duration::days(1),
                        "ends_at": now + chrono::Duration::days(30), "note": "مرخصی"})),
        );
        assert_eq!(status, 201, "{absence}");
        let (_, body) = send(
            app,
            Method::GET,
            &format!("/api/v1/users/{b}/availability"),
            &admin,
            None,
        );
        assert_eq!(body["away_now"], true, "{body}");
        for i in 0..2 {
            let lead = create(
                app,
                &admin,
                LEADS,
                json!({"company": format!("پر {i}"), "source": "exhibition"}),
            );
            assert_eq!(&owner(&lead), c);
            let reason = history(app, &admin, &lead)[0]["reason"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                reason.contains("1 away") && reason.contains("1 at capacity"),
                "{reason}"
            );
        }
        // With the whole team unavailable the next rule (the territory) decides.
        send(
            app,
            Method::PUT,
            &format!("/api/v1/users/{c}/capacity"),
            &admin,
            Some(json!({"record_kind": "lead", "max_open": 0})),
        );
        let lead = create(
            app,
            &admin,
            LEADS,
            json!({"company": "پس‌ماند", "source": "exhibition", "province": "اصفهان"}),
        );
        assert!(centre_members.contains(&owner(&lead)));
        // Back from leave and with room again: b is in the rotation.
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/users/{b}/absences/{}", id_of(&absence)),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        let lead = create(
            app,
            &admin,
            LEADS,
            json!({"company": "بازگشت", "source": "exhibition"}),
        );
        assert_eq!(&owner(&lead), b);

        // A manual override and a re-run of the rules, both in the history.
        let (status, assigned) = send(
            app,
            Method::POST,
            &format!("{LEADS}/{}/assign", id_of(&lead)),
            &admin,
            Some(json!({"user_id": english, "reason": "آشنای قبلی"})),
        );
        assert_eq!(status, 200, "{assigned}");
        assert_eq!(owner(&assigned["lead"]), english);
        assert_eq!(assigned["assignment"]["method"], "manual");
        assert_eq!(assigned["assignment"]["reason"], "آشنای قبلی");
        let (status, rerun) = send(
            app,
            Method::POST,
            &format!("{LEADS}/{}/assign", id_of(&lead)),
            &admin,
            Some(json!({"by_rules": true})),
        );
        assert_eq!(status, 200, "{rerun}");
        assert_eq!(rerun["assignment"]["rule_id"], by_source["id"]);
        assert_eq!(rerun["assignment"]["method"], "round_robin");
        let all = history(app, &admin, &lead);
        let methods: Vec<&str> = all.iter().map(|a| a["method"].as_str().unwrap()).collect();
        assert_eq!(methods, ["round_robin", "manual", "round_robin"]);
        // Pages of one, newest first.
        let (_, first) = send(
            app,
            Method::GET,
            &format!("{LEADS}/{}/assignments?limit=1", id_of(&lead)),
            &admin,
            None,
        );
        assert_eq!(first["data"][0]["id"], all[0]["id"]);
        let cursor = first["next_cursor"].as_str().expect("more");
        let (_, second) = send(
            app,
            Method::GET,
            &format!(
                "{LEADS}/{}/assignments?limit=1&cursor={cursor}",
                id_of(&lead)
            ),
            &admin,
            None,
        );
        assert_eq!(second["data"][0]["id"], all[1]["id"]);
        // A patch of the owner is a manual assignment too.
        let (status, _) = e2e::support::merge_patch(
            app,
            &format!("{LEADS}/{}", id_of(&lead)),
            &admin,
            &json!({"owner_id": centre_members[1]}),
        );
        assert_eq!(status, 200);
        assert_eq!(history(app, &admin, &lead)[0]["reason"], "owner changed");
    });
}

#[test]
fn assignment_settings_are_checked_and_guarded() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (seller_id, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;
        let (other_id, _, _) = app.create_user("sales", None);
        let squad = team(app, &admin, "تیم");

        // Broken rules, each named.
        let (status, problem) = send(
            app,
            Method::POST,
            RULES,
            &admin,
            Some(json!({"name": " ", "record_kind": "lead", "position": 1,
                        "condition": {"field": "salary", "op": "eq", "value": 1},
                        "target": {"kind": "user", "user_id": Uuid::now_v7()}})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("name".to_string(), "required".to_string()),
                ("condition.field".to_string(), "unknown_field".to_string()),
                ("target.user_id".to_string(), "not_found".to_string()),
            ]
        );
        let (status, problem) = send(
            app,
            Method::POST,
            RULES,
            &admin,
            Some(json!({"name": "x", "record_kind": "invoice", "position": 1,
                        "target": {"kind": "territory"}})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem)[0].0,
            "record_kind",
            "unknown kinds are refused: {problem}"
        );
        let (status, problem) = send(
            app,
            Method::POST,
            RULES,
            &admin,
            Some(json!({"name": "x", "record_kind": "lead", "position": 1,
                        "target": {"kind": "team", "team_id": Uuid::now_v7()}})),
        );
        assert_eq!(status, 422);
        assert_eq!(field_codes(&problem)[0].0, "target.team_id");

        // Territories: a place twice, a place taken by another territory.
        create(
            app,
            &admin,
            TERRITORIES,
            json!({"name": "شمال", "provinces": ["گیلان"], "team_id": squad}),
        );
        let (status, problem) = send(
            app,
            Method::POST,
            TERRITORIES,
            &admin,
            Some(
                json!({"name": "شمال‌غرب", "provinces": ["اردبیل", "اردبيل", "گيلان"],
                        "team_id": squad}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("provinces[1]".to_string(), "duplicate".to_string()),
                ("provinces[2]".to_string(), "taken".to_string()),
            ]
        );
        let (status, _) = send(
            app,
            Method::POST,
            TERRITORIES,
            &admin,
            Some(json!({"name": "شمال", "cities": ["رشت"], "team_id": squad})),
        );
        assert_eq!(status, 409, "a taken name");

        // Roles: a seller reads rules and territories but changes neither.
        let rule = create(
            app,
            &admin,
            RULES,
            json!({"name": "همه", "record_kind": "lead", "position": 1,
                   "target": {"kind": "team", "team_id": squad}}),
        );
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/teams/{squad}"),
            &admin,
            None,
        );
        assert_eq!(status, 409, "a team rules send records to stays");
        let (status, list) = send(app, Method::GET, RULES, &seller, None);
        assert_eq!(status, 200);
        assert_eq!(list["data"][0]["id"], rule["id"]);
        assert_eq!(list["data"][0]["target"]["strategy"], "round_robin");
        for (method, path, body) in [
            (
                Method::POST,
                RULES.to_string(),
                Some(
                    json!({"name": "x", "record_kind": "lead", "position": 1, "target": {"kind": "territory"}}),
                ),
            ),
            (Method::DELETE, format!("{RULES}/{}", id_of(&rule)), None),
            (
                Method::POST,
                TERRITORIES.to_string(),
                Some(json!({"name": "x", "provinces": ["قم"], "team_id": squad})),
            ),
        ] {
            let (status, body) = send(app, method, &path, &seller, body);
            assert_eq!(status, 403, "{path}: {body}");
        }
        // Availability: one's own, not a colleague's.
        let (status, _) = send(
            app,
            Method::PUT,
            &format!("/api/v1/users/{seller_id}/capacity"),
            &seller,
            Some(json!({"record_kind": "lead", "max_open": 5})),
        );
        assert_eq!(status, 200);
        let (status, _) = send(
            app,
            Method::PUT,
            &format!("/api/v1/users/{other_id}/capacity"),
            &seller,
            Some(json!({"record_kind": "lead", "max_open": 5})),
        );
        assert_eq!(status, 403);
        let (status, problem) = send(
            app,
            Method::PUT,
            &format!("/api/v1/users/{seller_id}/capacity"),
            &seller,
            Some(json!({"record_kind": "lead", "max_open": -1})),
        );
        assert_eq!(status, 422);
        assert_eq!(field_codes(&problem)[0].0, "max_open");
        let now = chrono::Utc::now();
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("/api/v1/users/{seller_id}/absences"),
            &seller,
            Some(
                json!({"starts_at": now, "ends_at": now - chrono::Duration::hours(1),
                        "note": "a\tb"}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("ends_at".to_string(), "not_after_start".to_string())]
        );
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("/api/v1/users/{seller_id}/absences"),
            &seller,
            Some(
                json!({"starts_at": now, "ends_at": now + chrono::Duration::days(400),
                        "note": "a\u{0}b"}),
            ),
        );
        assert_eq!(status, 422);
        assert!(
            field_codes(&problem).contains(&("note".to_string(), "nul_character".to_string())),
            "{problem}"
        );
        let (status, absence) = send(
            app,
            Method::POST,
            &format!("/api/v1/users/{other_id}/absences"),
            &admin,
            Some(json!({"starts_at": now, "ends_at": now + chrono::Duration::days(2)})),
        );
        assert_eq!(status, 201);
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/users/{other_id}/absences/{}", id_of(&absence)),
            &seller,
            None,
        );
        assert_eq!(status, 403);
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/users/{seller_id}/absences/{}", id_of(&absence)),
            &seller,
            None,
        );
        assert_eq!(status, 404, "another user's absence through one's own path");

        // A lead the seller cannot see: no history, no assignment.
        let hidden = create(
            app,
            &admin,
            LEADS,
            json!({"company": "پنهان", "owner_id": other_id}),
        );
        for (method, path, body) in [
            (
                Method::GET,
                format!("{LEADS}/{}/assignments", id_of(&hidden)),
                None,
            ),
            (
                Method::POST,
                format!("{LEADS}/{}/assign", id_of(&hidden)),
                Some(json!({"user_id": seller_id})),
            ),
        ] {
            let (status, body) = send(app, method, &path, &seller, body);
            assert_eq!(status, 404, "{path}: {body}");
        }
        // Their own lead: they may not hand it to a colleague, nor ask for both ways.
        let mine = create(
            app,
            &seller,
            LEADS,
            json!({"company": "من", "owner_id": seller_id}),
        );
        let response = app
            .authed(
                Method::POST,
                &format!("{LEADS}/{}/assign", id_of(&mine)),
                &seller,
            )
            .json(&json!({"user_id": other_id}))
            .send()
            .expect("assign");
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(field_codes(&problem)[0].0, "owner_id");
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("{LEADS}/{}/assign", id_of(&mine)),
            &seller,
            Some(json!({"user_id": seller_id, "by_rules": true})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem)[0],
            ("by_rules".into(), "one_of".into())
        );
        // An unknown product or language on a lead is named.
        let (status, problem) = send(
            app,
            Method::POST,
            LEADS,
            &seller,
            Some(json!({"company": "x", "language": "farsi!", "product_id": Uuid::now_v7()})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "language");
        let (status, problem) = send(
            app,
            Method::POST,
            LEADS,
            &seller,
            Some(json!({"company": "x", "product_id": Uuid::now_v7()})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "product_id");
    });
}

#[test]
fn round_robin_stays_fair_under_concurrent_creates() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let squad = team(app, &admin, "موازی");
        let squad_members = members(app, &admin, &squad, 4);
        create(
            app,
            &admin,
            RULES,
            json!({"name": "همه به تیم", "record_kind": "lead", "position": 1,
                   "target": {"kind": "team", "team_id": squad, "strategy": "round_robin"}}),
        );
        const THREADS: usize = 8;
        const PER_THREAD: usize = 5;
        let barrier = Arc::new(Barrier::new(THREADS));
        let owners: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let barrier = barrier.clone();
                    let admin = admin.clone();
                    scope.spawn(move || {
                        barrier.wait();
                        (0..PER_THREAD)
                            .map(|i| {
                                owner(&create(
                                    app,
                                    &admin,
                                    LEADS,
                                    json!({"company": format!("موازی {t}-{i}")}),
                                ))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("thread"))
                .collect()
        });
        let mut counts: HashMap<String, usize> = HashMap::new();
        for owner in owners {
            *counts.entry(owner).or_default() += 1;
        }
        // 40 leads over 4 members: exactly 10 each, nobody out of turn.
        for member in &squad_members {
            assert_eq!(counts.get(member), Some(&10), "{counts:?}");
        }
    });
}
