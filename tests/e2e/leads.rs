//! Leads (`/api/v1/leads`): contacts normalised as customers', status rules, merge
//! patch with `If-Match`, Persian-aware search, visibility by owner on every route,
//! conversion with and without an existing customer (the duplicate check), and the
//! personal-data export and erasure of the customer a lead became.

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    assert_problem, create_customer, field_codes, for_each_backend, id_of, merge_patch,
    merge_patch_request, send, TestApp,
};

const LEADS: &str = "/api/v1/leads";

fn create_lead(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, lead) = send(app, Method::POST, LEADS, token, Some(body.clone()));
    assert_eq!(status, 201, "creating {body}: {lead}");
    lead
}

fn search(app: &TestApp, token: &str, body: Value) -> Vec<Value> {
    let (status, page) = send(app, Method::POST, "/api/v1/leads/search", token, Some(body));
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
}

fn names(leads: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = leads
        .iter()
        .map(|lead| {
            lead["display_name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn leads_are_checked_searched_and_seen_only_by_their_owners() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (seller_id, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;
        let (_, other_email, _) = app.create_user("sales", None);
        let other = app.login(&other_email, &password).access_token;

        let sara = create_lead(
            app,
            &seller,
            json!({"first_name": "سارا", "last_name": "  احمدی ", "company": "بازرگانی آوا",
                   "job_title": "مدیر خرید", "phones": [{"number": "۰۹۱۲ ۳۴۵ ۶۷۸۹"}],
                   "emails": [{"address": "Sara@Ava.Example.IR"}], "province": "اصفهان",
                   "source": "exhibition"}),
        );
        assert_eq!(sara["status"], "new");
        assert_eq!(sara["last_name"], "احمدی");
        assert_eq!(sara["phones"][0]["number"], "+989123456789");
        assert_eq!(sara["phones"][0]["type"], "mobile");
        assert_eq!(sara["emails"][0]["address"], "sara@ava.example.ir");
        assert_eq!(sara["owner_id"], seller_id.to_string());
        assert_eq!(sara["display_name"], "سارا احمدی");
        create_lead(
            app,
            &admin,
            json!({"first_name": "علی", "last_name": "کریمی", "source": "website"}),
        );
        create_lead(app, &seller, json!({"company": "صنایع نور"}));

        // Arabic yeh and kaf find the Persian letters; a phone in its national form.
        assert_eq!(
            names(&search(app, &admin, json!({"q": "علي كريمي"}))),
            ["علی کریمی"]
        );
        assert_eq!(
            names(&search(app, &admin, json!({"q": "09123456789"}))),
            ["سارا احمدی"]
        );
        assert_eq!(
            names(&search(
                app,
                &admin,
                json!({"filter": {"field": "source", "op": "eq", "value": "website"}})
            )),
            ["علی کریمی"]
        );
        // The seller sees their two, the other seller none, by list, search and id.
        assert_eq!(search(app, &seller, json!({})).len(), 2);
        assert!(search(app, &other, json!({"q": "سارا"})).is_empty());
        let (status, page) = send(app, Method::GET, LEADS, &other, None);
        assert_eq!(
            (status, page["data"].as_array().map(Vec::len)),
            (200, Some(0))
        );
        let path = format!("{LEADS}/{}", id_of(&sara));
        for (method, body) in [(Method::GET, None), (Method::POST, Some(json!({})))] {
            let target = if method == Method::POST {
                format!("{path}/convert")
            } else {
                path.clone()
            };
            let (status, _) = send(app, method.clone(), &target, &other, body);
            assert_eq!(status, 404, "{method} {target}");
        }
        // Deleting needs `records:delete`, which sales users do not have.
        let (status, _) = send(app, Method::DELETE, &path, &other, None);
        assert_eq!(status, 403);
        let (status, _) = merge_patch(app, &path, &other, &json!({"status": "contacted"}));
        assert_eq!(status, 404);
        // Nor may a seller hand a lead to someone else.
        let (status, problem) = send(
            app,
            Method::POST,
            LEADS,
            &seller,
            Some(json!({"company": "x", "owner_id": uuid::Uuid::now_v7()})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("owner_id".to_string(), "not_allowed".to_string())]
        );

        // Status rules and If-Match.
        let (status, problem) =
            merge_patch(app, &path, &seller, &json!({"status": "disqualified"}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("disqualified_reason".to_string(), "required".to_string())]
        );
        let (status, disqualified) = merge_patch(
            app,
            &path,
            &seller,
            &json!({"status": "disqualified", "disqualified_reason": "بودجه ندارد"}),
        );
        assert_eq!(status, 200, "{disqualified}");
        let stale = merge_patch_request(app, &path, &seller)
            .header("If-Match", "\"1\"")
            .body(json!({"status": "new"}).to_string())
            .send()
            .expect("patch");
        assert_problem(stale, 412, "precondition_failed");
        let (status, reopened) = merge_patch(
            app,
            &path,
            &seller,
            &json!({"status": "qualified", "disqualified_reason": null}),
        );
        assert_eq!(
            (status, reopened["status"].clone()),
            (200, json!("qualified"))
        );
        let (status, problem) = merge_patch(app, &path, &seller, &json!({"status": "converted"}));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("status".to_string(), "set_by_conversion".to_string())]
        );

        // Bad input names the field and the rule, never a 500.
        let (status, problem) = send(
            app,
            Method::POST,
            LEADS,
            &seller,
            Some(json!({"company": "a\u{0}b"})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("company".to_string(), "nul_character".to_string())]
        );
        let (status, problem) = send(
            app,
            Method::POST,
            LEADS,
            &seller,
            Some(json!({"company": "آوا", "emails": [{"address": "nope"}],
                        "phones": [{"number": "0912"}]})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [
                ("phones[0].number".to_string(), "invalid_length".to_string()),
                (
                    "emails[0].address".to_string(),
                    "invalid_format".to_string()
                ),
            ]
        );
        let (status, problem) = send(app, Method::POST, LEADS, &seller, Some(json!({})));
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("last_name".to_string(), "required".to_string())]
        );
    });
}

