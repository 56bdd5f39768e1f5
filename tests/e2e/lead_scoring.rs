//! Lead scoring (`/api/v1/lead-scoring-rules`, the leads' `scores`): points summed over
//! the matching active rules, kept by lead writes and recounted by a job when rules
//! change; conditions checked against the lead catalogue; roles; search and sort by the
//! scores within the caller's visibility; and the `lead_propensity` model run.

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, field_codes, for_each_backend, id_of, merge_patch_request, send, TestApp,
};

const LEADS: &str = "/api/v1/leads";
const RULES: &str = "/api/v1/lead-scoring-rules";

fn create_lead(app: &TestApp, token: &str, body: Value) -> String {
    let (status, lead) = send(app, Method::POST, LEADS, token, Some(body.clone()));
    assert_eq!(status, 201, "creating {body}: {lead}");
    id_of(&lead)
}

fn points(app: &TestApp, token: &str, lead: &str) -> i64 {
    let (status, lead) = send(app, Method::GET, &format!("{LEADS}/{lead}"), token, None);
    assert_eq!(status, 200, "{lead}");
    lead["scores"]["points"].as_i64().expect("points")
}

/// Waits for job `id` to finish; answers it.
fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let (status, job) = send(app, Method::GET, &format!("/api/v1/jobs/{id}"), token, None);
        assert_eq!(status, 200, "{job}");
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "unfinished: {job}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Creates a rule and waits for the recount it queued.
fn create_rule(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, rule) = send(app, Method::POST, RULES, token, Some(body.clone()));
    assert_eq!(status, 201, "creating {body}: {rule}");
    let job = finished(app, token, rule["rescore_job"]["id"].as_str().expect("job"));
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "lead_scoring.rescore");
    rule
}

/// The entity tag of `resource` at `version`.
fn etag_of(resource: &Value, version: i64) -> String {
    format!("\"{}-{version}\"", id_of(resource).replace('-', ""))
}

