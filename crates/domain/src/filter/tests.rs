use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::*;
use crate::calendar::CalendarSystem;

pub(super) const STATUSES: &[&str] = &["active", "suspended"];

/// A catalogue with one field of every kind, like a resource would declare.
pub(super) const CATALOGUE: &[FieldSpec] = &[
    FieldSpec::new("email", FieldKind::Text).sortable(),
    FieldSpec::new("display_name", FieldKind::Text).nullable(),
    FieldSpec::new("id", FieldKind::Uuid).sortable(),
    FieldSpec::new("login_count", FieldKind::Integer).sortable(),
    FieldSpec::new("is_admin", FieldKind::Bool),
    FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
    FieldSpec::new("last_login_at", FieldKind::Timestamp).nullable(),
    FieldSpec::new("birth_date", FieldKind::Date)
        .nullable()
        .sortable(),
    FieldSpec::new("status", FieldKind::Enum(STATUSES)),
];

fn instant(text: &str) -> DateTime<Utc> {
    text.parse().expect("valid test instant")
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("valid test date")
}

/// 2026-11-23 13:30 in Tehran, which is 1405/09/02, a Monday.
fn context() -> ResolveContext {
    ResolveContext::new(instant("2026-11-23T10:00:00Z"), LocalCalendar::default())
}

fn validate(filter: Value) -> Result<ResolvedFilter, FilterErrors> {
    validate_filter(&filter, CATALOGUE, &context())
}

fn errors(filter: Value) -> Vec<(String, &'static str)> {
    match validate(filter) {
        Ok(resolved) => panic!("expected errors, got {resolved:?}"),
        Err(FilterErrors(errors)) => errors
            .into_iter()
            .map(|error| (error.path, error.code.as_str()))
            .collect(),
    }
}

