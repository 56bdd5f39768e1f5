//! Ticket attachments (V-1): uploaded, listed and downloaded (Persian names included)
//! only by who may see the ticket; too large, empty, disallowed or disguised files
//! refused with nothing stored; their bytes deleted with the ticket and by an erasure.
//! Ticket merges moving the conversation, files, tags and time; time entries priced as
//! service cost in the profitability report; and the 360 view's tickets section.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use e2e::support::{
    backends, create_customer, field_codes, for_each_backend, id_of, person, send, TestApp,
};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = send(app, Method::POST, path, token, Some(body.clone()));
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

/// A user of `role` with `visibility`: `(id, token)`.
fn user(app: &TestApp, role: &str, visibility: &str) -> (String, String) {
    let email = format!("{role}-{}@example.com", Uuid::now_v7().simple());
    let made = created(
        app,
        &app.admin_token(),
        "/api/v1/users",
        json!({"email": email, "display_name": format!("کاربر {role}"),
               "password": "a long enough password", "role": role,
               "visibility": visibility}),
    );
    (
        id_of(&made),
        app.login(&email, "a long enough password").access_token,
    )
}

fn customer(app: &TestApp) -> String {
    customer_of(app, None)
}

/// A customer, owned by `owner` when given.
fn customer_of(app: &TestApp, owner: Option<&str>) -> String {
    let mobile = format!("0912{:07}", Uuid::now_v7().as_u128() % 10_000_000);
    let mut body = person(
        "مریم",
        "کاظمی",
        &mobile,
        &format!("m{}@example.ir", Uuid::now_v7().simple()),
    );
    if let Some(owner) = owner {
        body["owner_id"] = owner.into();
    }
    id_of(&create_customer(app, &app.admin_token(), body))
}

/// A ticket of `customer` owned by `owner`.
fn ticket(app: &TestApp, customer: &str, owner: &str) -> Value {
    created(
        app,
        &app.admin_token(),
        "/api/v1/tickets",
        json!({"subject": "دستگاه روشن نمی‌شود", "customer_id": customer, "owner_id": owner}),
    )
}

/// Uploads `bytes` as `file_name` of `content_type` to the ticket.
fn upload(
    app: &TestApp,
    token: &str,
    ticket: &str,
    file: (&str, &str, Vec<u8>),
    message_id: Option<&str>,
) -> (u16, Value) {
    let (file_name, content_type, bytes) = file;
    let mut form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(content_type)
            .expect("mime"),
    );
    if let Some(message) = message_id {
        form = form.text("message_id", message.to_string());
    }
    let response = app
        .authed(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/attachments"),
            token,
        )
        .multipart(form)
        .send()
        .expect("upload");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Stored files of attachments, whatever their ticket.
fn stored_attachment_files(app: &TestApp) -> i64 {
    use persistence::schema::stored_files;
    let mut conn = app.state.pool.get().expect("connection");
    stored_files::table
        .filter(stored_files::purpose.eq("ticket_attachment"))
        .count()
        .get_result(&mut conn)
        .expect("count")
}

fn download(
    app: &TestApp,
    token: &str,
    ticket: &str,
    attachment: &str,
) -> reqwest::blocking::Response {
    app.authed(
        Method::GET,
        &format!("/api/v1/tickets/{ticket}/attachments/{attachment}"),
        token,
    )
    .send()
    .expect("download")
}