/// Patches a rule (with its ETag) and waits for the recount.
fn patch_rule(app: &TestApp, token: &str, rule: &Value, body: Value) -> Value {
    let path = format!("{RULES}/{}", id_of(rule));
    let response = merge_patch_request(app, &path, token)
        .header(
            "if-match",
            etag_of(rule, rule["version"].as_i64().expect("version")),
        )
        .body(body.to_string())
        .send()
        .expect("patch");
    let status = response.status().as_u16();
    let changed: Value = response.json().expect("body");
    assert_eq!(status, 200, "{changed}");
    let job = finished(
        app,
        token,
        changed["rescore_job"]["id"].as_str().expect("job"),
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    changed
}

fn search_names(app: &TestApp, token: &str, body: Value) -> Vec<String> {
    let (status, page) = send(app, Method::POST, "/api/v1/leads/search", token, Some(body));
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|lead| {
            lead["display_name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn rules_add_up_follow_lead_changes_and_are_recounted_by_a_job() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;

        let both = create_lead(
            app,
            &admin,
            json!({"last_name": "هر دو", "source": "referral", "province": "تهران"}),
        );
        let web = create_lead(
            app,
            &admin,
            json!({"last_name": "وب", "source": "web", "province": "تهران"}),
        );
        let referral = create_lead(
            app,
            &seller,
            json!({"last_name": "معرفی", "source": "referral"}),
        );
        assert_eq!(points(app, &admin, &both), 0);

        let by_source = create_rule(
            app,
            &admin,
            json!({"name": "معرفی‌شده", "points": 10,
                   "condition": {"field": "source", "op": "eq", "value": "referral"}}),
        );
        assert_eq!(by_source["active"], true);
        let by_province = create_rule(
            app,
            &admin,
            json!({"name": "تهران", "points": 5,
                   "condition": {"and": [{"field": "province", "op": "eq", "value": "تهران"},
                                         {"field": "created_at", "op": "eq",
                                          "value": {"relative": "this_year"}}]}}),
        );
        // A lead meeting both rules has their sum.
        assert_eq!(points(app, &admin, &both), 15);
        assert_eq!(points(app, &admin, &web), 5);
        assert_eq!(points(app, &admin, &referral), 10);

        // A new or changed lead is scored in its own transaction.
        let (status, created) = send(
            app,
            Method::POST,
            LEADS,
            &admin,
            Some(json!({"last_name": "تازه", "source": "referral", "province": "تهران"})),
        );
        assert_eq!(status, 201);
        assert_eq!(created["scores"]["points"], 15, "{created}");
        assert_eq!(created["scores"]["propensity"], Value::Null);
        let response = merge_patch_request(app, &format!("{LEADS}/{web}"), &admin)
            .body(json!({"source": "referral"}).to_string())
            .send()
            .expect("patch lead");
        assert_eq!(response.status(), 200);
        let changed: Value = response.json().expect("lead");
        assert_eq!(changed["scores"]["points"], 15, "{changed}");

        // Changing a rule recounts every lead.
        let by_source = patch_rule(app, &admin, &by_source, json!({"points": 20}));
        assert_eq!(by_source["points"], 20);
        assert_eq!(points(app, &admin, &both), 25);
        assert_eq!(points(app, &seller, &referral), 20);
        // Search and sort by points, within what the caller may see.
        let ranked = search_names(
            app,
            &admin,
            json!({"filter": {"field": "score_points", "op": "gte", "value": 20},
                   "sort": [{"field": "score_points", "direction": "desc"}]}),
        );
        assert_eq!(ranked.len(), 4, "{ranked:?}");
        assert_eq!(ranked[3], "معرفی", "the one lead with 20 points comes last");
        assert_eq!(
            search_names(
                app,
                &seller,
                json!({"filter": {"field": "score_points", "op": "gte", "value": 20}})
            ),
            ["معرفی"]
        );
        patch_rule(app, &admin, &by_province, json!({"active": false}));
        assert_eq!(points(app, &admin, &both), 20);

        let (status, _) = send(app, Method::GET, &format!("{LEADS}/{both}"), &seller, None);
        assert_eq!(status, 404, "another's lead and its scores stay hidden");

        // Deleting a rule answers with the recount.
        let response = app
            .authed(
                Method::DELETE,
                &format!("{RULES}/{}", id_of(&by_source)),
                &admin,
            )
            .send()
            .expect("delete");
        assert_eq!(response.status(), 202);
        let job: Value = response.json().expect("job");
        finished(app, &admin, job["id"].as_str().expect("id"));
        assert_eq!(points(app, &admin, &both), 0);
        let (status, page) = send(app, Method::GET, RULES, &seller, None);
        assert_eq!(status, 200, "sales users read the rules");
        assert_eq!(page["data"].as_array().expect("data").len(), 1);
    });
}

#[test]
fn bad_rules_are_named_and_only_configurers_change_them() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;

        let response = app
            .authed(Method::POST, RULES, &admin)
            .json(&json!({"name": " ", "points": 5000,
                          "condition": {"and": [{"field": "shoe_size", "op": "eq", "value": 42},
                                                {"field": "score_points", "op": "gt", "value": 1},
                                                {"field": "source", "op": "gt", "value": "a"}]}}))
            .send()
            .expect("create");
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [
                ("name".to_string(), "required".to_string()),
                ("points".to_string(), "out_of_range".to_string()),
                (
                    "condition.and[0].field".to_string(),
                    "unknown_field".to_string()
                ),
                (
                    "condition.and[1].field".to_string(),
                    "unknown_field".to_string()
                ),
                (
                    "condition.and[2].op".to_string(),
                    "operator_not_allowed".to_string()
                ),
            ]
        );

        let body = json!({"name": "وب", "points": 1,
                          "condition": {"field": "source", "op": "eq", "value": "web"}});
        let response = app
            .authed(Method::POST, RULES, &seller)
            .json(&body)
            .send()
            .expect("create");
        assert_problem(response, 403, "forbidden");
        let rule = create_rule(app, &admin, body);
        let path = format!("{RULES}/{}", id_of(&rule));
        let response = merge_patch_request(app, &path, &seller)
            .body(json!({"points": 2}).to_string())
            .send()
            .expect("patch");
        assert_problem(response, 403, "forbidden");
        let response = app
            .authed(Method::POST, &format!("{RULES}/rescore"), &seller)
            .send()
            .expect("rescore");
        assert_problem(response, 403, "forbidden");
        let response = merge_patch_request(app, &path, &admin)
            .header("if-match", etag_of(&rule, 7))
            .body(json!({"points": 2}).to_string())
            .send()
            .expect("patch");
        assert_problem(response, 412, "precondition_failed");
        let response = merge_patch_request(app, &path, &admin)
            .body(
                json!({"condition": {"field": "list_id", "op": "eq", "value": id_of(&rule)}})
                    .to_string(),
            )
            .send()
            .expect("patch");
        let problem = assert_problem(response, 422, "validation_failed");
        assert_eq!(
            field_codes(&problem),
            [("condition.field".to_string(), "unknown_field".to_string())]
        );
        let (status, same) = send(app, Method::GET, &path, &seller, None);
        assert_eq!(status, 200);
        assert_eq!(same["points"], 1, "nothing half-written");
    });
}