fn single_error(filter: Value) -> (String, &'static str) {
    let mut found = errors(filter);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

fn leaf(field: &'static str, predicate: Predicate) -> ResolvedFilter {
    ResolvedFilter::Condition { field, predicate }
}

fn text(value: &str) -> TypedValue {
    TypedValue::Text(value.to_owned())
}

fn at(text: &str) -> TypedValue {
    TypedValue::Timestamp(instant(text))
}

#[test]
fn resolves_a_nested_tree() {
    let resolved = validate(json!({"and": [
        {"field": "email", "op": "contains", "value": "@example.com"},
        {"or": [
            {"field": "status", "op": "in", "value": ["active"]},
            {"field": "login_count", "op": "gte", "value": 3},
            {"field": "is_admin", "op": "eq", "value": true}
        ]}
    ]}));
    let expected = ResolvedFilter::And(vec![
        leaf("email", Predicate::Contains("@example.com".to_owned())),
        ResolvedFilter::Or(vec![
            leaf("status", Predicate::In(vec![text("active")])),
            leaf("login_count", Predicate::Gte(TypedValue::Integer(3))),
            leaf("is_admin", Predicate::Eq(TypedValue::Bool(true))),
        ]),
    ]);
    assert_eq!(resolved, Ok(expected));
}

#[test]
fn reads_absolute_values_by_kind() {
    let id = "0190a0e4-6f3a-7cc2-9d1e-3a5b9c1d2e3f";
    let cases = [
        (
            json!({"field": "id", "op": "eq", "value": id}),
            "id",
            Predicate::Eq(TypedValue::Uuid(uuid::Uuid::parse_str(id).expect("uuid"))),
        ),
        (
            json!({"field": "created_at", "op": "lt", "value": "2024-03-20T08:30:00+03:30"}),
            "created_at",
            Predicate::Lt(at("2024-03-20T05:00:00Z")),
        ),
        (
            json!({"field": "birth_date", "op": "neq", "value": "1990-01-31"}),
            "birth_date",
            Predicate::Neq(TypedValue::Date(date("1990-01-31"))),
        ),
        (
            json!({"field": "display_name", "op": "is_null", "value": false}),
            "display_name",
            Predicate::IsNull(false),
        ),
        (
            json!({"field": "email", "op": "starts_with", "value": "ali"}),
            "email",
            Predicate::StartsWith("ali".to_owned()),
        ),
        (
            json!({"field": "status", "op": "not_in", "value": ["suspended"]}),
            "status",
            Predicate::NotIn(vec![text("suspended")]),
        ),
    ];
    for (filter, field, predicate) in cases {
        assert_eq!(validate(filter), Ok(leaf(field, predicate)));
    }
}

#[test]
fn between_becomes_two_inclusive_bounds() {
    let resolved = validate(json!({"field": "login_count", "op": "between", "value": [2, 2]}));
    let expected = ResolvedFilter::And(vec![
        leaf("login_count", Predicate::Gte(TypedValue::Integer(2))),
        leaf("login_count", Predicate::Lte(TypedValue::Integer(2))),
    ]);
    assert_eq!(resolved, Ok(expected));
    let reversed =
        json!({"field": "birth_date", "op": "between", "value": ["2000-01-02", "2000-01-01"]});
    assert_eq!(
        single_error(reversed),
        ("filter.value".to_owned(), "invalid_range")
    );
    let short = json!({"field": "login_count", "op": "between", "value": [1]});
    assert_eq!(
        single_error(short),
        ("filter.value".to_owned(), "invalid_value")
    );
}

#[test]
fn rejects_bad_values_with_their_paths() {
    let filter = json!({"or": [
        {"field": "id", "op": "eq", "value": "not-a-uuid"},
        {"field": "login_count", "op": "eq", "value": 1.5},
        {"field": "is_admin", "op": "eq", "value": "true"},
        {"field": "birth_date", "op": "eq", "value": "2024-3-1"},
        {"field": "created_at", "op": "eq", "value": "2024-03-01"},
        {"field": "status", "op": "eq", "value": "deleted"},
        {"field": "email", "op": "contains", "value": ""},
        {"field": "display_name", "op": "is_null", "value": "yes"},
        {"field": "status", "op": "in", "value": ["active", 7, "gone"]}
    ]});
    let expected: Vec<(String, &str)> = [
        "filter.or[0].value",
        "filter.or[1].value",
        "filter.or[2].value",
        "filter.or[3].value",
        "filter.or[4].value",
        "filter.or[5].value",
        "filter.or[6].value",
        "filter.or[7].value",
        "filter.or[8].value[1]",
        "filter.or[8].value[2]",
    ]
    .into_iter()
    .map(|path| (path.to_owned(), "invalid_value"))
    .collect();
    assert_eq!(errors(filter), expected);
}

#[test]
fn rejects_unknown_fields_and_operators() {
    let filter = json!({"and": [
        {"field": "password_hash", "op": "eq", "value": "x"},
        {"field": "email", "op": "like", "value": "x"},
        {"field": "created_at", "op": "contains", "value": "2024"},
        {"field": "email", "op": "is_null", "value": true},
        {"field": "is_admin", "op": "in", "value": [true]}
    ]});
    let expected = vec![
        ("filter.and[0].field".to_owned(), "unknown_field"),
        ("filter.and[1].op".to_owned(), "unknown_operator"),
        ("filter.and[2].op".to_owned(), "operator_not_allowed"),
        ("filter.and[3].op".to_owned(), "operator_not_allowed"),
        ("filter.and[4].op".to_owned(), "operator_not_allowed"),
    ];
    assert_eq!(errors(filter), expected);
}

#[test]
fn messages_name_what_is_allowed() {
    let Err(FilterErrors(found)) =
        validate(json!({"field": "created_at", "op": "contains", "value": "x"}))
    else {
        panic!("contains on a timestamp must fail");
    };
    assert_eq!(
        found[0].message,
        "`contains` does not apply to `created_at`; it takes: eq, neq, lt, lte, gt, gte, in, not_in, between"
    );
}

#[test]
fn rejects_malformed_structure() {
    let cases = [
        (json!([]), "filter"),
        (json!({"and": []}), "filter.and"),
        (json!({"and": {"field": "email"}}), "filter.and"),
        (
            json!({"and": [{"field": "email", "op": "eq", "value": "a"}], "or": []}),
            "filter",
        ),
        (
            json!({"field": "email", "op": "eq", "value": "a", "values": ["b"]}),
            "filter.values",
        ),
        (
            json!({"field": 3, "op": "eq", "value": "a"}),
            "filter.field",
        ),
        (json!({"field": "email", "value": "a"}), "filter.op"),
    ];
    for (filter, path) in cases {
        assert_eq!(single_error(filter), (path.to_owned(), "invalid_structure"));
    }
    let missing_value = json!({"field": "email", "op": "eq"});
    assert_eq!(
        single_error(missing_value),
        ("filter.value".to_owned(), "invalid_value")
    );
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(
        json!({"field": "email", "op": "eq", "value": "a"}),
        |inner, _| json!({"and": [inner]}),
    )
}

#[test]
fn limits_nesting_depth() {
    assert!(validate(nested(MAX_DEPTH)).is_ok());
    let path = format!("filter{}", ".and[0]".repeat(MAX_DEPTH));
    assert_eq!(single_error(nested(MAX_DEPTH + 1)), (path, "too_deep"));
}

#[test]
fn limits_conditions_and_list_sizes() {
    let condition = json!({"field": "login_count", "op": "eq", "value": 1});
    assert!(validate(json!({"or": vec![condition.clone(); MAX_CONDITIONS]})).is_ok());
    let too_many = json!({"or": vec![condition; MAX_CONDITIONS + 1]});
    assert_eq!(
        single_error(too_many),
        ("filter".to_owned(), "too_many_conditions")
    );

    let values: Vec<i64> = (0..=MAX_LIST_VALUES as i64).collect();
    let long_list = json!({"field": "login_count", "op": "in", "value": values});
    assert_eq!(
        single_error(long_list),
        ("filter.value".to_owned(), "too_many_values")
    );
    let empty_list = json!({"field": "login_count", "op": "in", "value": []});
    assert_eq!(
        single_error(empty_list),
        ("filter.value".to_owned(), "invalid_value")
    );
}

#[test]
fn jalali_this_month_covers_the_jalali_month_in_tehran() {
    // 1405/09/01 is 2026-11-22 and 1405/10/01 is 2026-12-22; Tehran is UTC+03:30.
    let filter = json!({"field": "created_at", "op": "eq", "value": {"relative": "this_month", "calendar": "jalali"}});
    let expected = ResolvedFilter::And(vec![
        leaf("created_at", Predicate::Gte(at("2026-11-21T20:30:00Z"))),
        leaf("created_at", Predicate::Lt(at("2026-12-21T20:30:00Z"))),
    ]);
    assert_eq!(validate(filter), Ok(expected));
}

#[test]
fn a_month_starting_on_a_day_without_midnight_starts_at_one_o_clock() {
    // 1 Farvardin 1359 (1980-03-21): Tehran clocks went from 00:00 to 01:00 (+04:30).
    let context = ResolveContext::new(instant("1980-04-01T12:00:00Z"), LocalCalendar::default());
    let filter = json!({"field": "created_at", "op": "gte", "value": {"relative": "this_month", "calendar": "jalali"}});
    let expected = leaf("created_at", Predicate::Gte(at("1980-03-20T20:30:00Z")));
    assert_eq!(validate_filter(&filter, CATALOGUE, &context), Ok(expected));
}

#[test]
fn operators_read_a_relative_period_as_a_set_of_moments() {
    let today_start = at("2026-11-22T20:30:00Z");
    let tomorrow_start = at("2026-11-23T20:30:00Z");
    let field = |op: &str| json!({"field": "created_at", "op": op, "value": {"relative": "today"}});
    let cases = [
        ("lt", leaf("created_at", Predicate::Lt(today_start.clone()))),
        (
            "lte",
            leaf("created_at", Predicate::Lt(tomorrow_start.clone())),
        ),
        (
            "gt",
            leaf("created_at", Predicate::Gte(tomorrow_start.clone())),
        ),
        (
            "gte",
            leaf("created_at", Predicate::Gte(today_start.clone())),
        ),
        (
            "neq",
            ResolvedFilter::Or(vec![
                leaf("created_at", Predicate::Lt(today_start)),
                leaf("created_at", Predicate::Gte(tomorrow_start)),
            ]),
        ),
    ];
    for (op, expected) in cases {
        assert_eq!(validate(field(op)), Ok(expected), "{op}");
    }
}

#[test]
fn relative_dates_on_date_fields_are_local_days() {
    let last_week =
        json!({"field": "birth_date", "op": "eq", "value": {"relative": "last_n_days", "n": 7}});
    let expected = ResolvedFilter::And(vec![
        leaf(
            "birth_date",
            Predicate::Gte(TypedValue::Date(date("2026-11-17"))),
        ),
        leaf(
            "birth_date",
            Predicate::Lt(TypedValue::Date(date("2026-11-24"))),
        ),
    ]);
    assert_eq!(validate(last_week), Ok(expected));
    // Weeks start on Saturday: the Monday 2026-11-23 is in the week from 2026-11-21.
    let this_week = json!({"field": "birth_date", "op": "gte", "value": {"relative": "this_week"}});
    assert_eq!(
        validate(this_week),
        Ok(leaf(
            "birth_date",
            Predicate::Gte(TypedValue::Date(date("2026-11-21")))
        ))
    );
}

#[test]
fn between_spans_from_the_first_period_to_the_end_of_the_second() {
    let span = json!({"field": "birth_date", "op": "between", "value": [
        {"relative": "last_quarter", "calendar": "jalali"}, {"relative": "this_quarter", "calendar": "jalali"}
    ]});
    // Jalali quarter 3 of 1405 starts on 1405/07/01 = 2026-09-23; quarter 2 on 1405/04/01.
    let expected = ResolvedFilter::And(vec![
        leaf(
            "birth_date",
            Predicate::Gte(TypedValue::Date(date("2026-06-22"))),
        ),
        leaf(
            "birth_date",
            Predicate::Lt(TypedValue::Date(date("2026-12-22"))),
        ),
    ]);
    assert_eq!(validate(span), Ok(expected));
    let mixed = json!({"field": "birth_date", "op": "between", "value": ["2026-01-01", {"relative": "yesterday"}]});
    assert!(validate(mixed).is_ok());
    let reversed = json!({"field": "created_at", "op": "between", "value": [{"relative": "this_year"}, {"relative": "last_year"}]});
    assert_eq!(
        single_error(reversed),
        ("filter.value".to_owned(), "invalid_range")
    );
}

#[test]
fn rejects_malformed_relative_dates() {
    let cases = [
        (json!({"relative": "last_n_days"}), "filter.value"),
        (json!({"relative": "last_n_days", "n": 0}), "filter.value.n"),
        (
            json!({"relative": "last_n_days", "n": MAX_RELATIVE_DAYS + 1}),
            "filter.value.n",
        ),
        (json!({"relative": "today", "n": 2}), "filter.value.n"),
        (json!({"relative": "fortnight"}), "filter.value.relative"),
        (
            json!({"relative": "this_month", "calendar": "hijri"}),
            "filter.value.calendar",
        ),
        (json!({"calendar": "jalali"}), "filter.value"),
    ];
    for (value, path) in cases {
        let filter = json!({"field": "created_at", "op": "eq", "value": value});
        assert_eq!(
            single_error(filter),
            (path.to_owned(), "invalid_value"),
            "{value}"
        );
    }
    let extra_key =
        json!({"field": "created_at", "op": "eq", "value": {"relative": "today", "tz": "UTC"}});
    assert_eq!(
        single_error(extra_key),
        ("filter.value.tz".to_owned(), "invalid_structure")
    );
    let in_list = json!({"field": "created_at", "op": "in", "value": [{"relative": "today"}]});
    assert_eq!(
        single_error(in_list),
        ("filter.value[0]".to_owned(), "invalid_value")
    );
    let on_integer = json!({"field": "login_count", "op": "eq", "value": {"relative": "today"}});
    assert_eq!(
        single_error(on_integer),
        ("filter.value".to_owned(), "invalid_value")
    );
}

#[test]
fn long_names_are_cut_in_messages() {
    let name = "x".repeat(500);
    let Err(FilterErrors(found)) = validate(json!({"field": name, "op": "eq", "value": 1})) else {
        panic!("unknown field must fail");
    };
    assert!(found[0].message.len() < 300, "{}", found[0].message);
}

#[test]
fn validates_sort_lists() {
    let sort = json!([{"field": "created_at", "direction": "desc"}, {"field": "email"}]);
    let expected = vec![
        ResolvedSort {
            field: "created_at",
            direction: SortDirection::Desc,
            nullable: false,
        },
        ResolvedSort {
            field: "email",
            direction: SortDirection::Asc,
            nullable: false,
        },
    ];
    assert_eq!(validate_sort(&sort, CATALOGUE), Ok(expected));

    let bad = json!([
        {"field": "status"},
        {"field": "nope", "direction": "down"},
        {"field": "created_at", "order": "asc"}
    ]);
    let Err(FilterErrors(found)) = validate_sort(&bad, CATALOGUE) else {
        panic!("bad sort must fail");
    };
    let found: Vec<(&str, &str)> = found
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("sort[0].field", "not_sortable"),
            ("sort[1].direction", "invalid_value"),
            ("sort[1].field", "unknown_field"),
            ("sort[2].order", "invalid_structure"),
        ]
    );

    let duplicate = json!([{"field": "email"}, {"field": "email", "direction": "desc"}]);
    let codes = |value: &Value| match validate_sort(value, CATALOGUE) {
        Err(FilterErrors(found)) => found.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
        Ok(_) => Vec::new(),
    };
    assert_eq!(codes(&duplicate), ["duplicate_field"]);
    let too_many = Value::Array(vec![json!({"field": "email"}); MAX_SORT_FIELDS + 1]);
    assert_eq!(codes(&too_many), ["too_many_values"]);
    assert_eq!(codes(&json!({"field": "email"})), ["invalid_structure"]);
}

