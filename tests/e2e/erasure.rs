//! Erasure reaches every copy of a customer's personal data: customers merged into
//! the erased one and their audit events, the documents a merge keeps for its undo,
//! stored idempotent responses, export files, and (on SQLite) free space and the
//! write-ahead log of the database file.

use e2e::support::{
    create_customer, finished_job, for_each_backend, id_of, merge_patch_request, person, send,
    Backend, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

fn erase(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = send(
        app,
        Method::POST,
        &format!("/api/v1/customers/{id}/erasure"),
        token,
        None,
    );
    assert_eq!(status, 200, "erasure: {body}");
    body
}

fn merge(app: &TestApp, token: &str, winner: &str, losers: &[&str]) -> Value {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/customers/merge",
        token,
        Some(json!({"winner_id": winner, "loser_ids": losers})),
    );
    assert_eq!(status, 201, "merge: {body}");
    body
}

fn assert_free_of(text: &str, secrets: &[&str], place: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{secret} survived erasure in {place}: {text}"
        );
    }
}

#[test]
fn customers_merged_into_the_erased_one_are_erased_with_their_audit_events() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let survivor = id_of(&create_customer(
            app,
            &admin,
            person(
                "Arman",
                "Survivorsson",
                "09121110001",
                "arman@survivor.example",
            ),
        ));
        let middle = id_of(&create_customer(
            app,
            &admin,
            person(
                "Bahar",
                "Middlemarch",
                "09121110002",
                "bahar@middle.example",
            ),
        ));
        let first = id_of(&create_customer(
            app,
            &admin,
            person("Cyrus", "Firstmerged", "09121110003", "cyrus@first.example"),
        ));
        // A chain: `first` into `middle`, then `middle` into `survivor`.
        merge(app, &admin, &middle, &[&first]);
        merge(app, &admin, &survivor, &[&middle]);
        let (status, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{survivor}/personal-data"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{exported}");
        let merged: Vec<&str> = exported["merged_customers"]
            .as_array()
            .expect("merged customers")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(merged.len(), 2, "{exported}");
        assert!(merged.contains(&middle.as_str()) && merged.contains(&first.as_str()));
        assert_eq!(exported["held_in"]["customers"], 3);
        assert!(exported.to_string().contains("Firstmerged"));
        // A merged-away customer's data lives on in the survivor: erase that one.
        let (status, problem) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{first}/erasure"),
            &admin,
            None,
        );
        assert_eq!(status, 409, "{problem}");
        assert!(problem["detail"].as_str().unwrap_or("").contains(&middle));

        let erasure = erase(app, &admin, &survivor);
        assert_eq!(erasure["erased"]["customers"], 3, "{erasure}");
        assert!(erasure["erased"]["audit_events"].as_u64().unwrap_or(0) >= 3);
        let secrets = [
            "Arman",
            "Survivorsson",
            "Bahar",
            "Middlemarch",
            "Cyrus",
            "Firstmerged",
            "9121110001",
            "9121110002",
            "9121110003",
            "survivor.example",
            "middle.example",
            "first.example",
        ];
        for id in [&survivor, &middle, &first] {
            let (status, customer) = send(
                app,
                Method::GET,
                &format!("/api/v1/customers/{id}"),
                &admin,
                None,
            );
            assert_eq!(status, 200);
            assert!(customer["erased_at"].is_string(), "{customer}");
            assert_free_of(&customer.to_string(), &secrets, "a customer record");
            let (status, events) = send(
                app,
                Method::GET,
                &format!("/api/v1/audit-events?resource_type=customer&resource_id={id}&limit=200"),
                &admin,
                None,
            );
            assert_eq!(status, 200, "{events}");
            assert!(!events["data"].as_array().expect("events").is_empty());
            assert_free_of(&events.to_string(), &secrets, "audit events");
        }
        let chain =
            persistence::audit::verify(&mut app.state.pool.get().unwrap(), None, &[]).unwrap();
        assert_eq!(chain.first_broken, None, "the audit chain still verifies");
    });
}