const RUNS: &str = "/api/v1/analytics/runs";

/// A stored lead of the past: created on `created`, with `status` already known.
fn past_lead(
    name: String,
    source: &str,
    province: &str,
    campaign: &str,
    status: &str,
    created: chrono::DateTime<chrono::Utc>,
    owner: Option<uuid::Uuid>,
) -> persistence::leads::LeadRow {
    use persistence::sql_types::{DbJson, DbTime, DbUuid};
    persistence::leads::LeadRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        first_name: None,
        last_name: Some(name.clone()),
        company: None,
        job_title: None,
        phones: DbJson(json!([])),
        emails: DbJson(json!([])),
        province: Some(province.into()),
        city: None,
        source: Some(source.into()),
        campaign: Some(campaign.into()),
        status: status.into(),
        disqualified_reason: (status == "disqualified").then(|| "بودجه ندارد".into()),
        owner_id: owner.map(DbUuid),
        team_id: None,
        description: None,
        display_name: name.clone(),
        search_text: name,
        converted_customer_id: None,
        converted_organization_id: None,
        converted_at: None,
        created_by: None,
        created_at: DbTime(created),
        updated_at: DbTime(created),
        version: 1,
        language: None,
        product_id: None,
        score_points: 0,
        propensity: None,
        propensity_factors: None,
        propensity_run_id: None,
        custom_fields: DbJson(json!({})),
    }
}

/// A reproducible stream of numbers in [0, 1) (a linear congruential generator).
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn pick<'a>(&mut self, values: &[&'a str]) -> &'a str {
        values[((self.next() * values.len() as f64) as usize).min(values.len() - 1)]
    }
}

/// `count` past leads with outcomes: referrals convert 75 % of the time, the others
/// 20 %; province and campaign are noise. Written straight to the database, as a
/// history imported from before.
fn past_outcomes(app: &TestApp, count: usize, referral_share: f64) {
    use diesel::Connection;
    let mut draws = Draws(7);
    let start = chrono::Utc::now() - chrono::Duration::days(400);
    let rows: Vec<_> = (0..count)
        .map(|i| {
            let source = if draws.next() < referral_share {
                "referral"
            } else {
                draws.pick(&["web", "ads", "exhibition"])
            };
            let rate = if source == "referral" { 0.75 } else { 0.2 };
            let status = if draws.next() < rate {
                "converted"
            } else {
                "disqualified"
            };
            past_lead(
                format!("گذشته {i}"),
                source,
                draws.pick(&["تهران", "اصفهان", "فارس", "گیلان", "خراسان"]),
                draws.pick(&["بهار", "پاییز", "نمایشگاه"]),
                status,
                start + chrono::Duration::minutes(i as i64 * 90),
                None,
            )
        })
        .collect();
    let mut conn = app.state.pool.get().expect("connection");
    conn.transaction::<_, persistence::PersistenceError, _>(|conn| {
        for row in &rows {
            persistence::leads::insert(conn, row)?;
        }
        Ok(())
    })
    .expect("history");
}

fn finished_run(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .authed(Method::POST, RUNS, token)
        .json(&body)
        .send()
        .expect("start run");
    crate::analytics::finished_run(app, token, response)
}

