//! Merging duplicate customers and undoing merges (D-2): what moves, what a dry run
//! leaves alone, what an undo restores, when an undo is refused, and who may merge.

use e2e::support::{
    create_customer, for_each_backend, id_of, insert_tag, merge_patch, person, send, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

fn organization(name: &str, email: &str) -> Value {
    json!({"kind": "organization", "organization_name": name, "emails": [{"address": email}]})
}

fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, body) = send(app, Method::GET, path, token, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// A customer without the fields every write changes.
fn content(app: &TestApp, token: &str, id: &str) -> Value {
    let mut customer = get(app, &format!("/api/v1/customers/{id}"), token);
    customer.as_object_mut().unwrap().remove("updated_at");
    customer
}

fn add_note(app: &TestApp, token: &str, customer: &str, body: &str) {
    let (status, _) = send(
        app,
        Method::POST,
        &format!("/api/v1/customers/{customer}/notes"),
        token,
        Some(json!({"kind": "communication_preference", "body": body})),
    );
    assert_eq!(status, 201);
}

fn note_bodies(app: &TestApp, token: &str, customer: &str) -> Vec<String> {
    let mut bodies: Vec<String> = get(app, &format!("/api/v1/customers/{customer}/notes"), token)
        ["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["body"].as_str().unwrap().to_string())
        .collect();
    bodies.sort();
    bodies
}

fn link(app: &TestApp, token: &str, organization: &str, person: &str, role: &str) {
    let (status, body) = send(
        app,
        Method::POST,
        &format!("/api/v1/customers/{organization}/personnel"),
        token,
        Some(json!({"person_id": person, "role": role})),
    );
    assert_eq!(status, 201, "{body}");
}

/// The personnel links of `customer` as (organization, person, role), sorted.
fn links(app: &TestApp, token: &str, customer: &str) -> Vec<(String, String, String)> {
    let mut links: Vec<(String, String, String)> = get(
        app,
        &format!("/api/v1/customers/{customer}/personnel"),
        token,
    )
    .as_array()
    .unwrap()
    .iter()
    .map(|link| {
        let text = |field: &str| link[field].as_str().unwrap_or_default().to_string();
        (text("organization_id"), text("person_id"), text("role"))
    })
    .collect();
    links.sort();
    links
}

fn found_by_search(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let (status, page) = send(
        app,
        Method::POST,
        "/api/v1/customers/search",
        token,
        Some(json!({"q": q})),
    );
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().iter().map(id_of).collect()
}

fn merge(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    send(
        app,
        Method::POST,
        "/api/v1/customers/merge",
        token,
        Some(body),
    )
}

fn undo(app: &TestApp, token: &str, merge_id: &str) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("/api/v1/customers/merges/{merge_id}/undo"),
        token,
        None,
    )
}

fn ids(moved: &Value) -> usize {
    moved.as_array().map_or(0, Vec::len)
}

