//! Feedback in one place (F-1..F-3): surveys sent as links or through a channel,
//! answered once before they expire, held back by the throttle and by a withdrawn
//! consent; NPS, CSAT and CES arithmetic with confidence intervals on hand-made
//! answers; sentiment of feedback texts (negation, Arabic letters); negative feedback
//! making a task or reopening the ticket; ticket satisfaction answers and marked texts
//! among the feedback; visibility; SERVQUAL gaps, tolerance zone and the expectation
//! factors on a hand-computed example; the personal-data export and erasure.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use e2e::support::{
    create_customer, created, field_codes, for_each_backend, id_of, merge_patch, person, send,
    TestApp,
};

/// Sends without credentials, as a customer opening the link does.
fn public(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client().request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn token_of(app: &TestApp, role: &str, visibility: &str) -> (String, String) {
    let (id, email, password) = app.create_user(role, Some(visibility));
    (id.to_string(), app.login(&email, &password).access_token)
}

fn patch_settings(app: &TestApp, token: &str, body: Value) {
    let (status, answer) = merge_patch(app, "/api/v1/settings/business", token, &body);
    assert_eq!(status, 200, "{answer}");
}

fn customer(app: &TestApp, token: &str, name: &str) -> String {
    id_of(&create_customer(
        app,
        token,
        json!({"kind": "person", "first_name": name, "last_name": "آزمون"}),
    ))
}

fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let today = Utc::now().date_naive();
    let path = format!(
        "/api/v1/reports/{query}&from={}&to={}",
        today - Duration::days(2),
        today + Duration::days(1)
    );
    let (status, body) = send(app, Method::GET, &path, token, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 0.011)
}

