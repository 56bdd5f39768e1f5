//! OpenAPI links from each `POST` operation's response to the operations that take what
//! it returned: the id of a created record as a path parameter, or a token as a request
//! body. A client generator or a stateful test can then follow a record through its life
//! (create, read, change, sub-resources, delete) without guessing ids.
//!
//! The links are derived from the document itself, so a new route gets its links without
//! anyone keeping a list:
//! - **Sub-paths of the creating path**: `POST /x` answering a record with an `id` links
//!   to every operation on `/x/{p}` and below, with `p` taken from that `id`. Path
//!   parameters before `{p}` are the creating request's own (`$request.path.…`).
//! - **Resources by schema**: a schema that exactly one `GET /y/{p}` returns identifies
//!   the resource at `/y/{p}`. A response that is such a record, or has a member that is
//!   one (one level deep, e.g. a merge outcome's `merge` and `customer`), links to every
//!   operation on `/y/{p}` and below.
//! - **Tokens**: a `POST` whose request body has exactly one member, required, that the
//!   response also has (a refresh token) gets that member from the response.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};
use utoipa::Modify;

/// Adds the derived links to the `POST` operations' success responses.
///
/// utoipa 5 writes its `Link` type's members in snake_case (`operation_id`), which no
/// OpenAPI reader understands, so the links go in as plain JSON under the response's
/// `links` key through its extension map. That map is a `HashMap`, so its output order
/// would vary from run to run if a response had a second extension; none has.
pub(super) struct Links;

impl Modify for Links {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let json = serde_json::to_value(&*doc).expect("an OpenAPI document serialises to JSON");
        let mut by_response: BTreeMap<(String, String), Map<String, Value>> = BTreeMap::new();
        for derived in derive(&json) {
            let mut link = json!({
                "operationId": derived.target,
                "description": derived.description,
            });
            if !derived.parameters.is_empty() {
                link["parameters"] = json!(derived.parameters);
            }
            if let Some(body) = derived.body {
                link["requestBody"] = body;
            }
            by_response
                .entry((derived.source_path, derived.status))
                .or_default()
                .insert(derived.name, link);
        }
        for ((path, status), links) in by_response {
            let response = doc
                .paths
                .paths
                .get_mut(&path)
                .and_then(|item| item.post.as_mut())
                .and_then(|operation| operation.responses.responses.get_mut(&status));
            if let Some(RefOr::T(response)) = response {
                response
                    .extensions
                    .get_or_insert_with(Default::default)
                    .insert("links".to_string(), Value::Object(links));
            }
        }
    }
}

/// One link to put on response `status` of `POST source_path`.
#[derive(Debug)]
struct DerivedLink {
    source_path: String,
    status: String,
    /// The link's key in the response's `links`: the target's operationId.
    name: String,
    target: String,
    description: String,
    /// Path parameter name to runtime expression.
    parameters: BTreeMap<String, String>,
    body: Option<Value>,
}

/// What the derivation needs to know of one operation.
struct Operation<'a> {
    path: &'a str,
    method: &'a str,
    id: &'a str,
    /// Path parameters in the order they appear in the path.
    path_params: Vec<&'a str>,
    request_body: Option<&'a Value>,
    /// Success statuses with a JSON body, and that body's schema.
    success_bodies: Vec<(&'a str, &'a Value)>,
}