#[test]
fn merging_moves_notes_personnel_tags_and_consent_and_undo_restores_them() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (loyal, vip) = (
            insert_tag(app, "loyal").to_string(),
            insert_tag(app, "vip").to_string(),
        );
        let mut winner = person("علی", "کریمی", "09121234567", "ali@example.ir");
        winner["tag_ids"] = json!([loyal]);
        let winner = id_of(&create_customer(app, &admin, winner));
        let mut loser = person("علي", "كريمي", "0912 123 4567", "karimi@example.ir");
        loser["tag_ids"] = json!([vip]);
        loser["title"] = json!("دکتر");
        let loser = id_of(&create_customer(app, &admin, loser));
        let pars = id_of(&create_customer(
            app,
            &admin,
            organization("شرکت پارس", "info@pars.ir"),
        ));
        let arya = id_of(&create_customer(
            app,
            &admin,
            organization("گروه آریا", "info@arya.ir"),
        ));
        link(app, &admin, &pars, &loser, "مدیر خرید");
        link(app, &admin, &arya, &loser, "مشاور");
        link(app, &admin, &arya, &winner, "مدیرعامل");
        add_note(app, &admin, &winner, "فقط پیامک");
        add_note(app, &admin, &loser, "صبح‌ها تماس بگیرید");
        add_note(app, &admin, &loser, "prefers e-mail");
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{loser}/consents"),
            &admin,
            Some(
                json!({"channel": "sms", "purpose": "marketing", "granted": true, "source": "web_form"}),
            ),
        );
        assert_eq!(status, 201);
        let (winner_before, loser_before) =
            (content(app, &admin, &winner), content(app, &admin, &loser));
        let (winner_links, loser_links) = (links(app, &admin, &winner), links(app, &admin, &loser));
        let (winner_notes, loser_notes) = (
            note_bodies(app, &admin, &winner),
            note_bodies(app, &admin, &loser),
        );
        let request = json!({
            "winner_id": winner, "loser_ids": [loser], "field_choices": {"title": loser}, "dry_run": true
        });

        let (status, preview) = merge(app, &admin, request.clone());
        assert_eq!(status, 200, "{preview}");
        assert_eq!(preview["customer"]["id"], winner.as_str());
        assert_eq!(preview["customer"]["title"], "دکتر");
        assert_eq!(preview["customer"]["first_name"], "علی");
        assert_eq!(
            preview["customer"]["emails"],
            json!([
                {"address": "ali@example.ir", "label": null, "primary": true},
                {"address": "karimi@example.ir", "label": null, "primary": false}
            ])
        );
        assert_eq!(preview["customer"]["phones"].as_array().unwrap().len(), 1);
        assert_eq!(preview["customer"]["tag_ids"], json!([loyal, vip]));
        assert_eq!(ids(&preview["moved"]["notes"]), 2);
        assert_eq!(ids(&preview["moved"]["personnel"]), 1);
        assert_eq!(ids(&preview["moved"]["removed_personnel"]), 1);
        assert_eq!(ids(&preview["moved"]["consent_events"]), 1);
        assert_eq!(ids(&preview["moved"]["lifecycle_transitions"]), 1);
        // The dry run wrote nothing.
        assert_eq!(content(app, &admin, &winner), winner_before);
        assert_eq!(content(app, &admin, &loser), loser_before);
        assert_eq!(note_bodies(app, &admin, &loser), loser_notes);
        assert_eq!(links(app, &admin, &loser), loser_links);

        let mut request = request;
        request["dry_run"] = json!(false);
        let response = app
            .authed(Method::POST, "/api/v1/customers/merge", &admin)
            .json(&request)
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let merged: Value = response.json().unwrap();
        let merge_id = merged["merge"]["id"].as_str().unwrap().to_string();
        assert_eq!(location, format!("/api/v1/customers/merges/{merge_id}"));
        assert_eq!(merged["merge"]["winner_id"], winner.as_str());
        assert_eq!(merged["merge"]["loser_ids"], json!([loser]));
        assert_eq!(merged["merge"]["undone_at"], Value::Null);
        assert_eq!(merged["customer"]["title"], "دکتر");
        assert_eq!(merged["customer"]["tag_ids"], json!([loyal, vip]));

        let mut all_notes = [winner_notes.clone(), loser_notes.clone()].concat();
        all_notes.sort();
        assert_eq!(note_bodies(app, &admin, &winner), all_notes);
        assert!(note_bodies(app, &admin, &loser).is_empty());
        // The loser's link at Pars moved; its link at Arya, where the winner already is,
        // was dropped.
        assert_eq!(links(app, &admin, &winner), {
            let mut expected = vec![
                (arya.clone(), winner.clone(), "مدیرعامل".to_string()),
                (pars.clone(), winner.clone(), "مدیر خرید".to_string()),
            ];
            expected.sort();
            expected
        });
        assert!(links(app, &admin, &loser).is_empty());
        assert_eq!(links(app, &admin, &arya).len(), 1);
        let consents = get(app, &format!("/api/v1/customers/{winner}/consents"), &admin);
        assert_eq!(consents["current"][0]["channel"], "sms");
        assert_eq!(consents["current"][0]["granted"], true);
        let loser_consents = get(app, &format!("/api/v1/customers/{loser}/consents"), &admin);
        assert_eq!(loser_consents["current"], json!([]));
        assert_eq!(
            get(app, &format!("/api/v1/customers/{loser}"), &admin)["merged_into_id"],
            winner.as_str()
        );
        assert_eq!(found_by_search(app, &admin, "کریمی"), vec![winner.clone()]);
        let record = get(app, &location, &admin);
        assert_eq!(record["id"], merge_id.as_str());
        assert_eq!(ids(&record["moved"]["notes"]), 2);
        assert_eq!(
            record["moved"]["notes"][0]["from_customer_id"],
            loser.as_str()
        );

        let (status, undone) = undo(app, &admin, &merge_id);
        assert_eq!(status, 200, "{undone}");
        assert!(undone["merge"]["undone_at"].is_string());
        assert_eq!(content(app, &admin, &winner), winner_before);
        assert_eq!(content(app, &admin, &loser), loser_before);
        assert_eq!(note_bodies(app, &admin, &winner), winner_notes);
        assert_eq!(note_bodies(app, &admin, &loser), loser_notes);
        assert_eq!(links(app, &admin, &winner), winner_links);
        assert_eq!(links(app, &admin, &loser), loser_links);
        let loser_consents = get(app, &format!("/api/v1/customers/{loser}/consents"), &admin);
        assert_eq!(loser_consents["current"][0]["granted"], true);
        let winner_consents = get(app, &format!("/api/v1/customers/{winner}/consents"), &admin);
        assert_eq!(winner_consents["current"], json!([]));
        let mut found = found_by_search(app, &admin, "کریمی");
        found.sort();
        assert_eq!(found, {
            let mut both = vec![winner.clone(), loser.clone()];
            both.sort();
            both
        });
        assert!(get(app, &location, &admin)["undone_at"].is_string());

        let (status, again) = undo(app, &admin, &merge_id);
        assert_eq!(status, 409, "{again}");
    });
}

