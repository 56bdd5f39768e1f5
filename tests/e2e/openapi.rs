//! The committed `openapi/v1.json` is what the code generates, every operation carries
//! what SDK generators and readers need, and the served document and docs UI work.

use std::collections::BTreeSet;

use e2e::support::{request_example, Backend, TestApp};
use serde_json::Value;

fn committed() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/v1.json");
    let text = std::fs::read_to_string(path).expect("openapi/v1.json exists (run `make openapi`)");
    serde_json::from_str(&text).expect("openapi/v1.json is JSON")
}

fn generated() -> Value {
    serde_json::to_value(api::openapi::document()).expect("document serialises")
}

#[test]
fn committed_spec_matches_the_code() {
    assert!(
        committed() == generated(),
        "openapi/v1.json differs from the code; run `make openapi` and commit the result"
    );
}

#[test]
fn every_operation_is_fully_described() {
    let doc = generated();
    assert!(doc["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1")));
    let mut operation_ids = std::collections::HashSet::new();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/"), "{path} is versioned");
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: operationId"));
            assert!(
                operation_ids.insert(id.to_string()),
                "duplicate operationId {id}"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id}: tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{id}: summary"
            );
            assert!(
                op["description"]
                    .as_str()
                    .is_some_and(|s| !s.trim().is_empty()),
                "{id}: description"
            );
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for (media_type, media) in content {
                    assert!(
                        request_example(&doc, media).is_some(),
                        "{id}: the {media_type} request body has an example"
                    );
                }
            }
            assert!(op.get("security").is_some(), "{id}: security requirement");
            let responses = op["responses"].as_object().expect("responses");
            // A redirect (a tracked link) succeeds with its 3xx.
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
                "{id}: success response"
            );
            for status in ["400", "429", "500"] {
                assert!(responses.contains_key(status), "{id}: documents {status}");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("422"), "{id}: documents 422");
            }
        }
    }
}

#[test]
fn every_tag_is_declared_with_a_description_and_used() {
    let doc = generated();
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .expect("top-level tags")
        .iter()
        .map(|tag| {
            let name = tag["name"].as_str().expect("tag name");
            assert!(
                tag["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty()),
                "tag {name}: description"
            );
            name
        })
        .collect();
    let unique: BTreeSet<&str> = declared.iter().copied().collect();
    assert_eq!(unique.len(), declared.len(), "a tag is declared twice");
    let mut used = BTreeSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            for tag in operation["tags"].as_array().into_iter().flatten() {
                used.insert(tag.as_str().expect("tag name"));
            }
        }
    }
    let undeclared: Vec<_> = used.difference(&unique).collect();
    assert!(
        undeclared.is_empty(),
        "tags used but not declared: {undeclared:?}"
    );
    let unused: Vec<_> = unique.difference(&used).collect();
    assert!(unused.is_empty(), "tags declared but not used: {unused:?}");
}

#[test]
fn serves_the_document_and_offline_docs() {
    let app = TestApp::spawn(Backend::Sqlite);
    let served: Value = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(served, generated());
    let docs = app.client().get(app.url("/docs/")).send().unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().unwrap();
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !html.contains("https://"),
        "docs page loads nothing from the internet"
    );
    let bundle = app
        .client()
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .unwrap();
    assert_eq!(bundle.status(), 200);
}