fn derive(doc: &Value) -> Vec<DerivedLink> {
    let operations = operations(doc);
    let resources = resources_by_schema(&operations);
    let mut links = Vec::new();
    for source in operations.iter().filter(|op| op.method == "post") {
        for &(status, schema) in &source.success_bodies {
            let members = properties(doc, schema);
            // Target operationId to the link; the first rule that reaches a target wins.
            let mut found: BTreeMap<String, DerivedLink> = BTreeMap::new();
            let mut add = |target: &Operation, bound: &str, expression: String| {
                if target.path == source.path && target.method == source.method {
                    return;
                }
                let Some(mut parameters) = carried_parameters(source, target, bound) else {
                    return;
                };
                let description = format!(
                    "`{bound}` of `{}` is `{expression}` of this response",
                    target.id
                );
                parameters.insert(bound.to_string(), expression);
                found
                    .entry(target.id.to_string())
                    .or_insert_with(|| DerivedLink {
                        source_path: source.path.to_string(),
                        status: status.to_string(),
                        name: target.id.to_string(),
                        target: target.id.to_string(),
                        description,
                        parameters,
                        body: None,
                    });
            };
            if members.contains_key("id") {
                for target in &operations {
                    if let Some(param) = first_param_below(target, source.path) {
                        add(target, param, "$response.body#/id".to_string());
                    }
                }
            }
            let mut records = vec![(String::new(), schema)];
            records.extend(
                members
                    .iter()
                    .map(|(name, member)| (format!("/{name}"), *member)),
            );
            for (pointer, record) in records {
                let Some((prefix, param)) = ref_name(record).and_then(|name| resources.get(name))
                else {
                    continue;
                };
                if !properties(doc, record).contains_key("id") {
                    continue;
                }
                for target in &operations {
                    if first_param_below(target, prefix) == Some(param) {
                        add(target, param, format!("$response.body#{pointer}/id"));
                    }
                }
            }
            for target in operations.iter().filter(|op| op.method == "post") {
                let Some(member) = single_required_member(doc, target) else {
                    continue;
                };
                if member == "id" || !members.contains_key(member) || !target.path_params.is_empty()
                {
                    continue;
                }
                found
                    .entry(target.id.to_string())
                    .or_insert_with(|| DerivedLink {
                        source_path: source.path.to_string(),
                        status: status.to_string(),
                        name: target.id.to_string(),
                        target: target.id.to_string(),
                        description: format!(
                            "`{member}` of the request body of `{}` is `{member}` of this response",
                            target.id
                        ),
                        parameters: BTreeMap::new(),
                        body: Some(json!({ member: format!("$response.body#/{member}") })),
                    });
            }
            links.extend(found.into_values());
        }
    }
    links
}

fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut operations = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return operations;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            let success_bodies = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(status, _)| status.starts_with('2'))
                .filter_map(|(status, response)| {
                    let schema = &response["content"]["application/json"]["schema"];
                    (!schema.is_null()).then_some((status.as_str(), schema))
                })
                .collect();
            let request_body = &operation["requestBody"]["content"]["application/json"]["schema"];
            operations.push(Operation {
                path,
                method,
                id,
                path_params: path_params(path),
                request_body: (!request_body.is_null()).then_some(request_body),
                success_bodies,
            });
        }
    }
    operations
}

/// The names in a path template, in order: `/a/{id}/b/{b_id}` gives `id`, `b_id`.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// The parameter of the segment right below `prefix` in `target`'s path, when there is one:
/// `/x/{p}` and `/x/{p}/…` under `/x` give `p`.
fn first_param_below<'a>(target: &Operation<'a>, prefix: &str) -> Option<&'a str> {
    let rest = target.path.strip_prefix(prefix)?.strip_prefix('/')?;
    let segment = rest.split('/').next()?;
    segment.strip_prefix('{')?.strip_suffix('}')
}

/// Schema name to the one resource path `/y/{p}` whose `GET` returns it, as `(/y, p)`.
/// Schemas that several resources return (a label is a tag, a tier or a group) identify none.
fn resources_by_schema<'a>(operations: &[Operation<'a>]) -> BTreeMap<&'a str, (&'a str, &'a str)> {
    let mut candidates: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for operation in operations.iter().filter(|op| op.method == "get") {
        let Some((prefix, last)) = operation.path.rsplit_once('/') else {
            continue;
        };
        let Some(param) = last.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            continue;
        };
        for (status, schema) in &operation.success_bodies {
            if *status == "200" {
                if let Some(name) = ref_name(schema) {
                    candidates.entry(name).or_default().insert((prefix, param));
                }
            }
        }
    }
    candidates
        .into_iter()
        .filter(|(_, paths)| paths.len() == 1)
        .filter_map(|(name, paths)| paths.into_iter().next().map(|path| (name, path)))
        .collect()
}

/// The path parameters of `target` other than `bound`, each taken from the same
/// parameter of `source`'s request; `None` when `source` cannot supply one of them.
fn carried_parameters(
    source: &Operation,
    target: &Operation,
    bound: &str,
) -> Option<BTreeMap<String, String>> {
    let mut parameters = BTreeMap::new();
    for &param in target.path_params.iter().filter(|&&p| p != bound) {
        let placeholder = format!("{{{param}}}");
        let end = target.path.find(&placeholder)? + placeholder.len();
        if !source.path_params.contains(&param) || !source.path.starts_with(&target.path[..end]) {
            return None;
        }
        parameters.insert(param.to_string(), format!("$request.path.{param}"));
    }
    Some(parameters)
}

