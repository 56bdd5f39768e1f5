//! Merging duplicate customers (D-2): the document the surviving customer ends up with,
//! and the document an undo gives it back.
//!
//! The winner keeps its own values unless the merge names another customer for a field
//! (`field_choices`). Contact lists, tags and groups are combined, because each entry is
//! a separate fact worth keeping: the winner's entries first (its primary stays primary),
//! then every loser's entries the winner does not already have. Custom fields the winner
//! lacks are filled from the losers, in the order the losers are given.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::input::{AddressInput, CustomerInput};
use crate::validation::{FieldViolation, Violations};

/// Prefix of a custom field in `field_choices`: `custom_fields.<key>`.
pub const CUSTOM_FIELD_CHOICE_PREFIX: &str = "custom_fields.";

/// Applies `$body` to each field that a merge may take from another customer.
macro_rules! choosable_fields {
    ($body:ident) => {
        $body!(
            code,
            title,
            gender,
            first_name,
            last_name,
            organization_name,
            industry,
            website,
            national_code,
            national_id,
            birth_certificate_number,
            birth_date,
            marriage_date,
            founding_date,
            field_of_study,
            degree,
            owner_id,
            team_id,
            tier_id,
            lifecycle_stage,
            acquisition_source,
            acquisition_channel,
            acquisition_campaign,
            referred_by_customer_id,
            referred_by_user_id
        )
    };
}

macro_rules! field_names {
    ($($field:ident),+) => {
        &[$(stringify!($field)),+]
    };
}

/// Fields `field_choices` may name besides `custom_fields.<key>`. Lists (phones,
/// e-mails, addresses, tags, groups) are always combined and `kind` must agree.
pub const CHOOSABLE_FIELDS: &[&str] = choosable_fields!(field_names);

/// Sets `field` of `to` to the value it has in `from`; false for an unknown field.
fn take_field(field: &str, to: &mut CustomerInput, from: &CustomerInput) -> bool {
    macro_rules! take {
        ($($name:ident),+) => {
            match field {
                $(stringify!($name) => to.$name = from.$name.clone(),)+
                _ => return false,
            }
        };
    }
    choosable_fields!(take);
    true
}

/// The merged document of `winner` and `losers` (ids with their documents), taking the
/// fields named in `choices` from the customer each names. Every problem with the
/// request is reported at once: a loser of another kind, an unknown field, a field that
/// cannot be chosen, a customer that is not part of the merge.
pub fn merge_documents(
    winner: (Uuid, &CustomerInput),
    losers: &[(Uuid, &CustomerInput)],
    choices: &BTreeMap<String, Uuid>,
) -> Result<CustomerInput, Vec<FieldViolation>> {
    let (winner_id, winner) = winner;
    let mut v = Violations::default();
    for (i, (_, loser)) in losers.iter().enumerate() {
        if loser.kind != winner.kind {
            v.push(
                format!("loser_ids[{i}]"),
                "kind_mismatch",
                format!(
                    "is a customer of kind {}, the winner of kind {}",
                    loser.kind.as_str(),
                    winner.kind.as_str()
                ),
            );
        }
    }
    let mut merged = winner.clone();
    for (_, loser) in losers {
        union_by(&mut merged.phones, &loser.phones, |p| p.number.clone());
        union_by(&mut merged.emails, &loser.emails, |e| e.address.clone());
        union_by(&mut merged.addresses, &loser.addresses, address_key);
        union_by(&mut merged.tag_ids, &loser.tag_ids, |id| *id);
        union_by(&mut merged.group_ids, &loser.group_ids, |id| *id);
        for (key, value) in &loser.custom_fields {
            let winner_lacks = !matches!(merged.custom_fields.get(key), Some(v) if !v.is_null());
            if winner_lacks && !value.is_null() {
                merged.custom_fields.insert(key.clone(), value.clone());
            }
        }
    }
    for (field, source) in choices {
        let path = format!("field_choices.{field}");
        let from = if *source == winner_id {
            Some(winner)
        } else {
            losers
                .iter()
                .find(|(id, _)| id == source)
                .map(|(_, input)| *input)
        };
        let Some(from) = from else {
            v.push(
                path,
                "not_involved",
                "must be the id of the winner or of one of the losers",
            );
            continue;
        };
        if let Some(key) = field.strip_prefix(CUSTOM_FIELD_CHOICE_PREFIX) {
            match from.custom_fields.get(key) {
                Some(value) => merged.custom_fields.insert(key.to_string(), value.clone()),
                None => merged.custom_fields.remove(key),
            };
        } else if !take_field(field, &mut merged, from) {
            v.push(
                path,
                "not_choosable",
                format!(
                    "must be custom_fields.<key> or one of: {}; lists are combined",
                    CHOOSABLE_FIELDS.join(", ")
                ),
            );
        }
    }
    v.into_result().map(|()| merged)
}