#[test]
fn merging_organizations_moves_their_people_and_the_chosen_code() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let mut winner = organization("شرکت سپهر", "info@sepehr.ir");
        winner["code"] = json!("ORG-1");
        let winner = id_of(&create_customer(app, &admin, winner));
        let mut loser = organization("شركت سپهر", "info@sepehr.ir");
        loser["code"] = json!("ORG-2");
        let loser = id_of(&create_customer(app, &admin, loser));
        let p = id_of(&create_customer(
            app,
            &admin,
            person("پویا", "نجفی", "09120000001", "p@x.ir"),
        ));
        let q = id_of(&create_customer(
            app,
            &admin,
            person("مینا", "رستمی", "09120000002", "q@x.ir"),
        ));
        link(app, &admin, &loser, &p, "مدیر مالی");
        link(app, &admin, &loser, &q, "مدیر فنی");
        link(app, &admin, &winner, &q, "مدیر فنی");

        let (status, merged) = merge(
            app,
            &admin,
            json!({"winner_id": winner, "loser_ids": [loser], "field_choices": {"code": loser}}),
        );
        assert_eq!(status, 201, "{merged}");
        assert_eq!(merged["customer"]["code"], "ORG-2");
        let people: Vec<String> = links(app, &admin, &winner)
            .into_iter()
            .map(|l| l.1)
            .collect();
        let mut expected = vec![p.clone(), q.clone()];
        expected.sort();
        let mut people = people;
        people.sort();
        assert_eq!(people, expected);
        assert_eq!(ids(&merged["merge"]["moved"]["removed_personnel"]), 1);
        assert_eq!(
            get(app, &format!("/api/v1/customers/{loser}"), &admin)["code"],
            Value::Null
        );

        let merge_id = merged["merge"]["id"].as_str().unwrap().to_string();
        let (status, _) = undo(app, &admin, &merge_id);
        assert_eq!(status, 200);
        assert_eq!(
            get(app, &format!("/api/v1/customers/{winner}"), &admin)["code"],
            "ORG-1"
        );
        assert_eq!(
            get(app, &format!("/api/v1/customers/{loser}"), &admin)["code"],
            "ORG-2"
        );
        assert_eq!(links(app, &admin, &loser).len(), 2);
        assert_eq!(links(app, &admin, &winner).len(), 1);
        assert_eq!(links(app, &admin, &p).len(), 1);
        assert_eq!(links(app, &admin, &p)[0].0, loser);
    });
}

