//! Every request example in the OpenAPI document is one the server accepts: for each
//! operation with a request body, its example is sent by an admin, after the records
//! the path names were created, and must answer 2xx. A client developer can paste any
//! example from the reference and see it work.
//!
//! Examples name the records they refer to (a team, customers, a refresh token) by the
//! fixed placeholders below; the test creates such records and sends their real ids in
//! their place.

use e2e::support::{for_each_backend, merge_patch, request_example, send, TestApp, TokenPair};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};

/// The team examples assign users and customers to.
const TEAM: &str = "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa";
/// A person: listed at an organization, the winner of a merge.
const PERSON: &str = "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb";
/// Another person: the loser of a merge, a customer labels are assigned to.
const OTHER_PERSON: &str = "0193a4e2-7c1d-7b3e-9f10-dddddddddddd";
/// A product of the catalogue that orders name.
const PRODUCT: &str = "0193a4e2-7c1d-7b3e-9f10-ffffffffffff";
/// A deal quotes are made for.
const DEAL: &str = "0193a4e2-7c1d-7b3e-9f10-cccccccccccc";
/// A line of the order whose return the example records.
const ORDER_LINE: &str = "0193a4e2-7c1d-7b3e-9f10-eeeeeeeeeeee";
/// The ticket another is merged into.
const TICKET: &str = "0193a4e2-7c1d-7b3e-9f10-777777777777";
/// Stands for a user in request examples.
const USER: &str = "0193a4e2-7c1d-7b3e-9f10-999999999999";
/// A channel account (an SMS line) messages are sent through.
const CHANNEL_ACCOUNT: &str = "0193a4e2-7c1d-7b3e-9f10-888888888888";
/// A person with a mobile number, to be written to.
const REACHABLE_PERSON: &str = "0193a4e2-7c1d-7b3e-9f10-666666666666";
/// The refresh token of the caller's session.
const REFRESH_TOKEN: &str = "kX3v9bq0Vt7Qe1m2P5sZ8yA4cD6fH0jL2nR4tW6xY8z";
/// The custom field the customer examples fill in, and the value they give it.
const CUSTOM_FIELD: (&str, &str) = ("favourite_branch", "ونک");

/// One operation's request example.
struct Example {
    operation_id: String,
    method: Method,
    path: String,
    content_type: String,
    body: Value,
}

/// The request example of every operation that takes a body; panics for a body
/// without one.
fn examples(doc: &Value) -> Vec<Example> {
    let mut examples = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(content) = operation["requestBody"]["content"].as_object() else {
                continue;
            };
            // Providers call these with their own signatures, which an example cannot
            // carry; `channels.rs` sends them signed. An unsubscribe token exists only
            // in an e-mail; `email.rs` follows one. The widget's need a site key and
            // a visitor's token from a started chat; `web_chat.rs` sends their examples.
            if path.starts_with("/api/v1/webhooks/")
                || path.starts_with("/api/v1/unsubscribe/")
                || path.starts_with("/api/v1/widget/")
            {
                continue;
            }
            let operation_id = operation["operationId"].as_str().expect("operationId");
            let (content_type, media) = content.iter().next().expect("a media type");
            let body = request_example(doc, media)
                .unwrap_or_else(|| panic!("{operation_id}: the request body has no example"));
            examples.push(Example {
                operation_id: operation_id.to_string(),
                method: method.to_uppercase().parse().expect("HTTP method"),
                path: path.clone(),
                content_type: content_type.clone(),
                body,
            });
        }
    }
    examples
}