#[test]
fn attachments_round_trip_with_persian_names_for_who_may_see_the_ticket() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (agent_id, agent) = user(app, "support", "own");
        let (_, stranger) = user(app, "support", "own");
        let customer = customer(app);
        let id = id_of(&ticket(app, &customer, &agent_id));
        let (status, message) = send(
            app,
            Method::POST,
            &format!("/api/v1/tickets/{id}/messages"),
            &agent,
            Some(json!({"kind": "agent", "body": "فاکتور پیوست شد"})),
        );
        assert_eq!(status, 201, "{message}");
        let message_id = message["message"]["id"]
            .as_str()
            .expect("message id")
            .to_string();

        let (status, attached) = upload(
            app,
            &agent,
            &id,
            ("فاکتور خرید.pdf", "application/pdf", PDF.to_vec()),
            Some(&message_id),
        );
        assert_eq!(status, 201, "{attached}");
        assert_eq!(attached["file_name"], "فاکتور خرید.pdf");
        assert_eq!(attached["content_type"], "application/pdf");
        assert_eq!(attached["size_bytes"], PDF.len());
        assert_eq!(attached["uploaded_by"], agent_id.as_str());
        assert_eq!(attached["message_id"], message_id.as_str());
        let attachment = id_of(&attached);
        let (status, note) = upload(
            app,
            &agent,
            &id,
            (
                "یادداشت.txt",
                "text/plain",
                "شمارهٔ سریال: SN-1042\n".as_bytes().to_vec(),
            ),
            None,
        );
        assert_eq!(status, 201, "{note}");

        let (status, listed) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{id}/attachments"),
            &agent,
            None,
        );
        assert_eq!(status, 200, "{listed}");
        let names: Vec<&str> = listed
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["file_name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["فاکتور خرید.pdf", "یادداشت.txt"]);

        let response = download(app, &agent, &id, &attachment);
        assert_eq!(response.status(), 200);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().expect("ASCII header").to_string())
        };
        assert_eq!(header("content-type").as_deref(), Some("application/pdf"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(
            header("content-disposition").as_deref(),
            Some(
                "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''\
                 %D9%81%D8%A7%DA%A9%D8%AA%D9%88%D8%B1%20%D8%AE%D8%B1%DB%8C%D8%AF.pdf"
            )
        );
        assert_eq!(response.bytes().expect("body").as_ref(), PDF);

        // Whoever may not see the ticket finds neither it nor its files.
        for path in [
            format!("/api/v1/tickets/{id}/attachments"),
            format!("/api/v1/tickets/{id}/attachments/{attachment}"),
        ] {
            let (status, _) = send(app, Method::GET, &path, &stranger, None);
            assert_eq!(status, 404, "{path}");
        }
        let (status, _) = upload(
            app,
            &stranger,
            &id,
            ("x.pdf", "application/pdf", PDF.to_vec()),
            None,
        );
        assert_eq!(status, 404);
        // A message of another ticket is not this one's.
        let other = id_of(&ticket(app, &customer, &agent_id));
        let (status, problem) = upload(
            app,
            &agent,
            &other,
            ("x.pdf", "application/pdf", PDF.to_vec()),
            Some(&message_id),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("message_id".into(), "not_found".into())]
        );

        // Only the uploader or who may delete records removes a file.
        let (_, colleague) = user(app, "support", "all");
        let path = format!("/api/v1/tickets/{id}/attachments/{attachment}");
        let (status, _) = send(app, Method::DELETE, &path, &colleague, None);
        assert_eq!(status, 403);
        let (status, _) = send(app, Method::DELETE, &path, &agent, None);
        assert_eq!(status, 204);
        assert_eq!(download(app, &admin, &id, &attachment).status(), 404);

        // Deleting the ticket deletes its files' bytes.
        assert_eq!(stored_attachment_files(app), 1);
        let (status, _) = send(
            app,
            Method::DELETE,
            &format!("/api/v1/tickets/{id}"),
            &admin,
            None,
        );
        assert_eq!(status, 204);
        assert_eq!(stored_attachment_files(app), 0);
    });
}

#[test]
fn too_large_empty_disallowed_and_disguised_files_are_refused_with_nothing_stored() {
    for backend in backends() {
        let app = &TestApp::spawn_with(backend, &["--max-attachment-bytes", "1024"]);
        let admin = app.admin_token();
        let (agent_id, _) = user(app, "support", "own");
        let id = id_of(&ticket(app, &customer(app), &agent_id));
        let mut large = PDF.to_vec();
        large.resize(1025, b' ');
        let (status, problem) = upload(
            app,
            &admin,
            &id,
            ("بزرگ.pdf", "application/pdf", large),
            None,
        );
        assert_eq!(status, 413, "{problem}");
        assert_eq!(problem["code"], "payload_too_large", "{problem}");
        assert_eq!(field_codes(&problem), [("file".into(), "too_large".into())]);

        let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        for (file, rule) in [
            (
                ("invoice.pdf", "application/pdf", elf.clone()),
                "type_mismatch",
            ),
            (("notes.txt", "text/plain", elf.clone()), "type_mismatch"),
            (
                ("setup.exe", "application/x-msdownload", elf),
                "type_not_allowed",
            ),
            (("photo.png", "image/png", PDF.to_vec()), "type_mismatch"),
            (("empty.pdf", "application/pdf", Vec::new()), "empty"),
        ] {
            let name = file.0;
            let (status, problem) = upload(app, &admin, &id, file, None);
            assert_eq!(status, 422, "{name}: {problem}");
            assert_eq!(
                field_codes(&problem),
                [("file".into(), rule.into())],
                "{name}"
            );
        }
        assert_eq!(stored_attachment_files(app), 0);
        let (status, listed) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{id}/attachments"),
            &admin,
            None,
        );
        assert_eq!((status, listed), (200, json!([])));
    }
}

