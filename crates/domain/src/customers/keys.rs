//! Derived text of a customer: its display name, the quick-search text (C-9, L-1) and
//! the name key duplicate detection compares (D-2). All are recomputed from the stored
//! fields on every write, so they never drift from what they describe.

use super::input::{CustomerInput, CustomerKind};
use crate::persian::{name_key, search_key};

/// "first last" for a person (the title is shown separately), the registered name for an
/// organization.
pub fn display_name(input: &CustomerInput) -> String {
    match input.kind {
        CustomerKind::Person => [input.first_name.as_deref(), input.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        CustomerKind::Organization => input.organization_name.clone().unwrap_or_default(),
    }
}

/// The key duplicate detection compares names by; `None` when there is no name.
pub fn name_key_of(input: &CustomerInput) -> Option<String> {
    let key = match input.kind {
        CustomerKind::Person => name_key(
            input.first_name.as_deref().unwrap_or(""),
            input.last_name.as_deref().unwrap_or(""),
        ),
        CustomerKind::Organization => search_key(input.organization_name.as_deref().unwrap_or("")),
    };
    (!key.is_empty()).then_some(key)
}

/// The text quick search (`q`) looks in: the [`search_key`] of every identifying field,
/// separated by spaces so that a term never matches across two fields. Search terms
/// are reduced the same way, so "علي", "۰۹۱۲" and "ALI" find "علی", "0912…" and "Ali".
/// Phones appear both in international digits (`98912…`) and in the national form
/// people type (`0912…`). `extra` carries searchable custom-field text.
pub fn search_text<'a>(input: &CustomerInput, extra: impl Iterator<Item = &'a str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |text: &str| {
        let key = search_key(text);
        if !key.is_empty() && !parts.contains(&key) {
            parts.push(key);
        }
    };
    push(&display_name(input));
    for text in [
        &input.code,
        &input.national_code,
        &input.national_id,
        &input.title,
        &input.industry,
        &input.website,
    ]
    .into_iter()
    .flatten()
    {
        push(text);
    }
    for phone in &input.phones {
        push(&phone.number);
        if let Some(national) = phone.number.strip_prefix("+98") {
            push(&format!("0{national}"));
        }
    }
    for email in &input.emails {
        push(&email.address);
    }
    for address in &input.addresses {
        for text in [&address.city, &address.province, &address.postal_code]
            .into_iter()
            .flatten()
        {
            push(text);
        }
    }
    for text in extra {
        push(text);
    }
    parts.join(" ")
}
