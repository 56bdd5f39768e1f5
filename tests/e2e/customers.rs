//! Customer 360: field round trips, validators, Persian-aware search, visibility,
//! notes, personnel, labels, custom fields, the 360 view, duplicates on create, consent
//! and erasure, business settings.

use e2e::support::{
    create_customer, field_codes, for_each_backend, merge_patch, merge_patch_request, send, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

fn search(app: &TestApp, token: &str, body: Value) -> Vec<Value> {
    let response = app
        .authed(Method::POST, "/api/v1/customers/search", token)
        .json(&body)
        .send()
        .unwrap();
    let status = response.status();
    let body: Value = response.json().unwrap();
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

fn names(found: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = found
        .iter()
        .map(|c| c["display_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn every_field_round_trips_for_persons_and_organizations() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tier = app
            .authed(Method::POST, "/api/v1/tiers", &admin)
            .json(&json!({"name": "طلایی", "rank": 1}))
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap();
        let tag = app
            .authed(Method::POST, "/api/v1/tags", &admin)
            .json(&json!({"name": "VIP", "color": "#C62828"}))
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap();
        let group = app
            .authed(Method::POST, "/api/v1/customer-groups", &admin)
            .json(&json!({"name": "عمده‌فروشان"}))
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap();
        let field = app
            .authed(Method::POST, "/api/v1/custom-fields", &admin)
            .json(&json!({"key": "employees", "label": "کارکنان", "kind": "integer"}))
            .send()
            .unwrap();
        assert_eq!(field.status(), 201);
        let organization = create_customer(
            app,
            &admin,
            json!({
                "kind": "organization", "code": "ORG-1", "organization_name": "شرکت نمونه",
                "industry": "پخش مواد غذایی", "website": "example.ir", "national_id": "10380284790",
                "founding_date": "1998-05-01",
                "phones": [{"number": "021-88001122", "label": "دفتر"}, {"number": "021-88001123", "type": "fax"}],
                "emails": [{"address": "Info@Example.IR"}],
                "addresses": [{"province": "تهران", "city": "تهران", "line": "خیابان ولیعصر", "postal_code": "1966936541", "po_box": "۱۹۳۹۵-۱۲۳۴"}],
                "tier_id": tier["id"], "tag_ids": [tag["id"]], "group_ids": [group["id"]],
                "acquisition_source": "exhibition", "acquisition_channel": "in_person", "acquisition_campaign": "Iran Food 1405",
                "custom_fields": {"employees": "۱۲۰"}
            }),
        );
        let person = create_customer(
            app,
            &admin,
            json!({
                "kind": "person", "code": "C-1", "title": "دکتر", "gender": "female",
                "first_name": "مریم", "last_name": "کریمی",
                "phones": [{"number": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}, {"number": "+44 20 7946 0958", "label": "London"}],
                "emails": [{"address": "maryam@example.ir"}, {"address": "m.karimi@example.com", "primary": true}],
                "national_code": "0076229645", "birth_certificate_number": "۱۲۳۴",
                "birth_date": "1985-03-21", "marriage_date": "2010-06-01",
                "field_of_study": "مهندسی صنایع", "degree": "master",
                "lifecycle_stage": "consideration",
                "referred_by_customer_id": organization["id"]
            }),
        );
        let fetched: Value = app
            .authed(
                Method::GET,
                &format!("/api/v1/customers/{}", person["id"].as_str().unwrap()),
                &admin,
            )
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(fetched, person);
        assert_eq!(person["display_name"], "مریم کریمی");
        assert_eq!(person["phones"][0]["number"], "+989121234567");
        assert_eq!(person["phones"][0]["type"], "mobile");
        assert_eq!(person["phones"][0]["primary"], true);
        assert_eq!(person["phones"][1]["number"], "+442079460958");
        assert_eq!(person["phones"][1]["type"], "other");
        assert_eq!(person["emails"][1]["primary"], true);
        assert_eq!(person["emails"][0]["primary"], false);
        assert_eq!(person["birth_certificate_number"], "1234");
        assert_eq!(person["birth_date"], "1985-03-21");
        assert_eq!(
            person["jalali_dates"]["birth_date"], "1364/01/01",
            "Nowruz 1364"
        );
        assert_eq!(person["jalali_dates"]["marriage_date"], "1389/03/11");
        assert_eq!(person["degree"], "master");
        assert_eq!(person["referred_by_customer_id"], organization["id"]);
        assert!(
            person["owner_id"].is_string(),
            "the creator owns it by default"
        );

        assert_eq!(organization["emails"][0]["address"], "info@example.ir");
        assert_eq!(organization["website"], "https://example.ir");
        assert_eq!(organization["phones"][1]["type"], "fax");
        assert_eq!(organization["addresses"][0]["po_box"], "19395-1234");
        assert_eq!(organization["custom_fields"]["employees"], 120);
        assert_eq!(organization["tag_ids"], json!([tag["id"]]));
        assert_eq!(organization["group_ids"], json!([group["id"]]));
        assert_eq!(organization["tier_id"], tier["id"]);
        assert_eq!(organization["founding_date"], "1998-05-01");
        assert_eq!(organization["jalali_dates"]["founding_date"], "1377/02/11");

        // A merge patch changes one field, keeps the others, and moves the lifecycle.
        let path = format!("/api/v1/customers/{}", person["id"].as_str().unwrap());
        let (status, changed) = merge_patch(
            app,
            &path,
            &admin,
            &json!({"lifecycle_stage": "purchase", "title": null}),
        );
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["lifecycle_stage"], "purchase");
        assert!(changed["title"].is_null());
        assert_eq!(changed["national_code"], "0076229645");
        let overview: Value = app
            .authed(Method::GET, &format!("{path}/overview"), &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let stages: Vec<&str> = overview["lifecycle_history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["to_stage"].as_str().unwrap())
            .collect();
        assert_eq!(stages, ["consideration", "purchase"]);
        for section in ["open_deals", "orders", "tickets", "campaigns", "loyalty"] {
            assert_eq!(overview[section], json!([]), "{section}");
        }
        // Its timeline so far: the lifecycle moves, newest first.
        let moves: Vec<&str> = overview["recent_interactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "lifecycle_changed")
            .map(|e| e["summary"].as_str().unwrap())
            .collect();
        assert_eq!(moves.len(), 2, "{}", overview["recent_interactions"]);
        assert!(moves[0].contains("purchase"), "{moves:?}");
        // No model run has scored the new customer.
        assert_eq!(
            overview["scores"],
            json!({"rfm": null, "clv": null, "cluster": null, "churn": null, "recommendations": null})
        );

        // Kind-specific fields are refused, a taken code is a conflict.
        let wrong = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&json!({"kind": "organization", "organization_name": "X", "first_name": "Y"}))
            .send()
            .unwrap();
        assert_eq!(wrong.status(), 422);
        assert!(field_codes(&wrong.json().unwrap())
            .contains(&("first_name".into(), "not_allowed_for_kind".into())));
        let taken = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .header("Peyvand-Confirm-Duplicate", "true")
            .json(&json!({"kind": "person", "last_name": "Other", "code": "C-1"}))
            .send()
            .unwrap();
        assert_eq!(taken.status(), 409);
    });
}

#[test]
fn validators_name_the_field_and_rule_and_write_nothing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let response = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&json!({
                "kind": "person", "last_name": "Test",
                "national_code": "0076229646",
                "phones": [{"number": "0912"}],
                "addresses": [{"postal_code": "1234"}],
                "emails": [{"address": "no-at-sign"}],
                "owner_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
                "custom_fields": {"unknown": 1}
            }))
            .send()
            .unwrap();
        assert_eq!(response.status(), 422);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().unwrap();
        let codes = field_codes(&problem);
        for expected in [
            ("national_code", "invalid_checksum"),
            ("addresses[0].postal_code", "invalid_length"),
            ("emails[0].address", "invalid_format"),
            ("owner_id", "not_found"),
            ("custom_fields.unknown", "unknown_field"),
        ] {
            assert!(
                codes.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {codes:?}"
            );
        }
        assert!(
            codes.iter().any(|(field, _)| field == "phones[0].number"),
            "{codes:?}"
        );
        let unknown = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&json!({"kind": "person", "last_name": "x", "nickname": "y"}))
            .send()
            .unwrap();
        assert_eq!(unknown.status(), 422);
        assert!(
            search(app, &admin, json!({})).is_empty(),
            "nothing was written"
        );
    });
}

