use chrono::{DateTime, NaiveDate, Timelike, Utc, Weekday};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::tests::{CATALOGUE, STATUSES};
use super::*;
use crate::calendar::{CalendarSystem, JalaliDate, LocalCalendar};

const PERIODS: [RelativePeriod; 11] = [
    RelativePeriod::Today,
    RelativePeriod::Yesterday,
    RelativePeriod::LastNDays,
    RelativePeriod::ThisWeek,
    RelativePeriod::LastWeek,
    RelativePeriod::ThisMonth,
    RelativePeriod::LastMonth,
    RelativePeriod::ThisQuarter,
    RelativePeriod::LastQuarter,
    RelativePeriod::ThisYear,
    RelativePeriod::LastYear,
];

/// Instants between 1900 and 2100.
fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
    (-2_208_988_800i64..4_102_444_800)
        .prop_filter_map("instant", |secs| DateTime::from_timestamp(secs, 0))
}

fn any_calendar() -> impl Strategy<Value = Option<CalendarSystem>> {
    prop_oneof![
        Just(None),
        Just(Some(CalendarSystem::Gregorian)),
        Just(Some(CalendarSystem::Jalali))
    ]
}

fn any_relative() -> impl Strategy<Value = RelativeDate> {
    (
        prop::sample::select(&PERIODS[..]),
        1..=MAX_RELATIVE_DAYS,
        any_calendar(),
    )
        .prop_map(|(relative, n, calendar)| RelativeDate {
            relative,
            n: (relative == RelativePeriod::LastNDays).then_some(n),
            calendar,
        })
}

fn any_local_calendar() -> impl Strategy<Value = LocalCalendar> {
    let zones = [
        chrono_tz::Asia::Tehran,
        chrono_tz::UTC,
        chrono_tz::America::New_York,
        chrono_tz::Pacific::Apia,
    ];
    (prop::sample::select(zones.to_vec()), 0u8..7).prop_filter_map("weekday", |(time_zone, day)| {
        Some(LocalCalendar {
            time_zone,
            first_weekday: Weekday::try_from(day).ok()?,
        })
    })
}

fn text(value: String) -> FilterValue {
    FilterValue::Text(value)
}

/// A valid exact value of `kind`, in increasing order of `seed` for ordered kinds.
fn exact(kind: FieldKind) -> BoxedStrategy<FilterValue> {
    match kind {
        FieldKind::Text => "[a-z@. ]{1,20}".prop_map(text).boxed(),
        FieldKind::Enum(_) => prop::sample::select(STATUSES)
            .prop_map(|s| text(s.to_owned()))
            .boxed(),
        FieldKind::Uuid => any::<u128>()
            .prop_map(|n| text(uuid::Uuid::from_u128(n).to_string()))
            .boxed(),
        FieldKind::Integer => any::<i64>()
            .prop_map(|n| FilterValue::Integer(FilterNumber(n)))
            .boxed(),
        // Decimal values are generated as whole numbers: the tree's rules are the same.
        FieldKind::Number => any::<i32>()
            .prop_map(|n| FilterValue::Integer(FilterNumber(n.into())))
            .boxed(),
        FieldKind::Bool => any::<bool>().prop_map(FilterValue::Bool).boxed(),
        FieldKind::Timestamp => any_now().prop_map(|now| text(now.to_rfc3339())).boxed(),
        FieldKind::Date => (0i64..3_000_000)
            .prop_filter_map("date", |days| {
                NaiveDate::from_ymd_opt(1000, 1, 1)?
                    .checked_add_days(chrono::Days::new(days as u64))
            })
            .prop_map(|day| text(day.format("%Y-%m-%d").to_string()))
            .boxed(),
    }
}

fn comparable(kind: FieldKind) -> BoxedStrategy<FilterValue> {
    match kind {
        FieldKind::Timestamp | FieldKind::Date => {
            prop_oneof![exact(kind), any_relative().prop_map(FilterValue::Relative)].boxed()
        }
        _ => exact(kind),
    }
}