#[test]
fn erasure_deletes_the_attachments_the_personal_data_export_lists_and_time_notes() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (agent_id, _) = user(app, "support", "own");
        let customer = customer(app);
        let id = id_of(&ticket(app, &customer, &agent_id));
        let (status, attached) = upload(
            app,
            &admin,
            &id,
            ("کارت ملی.pdf", "application/pdf", PDF.to_vec()),
            None,
        );
        assert_eq!(status, 201, "{attached}");
        let (status, logged) = send(
            app,
            Method::POST,
            &format!("/api/v1/tickets/{id}/time-entries"),
            &admin,
            Some(json!({"minutes": 25, "note": "تماس با مریم کاظمی"})),
        );
        assert_eq!(status, 201, "{logged}");
        let (status, data) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{data}");
        assert_eq!(data["held_in"]["ticket_attachments"], 1, "{data}");
        assert_eq!(
            data["tickets"][0]["attachments"][0]["file_name"],
            "کارت ملی.pdf"
        );
        let (status, erasure) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{customer}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{erasure}");
        assert_eq!(erasure["erased"]["ticket_attachments"], 1, "{erasure}");
        assert_eq!(stored_attachment_files(app), 0);
        let (status, listed) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{id}/attachments"),
            &admin,
            None,
        );
        assert_eq!((status, listed), (200, json!([])));
        // The minutes stay as service history; the note that named her goes.
        let (_, entries) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{id}/time-entries"),
            &admin,
            None,
        );
        assert_eq!(entries[0]["minutes"], 25, "{entries}");
        assert_eq!(entries[0]["note"], Value::Null, "{entries}");
    });
}

#[test]
fn the_360_view_lists_open_tickets_first_then_the_latest_closed_ones_the_caller_may_see() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (agent_id, agent) = user(app, "support", "own");
        let (other_id, _) = user(app, "support", "own");
        // The agent sees the customer (its owner) but only the tickets they own.
        let customer = customer_of(app, Some(&agent_id));
        let mine = id_of(&ticket(app, &customer, &agent_id));
        let closed = id_of(&ticket(app, &customer, &agent_id));
        let theirs = id_of(&ticket(app, &customer, &other_id));
        for status in ["open", "resolved"] {
            let response = app
                .authed(Method::PATCH, &format!("/api/v1/tickets/{closed}"), &admin)
                .header("Content-Type", "application/merge-patch+json")
                .body(json!({"status": status}).to_string())
                .send()
                .expect("patch");
            assert_eq!(response.status(), 200);
        }
        let overview = |token: &str| -> Vec<(String, String)> {
            let (status, found) = send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{customer}/overview"),
                token,
                None,
            );
            assert_eq!(status, 200, "{found}");
            found["tickets"]
                .as_array()
                .expect("tickets")
                .iter()
                .map(|t| {
                    assert!(t["priority"].is_string() && t.get("resolution_due_at").is_some());
                    (
                        t["id"].as_str().expect("id").to_string(),
                        t["status"].as_str().expect("status").to_string(),
                    )
                })
                .collect()
        };
        let all = overview(&admin);
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(all[2], (closed.clone(), "resolved".to_string()));
        assert!(
            all[..2].iter().all(|(_, status)| status == "new"),
            "{all:?}"
        );
        assert!(all.iter().any(|(id, _)| id == &theirs));
        assert_eq!(
            overview(&agent),
            [(mine, "new".to_string()), (closed, "resolved".to_string())]
        );
    });
}

fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .authed(Method::PATCH, path, token)
        .header("Content-Type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .expect("patch");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn message(app: &TestApp, token: &str, ticket: &str, kind: &str, body: &str) {
    let (status, answer) = send(
        app,
        Method::POST,
        &format!("/api/v1/tickets/{ticket}/messages"),
        token,
        Some(json!({"kind": kind, "body": body})),
    );
    assert_eq!(status, 201, "{answer}");
}

fn merge(app: &TestApp, token: &str, ticket: &str, into: &str) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("/api/v1/tickets/{ticket}/merge"),
        token,
        Some(json!({"into": into})),
    )
}