#[test]
fn every_request_example_is_accepted() {
    let doc = serde_json::to_value(api::openapi::document()).expect("document serialises");
    let examples = examples(&doc);
    assert!(
        examples.len() >= 30,
        "only {} operations have a request body",
        examples.len()
    );
    for_each_backend(|app| {
        let setup = Setup {
            app,
            token: app.admin_token(),
            order_line: Default::default(),
            merge_target: Default::default(),
        };
        setup.create(
            "/api/v1/custom-fields",
            json!({"key": CUSTOM_FIELD.0, "label": "شعبهٔ محبوب", "kind": "select",
                   "options": [CUSTOM_FIELD.1, "تجریش"]}),
        );
        for example in &examples {
            // Each example runs in a session of its own: logging out or changing the
            // password must not disturb the others.
            let caller = app.admin();
            let path = setup.path_for(example);
            let mut body = example.body.clone();
            if example.operation_id == "login" {
                setup.user_who_can_log_in_with(&body);
            }
            setup.replace_placeholders(&mut body, &caller);
            let (status, answer) = send_example(app, example, &path, &caller, body);
            assert!(
                (200..300).contains(&status),
                "{} on {:?}: {} {} answered {status}: {answer}",
                example.operation_id,
                app.backend,
                example.method,
                example.path
            );
            // A batch or an import reports its items or rows one by one.
            assert!(
                answer.get("failed").is_none_or(|failed| failed == 0),
                "{}: items of the example were refused: {answer}",
                example.operation_id
            );
            assert!(
                answer
                    .get("outcome")
                    .is_none_or(|outcome| outcome != "rejected"),
                "{}: rows of the example were rejected: {answer}",
                example.operation_id
            );
        }
    });
}

/// Creates the records examples need, as an admin.
struct Setup<'a> {
    app: &'a TestApp,
    token: String,
    /// The line of the order made for the return example.
    order_line: std::cell::RefCell<Option<String>>,
    /// The ticket the merge example's ticket is merged into (of the same customer).
    merge_target: std::cell::RefCell<Option<String>>,
}