/// Orders two exact values of the same kind; relative values are replaced by an
/// exact pair so that `between` stays in order.
fn ordered(low: FilterValue, high: FilterValue) -> FilterValue {
    let key = |value: &FilterValue| match value {
        FilterValue::Integer(FilterNumber(n)) => Some(i128::from(*n)),
        FilterValue::Text(text) => {
            let instant = DateTime::parse_from_rfc3339(text).map(|t| t.timestamp());
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| i64::from(chrono::Datelike::num_days_from_ce(&d)));
            instant.or(day).ok().map(i128::from)
        }
        _ => None,
    };
    match (key(&low), key(&high)) {
        (Some(a), Some(b)) if a > b => FilterValue::List(vec![high, low]),
        (Some(_), Some(_)) => FilterValue::List(vec![low, high]),
        // A relative value on both sides: the same period, which is never empty.
        _ => FilterValue::List(vec![low.clone(), low]),
    }
}

fn any_condition() -> impl Strategy<Value = FilterNode> {
    prop::sample::select(CATALOGUE).prop_flat_map(|spec| {
        let allowed: Vec<FilterOp> = FilterOp::ALL
            .into_iter()
            .filter(|op| spec.allows(*op))
            .collect();
        prop::sample::select(allowed).prop_flat_map(move |op| {
            let value = match op {
                FilterOp::IsNull => any::<bool>().prop_map(FilterValue::Bool).boxed(),
                FilterOp::In | FilterOp::NotIn => prop::collection::vec(exact(spec.kind), 1..5)
                    .prop_map(FilterValue::List)
                    .boxed(),
                FilterOp::Between => match spec.kind {
                    FieldKind::Timestamp | FieldKind::Date => prop_oneof![
                        (exact(spec.kind), exact(spec.kind)).prop_map(|(a, b)| ordered(a, b)),
                        any_relative().prop_map(|r| ordered(
                            FilterValue::Relative(r),
                            FilterValue::Relative(r)
                        )),
                    ]
                    .boxed(),
                    _ => (exact(spec.kind), exact(spec.kind))
                        .prop_map(|(a, b)| ordered(a, b))
                        .boxed(),
                },
                _ => comparable(spec.kind),
            };
            value.prop_map(move |value| {
                FilterNode::Condition(Condition {
                    field: spec.name.to_owned(),
                    op,
                    value,
                })
            })
        })
    })
}

fn conditions_in(node: &FilterNode) -> usize {
    match node {
        FilterNode::And(group) => group.and.iter().map(conditions_in).sum(),
        FilterNode::Or(group) => group.or.iter().map(conditions_in).sum(),
        FilterNode::Condition(_) => 1,
    }
}

/// Valid trees: groups nest at most `MAX_DEPTH - 1` deep below the root group.
fn any_tree() -> impl Strategy<Value = FilterNode> {
    let groups = (MAX_DEPTH - 1) as u32;
    any_condition()
        .prop_recursive(groups, 40, 4, |inner| {
            (any::<bool>(), prop::collection::vec(inner, 1..5)).prop_map(|(is_and, nodes)| {
                match is_and {
                    true => FilterNode::And(AndGroup { and: nodes }),
                    false => FilterNode::Or(OrGroup { or: nodes }),
                }
            })
        })
        .prop_filter("at most MAX_CONDITIONS", |node| {
            conditions_in(node) <= MAX_CONDITIONS
        })
}