#[test]
fn search_reports_filter_and_sort_errors_together() {
    let filter = json!({"field": "nope", "op": "eq", "value": 1});
    let sort = json!([{"field": "nope"}]);
    let Err(FilterErrors(found)) =
        validate_search(Some(&filter), Some(&sort), CATALOGUE, &context())
    else {
        panic!("both parts are invalid");
    };
    let paths: Vec<&str> = found.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["filter.field", "sort[0].field"]);
    let violations = FilterErrors(found).into_violations();
    assert_eq!(
        (violations[1].field.as_str(), violations[1].code.as_str()),
        ("sort[0].field", "unknown_field")
    );

    let criteria = validate_search(
        None,
        Some(&json!([{"field": "email"}])),
        CATALOGUE,
        &context(),
    );
    let expected = SearchCriteria {
        filter: None,
        sort: vec![ResolvedSort {
            field: "email",
            direction: SortDirection::Asc,
            nullable: false,
        }],
    };
    assert_eq!(criteria, Ok(expected));
}

#[test]
fn wire_types_serialise_to_the_documented_shape() {
    let node = FilterNode::And(AndGroup {
        and: vec![
            FilterNode::Condition(Condition {
                field: "created_at".to_owned(),
                op: FilterOp::Gte,
                value: FilterValue::Relative(RelativeDate {
                    relative: RelativePeriod::LastNDays,
                    n: Some(7),
                    calendar: Some(CalendarSystem::Jalali),
                }),
            }),
            FilterNode::Or(OrGroup {
                or: vec![FilterNode::Condition(Condition {
                    field: "login_count".to_owned(),
                    op: FilterOp::Between,
                    value: FilterValue::List(vec![
                        FilterValue::Integer(FilterNumber(1)),
                        FilterValue::Integer(FilterNumber(9)),
                    ]),
                })],
            }),
        ],
    });
    let value = serde_json::to_value(&node).expect("serialisable");
    assert_eq!(
        value,
        json!({"and": [
            {"field": "created_at", "op": "gte", "value": {"relative": "last_n_days", "n": 7, "calendar": "jalali"}},
            {"or": [{"field": "login_count", "op": "between", "value": [1, 9]}]}
        ]})
    );
    assert!(validate(value).is_ok());
}

#[test]
fn openapi_schemas_of_recursive_types_are_finite() {
    use utoipa::ToSchema as _;
    let mut schemas = Vec::new();
    FilterNode::schemas(&mut schemas);
    SortSpec::schemas(&mut schemas);
    let names: Vec<&str> = schemas.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "AndGroup",
        "OrGroup",
        "Condition",
        "FilterOp",
        "FilterValue",
        "RelativeDate",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}