#[test]
fn the_propensity_model_learns_the_signal_and_explains_each_open_lead() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (seller_id, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;
        past_outcomes(app, 2_000, 0.25);
        let referral = create_lead(
            app,
            &admin,
            json!({"last_name": "معرفی باز", "source": "referral", "province": "تهران",
                   "campaign": "بهار"}),
        );
        let web = create_lead(
            app,
            &admin,
            json!({"last_name": "وب باز", "source": "web", "province": "تهران",
                   "campaign": "بهار"}),
        );
        let mine = create_lead(
            app,
            &seller,
            json!({"last_name": "معرفی فروشنده", "source": "referral", "owner_id": seller_id}),
        );

        let run = finished_run(app, &admin, json!({"kind": "lead_propensity"}));
        assert_eq!(run["status"], "succeeded", "{run}");
        let result = &run["result"];
        assert_eq!(result["input"]["leads"], 2_000, "{result}");
        let converted = result["input"]["converted"].as_i64().expect("converted");
        let disqualified = result["input"]["disqualified"]
            .as_i64()
            .expect("disqualified");
        assert_eq!(converted + disqualified, 2_000);
        assert_eq!(result["holdout"]["leads"], 500);
        let auc = result["holdout"]["auc"].as_f64().expect("auc");
        assert!(auc > 0.65, "holdout AUC {auc}");
        let coefficient = |feature: &str| {
            result["model"]["coefficients"]
                .as_array()
                .expect("coefficients")
                .iter()
                .find(|c| c["feature"] == feature)
                .and_then(|c| c["coefficient"].as_f64())
                .unwrap_or_else(|| panic!("no {feature} in {result}"))
        };
        assert!(coefficient("source=referral") > 0.0);
        assert_eq!(result["scored"], 3);

        let get = |token: &str, id: &str| {
            let (status, lead) = send(app, Method::GET, &format!("{LEADS}/{id}"), token, None);
            assert_eq!(status, 200, "{lead}");
            lead
        };
        let hot = get(&admin, &referral);
        let cold = get(&admin, &web);
        let p = |lead: &Value| lead["scores"]["propensity"].as_f64().expect("propensity");
        assert!(p(&hot) > 0.5 && p(&cold) < 0.4, "{hot} {cold}");
        assert_eq!(hot["scores"]["run_id"], run["id"]);
        let first_raise = hot["scores"]["factors"]
            .as_array()
            .expect("factors")
            .iter()
            .find(|factor| factor["direction"] == "raises")
            .expect("a factor raising it")
            .clone();
        assert_eq!(first_raise["feature"], "source=referral", "{hot}");

        // Search and sort by propensity, within what the caller may see.
        let open = json!({"field": "status", "op": "eq", "value": "new"});
        assert_eq!(
            search_names(
                app,
                &admin,
                json!({"filter": open, "sort": [{"field": "propensity", "direction": "desc"}]})
            )
            .last()
            .map(String::as_str),
            Some("وب باز")
        );
        assert_eq!(
            search_names(
                app,
                &seller,
                json!({"filter": {"field": "propensity", "op": "gt", "value": 0.5}})
            ),
            ["معرفی فروشنده"]
        );
        assert!(p(&get(&seller, &mine)) > 0.5);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{LEADS}/{referral}"),
            &seller,
            None,
        );
        assert_eq!(status, 404);
        // Leads with an outcome have none; nulls sort first.
        let (status, page) = send(
            app,
            Method::POST,
            "/api/v1/leads/search",
            &admin,
            Some(json!({"sort": [{"field": "propensity", "direction": "asc"}], "limit": 1})),
        );
        assert_eq!(status, 200);
        assert_eq!(
            page["data"][0]["scores"]["propensity"],
            Value::Null,
            "{page}"
        );

        // A later run replaces the scores: a lead no longer open loses its propensity.
        let response = merge_patch_request(app, &format!("{LEADS}/{web}"), &admin)
            .body(json!({"status": "disqualified", "disqualified_reason": "بی‌پاسخ"}).to_string())
            .send()
            .expect("disqualify");
        assert_eq!(response.status(), 200);
        let again = finished_run(app, &admin, json!({"kind": "lead_propensity"}));
        assert_eq!(again["status"], "succeeded", "{again}");
        assert_eq!(again["result"]["cleared"], 1, "{again}");
        assert_eq!(get(&admin, &web)["scores"]["propensity"], Value::Null);
        assert_eq!(get(&admin, &referral)["scores"]["run_id"], again["id"]);
    });
}

#[test]
fn too_few_outcomes_refuse_the_propensity_model() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // 40 leads, of which about 10 converted: too few referrals to convert.
        past_outcomes(app, 40, 0.0);
        let run = finished_run(app, &admin, json!({"kind": "lead_propensity"}));
        assert_eq!(run["status"], "failed", "{run}");
        let error = &run["errors"][0];
        assert_eq!(error["code"], "validation_failed", "{run}");
        let detail = error["detail"].as_str().expect("detail");
        assert!(
            detail.starts_with("parameters.calibration_end:") && detail.contains("at least 20"),
            "{detail}"
        );
        let (status, _) = send(
            app,
            Method::POST,
            RUNS,
            &admin,
            Some(json!({"kind": "lead_propensity", "parameters": {"top_values": 0}})),
        );
        assert_eq!(status, 422);
    });
}