/// Appends the entries of `extra` whose key `list` does not hold yet. Appended contact
/// entries are never primary, so the winner's primary stays primary.
fn union_by<T: Clone + MaybePrimary, K: PartialEq>(
    list: &mut Vec<T>,
    extra: &[T],
    key: impl Fn(&T) -> K,
) {
    for item in extra {
        let k = key(item);
        if !list.iter().any(|existing| key(existing) == k) {
            let mut item = item.clone();
            item.clear_primary();
            list.push(item);
        }
    }
}

/// Entries with a primary flag; tags and groups have none.
trait MaybePrimary {
    fn clear_primary(&mut self) {}
}

impl MaybePrimary for Uuid {}

macro_rules! primary_entries {
    ($($ty:ty),+) => {
        $(impl MaybePrimary for $ty {
            fn clear_primary(&mut self) {
                self.primary = false;
            }
        })+
    };
}

primary_entries!(
    super::input::PhoneInput,
    super::input::EmailInput,
    AddressInput
);

/// Two addresses are the same place when everything but label and primary agrees.
fn address_key(address: &AddressInput) -> [Option<String>; 5] {
    [
        address.province.clone(),
        address.city.clone(),
        address.line.clone(),
        address.postal_code.clone(),
        address.po_box.clone(),
    ]
}

/// The document an undo writes: for each field (and each custom field), the value from
/// `before` the merge where the customer still holds what the merge wrote (`merged`),
/// and the `current` value where someone has changed the field since, so that undoing
/// a merge never throws away a later edit.
pub fn unmerged_document(
    before: &CustomerInput,
    merged: &CustomerInput,
    current: &CustomerInput,
) -> Result<CustomerInput, serde_json::Error> {
    // Tags and groups are sets: their order says nothing about what changed.
    let as_map = |input: &CustomerInput| -> Result<Map<String, Value>, serde_json::Error> {
        let mut input = input.clone();
        input.tag_ids.sort();
        input.group_ids.sort();
        match serde_json::to_value(input)? {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        }
    };
    let (before, merged, current) = (as_map(before)?, as_map(merged)?, as_map(current)?);
    let mut restored = three_way(&before, &merged, &current);
    let custom = |map: &Map<String, Value>| match map.get("custom_fields") {
        Some(Value::Object(custom)) => custom.clone(),
        _ => Map::new(),
    };
    restored.insert(
        "custom_fields".into(),
        Value::Object(three_way(
            &custom(&before),
            &custom(&merged),
            &custom(&current),
        )),
    );
    serde_json::from_value(Value::Object(restored))
}