#[test]
fn bad_merges_and_undos_are_refused() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let a = id_of(&create_customer(
            app,
            &admin,
            person("آرش", "کیانی", "09121000001", "a@x.ir"),
        ));
        let b = id_of(&create_customer(
            app,
            &admin,
            person("آرش", "کیانی", "09121000001", "b@x.ir"),
        ));
        let c = id_of(&create_customer(
            app,
            &admin,
            person("آرش", "کیانی", "09121000001", "c@x.ir"),
        ));
        let d = id_of(&create_customer(
            app,
            &admin,
            person("آرش", "کیانی", "09121000001", "d@x.ir"),
        ));
        let org = id_of(&create_customer(
            app,
            &admin,
            organization("کیان", "e@x.ir"),
        ));

        let (status, problem) = merge(app, &admin, json!({"winner_id": a, "loser_ids": [a]}));
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["code"], "is_winner");
        let (status, problem) = merge(app, &admin, json!({"winner_id": a, "loser_ids": [org]}));
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["code"], "kind_mismatch");
        let (status, problem) = merge(
            app,
            &admin,
            json!({"winner_id": a, "loser_ids": [b], "field_choices": {"phones": b, "title": c}}),
        );
        assert_eq!(status, 422);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&"field_choices.phones") && fields.contains(&"field_choices.title")
        );
        let (status, _) = merge(
            app,
            &admin,
            json!({"winner_id": a, "loser_ids": [Uuid::now_v7()]}),
        );
        assert_eq!(status, 404);

        let (_, first) = merge(app, &admin, json!({"winner_id": a, "loser_ids": [b]}));
        let first = first["merge"]["id"].as_str().unwrap().to_string();
        let (status, _) = merge(app, &admin, json!({"winner_id": c, "loser_ids": [b]}));
        assert_eq!(status, 409, "a merged customer cannot be merged again");
        let (status, second) = merge(app, &admin, json!({"winner_id": a, "loser_ids": [c]}));
        assert_eq!(status, 201);
        let second = second["merge"]["id"].as_str().unwrap().to_string();
        let (status, problem) = undo(app, &admin, &first);
        assert_eq!(
            status, 409,
            "a later merge into the winner comes first: {problem}"
        );
        assert_eq!(undo(app, &admin, &second).0, 200);
        assert_eq!(undo(app, &admin, &first).0, 200);

        let (_, third) = merge(app, &admin, json!({"winner_id": a, "loser_ids": [b]}));
        let third = third["merge"]["id"].as_str().unwrap().to_string();
        let (status, _) = merge(app, &admin, json!({"winner_id": d, "loser_ids": [a]}));
        assert_eq!(status, 201);
        let (status, problem) = undo(app, &admin, &third);
        assert_eq!(status, 409, "the winner was merged away since: {problem}");
        assert_eq!(undo(app, &admin, &Uuid::now_v7().to_string()).0, 404);
    });
}

#[test]
fn merging_needs_records_delete_and_every_customer_visible() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (_, email, password) = app.create_user("sales", None);
        let sales = app.login(&email, &password).access_token;
        let (_, email, password) = app.create_user("manager", Some("own"));
        let manager = app.login(&email, &password).access_token;
        let others = id_of(&create_customer(
            app,
            &admin,
            person("لیلا", "امینی", "09122000001", "l@x.ir"),
        ));
        let others_twin = id_of(&create_customer(
            app,
            &admin,
            person("لیلا", "امینی", "09122000001", "l2@x.ir"),
        ));
        let own = id_of(&create_customer(
            app,
            &sales,
            person("لیلا", "امینی", "09122000001", "l3@x.ir"),
        ));
        let managers = id_of(&create_customer(
            app,
            &manager,
            person("لیلا", "امینی", "09122000001", "l4@x.ir"),
        ));

        let path = |id: &str| format!("/api/v1/customers/{id}/duplicates");
        assert_eq!(send(app, Method::GET, &path(&others), &sales, None).0, 404);
        let (status, list) = send(app, Method::GET, &path(&own), &sales, None);
        assert_eq!(status, 200);
        // The admin's two and the manager's one are flagged, without id or name.
        let hidden: Vec<&Value> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["visible"] == false)
            .collect();
        assert_eq!(hidden.len(), 3, "{list}");
        for candidate in hidden {
            assert_eq!(candidate["id"], Value::Null);
            assert_eq!(candidate["display_name"], Value::Null);
        }

        let body = json!({"winner_id": own, "loser_ids": [others]});
        assert_eq!(merge(app, &sales, body).0, 403);
        for dry_run in [true, false] {
            let body = json!({"winner_id": managers, "loser_ids": [others], "dry_run": dry_run});
            assert_eq!(merge(app, &manager, body).0, 404);
        }
        assert_eq!(content(app, &admin, &others)["merged_into_id"], Value::Null);
        let (status, merged) = merge(
            app,
            &admin,
            json!({"winner_id": others, "loser_ids": [others_twin]}),
        );
        assert_eq!(status, 201);
        let merge_id = merged["merge"]["id"].as_str().unwrap();
        let record = format!("/api/v1/customers/merges/{merge_id}");
        assert_eq!(send(app, Method::GET, &record, &manager, None).0, 404);
        assert_eq!(undo(app, &manager, merge_id).0, 404);
        assert_eq!(send(app, Method::GET, &record, &admin, None).0, 200);
    });
}