/// The one member of `target`'s JSON request body, when it has exactly one and requires it.
fn single_required_member<'a>(doc: &'a Value, target: &Operation<'a>) -> Option<&'a str> {
    let schema = resolve(doc, target.request_body?);
    let members = properties(doc, schema);
    let required = schema["required"].as_array()?;
    let names: Vec<&str> = members.keys().copied().collect();
    match (names.as_slice(), required.as_slice()) {
        ([member], [required]) if required.as_str() == Some(*member) => Some(*member),
        _ => None,
    }
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match ref_name(schema) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// The members of an object schema, through `$ref` and `allOf`.
fn properties<'a>(doc: &'a Value, schema: &'a Value) -> BTreeMap<&'a str, &'a Value> {
    let schema = resolve(doc, schema);
    let mut members: BTreeMap<&str, &Value> = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, member)| (name.as_str(), member))
        .collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        members.extend(properties(doc, part));
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        serde_json::to_value(crate::openapi::document()).expect("document serialises")
    }

    /// Every link of the document as `(source operationId, status, link)`.
    fn all_links(doc: &Value) -> Vec<(String, String, Value)> {
        let mut links = Vec::new();
        for operation in operations(doc) {
            let responses = doc["paths"][operation.path][operation.method]["responses"]
                .as_object()
                .expect("responses");
            for (status, response) in responses {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|l| l.1)
                {
                    links.push((operation.id.to_string(), status.clone(), link.clone()));
                }
            }
        }
        links
    }

    fn find<'a>(operations: &'a [Operation<'a>], id: &str) -> &'a Operation<'a> {
        operations
            .iter()
            .find(|op| op.id == id)
            .unwrap_or_else(|| panic!("no operation {id}"))
    }

    /// Follows a `$response.body#/a/b` pointer through the response's schema.
    fn pointer_exists(doc: &Value, schema: &Value, pointer: &str) -> bool {
        let mut schema = schema;
        for member in pointer.split('/').filter(|m| !m.is_empty()) {
            match properties(doc, schema).get(member) {
                Some(next) => schema = next,
                None => return false,
            }
        }
        true
    }

    #[test]
    fn every_link_names_an_existing_operation_and_its_parameters() {
        let doc = document();
        let operations = operations(&doc);
        let links = all_links(&doc);
        assert!(links.len() > 50, "only {} links", links.len());
        for (source_id, status, link) in &links {
            let source = find(&operations, source_id);
            let target_id = link["operationId"].as_str().expect("operationId");
            let target = find(&operations, target_id);
            let response_schema = source
                .success_bodies
                .iter()
                .find(|(s, _)| s == status)
                .map(|(_, schema)| *schema)
                .unwrap_or_else(|| panic!("{source_id} {status} has a JSON body"));
            let parameters = link["parameters"].as_object().cloned().unwrap_or_default();
            let mut bound: Vec<&str> = parameters.keys().map(String::as_str).collect();
            bound.sort_unstable();
            let mut wanted = target.path_params.clone();
            wanted.sort_unstable();
            assert_eq!(
                bound, wanted,
                "{source_id} {status} -> {target_id} binds exactly the target's path parameters"
            );
            let mut expressions: Vec<&str> =
                parameters.values().filter_map(Value::as_str).collect();
            if let Some(body) = link["requestBody"].as_object() {
                let target_members = properties(&doc, target.request_body.expect("target body"));
                for (member, expression) in body {
                    assert!(
                        target_members.contains_key(member.as_str()),
                        "{target_id} takes {member}"
                    );
                    expressions.push(expression.as_str().expect("expression"));
                }
            }
            assert!(
                !expressions.is_empty(),
                "{source_id} -> {target_id} carries something"
            );
            for expression in expressions {
                if let Some(param) = expression.strip_prefix("$request.path.") {
                    assert!(
                        source.path_params.contains(&param),
                        "{source_id} has {param}"
                    );
                } else if let Some(pointer) = expression.strip_prefix("$response.body#") {
                    assert!(
                        pointer_exists(&doc, response_schema, pointer),
                        "{source_id} {status} has {pointer}"
                    );
                } else {
                    panic!("unexpected expression {expression}");
                }
            }
        }
    }

    #[test]
    fn created_records_lead_to_the_operations_that_take_their_id() {
        let doc = document();
        let links = all_links(&doc);
        let has = |source: &str, status: &str, target: &str, parameter: &str, expression: &str| {
            links.iter().any(|(s, st, link)| {
                s == source
                    && st == status
                    && link["operationId"] == target
                    && (link["parameters"][parameter] == expression
                        || link["requestBody"][parameter] == expression)
            })
        };
        for (source, status, target, parameter, expression) in [
            (
                "create_customer",
                "201",
                "get_customer",
                "id",
                "$response.body#/id",
            ),
            (
                "create_customer",
                "201",
                "create_note",
                "id",
                "$response.body#/id",
            ),
            (
                "create_customer",
                "201",
                "record_consent",
                "id",
                "$response.body#/id",
            ),
            (
                "create_note",
                "201",
                "update_note",
                "note_id",
                "$response.body#/id",
            ),
            (
                "create_note",
                "201",
                "update_note",
                "id",
                "$request.path.id",
            ),
            (
                "add_personnel",
                "201",
                "remove_personnel",
                "personnel_id",
                "$response.body#/id",
            ),
            (
                "create_tag",
                "201",
                "assign_tag",
                "id",
                "$response.body#/id",
            ),
            (
                "create_tier",
                "201",
                "update_tier",
                "id",
                "$response.body#/id",
            ),
            (
                "create_customer_group",
                "201",
                "delete_customer_group",
                "id",
                "$response.body#/id",
            ),
            (
                "create_user",
                "201",
                "deactivate_user",
                "id",
                "$response.body#/id",
            ),
            (
                "create_team",
                "201",
                "update_team",
                "id",
                "$response.body#/id",
            ),
            (
                "create_api_key",
                "201",
                "revoke_api_key",
                "id",
                "$response.body#/id",
            ),
            (
                "create_custom_field",
                "201",
                "update_custom_field",
                "id",
                "$response.body#/id",
            ),
            (
                "create_export",
                "202",
                "download_export",
                "job_id",
                "$response.body#/id",
            ),
            (
                "create_export",
                "202",
                "get_job",
                "id",
                "$response.body#/id",
            ),
            (
                "create_import",
                "202",
                "cancel_job",
                "id",
                "$response.body#/id",
            ),
            (
                "merge_customers",
                "201",
                "undo_customer_merge",
                "merge_id",
                "$response.body#/merge/id",
            ),
            (
                "login",
                "200",
                "refresh_token",
                "refresh_token",
                "$response.body#/refresh_token",
            ),
            (
                "refresh_token",
                "200",
                "logout",
                "refresh_token",
                "$response.body#/refresh_token",
            ),
        ] {
            assert!(
                has(source, status, target, parameter, expression),
                "{source} {status} -> {target} with {parameter} = {expression}"
            );
        }
        // A label schema is shared by tags, tiers and groups: a tag never leads to a tier.
        assert!(!links.iter().any(|(s, _, link)| s == "create_tag"
            && link["operationId"]
                .as_str()
                .is_some_and(|t| t.ends_with("_tier"))));
    }

    #[test]
    fn every_operation_with_path_parameters_is_reached_by_a_link() {
        let doc = document();
        let targets: BTreeSet<String> = all_links(&doc)
            .into_iter()
            .filter_map(|(_, _, link)| link["operationId"].as_str().map(str::to_string))
            .collect();
        // Audit events and notifications are written as side effects; no response
        // returns one to follow. A survey's token reaches the customer only in the text
        // of a ticket's message, never as a field, and an unsubscribe token only in an
        // e-mail's header. The webhooks are called by the providers at the
        // `webhook_path` an account shows.
        let unreachable = [
            "get_audit_event",
            "read_notification",
            "get_survey",
            "answer_survey",
            "unsubscribe_page",
            "unsubscribe_one_click",
            "telegram_webhook",
            "whatsapp_subscription",
            "whatsapp_webhook",
            "instagram_subscription",
            "instagram_webhook",
            "sms_received",
            "sms_delivery",
            // A feedback survey's link goes out as a whole path (`link` of an
            // invitation's outcome) for the customer to open, not as a token field.
            "get_survey_link",
            "answer_survey_link",
            // A webhook delivery is made by an event, not by a request; its id comes
            // from the subscription's delivery log.
            "replay_webhook_delivery",
            // A workflow run is started by its trigger, not by a request; its id comes
            // from the list of runs.
            "get_workflow_run",
            "cancel_workflow_run",
            // An event definition is named by its event name, which the caller
            // chooses (`PUT`) or an app sent; no response hands it over as an id.
            "get_event_definition",
            "put_event_definition",
            "delete_event_definition",
            // A retention rule is named by its kind, one of the values the
            // `RetentionKind` schema lists; the caller chooses it (`PUT`).
            "get_retention_rule",
            "put_retention_rule",
            "delete_retention_rule",
            // A referral code travels in the business's own links and forms, typed in
            // by the new customer; no response hands it over as an id.
            "resolve_referral_code",
            // Called by the widget with the site key written into the business's
            // pages; no response links to them.
            "start_widget_chat",
            "send_widget_message",
            "list_widget_messages",
            // A campaign recipient's tracking token reaches them only in the links and
            // the open pixel of their message.
            "campaign_link",
            "campaign_open",
        ];
        for operation in operations(&doc) {
            if operation.path_params.is_empty() || unreachable.contains(&operation.id) {
                continue;
            }
            assert!(
                targets.contains(operation.id),
                "no link leads to {}",
                operation.id
            );
        }
    }
}