#[test]
fn quick_search_is_persian_aware() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "علی", "last_name": "کریمی", "phones": [{"number": "09121234567"}]}),
        );
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "علی‌رضا", "last_name": "محمدی", "emails": [{"address": "alireza@example.ir"}]}),
        );
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "Ali", "last_name": "Rezaei", "national_code": "0011537027"}),
        );
        create_customer(
            app,
            &admin,
            json!({"kind": "organization", "organization_name": "كافه نادري", "addresses": [{"city": "تهران"}]}),
        );
        let q = |text: &str| names(&search(app, &admin, json!({"q": text})));

        assert_eq!(
            q("علي"),
            ["علی کریمی", "علی‌رضا محمدی"],
            "Arabic yeh finds Persian yeh"
        );
        assert_eq!(q("كريمي"), ["علی کریمی"], "Arabic kaf and yeh");
        assert_eq!(q("۰۹۱۲"), ["علی کریمی"], "Persian digits find ASCII digits");
        assert_eq!(q("0912 123"), ["علی کریمی"]);
        assert_eq!(q("+98912"), ["علی کریمی"]);
        assert_eq!(q("علی رضا"), ["علی‌رضا محمدی"], "space matches half-space");
        assert_eq!(q("علیرضا"), ["علی‌رضا محمدی"]);
        assert_eq!(q("علی\u{200C}رضا"), ["علی‌رضا محمدی"], "half-space query");
        assert_eq!(
            q("ALI"),
            ["Ali Rezaei", "علی‌رضا محمدی"],
            "Latin is case-insensitive"
        );
        assert_eq!(
            q("کافه نادری"),
            ["كافه نادري"],
            "stored Arabic forms are found by Persian ones"
        );
        assert_eq!(q("0011537027"), ["Ali Rezaei"]);
        assert_eq!(q("al"), ["Ali Rezaei", "علی‌رضا محمدی"], "two-letter terms");
        assert!(q("نیست").is_empty());

        // Filters on related rows and the filter tree with a quick search.
        let by_phone = search(
            app,
            &admin,
            json!({"filter": {"field": "phone", "op": "eq", "value": "0912 123 4567"}}),
        );
        assert_eq!(names(&by_phone), ["علی کریمی"]);
        let by_city = search(
            app,
            &admin,
            json!({"filter": {"and": [
            {"field": "city", "op": "eq", "value": "تهران"},
            {"field": "kind", "op": "eq", "value": "organization"}]}}),
        );
        assert_eq!(names(&by_city), ["كافه نادري"]);
        let sorted = search(
            app,
            &admin,
            json!({"sort": [{"field": "display_name", "direction": "asc"}], "limit": 2}),
        );
        assert_eq!(sorted.len(), 2);
    });
}