fn time(app: &TestApp, token: &str, ticket: &str, body: Value) -> (u16, Value) {
    send(
        app,
        Method::POST,
        &format!("/api/v1/tickets/{ticket}/time-entries"),
        token,
        Some(body),
    )
}

#[test]
fn a_merge_moves_the_conversation_files_tags_and_time_and_closes_the_source() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (agent_id, agent) = user(app, "support", "own");
        let (_, stranger) = user(app, "support", "own");
        let other_customer = customer(app);
        let customer = customer(app);
        let source = ticket(app, &customer, &agent_id);
        let target = ticket(app, &customer, &agent_id);
        let (source, number) = (id_of(&source), source["number"].as_i64().expect("number"));
        let target = id_of(&target);
        message(app, &agent, &source, "customer", "سفارشم نرسیده");
        message(app, &agent, &source, "agent", "پیگیری می‌کنیم");
        message(
            app,
            &agent,
            &target,
            "customer",
            "دوباره می‌پرسم: سفارشم کجاست؟",
        );
        let (status, _) = patch(
            app,
            &admin,
            &format!("/api/v1/tickets/{source}"),
            json!({"tags": ["vip", "ارسال"]}),
        );
        assert_eq!(status, 200);
        let (status, _) = patch(
            app,
            &admin,
            &format!("/api/v1/tickets/{target}"),
            json!({"tags": ["ارسال"]}),
        );
        assert_eq!(status, 200);
        let (status, _) = upload(
            app,
            &agent,
            &source,
            ("رسید.pdf", "application/pdf", PDF.to_vec()),
            None,
        );
        assert_eq!(status, 201);
        let (status, _) = time(app, &agent, &source, json!({"minutes": 30}));
        assert_eq!(status, 201);

        // Whoever may not see both tickets cannot merge them.
        assert_eq!(merge(app, &stranger, &source, &target).0, 404);
        let (status, problem) = merge(app, &agent, &target, &target);
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("into".into(), "same_ticket".into())]
        );
        let elsewhere = id_of(&ticket(app, &other_customer, &agent_id));
        let (status, problem) = merge(app, &agent, &source, &elsewhere);
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("into".into(), "other_customer".into())]
        );
        let closed = id_of(&ticket(app, &customer, &agent_id));
        let (status, _) = patch(
            app,
            &admin,
            &format!("/api/v1/tickets/{closed}"),
            json!({"status": "closed"}),
        );
        assert_eq!(status, 200);
        assert_eq!(merge(app, &agent, &source, &closed).0, 409);

        let (status, merged) = merge(app, &agent, &source, &target);
        assert_eq!(status, 200, "{merged}");
        assert_eq!(merged["source"]["status"], "closed");
        assert_eq!(merged["source"]["merged_into_id"], target.as_str());
        assert_eq!(merged["source"]["message_count"], 0);
        assert_eq!(merged["target"]["message_count"], 3);
        assert_eq!(merged["target"]["tags"], json!(["ارسال", "vip"]));
        assert_eq!(merged["target"]["time_spent_minutes"], 30);
        assert_eq!(merged["source"]["time_spent_minutes"], 0);

        let conversation = |ticket: &str| -> Vec<(String, String)> {
            let (status, page) = send(
                app,
                Method::GET,
                &format!("/api/v1/tickets/{ticket}/messages?limit=50"),
                &agent,
                None,
            );
            assert_eq!(status, 200, "{page}");
            page["data"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| {
                    (
                        m["kind"].as_str().unwrap().to_string(),
                        m["body"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let moved = conversation(&target);
        assert_eq!(moved.len(), 4, "{moved:?}");
        assert_eq!(
            moved[..3]
                .iter()
                .map(|(kind, _)| kind.as_str())
                .collect::<Vec<_>>(),
            ["customer", "agent", "customer"]
        );
        assert_eq!(moved[3].0, "automatic");
        assert!(moved[3].1.contains(&format!("#{number}")), "{moved:?}");
        let left = conversation(&source);
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].0, "automatic");
        let (_, files) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{target}/attachments"),
            &agent,
            None,
        );
        assert_eq!(files[0]["file_name"], "رسید.pdf", "{files}");
        let (_, history) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{source}/history"),
            &agent,
            None,
        );
        let last = history["statuses"]
            .as_array()
            .expect("statuses")
            .last()
            .cloned()
            .expect("a move");
        assert_eq!(last["to_status"], "closed", "{history}");
        let target_number = merged["target"]["number"].as_i64().expect("number");
        assert_eq!(last["reason"], format!("merged into #{target_number}"));

        // The merged ticket takes nothing more and cannot be merged again, nor into.
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/tickets/{source}/messages"),
            &agent,
            Some(json!({"kind": "customer", "body": "سلام"})),
        );
        assert_eq!(status, 409);
        assert_eq!(merge(app, &agent, &source, &target).0, 409);
        let (status, problem) = merge(app, &agent, &target, &source);
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_codes(&problem), [("into".into(), "merged".into())]);
    });
}