/// JSON biased towards the words the validator looks for.
fn any_json() -> impl Strategy<Value = Value> {
    let words = prop_oneof![
        prop::sample::select(vec![
            "and",
            "or",
            "field",
            "op",
            "value",
            "relative",
            "n",
            "calendar",
            "direction",
            "email",
            "created_at",
            "birth_date",
            "login_count",
            "status",
            "between",
            "in",
            "eq",
            "is_null",
            "contains",
            "this_month",
            "last_n_days",
            "jalali",
            "desc",
            "2024-03-20",
            "2024-03-20T00:00:00Z",
            "active",
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        words.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(8, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((words.clone(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn generated_valid_trees_validate(tree in any_tree(), now in any_now()) {
        let json = serde_json::to_value(&tree).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let result = validate_filter(&json, CATALOGUE, &ResolveContext::new(now, LocalCalendar::default()));
        prop_assert!(result.is_ok(), "{json} -> {result:?}");
    }

    #[test]
    fn arbitrary_json_never_panics(filter in any_json(), sort in any_json(), now in any_now()) {
        let context = ResolveContext::new(now, LocalCalendar::default());
        for result in [
            validate_filter(&filter, CATALOGUE, &context).map(|_| ()),
            validate_sort(&sort, CATALOGUE).map(|_| ()),
            validate_search(Some(&filter), Some(&sort), CATALOGUE, &context).map(|_| ()),
        ] {
            if let Err(FilterErrors(errors)) = result {
                prop_assert!(!errors.is_empty() && errors.len() <= MAX_REPORTED_ERRORS);
            }
        }
    }

    #[test]
    fn relative_periods_are_non_empty_and_placed_around_now(
        relative in any_relative(),
        now in any_now(),
        business in any_local_calendar(),
    ) {
        let today = business.today(now);
        let range = relative.local_range(now, &business);
        prop_assert!(range.is_some_and(|r| r.start < r.end), "{range:?}");
        let Some(range) = range else { return Ok(()) };
        let start_of = |current| {
            let current = RelativeDate { relative: current, n: None, calendar: relative.calendar };
            current.local_range(now, &business).map(|r| r.start)
        };
        let current = match relative.relative {
            RelativePeriod::Yesterday => Some(RelativePeriod::Today),
            RelativePeriod::LastWeek => Some(RelativePeriod::ThisWeek),
            RelativePeriod::LastMonth => Some(RelativePeriod::ThisMonth),
            RelativePeriod::LastQuarter => Some(RelativePeriod::ThisQuarter),
            RelativePeriod::LastYear => Some(RelativePeriod::ThisYear),
            _ => None,
        };
        match current {
            Some(current) => prop_assert_eq!(Some(range.end), start_of(current)),
            None => {
                prop_assert!(range.contains(today));
                let instants = business.utc_range(range);
                prop_assert!(instants.is_some_and(|(start, end)| start <= now && now < end), "{instants:?}");
            }
        }
    }

    #[test]
    fn jalali_this_month_starts_on_the_first_at_tehran_midnight(now in any_now()) {
        let filter = json!({"field": "created_at", "op": "gte", "value": {"relative": "this_month", "calendar": "jalali"}});
        let resolved = validate_filter(&filter, CATALOGUE, &ResolveContext::new(now, LocalCalendar::default()));
        let Ok(ResolvedFilter::Condition { predicate: Predicate::Gte(TypedValue::Timestamp(start)), .. }) = resolved else {
            return Err(TestCaseError::fail(format!("unexpected {resolved:?}")));
        };
        let local = start.with_timezone(&chrono_tz::Asia::Tehran);
        let first = JalaliDate::from_gregorian(local.date_naive());
        let today = JalaliDate::from_gregorian(LocalCalendar::default().today(now));
        prop_assert_eq!((first.year(), first.month(), first.day()), (today.year(), today.month(), 1));
        // The first instant of that local day: midnight, or 01:00 on the days Iran's
        // daylight saving began at midnight (1 Farvardin in some years, e.g. 1359).
        let just_before = (start - chrono::TimeDelta::seconds(1)).with_timezone(&chrono_tz::Asia::Tehran);
        prop_assert!(just_before.date_naive() < local.date_naive());
        prop_assert!(local.minute() == 0 && local.hour() <= 1);
        prop_assert!(start <= now);
    }
}
