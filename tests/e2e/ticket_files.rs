//! Ticket attachments (V-1): uploaded, listed and downloaded (Persian names included)
//! only by who may see the ticket; too large, empty, disallowed or disguised files
//! refused with nothing stored; their bytes deleted with the ticket and by an erasure;
//! and the 360 view's tickets section.

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
fn erasure_deletes_the_attachments_the_personal_data_export_lists() {
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