fn delete_customer(app: &TestApp, token: &str, id: &str) {
    let (status, body) = send(
        app,
        Method::DELETE,
        &format!("/api/v1/customers/{id}"),
        token,
        None,
    );
    assert_eq!(status, 204, "{body}");
}

/// Merges `loser` into `winner` (taking the fields named in `choices` from the loser);
/// returns the merge id.
fn merged(app: &TestApp, token: &str, winner: &str, loser: &str, choices: Value) -> String {
    let (status, body) = merge(
        app,
        token,
        json!({"winner_id": winner, "loser_ids": [loser], "field_choices": choices}),
    );
    assert_eq!(status, 201, "{body}");
    body["merge"]["id"].as_str().unwrap().to_string()
}

/// Asserts a 409 of an undo whose detail names `mentions`, and that the undo wrote
/// nothing: the loser is still merged and the merge still in effect.
fn assert_undo_refused(app: &TestApp, token: &str, merge_id: &str, loser: &str, mentions: &str) {
    let (status, problem) = undo(app, token, merge_id);
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "conflict", "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(mentions), "{mentions} in {problem}");
    let record = get(app, &format!("/api/v1/customers/merges/{merge_id}"), token);
    assert_eq!(record["undone_at"], Value::Null);
    let loser = get(app, &format!("/api/v1/customers/{loser}"), token);
    assert_eq!(loser["merged_into_id"], record["winner_id"]);
}

#[test]
fn undo_restores_the_personnel_links_whose_customers_are_left() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let winner = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "احمدی", "09123000001", "s1@x.ir"),
        ));
        let loser = id_of(&create_customer(
            app,
            &admin,
            person("سارا", "احمدی", "09123000001", "s2@x.ir"),
        ));
        let shared = id_of(&create_customer(
            app,
            &admin,
            organization("شرکت البرز", "info@alborz.ir"),
        ));
        let pars = id_of(&create_customer(
            app,
            &admin,
            organization("شرکت پارس", "info@pars.ir"),
        ));
        let pars_twin = id_of(&create_customer(
            app,
            &admin,
            organization("شركت پارس", "office@pars.ir"),
        ));
        link(app, &admin, &shared, &loser, "مشاور");
        link(app, &admin, &shared, &winner, "مدیرعامل");
        link(app, &admin, &pars, &loser, "مدیر خرید");
        // The loser's link at the shared organization is removed, the one at Pars moves.
        let merge_id = merged(app, &admin, &winner, &loser, json!({}));
        // Since: the shared organization is deleted, and Pars is merged into its twin
        // (taking the moved link along) and then deleted.
        delete_customer(app, &admin, &shared);
        merged(app, &admin, &pars_twin, &pars, json!({}));
        assert_eq!(
            links(app, &admin, &winner),
            vec![(pars_twin.clone(), winner.clone(), "مدیر خرید".to_string())]
        );
        delete_customer(app, &admin, &pars);

        let (status, undone) = undo(app, &admin, &merge_id);
        assert_eq!(status, 200, "{undone}");
        // The removed link went with the deleted organization; the moved one goes back
        // to the loser at the organization it is listed at now.
        assert_eq!(
            links(app, &admin, &loser),
            vec![(pars_twin.clone(), loser.clone(), "مدیر خرید".to_string())]
        );
        assert!(links(app, &admin, &winner).is_empty());
        assert_eq!(
            get(app, &format!("/api/v1/customers/{loser}"), &admin)["merged_into_id"],
            Value::Null
        );
    });
}