#[test]
fn surveys_are_sent_answered_once_throttled_and_refused_without_consent() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        // A broken definition names each field and rule.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/feedback-surveys",
            &admin,
            Some(json!({"name": " ", "valid_days": 0, "questions": [
                {"key": "a", "kind": "nps", "text_fa": "؟"},
                {"key": "a", "kind": "text", "text_fa": "؟", "items": []}
            ]})),
        );
        assert_eq!(status, 422, "{problem}");
        let codes = field_codes(&problem);
        for expected in [
            ("name", "required"),
            ("valid_days", "out_of_range"),
            ("questions[1].key", "duplicate"),
            ("questions[1].items", "not_allowed"),
        ] {
            assert!(
                codes.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {codes:?}"
            );
        }
        let survey = created(
            app,
            &admin,
            "/api/v1/feedback-surveys",
            json!({"name": "پس از خرید", "questions": [
                {"key": "recommend", "kind": "nps", "required": true,
                 "text_fa": "چقدر ما را پیشنهاد می‌کنید؟", "text_en": "Would you recommend us?"},
                {"key": "effort", "kind": "ces", "text_fa": "کارتان آسان انجام شد؟"},
                {"key": "why", "kind": "text", "text_fa": "چرا؟"}
            ]}),
        );
        let survey_id = id_of(&survey);
        assert_eq!(survey["valid_days"], 14);
        // Roles: read-only may not write surveys, support may not delete them.
        let (_, read_only) = token_of(app, "read_only", "all");
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/feedback-surveys",
            &read_only,
            Some(json!({"name": "x", "questions": [{"key": "a", "kind": "nps", "text_fa": "؟"}]})),
        );
        assert_eq!(status, 403);
        let (_, support) = token_of(app, "support", "all");
        let path = format!("/api/v1/feedback-surveys/{survey_id}");
        assert_eq!(send(app, Method::DELETE, &path, &support, None).0, 403);

        let reachable = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        let refusing = id_of(&create_customer(
            app,
            &admin,
            person("رضا", "کریمی", "09131234567", "reza@example.ir"),
        ));
        created(
            app,
            &admin,
            &format!("/api/v1/customers/{refusing}/consents"),
            json!({"channel": "sms", "purpose": "surveys", "granted": false, "source": "phone_call"}),
        );
        let no_phone = customer(app, &admin, "بی‌تلفن");

        // As links: one each, the throttle holding back a second within 30 days.
        let invitations = format!("{path}/invitations");
        let (status, sent) = send(
            app,
            Method::POST,
            &invitations,
            &admin,
            Some(json!({"customer_ids": [reachable, no_phone]})),
        );
        assert_eq!(status, 200, "{sent}");
        assert_eq!(sent["sent"], 2);
        let link = sent["data"][0]["link"].as_str().unwrap().to_string();
        assert!(link.starts_with("/api/v1/survey-links/"));
        let second_link = sent["data"][1]["link"].as_str().unwrap().to_string();
        let (_, again) = send(
            app,
            Method::POST,
            &invitations,
            &admin,
            Some(json!({"customer_ids": [reachable]})),
        );
        assert_eq!(again["data"][0]["status"], "throttled", "{again}");
        assert!(again["data"][0]["link"].is_null());

        // Through an SMS line, with the throttle off: sent, refused by consent, no
        // address to send to.
        patch_settings(
            app,
            &admin,
            json!({"feedback": {"survey_throttle_days": 0}}),
        );
        let sms = created(
            app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "sms", "name": "خط نظرسنجی", "settings": {"provider_account_id": "10004346"},
                   "credentials": {"api_key": "KAVE-KEY"}}),
        );
        let (status, by_sms) = send(
            app,
            Method::POST,
            &invitations,
            &admin,
            Some(json!({"customer_ids": [reachable, refusing, no_phone],
                        "channel_account_id": id_of(&sms)})),
        );
        assert_eq!(status, 200, "{by_sms}");
        let statuses: Vec<&str> = by_sms["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["sent", "no_consent", "unreachable"], "{by_sms}");
        assert_eq!(by_sms["data"][2]["reason"], "no_address");
        assert!(by_sms["data"][0]["message_id"].is_string());
        let sms_link = by_sms["data"][0]["link"].as_str().unwrap().to_string();
        let message: Uuid = by_sms["data"][0]["message_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        {
            let mut conn = app.state.pool.get().expect("connection");
            let carried =
                persistence::conversations::find_message(&mut conn, message).expect("message");
            assert!(
                carried.body.contains(&sms_link),
                "the SMS carries the link: {}",
                carried.body
            );
        }

        // The public page shows the questions; an answer is checked, stored once.
        let (status, page) = public(app, Method::GET, &link, None);
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["name"], "پس از خرید");
        assert_eq!(page["questions"].as_array().unwrap().len(), 3);
        let (status, problem) = public(
            app,
            Method::POST,
            &link,
            Some(json!({"answers": {"effort": 9, "why": 1, "nope": 2}})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("answers.nope".to_string(), "unknown_question".to_string()),
                ("answers.recommend".to_string(), "required".to_string()),
                ("answers.effort".to_string(), "out_of_range".to_string()),
                ("answers.why".to_string(), "invalid_type".to_string()),
            ]
        );
        let (status, answered) = public(
            app,
            Method::POST,
            &link,
            Some(json!({"answers": {"recommend": 3, "effort": 6, "why": "خوب نبود"}})),
        );
        assert_eq!(status, 201, "{answered}");
        let feedback = answered["feedback"].as_array().unwrap();
        assert_eq!(feedback.len(), 3);
        let nps = &feedback[0];
        assert_eq!(
            (nps["metric"].as_str(), nps["score"].as_i64()),
            (Some("nps"), Some(3))
        );
        assert_eq!(nps["negative"], true);
        assert_eq!(nps["follow_up"], "task_created");
        let (status, task) = send(
            app,
            Method::GET,
            &format!("/api/v1/tasks/{}", nps["task_id"].as_str().unwrap()),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{task}");
        assert_eq!(
            (task["subject_type"].as_str(), task["subject_id"].as_str()),
            (Some("customer"), Some(reachable.as_str()))
        );
        assert_eq!(feedback[1]["negative"], false, "a CES of 6 is fine");
        assert_eq!(feedback[2]["sentiment"]["label"], "negative");
        assert_eq!(
            public(
                app,
                Method::POST,
                &link,
                Some(json!({"answers": {"recommend": 9}}))
            )
            .0,
            410
        );
        assert_eq!(public(app, Method::GET, &link, None).0, 410);
        assert_eq!(
            public(app, Method::GET, "/api/v1/survey-links/no-such-token", None).0,
            404
        );

        // An expired link is gone.
        {
            use diesel::prelude::*;
            use persistence::schema::survey_invitations;
            let mut conn = app.state.pool.get().expect("connection");
            diesel::update(
                survey_invitations::table.filter(
                    survey_invitations::customer_id
                        .eq(persistence::sql_types::DbUuid(no_phone.parse().unwrap())),
                ),
            )
            .set(
                survey_invitations::expires_at.eq(persistence::sql_types::DbTime(
                    Utc::now() - Duration::minutes(1),
                )),
            )
            .execute(&mut *conn)
            .expect("expire");
        }
        assert_eq!(public(app, Method::GET, &second_link, None).0, 410);
        let (status, _) = public(
            app,
            Method::POST,
            &second_link,
            Some(json!({"answers": {"recommend": 10}})),
        );
        assert_eq!(status, 410);
        assert_eq!(public(app, Method::GET, &sms_link, None).0, 200);

        // The survey's invitations, the answered one marked.
        let (status, listed) = send(app, Method::GET, &invitations, &admin, None);
        assert_eq!(status, 200, "{listed}");
        let rows = listed["data"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "two links and one SMS: {listed}");
        assert!(rows[0]["answered_at"].is_string());
        assert_eq!(rows[2]["delivery"], "sms");
        assert!(!listed.to_string().contains("token"));
    });
}