#[test]
fn custom_fields_are_validated_and_searchable() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        for body in [
            json!({"key": "branch", "label": "شعبه", "kind": "select", "options": ["Vanak", "Tajrish"]}),
            json!({"key": "visits", "label": "Visits", "kind": "integer"}),
            json!({"key": "member_since", "label": "Member since", "kind": "date"}),
        ] {
            let response = app
                .authed(Method::POST, "/api/v1/custom-fields", &admin)
                .json(&body)
                .send()
                .unwrap();
            assert_eq!(response.status(), 201);
        }
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "last_name": "A", "custom_fields": {"branch": "Vanak", "visits": 3, "member_since": "2020-01-01"}}),
        );
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "last_name": "B", "custom_fields": {"branch": "Tajrish", "visits": 12}}),
        );
        let bad = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&json!({"kind": "person", "last_name": "C", "custom_fields": {"branch": "Pasdaran", "visits": "many"}}))
            .send()
            .unwrap();
        assert_eq!(bad.status(), 422);
        let codes = field_codes(&bad.json().unwrap());
        assert!(codes.contains(&("custom_fields.branch".into(), "not_an_option".into())));
        assert!(codes.contains(&("custom_fields.visits".into(), "invalid_type".into())));

        let filter = |f: Value| names(&search(app, &admin, json!({"filter": f})));
        assert_eq!(
            filter(json!({"field": "custom.branch", "op": "eq", "value": "Vanak"})),
            ["A"]
        );
        assert_eq!(
            filter(json!({"field": "custom.visits", "op": "gte", "value": 10})),
            ["B"]
        );
        assert_eq!(
            filter(json!({"field": "custom.member_since", "op": "is_null", "value": true})),
            ["B"]
        );
        let unknown = app
            .authed(Method::POST, "/api/v1/customers/search", &admin)
            .json(&json!({"filter": {"field": "custom.nope", "op": "eq", "value": 1}}))
            .send()
            .unwrap();
        assert_eq!(unknown.status(), 422);

        // A definition without `entity` is the customers'; a product's field, even a
        // required one, is no field of customers.
        let (status, fields) = send(app, Method::GET, "/api/v1/custom-fields", &admin, None);
        assert_eq!(status, 200, "{fields}");
        assert!(fields["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["entity"] == "customer"));
        let (status, product_field) = send(
            app,
            Method::POST,
            "/api/v1/custom-fields",
            &admin,
            Some(
                json!({"key": "warranty_months", "label": "گارانتی", "kind": "integer",
                        "required": true, "entity": "product"}),
            ),
        );
        assert_eq!(status, 201, "{product_field}");
        assert_eq!(product_field["entity"], "product");
        create_customer(app, &admin, json!({"kind": "person", "last_name": "D"}));
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/customers",
            &admin,
            Some(
                json!({"kind": "person", "last_name": "E", "custom_fields": {"warranty_months": 3}}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![(
                "custom_fields.warranty_months".to_string(),
                "unknown_field".to_string()
            )]
        );
        let (status, _) = send(
            app,
            Method::POST,
            "/api/v1/customers/search",
            &admin,
            Some(json!({"filter": {"field": "custom.warranty_months", "op": "eq", "value": 3}})),
        );
        assert_eq!(status, 422);
        let (status, problem) = send(
            app,
            Method::POST,
            "/api/v1/custom-fields",
            &admin,
            Some(json!({"key": "size", "label": "Size", "kind": "text", "entity": "order"})),
        );
        assert_eq!(status, 422, "{problem}");
    });
}