/// Per key: `before` where `current` still equals `merged`, else `current`. Absent keys
/// count as null and null results are left out.
fn three_way(
    before: &Map<String, Value>,
    merged: &Map<String, Value>,
    current: &Map<String, Value>,
) -> Map<String, Value> {
    let keys: std::collections::BTreeSet<&String> = before
        .keys()
        .chain(merged.keys())
        .chain(current.keys())
        .collect();
    keys.into_iter()
        .filter_map(|key| {
            let now = current.get(key).unwrap_or(&Value::Null);
            let value = if now == merged.get(key).unwrap_or(&Value::Null) {
                before.get(key).unwrap_or(&Value::Null)
            } else {
                now
            };
            (!value.is_null()).then(|| (key.clone(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customers::{CustomerKind, EmailInput, LifecycleStage, PhoneInput};
    use serde_json::json;

    fn phone(number: &str, primary: bool) -> PhoneInput {
        PhoneInput {
            number: number.into(),
            phone_type: None,
            label: None,
            primary,
        }
    }

    fn person(first: &str, phones: Vec<PhoneInput>, email: &str) -> CustomerInput {
        let mut input = CustomerInput::empty(CustomerKind::Person);
        input.first_name = Some(first.into());
        input.last_name = Some("کریمی".into());
        input.phones = phones;
        input.emails = vec![EmailInput {
            address: email.into(),
            label: None,
            primary: true,
        }];
        input
    }

    #[test]
    fn lists_are_combined_and_the_winner_keeps_its_primary() {
        let (w, l) = (Uuid::now_v7(), Uuid::now_v7());
        let tag = Uuid::now_v7();
        let winner = person("علی", vec![phone("+989121234567", true)], "a@x.ir");
        let mut loser = person(
            "علي",
            vec![phone("+989121234567", true), phone("+982188001122", false)],
            "b@x.ir",
        );
        loser.tag_ids = vec![tag];
        loser.custom_fields = json!({"branch": "Vanak"}).as_object().unwrap().clone();
        let merged = merge_documents((w, &winner), &[(l, &loser)], &BTreeMap::new()).unwrap();
        let numbers: Vec<(&str, bool)> = merged
            .phones
            .iter()
            .map(|p| (p.number.as_str(), p.primary))
            .collect();
        assert_eq!(
            numbers,
            vec![("+989121234567", true), ("+982188001122", false)]
        );
        let emails: Vec<(&str, bool)> = merged
            .emails
            .iter()
            .map(|e| (e.address.as_str(), e.primary))
            .collect();
        assert_eq!(emails, vec![("a@x.ir", true), ("b@x.ir", false)]);
        assert_eq!(merged.tag_ids, vec![tag]);
        assert_eq!(merged.first_name.as_deref(), Some("علی"));
        assert_eq!(merged.custom_fields["branch"], "Vanak");
    }

    #[test]
    fn chosen_fields_come_from_the_named_customer() {
        let (w, l) = (Uuid::now_v7(), Uuid::now_v7());
        let mut winner = person("Ali", vec![], "a@x.ir");
        winner.custom_fields = json!({"branch": "Tajrish"}).as_object().unwrap().clone();
        let mut loser = person("علی", vec![], "b@x.ir");
        loser.lifecycle_stage = LifecycleStage::Purchase;
        loser.custom_fields = json!({"branch": "Vanak"}).as_object().unwrap().clone();
        let choices = BTreeMap::from([
            ("first_name".to_string(), l),
            ("lifecycle_stage".to_string(), l),
            ("custom_fields.branch".to_string(), l),
        ]);
        let merged = merge_documents((w, &winner), &[(l, &loser)], &choices).unwrap();
        assert_eq!(merged.first_name.as_deref(), Some("علی"));
        assert_eq!(merged.lifecycle_stage, LifecycleStage::Purchase);
        assert_eq!(merged.custom_fields["branch"], "Vanak");
    }

    #[test]
    fn bad_choices_and_kinds_are_named() {
        let (w, l) = (Uuid::now_v7(), Uuid::now_v7());
        let winner = person("Ali", vec![], "a@x.ir");
        let mut loser = CustomerInput::empty(CustomerKind::Organization);
        loser.organization_name = Some("پارس".into());
        let choices = BTreeMap::from([
            ("phones".to_string(), l),
            ("title".to_string(), Uuid::now_v7()),
        ]);
        let errors = merge_documents((w, &winner), &[(l, &loser)], &choices).unwrap_err();
        let codes: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert!(codes.contains(&("loser_ids[0]", "kind_mismatch")));
        assert!(codes.contains(&("field_choices.phones", "not_choosable")));
        assert!(codes.contains(&("field_choices.title", "not_involved")));
    }

    #[test]
    fn undo_restores_what_the_merge_wrote_and_keeps_later_edits() {
        let (w, l) = (Uuid::now_v7(), Uuid::now_v7());
        let mut before = person("Ali", vec![phone("+989121234567", true)], "a@x.ir");
        before.title = Some("دکتر".into());
        before.tag_ids = vec![Uuid::now_v7()];
        let mut loser = person("Ali", vec![phone("+989351112233", true)], "b@x.ir");
        loser.tag_ids = vec![Uuid::now_v7()];
        loser.custom_fields = json!({"branch": "Vanak"}).as_object().unwrap().clone();
        let choices = BTreeMap::from([("title".to_string(), l)]);
        let merged = merge_documents((w, &before), &[(l, &loser)], &choices).unwrap();
        assert_eq!(
            unmerged_document(&before, &merged, &merged).unwrap(),
            before
        );
        let mut reordered = merged.clone();
        reordered.tag_ids.reverse();
        assert_eq!(
            unmerged_document(&before, &merged, &reordered).unwrap(),
            before
        );
        let mut edited = merged.clone();
        edited.website = Some("https://example.ir".into());
        let restored = unmerged_document(&before, &merged, &edited).unwrap();
        assert_eq!(restored.website.as_deref(), Some("https://example.ir"));
        assert_eq!(restored.title.as_deref(), Some("دکتر"));
        assert_eq!(restored.phones, before.phones);
        assert!(restored.custom_fields.is_empty());
    }
}