impl Setup<'_> {
    /// `POST`s `body` to `collection` and returns the new record's id.
    fn create(&self, collection: &str, body: Value) -> String {
        let response = self
            .app
            .authed(Method::POST, collection, &self.token)
            // Customers made here are meant to look alike (placeholders).
            .header("Peyvand-Confirm-Duplicate", "true")
            .json(&body)
            .send()
            .expect("request");
        let status = response.status();
        let created: Value = response.json().unwrap_or(Value::Null);
        assert_eq!(status, 201, "creating in {collection}: {created}");
        created["id"].as_str().expect("id").to_string()
    }

    fn unique(prefix: &str) -> String {
        format!("{prefix} {}", uuid::Uuid::now_v7().simple())
    }

    /// The survey link of a ticket just resolved, from its conversation.
    /// A survey asking `recommend` (NPS) and `why` (text), the keys of the answer's
    /// example, and the path of a fresh customer's link to it.
    fn feedback_survey(&self) -> String {
        self.create(
            "/api/v1/feedback-surveys",
            json!({"name": Self::unique("نظرسنجی"), "questions": [
                {"key": "recommend", "kind": "nps", "text_fa": "پیشنهاد می‌کنید؟"},
                {"key": "why", "kind": "text", "text_fa": "چرا؟"}
            ]}),
        )
    }

    fn feedback_link(&self) -> String {
        let (status, sent) = send(
            self.app,
            Method::POST,
            &format!(
                "/api/v1/feedback-surveys/{}/invitations",
                self.feedback_survey()
            ),
            &self.token,
            Some(json!({"customer_ids": [self.person()]})),
        );
        assert_eq!(status, 200, "{sent}");
        sent["data"][0]["link"]
            .as_str()
            .expect("a link")
            .to_string()
    }

    fn survey_link(&self) -> String {
        let ticket = self.create(
            "/api/v1/tickets",
            json!({"subject": Self::unique("درخواست"), "customer_id": self.person()}),
        );
        let path = format!("/api/v1/tickets/{ticket}");
        let (status, _) = merge_patch(self.app, &path, &self.token, &json!({"status": "resolved"}));
        assert_eq!(status, 200);
        let (_, messages) = send(
            self.app,
            Method::GET,
            &format!("{path}/messages"),
            &self.token,
            None,
        );
        let body = messages["data"]
            .as_array()
            .expect("messages")
            .iter()
            .find(|message| message["kind"] == "automatic")
            .and_then(|message| message["body"].as_str())
            .expect("the survey message")
            .to_string();
        let start = body.find("/api/v1/surveys/").expect("a link");
        body[start..]
            .split_whitespace()
            .next()
            .expect("the link")
            .to_string()
    }

    /// A new SMS line.
    fn sms_line(&self) -> Value {
        let line = self
            .app
            .authed(Method::POST, "/api/v1/channel-accounts", &self.token)
            .json(&json!({"kind": "sms", "name": Self::unique("خط"),
                          "settings": {"provider_account_id": "10004346"},
                          "credentials": {"api_key": "key"}}))
            .send()
            .expect("request");
        assert_eq!(line.status(), 201, "creating an SMS line");
        line.json().expect("account")
    }

    /// A conversation: an SMS line and a message received on it.
    fn conversation(&self) -> String {
        let line = self.sms_line();
        let sender = format!("0912{}", &uuid::Uuid::now_v7().as_u128().to_string()[..7]);
        let received = self
            .app
            .client()
            .post(self.app.url(&format!(
                "{}/received",
                line["webhook_path"].as_str().expect("path")
            )))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!(
                "messageid={sender}&from={sender}&to=10004346&message=salam"
            ))
            .send()
            .expect("request");
        assert_eq!(received.status(), 200, "receiving an SMS");
        let (_, page) = send(
            self.app,
            Method::GET,
            &format!(
                "/api/v1/conversations?channel_account_id={}",
                line["id"].as_str().expect("id")
            ),
            &self.token,
            None,
        );
        page["data"][0]["id"]
            .as_str()
            .expect("a conversation")
            .to_string()
    }

    fn person(&self) -> String {
        self.create(
            "/api/v1/customers",
            json!({"kind": "person", "first_name": "نمونه", "last_name": Self::unique("مشتری")}),
        )
    }

    fn organization(&self) -> String {
        self.create(
            "/api/v1/customers",
            json!({"kind": "organization", "organization_name": Self::unique("شرکت نمونه")}),
        )
    }

    fn product(&self) -> String {
        self.create(
            "/api/v1/products",
            json!({"sku": Self::unique("SKU"), "name": Self::unique("کالا"), "unit_price": 1_850_000}),
        )
    }

    /// A draft price experiment on a product of its own.
    fn price_experiment(&self) -> String {
        self.create(
            "/api/v1/price-experiments",
            json!({"name": Self::unique("آزمایش قیمت"), "product_id": self.product(),
                   "minimum_sample_per_variant": 100,
                   "variants": [{"key": "a", "unit_price": 1_000_000, "control": true},
                                {"key": "b", "unit_price": 1_100_000}]}),
        )
    }

    fn campaign(&self) -> String {
        self.create(
            "/api/v1/campaigns",
            json!({"name": Self::unique("کمپین"), "code": Self::unique("code"), "channel": "sms"}),
        )
    }

    fn deal(&self) -> String {
        self.create(
            "/api/v1/deals",
            json!({"title": Self::unique("معامله"), "customer_id": self.person()}),
        )
    }

    /// A paid order of one line (two units) of a new product; answers the order.
    fn order(&self) -> Value {
        let response = self
            .app
            .authed(Method::POST, "/api/v1/orders", &self.token)
            .json(&json!({"customer_id": self.person(), "status": "paid",
                          "lines": [{"product_id": self.product(), "quantity": 2}]}))
            .send()
            .expect("request");
        assert_eq!(response.status(), 201, "creating an order");
        response.json().expect("order")
    }

    /// The example's path with the records it names created.
    fn path_for(&self, example: &Example) -> String {
        let label = |collection: &str, extra: Value| {
            let mut body = json!({"name": Self::unique("برچسب")});
            body.as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            self.create(collection, body)
        };
        let template = example.path.as_str();
        if !template.contains('{') {
            return template.to_string();
        }
        let id = match template {
            "/api/v1/custom-fields/{id}" => self.create(
                "/api/v1/custom-fields",
                json!({"key": format!("field_{}", uuid::Uuid::now_v7().simple()),
                       "label": "فیلد نمونه", "kind": "select", "options": ["صبح", "عصر"]}),
            ),
            "/api/v1/tags/{id}" | "/api/v1/tags/{id}/assignments" => {
                label("/api/v1/tags", json!({}))
            }
            "/api/v1/customer-groups/{id}" | "/api/v1/customer-groups/{id}/assignments" => {
                label("/api/v1/customer-groups", json!({}))
            }
            "/api/v1/tiers/{id}" | "/api/v1/tiers/{id}/assignments" => {
                label("/api/v1/tiers", json!({"rank": 5}))
            }
            "/api/v1/teams/{id}" => {
                self.create("/api/v1/teams", json!({"name": Self::unique("تیم")}))
            }
            "/api/v1/users/{id}" => self.app.create_user("sales", None).0.to_string(),
            "/api/v1/products/{id}" => self.product(),
            "/api/v1/product-categories/{id}" => self.create(
                "/api/v1/product-categories",
                json!({"name": Self::unique("دسته")}),
            ),
            "/api/v1/orders/{id}" => self.order()["id"].as_str().expect("id").to_string(),
            "/api/v1/lead-lists/{id}" | "/api/v1/lead-lists/{id}/members" => {
                self.create("/api/v1/lead-lists", json!({"name": Self::unique("فهرست")}))
            }
            "/api/v1/leads/{id}"
            | "/api/v1/leads/{id}/convert"
            | "/api/v1/leads/{id}/assign"
            | "/api/v1/leads/{id}/assignments" => self.create(
                "/api/v1/leads",
                json!({"first_name": "نمونه", "last_name": Self::unique("سرنخ")}),
            ),
            "/api/v1/assignment-rules/{id}" => self.create(
                "/api/v1/assignment-rules",
                json!({"name": Self::unique("قاعده"), "record_kind": "lead", "position": 1,
                       "target": {"kind": "territory"}}),
            ),
            "/api/v1/territories/{id}" => self.create(
                "/api/v1/territories",
                json!({"name": Self::unique("منطقه"), "provinces": [Self::unique("استان")],
                       "team_id": self.create("/api/v1/teams", json!({"name": Self::unique("تیم")}))}),
            ),
            "/api/v1/users/{id}/availability"
            | "/api/v1/users/{id}/absences"
            | "/api/v1/users/{id}/capacity" => {
                self.app.create_user("sales", None).0.to_string()
            }
            "/api/v1/users/{id}/absences/{absence_id}" => {
                let user = self.app.create_user("sales", None).0;
                let absence = self.create(
                    &format!("/api/v1/users/{user}/absences"),
                    json!({"starts_at": "2026-12-12T04:30:00Z", "ends_at": "2026-12-19T04:30:00Z"}),
                );
                return format!("/api/v1/users/{user}/absences/{absence}");
            }
            "/api/v1/pipelines/{id}" => self.create(
                "/api/v1/pipelines",
                json!({"name": Self::unique("قیف"), "stages": [{"name": "تماس", "probability": 20}]}),
            ),
            "/api/v1/segments/{id}/refresh" => self.create(
                "/api/v1/segments",
                json!({"name": Self::unique("بخش"), "kind": "dynamic",
                       "condition": {"field": "order_count", "op": "gte", "value": 1}}),
            ),
            "/api/v1/segments/{id}" | "/api/v1/segments/{id}/members" => self.create(
                "/api/v1/segments",
                json!({"name": Self::unique("فهرست"), "kind": "static"}),
            ),
            "/api/v1/lead-scoring-rules/{id}" => self.create(
                "/api/v1/lead-scoring-rules",
                json!({"name": Self::unique("قاعده"), "points": 5,
                       "condition": {"field": "source", "op": "eq", "value": "referral"}}),
            ),
            "/api/v1/canned-answers/{id}" | "/api/v1/canned-answers/{id}/render" => self.create(
                "/api/v1/canned-answers",
                json!({"title_fa": Self::unique("پاسخ"), "question": "سفارشم کی می‌رسد؟",
                       "answer_fa": "{{customer.name}} عزیز، سفارش {{order.number}} ارسال شد."}),
            ),
            "/api/v1/message-templates/{id}" | "/api/v1/message-templates/{id}/preview" => self
                .create(
                    "/api/v1/message-templates",
                    json!({"name": Self::unique("الگو"), "body_fa": "سلام {{ customer.name }}"}),
                ),
            "/api/v1/partners/{id}"
            | "/api/v1/partners/{id}/users"
            | "/api/v1/partners/{id}/shares"
            | "/api/v1/partners/{id}/share-rules" => self.create(
                "/api/v1/partners",
                json!({"name": Self::unique("همکار"), "kind": "agency"}),
            ),
            "/api/v1/partners/{id}/share-rules/{rule_id}" => {
                let partner = self.create(
                    "/api/v1/partners",
                    json!({"name": Self::unique("همکار"), "kind": "distributor"}),
                );
                let rule = self.create(
                    &format!("/api/v1/partners/{partner}/share-rules"),
                    json!({"record_kind": "lead", "access": "write",
                           "condition": {"field": "province", "op": "eq", "value": "قم"}}),
                );
                return format!("/api/v1/partners/{partner}/share-rules/{rule}");
            }
            "/api/v1/retention-rules/{kind}" => {
                return "/api/v1/retention-rules/messages".to_string()
            }
            "/api/v1/event-definitions/{name}" => {
                return format!("/api/v1/event-definitions/view_{}", uuid::Uuid::now_v7().simple())
            }
            "/api/v1/workflows/{id}" | "/api/v1/workflows/{id}/dry-run" => self.create(
                "/api/v1/workflows",
                json!({"name": Self::unique("گردش"),
                       "trigger": {"kind": "event", "event_type": "customer.created"},
                       "steps": [{"kind": "wait", "minutes": 5}]}),
            ),
            "/api/v1/price-experiments/{id}" => self.price_experiment(),
            "/api/v1/campaigns/{id}" | "/api/v1/campaigns/{id}/costs" => self.campaign(),
            "/api/v1/price-experiments/{id}/exposures" => {
                let id = self.price_experiment();
                let response = self
                    .app
                    .authed(
                        Method::POST,
                        &format!("/api/v1/price-experiments/{id}/start"),
                        &self.token,
                    )
                    .send()
                    .expect("start request");
                assert_eq!(response.status(), 200, "starting the experiment failed");
                id
            }
            "/api/v1/webhook-subscriptions/{id}" => self.create(
                "/api/v1/webhook-subscriptions",
                json!({"url": "https://hooks.example.ir/peyvand", "event_types": ["*"]}),
            ),
            "/api/v1/lost-reasons/{id}" => self.create(
                "/api/v1/lost-reasons",
                json!({"name": Self::unique("دلیل")}),
            ),
            "/api/v1/deals/{id}" => self.deal(),
            "/api/v1/quotes/{id}" | "/api/v1/quotes/{id}/status" => self.create(
                "/api/v1/quotes",
                json!({"deal_id": self.deal(), "valid_until": "2027-06-30",
                       "lines": [{"product_id": self.product(), "quantity": 1}]}),
            ),
            "/api/v1/follow-up-rules/{id}" => self.create(
                "/api/v1/follow-up-rules",
                json!({"name": Self::unique("قاعده"), "trigger": "lead_assigned", "delay": 8}),
            ),
            "/api/v1/tasks/{id}" => self.create(
                "/api/v1/tasks",
                json!({"title": Self::unique("کار"), "subject_type": "customer",
                       "subject_id": self.person(), "due_at": "2030-01-05T10:00"}),
            ),
            "/api/v1/activities/{id}" => self.create(
                "/api/v1/activities",
                json!({"kind": "call", "subject_type": "customer", "subject_id": self.person(),
                       "occurred_at": "2026-12-02T11:00:00+03:30"}),
            ),
            "/api/v1/tickets/{id}/merge" => {
                let customer = self.person();
                let ticket = |subject: &str| {
                    self.create(
                        "/api/v1/tickets",
                        json!({"subject": Self::unique(subject), "customer_id": customer}),
                    )
                };
                *self.merge_target.borrow_mut() = Some(ticket("درخواست اصلی"));
                ticket("درخواست تکراری")
            }
            "/api/v1/tickets/{id}"
            | "/api/v1/tickets/{id}/messages"
            | "/api/v1/tickets/{id}/attachments"
            | "/api/v1/tickets/{id}/time-entries" => self.create(
                "/api/v1/tickets",
                json!({"subject": Self::unique("درخواست"), "customer_id": self.person()}),
            ),
            "/api/v1/surveys/{token}" => return self.survey_link(),
            "/api/v1/survey-links/{token}" => return self.feedback_link(),
            "/api/v1/feedback-surveys/{id}" | "/api/v1/feedback-surveys/{id}/invitations" => {
                self.feedback_survey()
            }
            "/api/v1/ticket-categories/{id}" => self.create(
                "/api/v1/ticket-categories",
                json!({"name": Self::unique("دسته")}),
            ),
            "/api/v1/channel-accounts/{id}" => self.create(
                "/api/v1/channel-accounts",
                json!({"kind": "telegram", "name": Self::unique("ربات"),
                       "credentials": {"bot_token": "1:x", "secret_token": "s"}}),
            ),
            "/api/v1/conversations/{id}/messages" => self.conversation(),
            "/api/v1/sla-policies/{id}" => self.create(
                "/api/v1/sla-policies",
                json!({"name": Self::unique("سیاست"), "resolution_minutes": 480}),
            ),
            "/api/v1/analytics/schedules/{id}" => self.create(
                "/api/v1/analytics/schedules",
                json!({"request": {"kind": "rfm"}, "cron": "0 2 * * *"}),
            ),
            "/api/v1/orders/{id}/returns" => {
                let order = self.order();
                *self.order_line.borrow_mut() = order["lines"][0]["id"].as_str().map(String::from);
                order["id"].as_str().expect("id").to_string()
            }
            "/api/v1/customers/{id}/personnel" => self.organization(),
            "/api/v1/customers/{id}"
            | "/api/v1/customers/{id}/notes"
            | "/api/v1/customers/{id}/consents"
            | "/api/v1/customers/{id}/loyalty/earn" => self.person(),
            "/api/v1/customers/{id}/loyalty/redeem" | "/api/v1/customers/{id}/loyalty/deduct" => {
                let customer = self.person();
                let (status, earned) = send(
                    self.app,
                    Method::POST,
                    &format!("/api/v1/customers/{customer}/loyalty/earn"),
                    &self.token,
                    Some(json!({"points": 1000, "reason": "موجودی آزمون"})),
                );
                assert_eq!(status, 201, "earning points to spend: {earned}");
                customer
            }
            "/api/v1/customers/{id}/notes/{note_id}" => {
                let customer = self.person();
                let note = self.create(
                    &format!("/api/v1/customers/{customer}/notes"),
                    json!({"body": "تماس اول: علاقه‌مند به خرید عمده"}),
                );
                return format!("/api/v1/customers/{customer}/notes/{note}");
            }
            "/api/v1/customers/{id}/personnel/{personnel_id}" => {
                let organization = self.organization();
                let link = self.create(
                    &format!("/api/v1/customers/{organization}/personnel"),
                    json!({"person_id": self.person(), "role": "کارشناس خرید"}),
                );
                return format!("/api/v1/customers/{organization}/personnel/{link}");
            }
            other => panic!(
                "{}: create the records {other} names here",
                example.operation_id
            ),
        };
        template.replacen("{id}", &id, 1)
    }

    /// Makes the user whose e-mail and password the login example sends.
    fn user_who_can_log_in_with(&self, credentials: &Value) {
        self.create(
            "/api/v1/users",
            json!({"email": credentials["email"], "password": credentials["password"],
                   "display_name": "علی رضایی", "role": "sales"}),
        );
    }

    /// Puts real records in the place of the placeholders anywhere in `body`; each
    /// placeholder stands for one record throughout the example.
    fn replace_placeholders(&self, body: &mut Value, caller: &TokenPair) {
        let mut records = Vec::new();
        self.replace_in(body, caller, &mut records);
    }

    fn replace_in(
        &self,
        value: &mut Value,
        caller: &TokenPair,
        records: &mut Vec<(&'static str, String)>,
    ) {
        match value {
            Value::String(text) => {
                let Some(placeholder) = [
                    TEAM,
                    PERSON,
                    OTHER_PERSON,
                    REFRESH_TOKEN,
                    PRODUCT,
                    ORDER_LINE,
                    USER,
                    DEAL,
                    TICKET,
                    CHANNEL_ACCOUNT,
                    REACHABLE_PERSON,
                ]
                .into_iter()
                .find(|placeholder| text == placeholder) else {
                    return;
                };
                if let Some((_, real)) = records.iter().find(|(p, _)| *p == placeholder) {
                    *text = real.clone();
                    return;
                }
                let real = match placeholder {
                    TEAM => self.create("/api/v1/teams", json!({"name": Self::unique("تیم")})),
                    REFRESH_TOKEN => caller.refresh_token.clone(),
                    PRODUCT => self.product(),
                    USER => self.app.create_user("sales", None).0.to_string(),
                    DEAL => self.deal(),
                    CHANNEL_ACCOUNT => self.sms_line()["id"]
                        .as_str()
                        .expect("id")
                        .to_string(),
                    REACHABLE_PERSON => self.create(
                        "/api/v1/customers",
                        json!({"kind": "person", "first_name": "نمونه", "last_name": Self::unique("مشتری"),
                               "phones": [{"number": format!("0912{}", &uuid::Uuid::now_v7().as_u128().to_string()[..7])}]}),
                    ),
                    ORDER_LINE => self
                        .order_line
                        .borrow()
                        .clone()
                        .expect("the return example's order was made for its path"),
                    TICKET => self
                        .merge_target
                        .borrow()
                        .clone()
                        .expect("the merge example's tickets were made for its path"),
                    _ => self.person(),
                };
                records.push((placeholder, real.clone()));
                *text = real;
            }
            Value::Array(items) => {
                for item in items {
                    self.replace_in(item, caller, records);
                }
            }
            Value::Object(members) => {
                for member in members.values_mut() {
                    self.replace_in(member, caller, records);
                }
            }
            _ => {}
        }
    }
}

/// Sends `body` with the example's content type. A multipart example is an object of
/// parts: a text member is a file (the spreadsheet's CSV text), any other a JSON part.
fn send_example(
    app: &TestApp,
    example: &Example,
    path: &str,
    caller: &TokenPair,
    body: Value,
) -> (u16, Value) {
    let request = app.authed(example.method.clone(), path, &caller.access_token);
    let request = if example.content_type == "multipart/form-data" {
        let mut form = Form::new();
        for (name, part) in body.as_object().expect("multipart example is an object") {
            let part = match part {
                Value::String(text) => Part::bytes(text.as_bytes().to_vec())
                    .file_name("customers.csv")
                    .mime_str("text/csv"),
                json => Part::bytes(json.to_string().into_bytes()).mime_str("application/json"),
            }
            .expect("mime type");
            form = form.part(name.clone(), part);
        }
        request.multipart(form)
    } else {
        request
            .header(CONTENT_TYPE, &example.content_type)
            .body(body.to_string())
    };
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}