#[test]
fn time_entries_add_up_on_the_ticket_and_price_the_service_cost_of_its_customer() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let (agent_id, agent) = user(app, "support", "own");
        let customer = customer(app);
        let id = id_of(&ticket(app, &customer, &agent_id));
        let today = {
            let mut conn = app.state.pool.get().expect("connection");
            application::settings::calendar(&mut conn)
                .expect("calendar")
                .today(chrono::Utc::now())
        };
        let (status, problem) = time(app, &agent, &id, json!({"minutes": 0}));
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("minutes".into(), "out_of_range".into())]
        );
        let tomorrow = today.succ_opt().expect("tomorrow");
        let (status, problem) = time(
            app,
            &agent,
            &id,
            json!({"minutes": 5, "spent_on": tomorrow}),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            [("spent_on".into(), "in_future".into())]
        );

        let (status, added) = time(
            app,
            &agent,
            &id,
            json!({"minutes": 45, "note": "بررسی لاگ دستگاه"}),
        );
        assert_eq!(status, 201, "{added}");
        assert_eq!(added["entry"]["user_id"], agent_id.as_str());
        assert_eq!(added["entry"]["spent_on"], today.to_string());
        assert_eq!(added["ticket"]["time_spent_minutes"], 45);
        assert_eq!(
            time(app, &agent, &id, json!({"minutes": 50, "spent_on": today})).0,
            201
        );
        // Long before the report's window: counted on the ticket, not in the report.
        assert_eq!(
            time(
                app,
                &agent,
                &id,
                json!({"minutes": 20, "spent_on": "2025-01-01"})
            )
            .0,
            201
        );
        let (status, entries) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{id}/time-entries"),
            &agent,
            None,
        );
        assert_eq!(status, 200, "{entries}");
        let minutes: Vec<i64> = entries
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["minutes"].as_i64().unwrap())
            .collect();
        assert_eq!(minutes, [45, 50, 20]);
        let (_, found) = send(
            app,
            Method::GET,
            &format!("/api/v1/tickets/{id}"),
            &agent,
            None,
        );
        assert_eq!(found["time_spent_minutes"], 115);

        // A sale in the window, so that the customer is a group of the report.
        let product = id_of(&created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": format!("SKU-{}", Uuid::now_v7().simple()), "name": "کتری برقی", "unit_price": 1_850_000}),
        ));
        created(
            app,
            &admin,
            "/api/v1/orders",
            json!({"customer_id": customer, "status": "paid", "lines": [{"product_id": product, "quantity": 1}]}),
        );
        let report = |token: &str| {
            let (status, report) = send(
                app,
                Method::GET,
                &format!(
                    "/api/v1/reports/profitability?from={}&to={today}&group_by=customer",
                    today.pred_opt().unwrap()
                ),
                token,
                None,
            );
            assert_eq!(status, 200, "{report}");
            report
        };
        // Not priced until the hourly cost is set.
        let unpriced = report(&admin);
        assert_eq!(
            unpriced["totals"]["service_cost"],
            Value::Null,
            "{unpriced}"
        );
        let (status, settings) = patch(
            app,
            &admin,
            "/api/v1/settings/business",
            json!({"service_cost_per_hour": 600_001}),
        );
        assert_eq!(status, 200, "{settings}");
        assert_eq!(settings["service_cost_per_hour"], 600_001);
        let (status, problem) = patch(
            app,
            &admin,
            "/api/v1/settings/business",
            json!({"service_cost_per_hour": -1}),
        );
        assert_eq!(status, 422, "{problem}");
        // 95 minutes in the window × 600,001 ÷ 60 = 950,001.58… → 950,002.
        let priced = report(&admin);
        assert_eq!(priced["totals"]["service_cost"], 950_002, "{priced}");
        let group = priced["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["key"] == customer.as_str())
            .cloned()
            .expect("the customer's group");
        assert_eq!(group["figures"]["service_cost"], 950_002, "{group}");
        assert_eq!(group["figures"]["revenue"], 1_850_000);
    });
}