#[test]
fn conversion_creates_or_links_customers_in_one_transaction() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let lead = create_lead(
            app,
            &admin,
            json!({"first_name": "نرگس", "last_name": "رضایی", "company": "پخش سپهر",
                   "job_title": "کارشناس خرید", "phones": [{"number": "09351112233"}],
                   "province": "تهران", "city": "تهران", "source": "referral",
                   "campaign": "yalda-1405"}),
        );
        let convert = |id: &str, body: Value| {
            send(
                app,
                Method::POST,
                &format!("{LEADS}/{id}/convert"),
                &admin,
                Some(body),
            )
        };
        let (status, converted) = convert(&id_of(&lead), json!({}));
        assert_eq!(status, 200, "{converted}");
        assert_eq!(converted["lead"]["status"], "converted");
        let person = converted["conversion"]["person_id"]
            .as_str()
            .expect("person")
            .to_string();
        let organization = converted["conversion"]["organization_id"]
            .as_str()
            .expect("organization")
            .to_string();
        assert_eq!(
            converted["conversion"]["created"].as_array().unwrap().len(),
            2
        );
        assert_eq!(converted["lead"]["converted_customer_id"], person.as_str());
        let (_, customer) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{person}"),
            &admin,
            None,
        );
        assert_eq!(customer["kind"], "person");
        assert_eq!(customer["last_name"], "رضایی");
        assert_eq!(customer["phones"][0]["number"], "+989351112233");
        assert_eq!(customer["acquisition_source"], "referral");
        assert_eq!(customer["acquisition_campaign"], "yalda-1405");
        assert_eq!(customer["addresses"][0]["province"], "تهران");
        let (_, personnel) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{organization}/personnel"),
            &admin,
            None,
        );
        assert_eq!(personnel[0]["person_id"], person.as_str(), "{personnel}");
        assert_eq!(personnel[0]["role"], "کارشناس خرید");
        // The customer's earlier life as a lead.
        let came_from = search(
            app,
            &admin,
            json!({"filter": {"field": "converted_customer_id", "op": "eq", "value": person}}),
        );
        assert_eq!(came_from.len(), 1);
        let (_, overview) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{person}/overview"),
            &admin,
            None,
        );
        assert_eq!(
            overview["leads"][0]["id"],
            id_of(&lead).as_str(),
            "{overview}"
        );
        // A converted lead is final.
        let (status, _) = convert(&id_of(&lead), json!({}));
        assert_eq!(status, 409);
        let (status, _) = merge_patch(
            app,
            &format!("{LEADS}/{}", id_of(&lead)),
            &admin,
            &json!({"city": "کرج"}),
        );
        assert_eq!(status, 409);

        // A lead whose phone an existing customer has: the duplicate check stops the
        // conversion and nothing is written; naming the customer links it.
        let existing = create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "مریم", "last_name": "نیک‌نام",
                   "phones": [{"number": "09127778899"}]}),
        );
        let twin = create_lead(
            app,
            &admin,
            json!({"first_name": "مريم", "last_name": "نیکنام", "company": "گروه آفتاب",
                   "phones": [{"number": "+98 912 777 8899"}]}),
        );
        let (status, problem) = convert(&id_of(&twin), json!({}));
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["code"], "likely_duplicate");
        let unchanged = search(
            app,
            &admin,
            json!({"filter": {"field": "id", "op": "eq", "value": id_of(&twin)}}),
        );
        assert_eq!(unchanged[0]["status"], "new");
        let organizations = |name: &str| {
            let (_, page) = send(
                app,
                Method::POST,
                "/api/v1/customers/search",
                &admin,
                Some(json!({"q": name})),
            );
            page["data"].as_array().unwrap().len()
        };
        assert_eq!(organizations("گروه آفتاب"), 0, "nothing half-written");
        let (status, linked) = convert(&id_of(&twin), json!({"customer_id": id_of(&existing)}));
        assert_eq!(status, 200, "{linked}");
        assert_eq!(linked["conversion"]["person_id"], id_of(&existing).as_str());
        let created = linked["conversion"]["created"].as_array().unwrap();
        assert_eq!(created.len(), 1, "only the organization is new");
        assert_eq!(created[0], linked["conversion"]["organization_id"]);
        let (status, problem) = convert(
            &id_of(&create_lead(app, &admin, json!({"last_name": "تست"}))),
            json!({"customer_id": linked["conversion"]["organization_id"]}),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("customer_id".to_string(), "wrong_kind".to_string())]
        );

        // A conversion may open a deal too, in the same transaction.
        let buyer = create_lead(
            app,
            &admin,
            json!({"first_name": "کاوه", "last_name": "مهرآیین", "company": "فولاد البرز",
                   "source": "exhibition"}),
        );
        let (status, problem) = convert(
            &id_of(&buyer),
            json!({"deal": {"title": "خط تولید", "amount": -5}}),
        );
        assert_eq!(status, 422, "{problem}");
        assert!(
            field_codes(&problem)
                .iter()
                .all(|(field, _)| field.starts_with("deal.")),
            "{problem}"
        );
        assert_eq!(organizations("فولاد البرز"), 0, "nothing half-written");
        let (status, with_deal) = convert(
            &id_of(&buyer),
            json!({"deal": {"title": "خط تولید", "amount": 5_000_000_000_i64}}),
        );
        assert_eq!(status, 200, "{with_deal}");
        let deal_id = with_deal["conversion"]["deal_id"]
            .as_str()
            .expect("deal")
            .to_string();
        let (status, deal) = send(
            app,
            Method::GET,
            &format!("/api/v1/deals/{deal_id}"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{deal}");
        assert_eq!(
            deal["customer_id"],
            with_deal["conversion"]["organization_id"]
        );
        assert_eq!(
            deal["contact_ids"],
            json!([with_deal["conversion"]["person_id"]])
        );
        assert_eq!(deal["lead_id"], id_of(&buyer).as_str());
        assert_eq!(deal["source"], "exhibition");

        // The personal-data export shows the lead; erasure deletes it.
        let (status, data) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{person}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(data["leads"][0]["id"], id_of(&lead).as_str());
        assert_eq!(data["held_in"]["leads"], 1);
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{person}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["leads"], 1);
        let (status, _) = send(
            app,
            Method::GET,
            &format!("{LEADS}/{}", id_of(&lead)),
            &admin,
            None,
        );
        assert_eq!(status, 404);
    });
}