#[test]
fn feedback_reports_count_nps_csat_and_ces_and_negative_feedback_is_followed_up() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (agent, _) = token_of(app, "support", "all");
        let record = |body: Value| -> Value { created(app, &admin, "/api/v1/feedback", body) };
        // NPS 10, 9, 9, 8, 7, 6, 3, 0, 10, 5: 4 promoters, 2 passives, 4 detractors.
        let customers: Vec<String> = (0..10)
            .map(|i| customer(app, &admin, &format!("مشتری{i}")))
            .collect();
        for (i, score) in [10, 9, 9, 8, 7, 6, 3, 0, 10, 5].iter().enumerate() {
            let mut body = json!({"source": "other", "customer_id": customers[i],
                                  "metric": "nps", "score": score, "channel": "phone"});
            if i < 4 {
                body["agent_id"] = json!(agent);
            }
            record(body);
        }
        // CSAT 5, 4, 4, 2, 1: 3 of 5 satisfied. CES 7, 6, 5, 4, 3: mean 5.
        for (i, score) in [5, 4, 4, 2, 1].iter().enumerate() {
            record(
                json!({"source": "other", "customer_id": customers[i], "metric": "csat", "score": score}),
            );
        }
        for (i, score) in [7, 6, 5, 4, 3].iter().enumerate() {
            record(
                json!({"source": "other", "customer_id": customers[i], "metric": "ces", "score": score}),
            );
        }
        let nps = report(app, &admin, "feedback?metric=nps&group_by=agent");
        let totals = &nps["totals"];
        assert_eq!(totals["answers"], 10, "{nps}");
        assert_eq!(
            (totals["top"].as_i64(), totals["bottom"].as_i64()),
            (Some(4), Some(4))
        );
        assert!(close(&totals["value"], 0.0), "{totals}");
        let (low, high) = (
            totals["interval"]["low"].as_f64().unwrap(),
            totals["interval"]["high"].as_f64().unwrap(),
        );
        assert!(
            low < -30.0 && high > 30.0 && low >= -100.0 && high <= 100.0,
            "{totals}"
        );
        let groups = nps["periods"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["groups"].as_array().unwrap().clone())
            .collect::<Vec<_>>();
        let of_agent = groups
            .iter()
            .find(|g| g["key"] == agent.as_str())
            .expect("the agent's group");
        // The agent's four answers (10, 9, 9, 8): 3 promoters, 1 passive: NPS 75.
        assert_eq!(of_agent["figures"]["answers"], 4);
        assert!(close(&of_agent["figures"]["value"], 75.0), "{of_agent}");
        assert_eq!(of_agent["name"], "Test support");
        let csat = report(app, &admin, "feedback?metric=csat");
        assert!(close(&csat["totals"]["value"], 60.0), "{csat}");
        // Wilson interval of 3 of 5 (statsmodels): [0.2307, 0.8824].
        assert!(close(&csat["totals"]["interval"]["low"], 23.07), "{csat}");
        assert!(close(&csat["totals"]["interval"]["high"], 88.24), "{csat}");
        let ces = report(app, &admin, "feedback?metric=ces");
        assert!(close(&ces["totals"]["value"], 5.0), "{ces}");
        // t interval of 7, 6, 5, 4, 3: 5 ± 2.776 × 1.5811 / √5 = [3.04, 6.96].
        assert!(close(&ces["totals"]["interval"]["low"], 3.04), "{ces}");
        assert!(close(&ces["totals"]["interval"]["high"], 6.96), "{ces}");
        let kpis = report(app, &admin, "kpis?bucket=year");
        let period = kpis["periods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["nps_answers"] != 0)
            .expect("the period of the answers");
        assert!(
            close(&period["nps"], 0.0) && period["nps_answers"] == 10,
            "{kpis}"
        );
        assert!(close(&period["csat_percent"], 60.0), "{kpis}");
        assert!(close(&period["ces_average"], 5.0), "{kpis}");

        // Sentiment: negation, and Arabic letters read as Persian ones.
        let text = |words: &str| -> Value {
            record(json!({"source": "other", "customer_id": customers[9], "text": words}))
        };
        assert_eq!(text("خوب نبود")["sentiment"]["label"], "negative");
        assert_ne!(text("بد نبود")["sentiment"]["label"], "negative");
        let arabic = text("عالي");
        let persian = text("عالی");
        assert_eq!(arabic["sentiment"]["score"], persian["sentiment"]["score"]);
        assert_eq!(persian["sentiment"]["label"], "positive");

        // A low rating about a resolved ticket reopens it.
        let ticket = id_of(&created(
            app,
            &admin,
            "/api/v1/tickets",
            json!({"subject": "کالا دیر رسید", "customer_id": customers[0]}),
        ));
        let ticket_path = format!("/api/v1/tickets/{ticket}");
        let (status, _) = merge_patch(app, &ticket_path, &admin, &json!({"status": "resolved"}));
        assert_eq!(status, 200);
        let low = record(
            json!({"source": "other", "customer_id": customers[0], "ticket_id": ticket,
                                "metric": "csat", "score": 1}),
        );
        assert_eq!(low["follow_up"], "ticket_reopened", "{low}");
        let (_, reopened) = send(app, Method::GET, &ticket_path, &admin, None);
        assert_eq!(reopened["status"], "reopened");
        // Another customer's ticket is refused.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/feedback",
            &admin,
            Some(
                json!({"source": "other", "customer_id": customers[1], "ticket_id": ticket, "text": "x"}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("ticket_id".to_string(), "other_customer".to_string())]
        );

        // The ticket's own satisfaction answer is feedback too.
        let (status, _) = merge_patch(app, &ticket_path, &admin, &json!({"status": "resolved"}));
        assert_eq!(status, 200);
        let (_, messages) = send(
            app,
            Method::GET,
            &format!("{ticket_path}/messages?limit=100"),
            &admin,
            None,
        );
        let body = messages["data"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["kind"] == "automatic")
            .expect("the survey message")["body"]
            .as_str()
            .unwrap()
            .to_string();
        let start = body.find("/api/v1/surveys/").expect("a link");
        let ticket_link = body[start..].split_whitespace().next().unwrap().to_string();
        let (status, _) = public(
            app,
            Method::POST,
            &ticket_link,
            Some(json!({"rating": 5, "comment": "عالی بود"})),
        );
        assert_eq!(status, 201);
        let (_, of_ticket) = send(
            app,
            Method::GET,
            &format!("/api/v1/feedback?ticket_id={ticket}&source=ticket_survey"),
            &admin,
            None,
        );
        let rows = of_ticket["data"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{of_ticket}");
        assert_eq!(
            (rows[0]["metric"].as_str(), rows[0]["score"].as_i64()),
            (Some("csat"), Some(5))
        );
        assert_eq!(rows[0]["sentiment"]["label"], "positive");

        // A note marked as feedback, once.
        let note = id_of(&created(
            app,
            &admin,
            &format!("/api/v1/customers/{}/notes", customers[2]),
            json!({"body": "مشتری از کیفیت بسته‌بندی خیلی ناراضی بود"}),
        ));
        let marked = record(json!({"source": "note", "note_id": note}));
        assert_eq!(marked["customer_id"], customers[2].as_str());
        assert_eq!(marked["text"], "مشتری از کیفیت بسته‌بندی خیلی ناراضی بود");
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/feedback",
            &admin,
            Some(json!({"source": "note", "note_id": note})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("source".to_string(), "already_marked".to_string())]
        );

        // Visibility: a salesperson who sees only their own customers sees none of it.
        let (_, sales) = token_of(app, "sales", "own");
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/feedback/{}", id_of(&marked)),
            &sales,
            None,
        );
        assert_eq!(status, 404);
        let (status, listed) = send(app, Method::GET, "/api/v1/feedback", &sales, None);
        assert_eq!(status, 200);
        assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/feedback",
            &sales,
            Some(json!({"source": "other", "customer_id": customers[3], "text": "x"})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("customer_id".to_string(), "not_found".to_string())]
        );
        assert_eq!(
            report(app, &sales, "feedback?metric=nps")["totals"]["answers"],
            0
        );
        assert_eq!(
            send(
                app,
                Method::DELETE,
                &format!("/api/v1/feedback/{}", id_of(&marked)),
                &sales,
                None
            )
            .0,
            403
        );

        // The personal-data export holds the feedback; erasure removes its words.
        let (_, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{}/personal-data", customers[2]),
            &admin,
            None,
        );
        assert!(
            exported["feedback"].to_string().contains("ناراضی"),
            "{exported}"
        );
        assert_eq!(exported["held_in"]["feedback"], 4);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{}/erasure", customers[2]),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["feedback"], 4, "{erased}");
        let (_, after) = send(
            app,
            Method::GET,
            &format!("/api/v1/feedback/{}", id_of(&marked)),
            &admin,
            None,
        );
        assert!(after["text"].is_null(), "{after}");
        assert_eq!(after["sentiment"]["label"], "negative", "the score stays");
    });
}