#[test]
fn merge_records_lose_the_documents_kept_for_an_undo() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let winner = id_of(&create_customer(
            app,
            &admin,
            person(
                "Dariush",
                "Undowinner",
                "09121110011",
                "dariush@undo.example",
            ),
        ));
        let loser = id_of(&create_customer(
            app,
            &admin,
            person("Elham", "Undoloser", "09121110012", "elham@undo.example"),
        ));
        let merged = merge(app, &admin, &winner, &[&loser]);
        let merge_id: Uuid = merged["merge"]["id"]
            .as_str()
            .expect("merge id")
            .parse()
            .unwrap();
        let stored = |app: &TestApp| {
            let mut conn = app.state.pool.get().unwrap();
            persistence::customers::merges::find(&mut conn, merge_id)
                .unwrap()
                .undo_data
                .0
                .to_string()
        };
        assert!(
            stored(app).contains("Undowinner"),
            "the undo keeps the documents"
        );

        let erasure = erase(app, &admin, &winner);
        assert_eq!(erasure["erased"]["merge_records"], 1, "{erasure}");
        assert_free_of(
            &stored(app),
            &[
                "Dariush",
                "Undowinner",
                "Elham",
                "Undoloser",
                "9121110011",
                "9121110012",
                "undo.example",
            ],
            "the merge record",
        );
        let (status, merge_record) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/merges/{merge_id}"),
            &admin,
            None,
        );
        assert_eq!(
            status, 200,
            "the merge still tells what moved: {merge_record}"
        );
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/merges/{merge_id}/undo"),
            &admin,
            None,
        );
        assert_eq!(status, 409);
    });
}

#[test]
fn stored_idempotent_responses_about_the_erased_customer_are_withdrawn() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let body = person(
            "Farhad",
            "Replayman",
            "09121110021",
            "farhad@replay.example",
        );
        let create = |key: &str, body: &Value| {
            app.authed(Method::POST, "/api/v1/customers", &admin)
                .header("Idempotency-Key", key)
                .header("Peyvand-Confirm-Duplicate", "true")
                .json(body)
                .send()
                .expect("create")
        };
        let first = create("create-farhad", &body);
        assert_eq!(first.status(), 201);
        let id = id_of(&first.json().unwrap());
        // A request naming the customer only in its path, with the id in upper case.
        let note_path = format!("/api/v1/customers/{}/notes", id.to_uppercase());
        let note = json!({"body": "Farhad prefers calls after six"});
        let add_note = || {
            app.authed(Method::POST, &note_path, &admin)
                .header("Idempotency-Key", "note-farhad")
                .json(&note)
                .send()
                .expect("note")
        };
        assert_eq!(add_note().status(), 201);
        let other_body = person("Golnar", "Untouched", "09121110022", "golnar@other.example");
        assert_eq!(create("create-golnar", &other_body).status(), 201);
        let replayed = create("create-farhad", &body);
        assert_eq!(replayed.status(), 201, "replayed before the erasure");
        assert!(replayed.text().unwrap().contains("Replayman"));

        let erasure = erase(app, &admin, &id);
        assert_eq!(erasure["erased"]["idempotent_responses"], 2, "{erasure}");
        for response in [create("create-farhad", &body), add_note()] {
            assert_eq!(response.status(), 410);
            let problem: Value = response.json().unwrap();
            assert_eq!(problem["code"], "gone");
            assert_free_of(
                &problem.to_string(),
                &["Farhad", "Replayman", "9121110021"],
                "a replay",
            );
        }
        let other = create("create-golnar", &other_body);
        assert_eq!(other.status(), 201, "responses about others still replay");
        assert_eq!(other.headers()["idempotent-replayed"], "true");
        let mut conn = app.state.pool.get().unwrap();
        assert_eq!(
            persistence::idempotency::count_concerning(&mut conn, &[id.parse().unwrap()]).unwrap(),
            0
        );
    });
}