#[test]
fn static_lists_hold_the_leads_their_users_may_see() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, seller_email, password) = app.create_user("sales", None);
        let seller = app.login(&seller_email, &password).access_token;
        let mine = id_of(&create_lead(app, &seller, json!({"company": "فهرست یک"})));
        let also_mine = id_of(&create_lead(app, &seller, json!({"company": "فهرست دو"})));
        let theirs = id_of(&create_lead(app, &admin, json!({"company": "فهرست سه"})));

        let (status, list) = send(
            app,
            Method::POST,
            "/api/v1/lead-lists",
            &seller,
            Some(json!({"name": "تماس‌های نمایشگاه"})),
        );
        assert_eq!(status, 201, "{list}");
        let members = format!("/api/v1/lead-lists/{}/members", id_of(&list));
        let (status, change) = send(
            app,
            Method::POST,
            &members,
            &seller,
            Some(json!({"action": "add", "lead_ids": [mine, also_mine, theirs, mine]})),
        );
        assert_eq!(status, 200, "{change}");
        assert_eq!(change["changed"], 2);
        assert_eq!(change["not_found"], json!([theirs]));
        let (_, again) = send(
            app,
            Method::POST,
            &members,
            &admin,
            Some(json!({"action": "add", "lead_ids": [mine, theirs]})),
        );
        assert_eq!(
            (again["changed"].clone(), again["unchanged"].clone()),
            (json!(1), json!(1))
        );
        let in_list = json!({"filter": {"field": "list_id", "op": "eq", "value": id_of(&list)}});
        assert_eq!(search(app, &admin, in_list.clone()).len(), 3);
        // The seller sees the list's members they may see, not the admin's lead.
        assert_eq!(search(app, &seller, in_list.clone()).len(), 2);
        let (_, removed) = send(
            app,
            Method::POST,
            &members,
            &seller,
            Some(json!({"action": "remove", "lead_ids": [also_mine]})),
        );
        assert_eq!(removed["changed"], 1);
        // Deleting a lead takes it out of its lists.
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("{LEADS}/{theirs}"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        let (_, list_now) = send(
            app,
            Method::GET,
            &format!("/api/v1/lead-lists/{}", id_of(&list)),
            &admin,
            None,
        );
        assert_eq!(list_now["members"], 1);
        let not_in = json!({"filter": {"field": "list_id", "op": "neq", "value": id_of(&list)}});
        assert!(search(app, &seller, not_in)
            .iter()
            .all(|lead| lead["id"] != mine.as_str()));

        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/lead-lists",
            &seller,
            Some(json!({"name": "تماس‌های نمایشگاه"})),
        );
        assert_eq!((status, problem["code"].clone()), (409, json!("conflict")));
        let (status, problem) = send(
            app,
            Method::POST,
            &members,
            &seller,
            Some(json!({"action": "add", "lead_ids": []})),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            [("lead_ids".to_string(), "out_of_range".to_string())]
        );
        // A thousand and one ids, and control characters, are refused with the rule.
        let many: Vec<String> = (0..1_001)
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let (status, problem) = send(
            app,
            Method::POST,
            &members,
            &seller,
            Some(json!({"action": "add", "lead_ids": many})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("lead_ids".to_string(), "out_of_range".to_string())]
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/lead-lists",
            &seller,
            Some(json!({"name": "a\u{0}b\u{7}"})),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_codes(&problem)[0].0, "name");
        // A read-only user reads lists and leads but changes neither.
        let (_, reader_email, _) = app.create_user("read_only", None);
        let reader = app.login(&reader_email, &password).access_token;
        let (status, _) = send(app, Method::GET, "/api/v1/lead-lists", &reader, None);
        assert_eq!(status, 200);
        for (path, body) in [
            ("/api/v1/lead-lists".to_string(), json!({"name": "خواننده"})),
            (
                members.clone(),
                json!({"action": "add", "lead_ids": [mine]}),
            ),
            (LEADS.to_string(), json!({"company": "خواننده"})),
            (format!("{LEADS}/{mine}/convert"), json!({})),
        ] {
            let (status, _) = send(app, Method::POST, &path, &reader, Some(body));
            assert_eq!(status, 403, "{path}");
        }
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/lead-lists/{}", id_of(&list)),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        let (status, _) = send(app, Method::GET, &format!("{LEADS}/{mine}"), &seller, None);
        assert_eq!(status, 200, "the list goes, its leads stay");
    });
}