#[test]
fn own_visibility_hides_other_owners_customers_everywhere() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        let (_, other_email, other_password) = app.create_user("sales", Some("own"));
        let other = app.login(&other_email, &other_password).access_token;

        let mine = create_customer(app, &sales, json!({"kind": "person", "last_name": "Mine"}));
        let theirs = create_customer(
            app,
            &other,
            json!({"kind": "person", "last_name": "Theirs"}),
        );
        let theirs_path = format!("/api/v1/customers/{}", theirs["id"].as_str().unwrap());

        for path in [
            theirs_path.clone(),
            format!("{theirs_path}/overview"),
            format!("{theirs_path}/notes"),
            format!("{theirs_path}/consents"),
            format!("{theirs_path}/personnel"),
        ] {
            let response = app.authed(Method::GET, &path, &sales).send().unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
        assert_eq!(
            merge_patch(app, &theirs_path, &sales, &json!({"last_name": "Stolen"})).0,
            404
        );
        let note = app
            .authed(Method::POST, &format!("{theirs_path}/notes"), &sales)
            .json(&json!({"body": "x"}))
            .send()
            .unwrap();
        assert_eq!(note.status(), 404);
        assert_eq!(names(&search(app, &sales, json!({}))), ["Mine"]);
        assert!(search(app, &sales, json!({"q": "Theirs"})).is_empty());
        let listed: Value = app
            .authed(Method::GET, "/api/v1/customers", &sales)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        // Nor can they hand a customer to someone else's scope.
        let (other_id, _, _) = app.create_user("sales", Some("own"));
        let handed = merge_patch(
            app,
            &format!("/api/v1/customers/{}", mine["id"].as_str().unwrap()),
            &sales,
            &json!({"owner_id": other_id}),
        );
        assert_eq!(handed.0, 422, "{}", handed.1);
        // The admin sees both; a read-only user cannot write.
        assert_eq!(names(&search(app, &admin, json!({}))), ["Mine", "Theirs"]);
        let (_, ro_email, ro_password) = app.create_user("read_only", None);
        let read_only = app.login(&ro_email, &ro_password).access_token;
        let refused = app
            .authed(Method::POST, "/api/v1/customers", &read_only)
            .json(&json!({"kind": "person", "last_name": "x"}))
            .send()
            .unwrap();
        assert_eq!(refused.status(), 403);
        assert_eq!(
            app.client()
                .get(app.url("/api/v1/customers"))
                .send()
                .unwrap()
                .status(),
            401
        );
    });
}

