use chrono::NaiveDate;
use serde_json::json;

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn person(value: serde_json::Value) -> CustomerInput {
    let mut object = json!({"kind": "person"});
    object
        .as_object_mut()
        .unwrap()
        .extend(value.as_object().unwrap().clone());
    serde_json::from_value(object).unwrap()
}

fn codes(errors: &[crate::validation::FieldViolation]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.clone(), e.code.clone()))
        .collect()
}

#[test]
fn a_person_is_normalised_for_storage() {
    let input = person(json!({
        "first_name": "  علی  ",
        "last_name": "کریمی",
        "code": "C-۱۲",
        "national_code": "۰۰۷۶۲۲۹۶۴۵",
        "phones": [{"number": "0912 123 4567"}, {"number": "021-88001122", "primary": true}],
        "emails": [{"address": " Ali.Karimi@Example.IR "}],
        "addresses": [{"city": "تهران", "postal_code": "۱۹۶۶۹-۳۶۵۴۱"}],
        "website": "example.ir"
    }));
    let customer = validate_customer(input, today()).unwrap();
    assert_eq!(customer.first_name.as_deref(), Some("علی"));
    assert_eq!(customer.code.as_deref(), Some("C-12"));
    assert_eq!(customer.national_code.as_deref(), Some("0076229645"));
    assert_eq!(customer.phones[0].number, "+989121234567");
    assert_eq!(customer.phones[0].phone_type, Some(PhoneType::Mobile));
    assert!(!customer.phones[0].primary);
    assert!(customer.phones[1].primary);
    assert_eq!(customer.phones[1].phone_type, Some(PhoneType::Landline));
    assert_eq!(customer.emails[0].address, "ali.karimi@example.ir");
    assert!(customer.emails[0].primary);
    assert_eq!(
        customer.addresses[0].postal_code.as_deref(),
        Some("1966936541")
    );
    assert_eq!(customer.website.as_deref(), Some("https://example.ir"));
}

#[test]
fn every_bad_field_is_reported_with_its_rule() {
    let input = person(json!({
        "national_code": "0076229646",
        "organization_name": "Acme",
        "phones": [{"number": "12345"}, {"number": "02188001122", "type": "mobile"}],
        "emails": [{"address": "not-an-email"}],
        "addresses": [{"postal_code": "123"}, {}],
        "birth_date": "2030-01-01",
        "website": "not a site"
    }));
    let errors = codes(&validate_customer(input, today()).unwrap_err());
    for expected in [
        ("national_code", "invalid_checksum"),
        ("organization_name", "not_allowed_for_kind"),
        ("last_name", "required"),
        ("phones[1].type", "type_mismatch"),
        ("emails[0].address", "invalid_format"),
        ("addresses[0].postal_code", "invalid_length"),
        ("addresses[1]", "empty"),
        ("birth_date", "in_future"),
        ("website", "invalid_format"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {errors:?}"
        );
    }
    assert!(errors.iter().any(|(field, _)| field == "phones[0].number"));
}

#[test]
fn organizations_check_their_legal_id_and_refuse_person_fields() {
    let input: CustomerInput = serde_json::from_value(json!({
        "kind": "organization",
        "organization_name": "شرکت نمونه",
        "national_id": "10380284792",
        "first_name": "x"
    }))
    .unwrap();
    let errors = codes(&validate_customer(input, today()).unwrap_err());
    assert!(errors.contains(&("national_id".into(), "invalid_checksum".into())));
    assert!(errors.contains(&("first_name".into(), "not_allowed_for_kind".into())));
}

#[test]
fn two_primaries_and_repeated_numbers_are_refused() {
    let input = person(json!({
        "last_name": "x",
        "phones": [
            {"number": "09121234567", "primary": true},
            {"number": "+98 912 123 4567", "primary": true}
        ]
    }));
    let errors = codes(&validate_customer(input, today()).unwrap_err());
    assert!(errors.contains(&("phones".into(), "multiple_primary".into())));
    assert!(errors.contains(&("phones[1].number".into(), "duplicate".into())));
}

#[test]
fn search_text_finds_persian_variants_digits_and_national_phone_form() {
    let input = validate_customer(
        person(json!({
            "first_name": "علی‌رضا",
            "last_name": "Karimi",
            "phones": [{"number": "09121234567"}],
            "emails": [{"address": "a.k@example.ir"}]
        })),
        today(),
    )
    .unwrap();
    let text = search_text(&input, std::iter::empty());
    for query in [
        "علي",
        "علی رضا",
        "۰۹۱۲",
        "0912",
        "98912",
        "KARIMI",
        "a.k@example",
    ] {
        for term in crate::persian::search_terms(query) {
            assert!(
                text.contains(&term),
                "{query:?} -> {term:?} not in {text:?}"
            );
        }
    }
    assert_eq!(display_name(&input), "علی‌رضا Karimi");
    assert_eq!(name_key_of(&input).as_deref(), Some("علیرضاkarimi"));
}