/// Defines a custom field; answers its id.
fn define_field(app: &TestApp, token: &str, body: Value) -> String {
    let (status, field) = send(
        app,
        Method::POST,
        "/api/v1/custom-fields",
        token,
        Some(body),
    );
    assert_eq!(status, 201, "{field}");
    id_of(&field)
}

#[test]
fn leads_carry_custom_fields_searched_and_carried_to_their_customer() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        define_field(
            app,
            &admin,
            json!({"key": "budget", "label": "بودجه", "kind": "integer", "entity": "lead"}),
        );
        let interest = define_field(
            app,
            &admin,
            json!({"key": "interest", "label": "علاقه", "kind": "select",
                   "options": ["قهوه", "چای"], "entity": "lead"}),
        );
        define_field(
            app,
            &admin,
            json!({"key": "met_at_fair", "label": "نمایشگاه", "kind": "boolean", "entity": "lead"}),
        );
        // The same key as a lead field, of the same kind: conversion carries it over; one
        // of another kind is left behind.
        define_field(
            app,
            &admin,
            json!({"key": "budget", "label": "بودجه", "kind": "integer"}),
        );
        define_field(
            app,
            &admin,
            json!({"key": "met_at_fair", "label": "نمایشگاه", "kind": "text"}),
        );
        // A key is unique within its entity.
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/custom-fields",
            &admin,
            Some(json!({"key": "budget", "label": "x", "kind": "text", "entity": "lead"})),
        );
        assert_eq!(status, 409, "{problem}");

        let lead = create_lead(
            app,
            &admin,
            json!({"first_name": "مینا", "last_name": "صدری", "phones": [{"number": "09121110000"}],
                   "custom_fields": {"budget": "۵۰۰", "interest": "قهوه", "met_at_fair": true}}),
        );
        assert_eq!(
            lead["custom_fields"],
            json!({"budget": 500, "interest": "قهوه", "met_at_fair": true})
        );
        let path = format!("{LEADS}/{}", id_of(&lead));
        let (_, read) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(read["custom_fields"], lead["custom_fields"]);

        // Every broken value is named with the lead's own rules; nothing is written.
        let (status, problem) = send(
            app,
            Method::POST,
            LEADS,
            &admin,
            Some(json!({"custom_fields": {"budget": "many", "interest": "کاکائو", "colour": "x"}})),
        );
        assert_eq!(status, 422, "{problem}");
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            [
                ("custom_fields.budget", "invalid_type"),
                ("custom_fields.colour", "unknown_field"),
                ("custom_fields.interest", "not_an_option"),
                ("last_name", "required"),
            ]
            .map(|(f, c)| (f.to_string(), c.to_string()))
        );

        // Merge Patch merges members, `null` removes one, a bad value changes nothing.
        let (status, patched) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"custom_fields": {"interest": "چای", "met_at_fair": null}}),
        );
        assert_eq!(status, 200, "{patched}");
        assert_eq!(
            patched["custom_fields"],
            json!({"budget": 500, "interest": "چای"})
        );
        let (status, problem) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"custom_fields": {"budget": true}}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [(
                "custom_fields.budget".to_string(),
                "invalid_type".to_string()
            )]
        );
        merge_patch(
            app,
            &path,
            &admin,
            &json!({"custom_fields": {"met_at_fair": true}}),
        );

        // The search filters on `custom.<key>` by the field's type.
        create_lead(
            app,
            &admin,
            json!({"company": "کافه نور", "custom_fields": {"budget": 90, "interest": "قهوه"}}),
        );
        let found = |filter: Value| {
            names(&search(
                app,
                &admin,
                json!({"filter": filter, "sort": [{"field": "display_name"}]}),
            ))
        };
        assert_eq!(
            found(json!({"field": "custom.budget", "op": "gte", "value": 100})),
            ["مینا صدری"]
        );
        assert_eq!(
            found(json!({"field": "custom.interest", "op": "eq", "value": "قهوه"})),
            ["کافه نور"]
        );
        assert_eq!(
            found(json!({"field": "custom.met_at_fair", "op": "is_null", "value": true})),
            ["کافه نور"]
        );
        assert_eq!(
            found(json!({"field": "custom.met_at_fair", "op": "eq", "value": true})),
            ["مینا صدری"]
        );
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/leads/search",
            &admin,
            Some(json!({"filter": {"field": "custom.colour", "op": "eq", "value": "x"}})),
        );
        assert_eq!(status, 422, "{problem}");

        // A lead field with values cannot be deleted.
        let response = app
            .authed(
                Method::DELETE,
                &format!("/api/v1/custom-fields/{interest}"),
                &admin,
            )
            .send()
            .unwrap();
        assert_problem(response, 409, "conflict");

        // Conversion carries `budget` (a customer field of the same kind) to the person;
        // `met_at_fair` (text for customers) and `interest` (no customer field) stay.
        let (status, converted) = send(
            app,
            Method::POST,
            &format!("{path}/convert"),
            &admin,
            Some(json!({})),
        );
        assert_eq!(status, 200, "{converted}");
        let person = converted["conversion"]["person_id"].as_str().unwrap();
        let (_, customer) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{person}"),
            &admin,
            None,
        );
        assert_eq!(customer["custom_fields"], json!({"budget": 500}));

        // The personal-data export shows the lead with its custom values; erasure
        // deletes it, and with it the values.
        let (status, data) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{person}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(
            data["leads"][0]["custom_fields"],
            json!({"budget": 500, "interest": "چای", "met_at_fair": true})
        );
        let (status, erased) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{person}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["erased"]["leads"], 1);
        let (status, _) = send(app, Method::GET, &path, &admin, None);
        assert_eq!(status, 404);
        assert_eq!(
            found(json!({"field": "custom.budget", "op": "gte", "value": 100})),
            Vec::<String>::new()
        );
    });
}