#[test]
fn notes_personnel_and_owner_changes() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (seller, _, _) = app.create_user("sales", Some("own"));
        let org = create_customer(
            app,
            &admin,
            json!({"kind": "organization", "organization_name": "Acme"}),
        );
        let org2 = create_customer(
            app,
            &admin,
            json!({"kind": "organization", "organization_name": "Beta"}),
        );
        let person = create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "Sara", "last_name": "Ahmadi"}),
        );
        let org_path = format!("/api/v1/customers/{}", org["id"].as_str().unwrap());
        let person_path = format!("/api/v1/customers/{}", person["id"].as_str().unwrap());

        for org_id in [&org["id"], &org2["id"]] {
            let link = app
                .authed(Method::POST, &format!("/api/v1/customers/{}/personnel", org_id.as_str().unwrap()), &admin)
                .json(&json!({"person_id": person["id"], "role": "مدیر خرید", "unit": "بازرگانی", "is_primary_contact": true}))
                .send()
                .unwrap();
            assert_eq!(link.status(), 201);
        }
        let again = app
            .authed(Method::POST, &format!("{org_path}/personnel"), &admin)
            .json(&json!({"person_id": person["id"]}))
            .send()
            .unwrap();
        assert_eq!(again.status(), 409);
        let not_person = app
            .authed(Method::POST, &format!("{org_path}/personnel"), &admin)
            .json(&json!({"person_id": org2["id"]}))
            .send()
            .unwrap();
        assert_eq!(not_person.status(), 422);
        let orgs_of_person: Value = app
            .authed(Method::GET, &format!("{person_path}/personnel"), &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(orgs_of_person.as_array().unwrap().len(), 2);

        let note = app
            .authed(Method::POST, &format!("{org_path}/notes"), &admin)
            .json(&json!({"kind": "communication_preference", "body": "فقط ایمیل؛ تماس تلفنی نه."}))
            .send()
            .unwrap();
        assert_eq!(note.status(), 201);
        let changed = merge_patch(app, &org_path, &admin, &json!({"owner_id": seller}));
        assert_eq!(changed.0, 200, "{}", changed.1);
        let overview: Value = app
            .authed(Method::GET, &format!("{org_path}/overview"), &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            overview["recent_notes"][0]["kind"],
            "communication_preference"
        );
        assert_eq!(overview["personnel"][0]["role"], "مدیر خرید");
        assert_eq!(overview["owner_history"].as_array().unwrap().len(), 1);
        assert_eq!(overview["owner_history"][0]["to_owner_id"], json!(seller));
        assert_eq!(overview["owner"]["id"], json!(seller));
    });
}

#[test]
fn labels_are_assigned_in_bulk_and_filterable() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let tag: Value = app
            .authed(Method::POST, "/api/v1/tags", &admin)
            .json(&json!({"name": "نمایشگاه ۱۴۰۵"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let same = app
            .authed(Method::POST, "/api/v1/tags", &admin)
            .json(&json!({"name": "نمايشگاه 1405"}))
            .send()
            .unwrap();
        assert_eq!(
            same.status(),
            409,
            "names compare after Persian normalisation"
        );
        let ids: Vec<Value> = (0..3)
            .map(|i| {
                create_customer(
                    app,
                    &admin,
                    json!({"kind": "person", "last_name": format!("P{i}")}),
                )["id"]
                    .clone()
            })
            .collect();
        let path = format!("/api/v1/tags/{}/assignments", tag["id"].as_str().unwrap());
        let result: Value = app
            .authed(Method::POST, &path, &admin)
            .json(&json!({"action": "add", "customer_ids": [ids[0], ids[1], "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa"]}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(result["changed"], 2);
        assert_eq!(result["not_found"].as_array().unwrap().len(), 1);
        let tagged = search(
            app,
            &admin,
            json!({"filter": {"field": "tag_id", "op": "eq", "value": tag["id"]}}),
        );
        assert_eq!(names(&tagged), ["P0", "P1"]);
        let removed: Value = app
            .authed(Method::POST, &path, &admin)
            .json(&json!({"action": "remove", "customer_ids": [ids[0]]}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(removed["changed"], 1);
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        let refused = app
            .authed(Method::POST, "/api/v1/tags", &sales)
            .json(&json!({"name": "x"}))
            .send()
            .unwrap();
        assert_eq!(refused.status(), 403);
    });
}

#[test]
fn likely_duplicates_need_confirmation() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let first = create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "رضا", "last_name": "احمدی", "emails": [{"address": "reza@example.ir"}]}),
        );
        let again = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .json(&json!({"kind": "person", "first_name": "Reza", "last_name": "A", "emails": [{"address": "REZA@example.ir"}]}))
            .send()
            .unwrap();
        assert_eq!(again.status(), 409);
        let problem: Value = again.json().unwrap();
        assert_eq!(problem["code"], "likely_duplicate");
        assert_eq!(problem["candidates"][0]["id"], first["id"]);
        assert_eq!(problem["candidates"][0]["reasons"], json!(["same_email"]));
        // Same name alone is not enough to refuse.
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "first_name": "رضا", "last_name": "احمدي"}),
        );
    });
}