#[test]
fn servqual_answers_give_the_gaps_the_tolerance_zone_and_the_factors() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        patch_settings(
            app,
            &admin,
            json!({"feedback": {"survey_throttle_days": 0}}),
        );
        let survey = created(
            app,
            &admin,
            "/api/v1/feedback-surveys",
            json!({"name": format!("کیفیت خدمت {}", Uuid::now_v7().simple()), "questions": [
                {"key": "quality", "kind": "servqual", "required": true, "text_fa": "کیفیت خدمت ما",
                 "items": [
                     {"key": "r1", "dimension": "reliability", "text_fa": "خدمت را همان بار اول درست انجام می‌دهد."},
                     {"key": "e1", "dimension": "empathy", "text_fa": "به هر مشتری توجه فردی دارد."}
                 ]},
                {"key": "factors", "kind": "expectation_factors", "text_fa": "چه چیزی انتظار شما را شکل داد؟"}
            ]}),
        );
        // The standard 22 items when none are given.
        let standard = created(
            app,
            &admin,
            "/api/v1/feedback-surveys",
            json!({"name": format!("SERVQUAL {}", Uuid::now_v7().simple()), "questions": [
                {"key": "quality", "kind": "servqual", "text_fa": "کیفیت"}]}),
        );
        assert_eq!(
            standard["questions"][0]["items"].as_array().unwrap().len(),
            22
        );

        // Three respondents: (desired, adequate, perceived) per item, and the price
        // factor's rating.
        let respondents = [
            ([8, 5, 4], [7, 4, 6], 2),
            ([9, 6, 5], [8, 5, 7], 4),
            ([7, 5, 6], [6, 3, 7], 6),
        ];
        let mut first = String::new();
        for (i, (r1, e1, price)) in respondents.iter().enumerate() {
            let id = customer(app, &admin, &format!("پاسخ‌دهنده{i}"));
            if i == 0 {
                first = id.clone();
            }
            let (_, sent) = send(
                app,
                Method::POST,
                &format!("/api/v1/feedback-surveys/{}/invitations", id_of(&survey)),
                &admin,
                Some(json!({"customer_ids": [id]})),
            );
            let link = sent["data"][0]["link"]
                .as_str()
                .expect("a link")
                .to_string();
            let level =
                |l: &[i32; 3]| json!({"desired": l[0], "adequate": l[1], "perceived": l[2]});
            // The first respondent also rates their own striving for excellence.
            let factors = if i == 0 {
                json!({"price": price, "striving_for_excellence": 7})
            } else {
                json!({"price": price})
            };
            let (status, answered) = public(
                app,
                Method::POST,
                &link,
                Some(json!({"answers": {
                    "quality": {"r1": level(r1), "e1": level(e1)},
                    "factors": factors
                }})),
            );
            assert_eq!(status, 201, "{answered}");
        }
        // An incomplete or out-of-scale battery is refused.
        let other = customer(app, &admin, "ناقص");
        let (_, sent) = send(
            app,
            Method::POST,
            &format!("/api/v1/feedback-surveys/{}/invitations", id_of(&survey)),
            &admin,
            Some(json!({"customer_ids": [other]})),
        );
        let link = sent["data"][0]["link"].as_str().unwrap().to_string();
        let (status, problem) = public(
            app,
            Method::POST,
            &link,
            Some(
                json!({"answers": {"quality": {"r1": {"desired": 10, "adequate": 5, "perceived": 5}}}}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                (
                    "answers.quality.r1.desired".to_string(),
                    "out_of_range".to_string()
                ),
                ("answers.quality".to_string(), "incomplete".to_string()),
            ]
        );

        let servqual = report(app, &admin, "servqual?bucket=year");
        // Reliability: means 8, 5.33, 5 — below the zone (perceived under adequate).
        let dimension = |name: &str| -> Value {
            servqual["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["dimension"] == name)
                .unwrap_or_else(|| panic!("{name} in {servqual}"))["gaps"]
                .clone()
        };
        let reliability = dimension("reliability");
        assert!(close(&reliability["adequacy"], -0.33), "{reliability}");
        assert!(close(&reliability["superiority"], -3.0), "{reliability}");
        assert_eq!(reliability["position"], "below");
        // Empathy: means 7, 4, 6.67 — within the zone.
        let empathy = dimension("empathy");
        assert!(close(&empathy["adequacy"], 2.67), "{empathy}");
        assert!(close(&empathy["superiority"], -0.33), "{empathy}");
        assert_eq!(empathy["position"], "within");
        // Overall: 6 answers, means 7.5, 4.67, 5.83.
        let overall = &servqual["overall"];
        assert_eq!(overall["answers"], 6);
        assert!(
            close(&overall["adequacy"], 1.17) && close(&overall["superiority"], -1.67),
            "{overall}"
        );
        // Price (2, 4, 6) against each respondent's mean adequacy gap (0.5, 0.5, 2.5):
        // r = 4 / √(8 × 2.667) = 0.866; t = 1.732 on 1 df, so p = 1/3.
        let price = servqual["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["factor"] == "price")
            .expect("price")
            .clone();
        assert_eq!(price["respondents"], 3);
        assert!(close(&price["mean_rating"], 4.0), "{price}");
        assert!(close(&price["adequacy"]["r"], 0.87), "{price}");
        assert!(close(&price["adequacy"]["p_value"], 0.3333), "{price}");
        assert!(
            price["adequacy"]["interval"].is_null(),
            "too few for an interval"
        );
        let striving = servqual["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["factor"] == "striving_for_excellence")
            .expect("striving for excellence")
            .clone();
        assert_eq!(striving["respondents"], 1, "{striving}");
        assert!(close(&striving["mean_rating"], 7.0), "{striving}");

        // One customer's own answers.
        let own = report(
            app,
            &admin,
            &format!("servqual?bucket=year&customer_id={first}"),
        );
        assert_eq!(own["overall"]["answers"], 2, "{own}");
        let (_, sales) = token_of(app, "sales", "own");
        let (status, _) = send(
            app,
            Method::GET,
            &format!("/api/v1/reports/servqual?from=2026-01-01&to=2026-12-31&customer_id={first}"),
            &sales,
            None,
        );
        assert_eq!(status, 422, "a customer the caller cannot see");
        assert_eq!(
            report(app, &sales, "servqual?bucket=year")["overall"],
            Value::Null
        );
    });
}

#[test]
fn a_segment_is_surveyed_and_feedback_reaches_the_timeline_and_the_sentiment_search() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        patch_settings(
            app,
            &admin,
            json!({"feedback": {"survey_throttle_days": 0}}),
        );
        let (sales_id, sales) = token_of(app, "sales", "own");
        let theirs = customer(app, &admin, "مشتری‌فروشنده");
        let (status, body) = merge_patch(
            app,
            &format!("/api/v1/customers/{theirs}"),
            &admin,
            &json!({"owner_id": sales_id}),
        );
        assert_eq!(status, 200, "{body}");
        let others = customer(app, &admin, "مشتری‌دیگر");
        let segment = created(
            app,
            &admin,
            "/api/v1/segments",
            json!({"name": format!("نظرسنجی {}", Uuid::now_v7().simple()), "kind": "static"}),
        );
        let segment = id_of(&segment);
        let (status, body) = send(
            app,
            Method::POST,
            &format!("/api/v1/segments/{segment}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [theirs, others]})),
        );
        assert_eq!(status, 200, "{body}");
        let survey = created(
            app,
            &admin,
            "/api/v1/feedback-surveys",
            json!({"name": format!("بخش {}", Uuid::now_v7().simple()), "questions": [
                {"key": "recommend", "kind": "nps", "text_fa": "پیشنهاد می‌کنید؟"},
                {"key": "why", "kind": "text", "text_fa": "چرا؟"}
            ]}),
        );
        let invitations = format!("/api/v1/feedback-surveys/{}/invitations", id_of(&survey));

        // The request names customers or a segment, never both, and at most 500.
        let too_many: Vec<String> = (0..501).map(|_| Uuid::now_v7().to_string()).collect();
        for (body, field, code) in [
            (
                json!({"customer_ids": [theirs], "segment_id": segment}),
                "segment_id",
                "exclusive",
            ),
            (
                json!({"segment_id": Uuid::now_v7()}),
                "segment_id",
                "not_found",
            ),
            (
                json!({"customer_ids": too_many}),
                "customer_ids",
                "out_of_range",
            ),
            (json!({}), "customer_ids", "out_of_range"),
        ] {
            let (status, problem) = send(app, Method::POST, &invitations, &admin, Some(body));
            assert_eq!(status, 422, "{problem}");
            assert!(
                field_codes(&problem).contains(&(field.to_string(), code.to_string())),
                "{field} {code}: {problem}"
            );
        }

        // The sales user reaches only the member it sees; the admin every member.
        let (status, by_sales) = send(
            app,
            Method::POST,
            &invitations,
            &sales,
            Some(json!({"segment_id": segment})),
        );
        assert_eq!(status, 200, "{by_sales}");
        assert_eq!(by_sales["sent"], 1, "{by_sales}");
        assert_eq!(by_sales["data"][0]["customer_id"], theirs.as_str());
        let (status, by_admin) = send(
            app,
            Method::POST,
            &invitations,
            &admin,
            Some(json!({"segment_id": segment})),
        );
        assert_eq!(status, 200, "{by_admin}");
        assert_eq!(by_admin["sent"], 2, "{by_admin}");

        // The invitations list shows the sales user only its customer's two.
        let (status, listed) = send(app, Method::GET, &invitations, &sales, None);
        assert_eq!(status, 200, "{listed}");
        let rows = listed["data"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{listed}");
        assert!(rows.iter().all(|row| row["customer_id"] == theirs.as_str()));
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{invitations}?customer_id={others}"),
            &sales,
            None,
        );
        assert_eq!(status, 404, "another's customer is not found");
        let (_, listed) = send(app, Method::GET, &invitations, &admin, None);
        assert_eq!(listed["data"].as_array().unwrap().len(), 3);

        // The sales user's customer answers with a complaint.
        let link = by_sales["data"][0]["link"].as_str().unwrap().to_string();
        let (status, answered) = public(
            app,
            Method::POST,
            &link,
            Some(json!({"answers": {"recommend": 2, "why": "خیلی بد بود و اصلاً راضی نیستم"}})),
        );
        assert_eq!(status, 201, "{answered}");
        let text = answered["feedback"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["question_key"] == "why")
            .expect("the text's feedback")
            .clone();
        assert_eq!(text["sentiment"]["label"], "negative", "{text}");

        // It is in the customer's timeline, linked to the feedback.
        let timeline = format!("/api/v1/customers/{theirs}/timeline?kind=feedback");
        let (status, page) = send(app, Method::GET, &timeline, &sales, None);
        assert_eq!(status, 200, "{page}");
        let entries = page["data"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "the score and the text: {page}");
        assert!(entries.iter().all(|e| e["kind"] == "feedback"));
        let entry = entries
            .iter()
            .find(|e| e["link"]["href"] == format!("/api/v1/feedback/{}", id_of(&text)))
            .unwrap_or_else(|| panic!("the text's entry in {page}"));
        assert!(
            entry["summary"].as_str().unwrap().contains("راضی نیستم"),
            "{entry}"
        );
        assert_eq!(
            send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{others}/timeline?kind=feedback"),
                &sales,
                None
            )
            .0,
            404
        );

        // The 360 view and the search see the customer's sentiment.
        let (status, overview) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{theirs}/overview"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{overview}");
        assert_eq!(overview["sentiment"]["feedback"], 1, "{overview}");
        assert_eq!(overview["sentiment"]["label"], "negative", "{overview}");
        let found = |token: &str, filter: Value| -> Vec<String> {
            let (status, page) = send(
                app,
                Method::POST,
                "/api/v1/customers/search",
                token,
                Some(json!({"filter": filter, "limit": 100})),
            );
            assert_eq!(status, 200, "{page}");
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect()
        };
        let negative = json!({"field": "sentiment", "op": "eq", "value": "negative"});
        assert!(found(&admin, negative.clone()).contains(&theirs));
        assert!(found(&sales, negative).contains(&theirs));
        let scored = json!({"field": "sentiment_score", "op": "lt", "value": -0.1});
        assert!(found(&admin, scored).contains(&theirs));
        let positive = json!({"field": "sentiment", "op": "in", "value": ["positive", "neutral"]});
        assert!(!found(&admin, positive).contains(&theirs));
        let unscored = found(
            &admin,
            json!({"field": "sentiment", "op": "is_null", "value": true}),
        );
        assert!(unscored.contains(&others) && !unscored.contains(&theirs));
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": {"field": "sentiment", "op": "eq", "value": "angry"}})),
        );
        assert_eq!(status, 422, "{problem}");
    });
}