#[test]
fn undo_refuses_what_clashes_with_later_writes_and_writes_nothing() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let customer = |code: &str, email: &str| {
            let mut body = person("نیما", "رحیمی", "09124000001", email);
            body["code"] = json!(code);
            id_of(&create_customer(app, &admin, body))
        };

        // The code the loser released went to a new customer after the winner let go of it.
        let (winner, loser) = (customer("W-1", "w1@x.ir"), customer("L-1", "l1@x.ir"));
        let merge_id = merged(app, &admin, &winner, &loser, json!({"code": loser}));
        let path = format!("/api/v1/customers/{winner}");
        let (status, body) = merge_patch(app, &path, &admin, &json!({"code": "W-2"}));
        assert_eq!(status, 200, "{body}");
        let taker = customer("L-1", "t1@x.ir");
        assert_undo_refused(app, &admin, &merge_id, &loser, "L-1");
        assert_eq!(get(app, &path, &admin)["code"], "W-2");
        delete_customer(app, &admin, &taker);
        assert_eq!(undo(app, &admin, &merge_id).0, 200);
        assert_eq!(
            get(app, &format!("/api/v1/customers/{loser}"), &admin)["code"],
            "L-1"
        );

        // The winner's own earlier code went to a new customer.
        let (winner, loser) = (customer("W-3", "w3@x.ir"), customer("L-3", "l3@x.ir"));
        let merge_id = merged(app, &admin, &winner, &loser, json!({"code": loser}));
        customer("W-3", "t3@x.ir");
        assert_undo_refused(app, &admin, &merge_id, &loser, "W-3");
        assert_eq!(
            get(app, &format!("/api/v1/customers/{winner}"), &admin)["code"],
            "L-3"
        );

        // The loser was listed again where its moved link now lists the winner.
        let (winner, loser) = (customer("W-4", "w4@x.ir"), customer("L-4", "l4@x.ir"));
        let org = id_of(&create_customer(
            app,
            &admin,
            organization("شرکت کوثر", "info@kowsar.ir"),
        ));
        link(app, &admin, &org, &loser, "حسابدار");
        let merge_id = merged(app, &admin, &winner, &loser, json!({}));
        link(app, &admin, &org, &loser, "حسابدار ارشد");
        assert_undo_refused(app, &admin, &merge_id, &loser, &org);
        assert_eq!(
            links(app, &admin, &winner),
            vec![(org.clone(), winner.clone(), "حسابدار".to_string())]
        );

        // A select option the winner's earlier value used was withdrawn.
        let response = app
            .authed(Method::POST, "/api/v1/custom-fields", &admin)
            .json(&json!({"key": "branch", "label": "شعبه", "kind": "select", "options": ["Vanak", "Tajrish"]}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
        let field = id_of(&response.json::<Value>().unwrap());
        let mut body = person("رضا", "موسوی", "09125000001", "r1@x.ir");
        body["custom_fields"] = json!({"branch": "Vanak"});
        let winner = id_of(&create_customer(app, &admin, body));
        let mut body = person("رضا", "موسوی", "09125000001", "r2@x.ir");
        body["custom_fields"] = json!({"branch": "Tajrish"});
        let loser = id_of(&create_customer(app, &admin, body));
        let merge_id = merged(app, &admin, &winner, &loser, json!({}));
        let (status, body) = merge_patch(
            app,
            &format!("/api/v1/custom-fields/{field}"),
            &admin,
            &json!({"options": ["Tajrish"]}),
        );
        assert_eq!(status, 200, "{body}");
        assert_undo_refused(app, &admin, &merge_id, &loser, "custom_fields.branch");
    });
}