#[test]
fn erasure_leaves_no_personal_data_findable() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let person = create_customer(
            app,
            &admin,
            json!({
                "kind": "person", "first_name": "نگار", "last_name": "صالحی", "national_code": "1583250689",
                "phones": [{"number": "09351112233"}], "emails": [{"address": "negar@example.ir"}],
                "lifecycle_stage": "retention"
            }),
        );
        let path = format!("/api/v1/customers/{}", person["id"].as_str().unwrap());
        app.authed(Method::POST, &format!("{path}/notes"), &admin)
            .json(&json!({"body": "نگار صالحی: تماس فقط عصرها"}))
            .send()
            .unwrap();
        let consent = app
            .authed(Method::POST, &format!("{path}/consents"), &admin)
            .json(&json!({"channel": "sms", "purpose": "marketing", "granted": true, "source": "web_form", "evidence": "form 42 by negar@example.ir"}))
            .send()
            .unwrap();
        assert_eq!(consent.status(), 201);
        let exported: Value = app
            .authed(Method::GET, &format!("{path}/personal-data"), &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(exported["customer"]["national_code"], "1583250689");
        assert_eq!(exported["notes"].as_array().unwrap().len(), 1);
        assert_eq!(exported["consents"]["ledger"].as_array().unwrap().len(), 1);

        let erased = app
            .authed(Method::POST, &format!("{path}/erasure"), &admin)
            .send()
            .unwrap();
        assert_eq!(erased.status(), 200);
        let after: Value = app
            .authed(Method::GET, &format!("{path}/personal-data"), &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let text = after.to_string();
        for secret in [
            "نگار",
            "صالحی",
            "1583250689",
            "9351112233",
            "negar@example.ir",
            "تماس فقط",
        ] {
            assert!(!text.contains(secret), "{secret} survived erasure: {text}");
        }
        assert_eq!(
            after["customer"]["lifecycle_stage"], "retention",
            "aggregates stay"
        );
        assert_eq!(
            after["consents"]["current"][0]["granted"], true,
            "the grant itself stays"
        );
        for q in ["نگار", "صالحی", "09351112233", "negar", "1583250689"] {
            assert!(
                search(app, &admin, json!({"q": q})).is_empty(),
                "{q} still finds the erased customer"
            );
        }
        assert!(search(
            app,
            &admin,
            json!({"filter": {"field": "phone", "op": "eq", "value": "09351112233"}})
        )
        .is_empty());
        let again = app
            .authed(Method::POST, &format!("{path}/erasure"), &admin)
            .send()
            .unwrap();
        assert_eq!(again.status(), 409);
        let mut conn = app.state.pool.get().unwrap();
        let chain = persistence::audit::verify(&mut conn, None, &[]).unwrap();
        assert_eq!(chain.first_broken, None, "the audit chain still verifies");
        let (_, email, password) = app.create_user("manager", None);
        let manager = app.login(&email, &password).access_token;
        assert_eq!(
            app.authed(Method::POST, &format!("{path}/erasure"), &manager)
                .send()
                .unwrap()
                .status(),
            403
        );
    });
}