#[test]
fn export_files_holding_the_erased_customer_are_deleted() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let erased = id_of(&create_customer(
            app,
            &admin,
            person(
                "Hamid",
                "Exportedonce",
                "09121110031",
                "hamid@export.example",
            ),
        ));
        create_customer(
            app,
            &admin,
            person(
                "Iran",
                "Staysexported",
                "09121110032",
                "iran@export.example",
            ),
        );
        let export = |body: Value| {
            let response = app
                .authed(Method::POST, "/api/v1/exports", &admin)
                .json(&body)
                .send()
                .expect("export");
            let job = finished_job(app, &admin, response);
            assert_eq!(job["status"], "succeeded", "{job}");
            job["result"]["download"]
                .as_str()
                .expect("download")
                .to_string()
        };
        let download = |path: &str| {
            let response = app
                .authed(Method::GET, path, &admin)
                .send()
                .expect("download");
            (
                response.status().as_u16(),
                response.text().unwrap_or_default(),
            )
        };
        let everyone = export(json!({"format": "csv"}));
        let others_only = export(json!({"format": "json", "q": "Staysexported"}));
        let (status, file) = download(&everyone);
        assert_eq!(status, 200);
        assert!(file.contains("Exportedonce"));
        assert!(!download(&others_only).1.contains("Exportedonce"));

        let erasure = erase(app, &admin, &erased);
        assert_eq!(erasure["erased"]["export_files"], 1, "{erasure}");
        let (status, problem) = download(&everyone);
        assert_eq!(status, 410, "{problem}");
        assert_free_of(&problem, &["Exportedonce", "hamid@"], "the download");
        let (status, file) = download(&others_only);
        assert_eq!(status, 200, "a file without the customer stays");
        assert!(file.contains("Staysexported"));
        // A new export holds the anonymised customer only.
        let (_, file) = download(&export(json!({"format": "csv"})));
        assert_free_of(
            &file,
            &["Hamid", "Exportedonce", "9121110031"],
            "a new export",
        );
    });
}

#[test]
fn the_database_file_keeps_no_trace_of_the_erased_customer() {
    for_each_backend(|app| {
        let admin = app.admin_token();
        let secrets = [
            "Jamshidbytes",
            "Kavehfilename",
            "jamshid@bytes.example",
            "9121110041",
        ];
        let response = app
            .authed(Method::POST, "/api/v1/customers", &admin)
            .header("Idempotency-Key", "create-jamshid")
            .json(&person(
                "Jamshidbytes",
                "Kavehfilename",
                "09121110041",
                "jamshid@bytes.example",
            ))
            .send()
            .expect("create");
        assert_eq!(response.status(), 201);
        let id = id_of(&response.json().unwrap());
        let patched = merge_patch_request(app, &format!("/api/v1/customers/{id}"), &admin)
            .body(json!({"title": "Jamshidbytes Kavehfilename"}).to_string())
            .send()
            .expect("patch");
        assert_eq!(patched.status(), 200);
        let (status, _) = send(
            app,
            Method::POST,
            &format!("/api/v1/customers/{id}/notes"),
            &admin,
            Some(json!({"body": "reach Jamshidbytes at jamshid@bytes.example"})),
        );
        assert_eq!(status, 201);

        let erasure = erase(app, &admin, &id);
        match app.backend {
            Backend::Sqlite => {
                assert_eq!(erasure["log_truncated"], true, "{erasure}");
                let database = std::path::PathBuf::from(&app.database_url);
                let wal = database.with_extension("db-wal");
                for file in [database, wal] {
                    let bytes = std::fs::read(&file).unwrap_or_default();
                    for secret in secrets {
                        assert!(
                            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                            "{secret} is still in {}",
                            file.display()
                        );
                    }
                }
            }
            // PostgreSQL keeps dead row versions until VACUUM (see the security notes);
            // what the API can reach is what is checked here.
            Backend::Postgres => assert!(erasure.get("log_truncated").is_none(), "{erasure}"),
        }
        let (_, exported) = send(
            app,
            Method::GET,
            &format!("/api/v1/customers/{id}/personal-data"),
            &admin,
            None,
        );
        assert_free_of(&exported.to_string(), &secrets, "the personal-data export");
    });
}