#[test]
fn business_settings_default_and_change() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let response = app
            .authed(Method::GET, "/api/v1/settings/business", &admin)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let settings: Value = response.json().unwrap();
        assert_eq!(settings["time_zone"], "Asia/Tehran");
        assert_eq!(settings["weekend_days"], json!(["friday"]));
        assert_eq!(settings["default_currency"], "IRR");
        assert_eq!(settings["currency_display"], "toman");
        let bad = merge_patch(
            app,
            "/api/v1/settings/business",
            &admin,
            &json!({"time_zone": "Mars/Base"}),
        );
        assert_eq!(bad.0, 422, "{}", bad.1);
        let changed = merge_patch_request(app, "/api/v1/settings/business", &admin)
            .header("if-match", etag.clone())
            .body(json!({"weekend_days": ["thursday", "friday"], "holidays": [{"date": "2027-03-21", "name": "نوروز"}]}).to_string())
            .send()
            .unwrap();
        assert_eq!(changed.status(), 200);
        let stale = merge_patch_request(app, "/api/v1/settings/business", &admin)
            .header("if-match", etag)
            .body(json!({"default_currency": "USD"}).to_string())
            .send()
            .unwrap();
        assert_eq!(stale.status(), 412);
        let settings: Value = app
            .authed(Method::GET, "/api/v1/settings/business", &admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(settings["weekend_days"], json!(["thursday", "friday"]));
        assert_eq!(settings["holidays"][0]["name"], "نوروز");
    });
}

#[test]
fn batch_creates_each_item_on_its_own_with_a_result_per_item() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("sales", Some("own"));
        let sales = app.login(&email, &password).access_token;
        create_customer(
            app,
            &admin,
            json!({"kind": "person", "last_name": "Existing", "code": "B-1"}),
        );
        let batch = |token: &str, body: Value| {
            let response = app
                .authed(Method::POST, "/api/v1/customers/batch", token)
                .json(&body)
                .send()
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().unwrap())
        };
        let (other_id, _, _) = app.create_user("sales", Some("own"));

        let (status, body) = batch(
            &sales,
            json!({"items": [
                {"kind": "person", "last_name": "کریمی", "phones": [{"number": "0912 123 4567"}]},
                {"kind": "person", "last_name": "Bad", "national_code": "1234567890"},
                {"kind": "person", "last_name": "Taken", "code": "B-1"},
                {"kind": "person", "last_name": "Someone else's", "owner_id": other_id.to_string()},
                {"kind": "organization", "organization_name": "پیوند"}
            ]}),
        );
        assert_eq!(status, 200, "{body}");
        let statuses: Vec<u64> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [201, 422, 409, 422, 201], "{body}");
        assert_eq!(
            (body["created"].clone(), body["failed"].clone()),
            (json!(2), json!(3))
        );
        let results = body["results"].as_array().unwrap();
        assert_eq!(
            results[0]["customer"]["phones"][0]["number"],
            "+989121234567"
        );
        assert_eq!(results[1]["index"], 1);
        assert_eq!(
            field_codes(&results[1]["problem"]),
            [("national_code".to_string(), "invalid_checksum".to_string())]
        );
        assert_eq!(results[3]["problem"]["errors"][0]["field"], "owner_id");
        // Refused items wrote nothing; the created ones belong to the caller.
        let mine = search(app, &sales, json!({}));
        assert_eq!(names(&mine), ["پیوند", "کریمی"]);
        assert!(search(app, &admin, json!({"q": "bad"})).is_empty());

        let too_many: Vec<Value> = (0..101)
            .map(|i| json!({"kind": "person", "last_name": format!("P{i}")}))
            .collect();
        for (items, code) in [(json!([]), "too_short"), (json!(too_many), "too_long")] {
            let (status, problem) = batch(&admin, json!({"items": items}));
            assert_eq!(status, 422, "{problem}");
            assert_eq!(
                field_codes(&problem),
                [("items".to_string(), code.to_string())]
            );
        }
        let (_, email, password) = app.create_user("read_only", None);
        let reader = app.login(&email, &password).access_token;
        let (status, _) = batch(
            &reader,
            json!({"items": [{"kind": "person", "last_name": "X"}]}),
        );
        assert_eq!(status, 403);
    });
}
