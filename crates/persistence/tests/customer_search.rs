//! `persistence::customers::search` and `count` on both backends: filter trees,
//! sorting with keyset continuation, the Persian-aware quick search, record visibility.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::authz::Visibility;
use domain::customers::{CustomerInput, CustomerKind, PhoneInput};
use domain::filter::{
    Predicate, ResolvedFilter, ResolvedSort, SearchCriteria, SortDirection, TypedValue,
};
use persistence::customers::search::{self, Scope};
use persistence::customers::{self, CustomerMeta, CustomerRecord, CustomerRow};
use persistence::db::DbConnection;
use persistence::filter::{typed_to_json, Keyset};
use persistence::labels::{self, LabelRow};
use persistence::sql_types::{DbTime, DbUuid};
use persistence::teams::{self, TeamRow};
use persistence::users::{self, UserRow};
use uuid::Uuid;

/// Two users in one team, one user without a team, and a tag.
struct People {
    team: Uuid,
    ali: Uuid,
    sara: Uuid,
    loner: Uuid,
    vip: Uuid,
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0)
        .single()
        .expect("time")
}

fn people(conn: &mut DbConnection) -> People {
    let now = DbTime(at(1));
    let team = Uuid::now_v7();
    teams::insert(
        conn,
        &TeamRow {
            id: DbUuid(team),
            name: "فروش".into(),
            description: None,
            created_at: now,
            updated_at: now,
            version: 1,
        },
    )
    .expect("team");
    let mut user = |name: &str, team_id: Option<Uuid>| {
        let id = Uuid::now_v7();
        users::insert(
            conn,
            &UserRow {
                id: DbUuid(id),
                email: format!("{name}@example.com"),
                display_name: name.into(),
                password_hash: "not a hash".into(),
                role: "sales".into(),
                visibility: "own".into(),
                team_id: team_id.map(DbUuid),
                locale: "fa".into(),
                is_active: true,
                last_login_at: None,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        )
        .expect("user");
        id
    };
    let ali = user("ali", Some(team));
    let sara = user("sara", Some(team));
    let loner = user("loner", None);
    let vip = Uuid::now_v7();
    labels::insert(
        conn,
        &LabelRow {
            id: DbUuid(vip),
            kind: labels::TAG.into(),
            name: "VIP".into(),
            name_key: "vip".into(),
            description: None,
            color: None,
            rank: None,
            created_at: now,
            updated_at: now,
            version: 1,
        },
    )
    .expect("tag");
    People {
        team,
        ali,
        sara,
        loner,
        vip,
    }
}

/// What a test customer differs in. Phones are given as stored: in E.164, as the
/// customer rules leave them.
struct Person<'a> {
    first_name: &'a str,
    last_name: &'a str,
    phone: Option<&'a str>,
    birth_date: Option<NaiveDate>,
    owner: Option<Uuid>,
    team: Option<Uuid>,
    tags: Vec<Uuid>,
    created_at: DateTime<Utc>,
}

impl Default for Person<'_> {
    fn default() -> Self {
        Person {
            first_name: "مریم",
            last_name: "احمدی",
            phone: None,
            birth_date: None,
            owner: None,
            team: None,
            tags: Vec::new(),
            created_at: at(2),
        }
    }
}

fn insert(conn: &mut DbConnection, person: Person<'_>) -> Uuid {
    let mut input = CustomerInput::empty(CustomerKind::Person);
    input.first_name = Some(person.first_name.into());
    input.last_name = Some(person.last_name.into());
    input.phones = person
        .phone
        .map(|number| PhoneInput {
            number: number.into(),
            phone_type: None,
            label: None,
            primary: true,
        })
        .into_iter()
        .collect();
    input.birth_date = person.birth_date;
    input.owner_id = person.owner;
    input.team_id = person.team;
    input.tag_ids = person.tags;
    let meta = CustomerMeta {
        id: Uuid::now_v7(),
        created_by: None,
        created_at: person.created_at,
        updated_at: person.created_at,
        lifecycle_changed_at: person.created_at,
        version: 1,
        erased_at: None,
        merged_into_id: None,
        facts: Default::default(),
        scores: Default::default(),
    };
    customers::insert(conn, &CustomerRecord::from_input(&meta, &input, &[]), &[]).expect("insert");
    meta.id
}

fn everyone() -> Scope {
    Scope {
        visibility: Visibility::All,
        user_id: Uuid::nil(),
        team_id: None,
        partner_id: None,
    }
}

fn criteria(
    filter: Option<ResolvedFilter>,
    sort: &[(&'static str, SortDirection)],
) -> SearchCriteria {
    SearchCriteria {
        filter,
        sort: sort
            .iter()
            .map(|&(field, direction)| ResolvedSort {
                field,
                direction,
                nullable: false,
            })
            .collect(),
    }
}

fn condition(field: &'static str, predicate: Predicate) -> ResolvedFilter {
    ResolvedFilter::Condition { field, predicate }
}

fn text(value: &str) -> TypedValue {
    TypedValue::Text(value.into())
}

/// The ids `search` finds for `criteria` and quick search `q`, in its order.
fn found(conn: &mut DbConnection, criteria: &SearchCriteria, q: &str, scope: &Scope) -> Vec<Uuid> {
    search::search(
        conn,
        criteria,
        domain::persian::search_terms(q),
        scope,
        None,
        1_000,
    )
    .expect("search")
    .iter()
    .map(|row| row.id.0)
    .collect()
}

fn set(ids: impl IntoIterator<Item = Uuid>) -> BTreeSet<Uuid> {
    ids.into_iter().collect()
}

#[test]
fn filter_trees_select_the_matching_customers() {
    for db in test_databases::databases() {
        let backend = db.backend();
        let mut conn = db.pool().get().expect("connection");
        let people = people(&mut conn);
        let born = |year| NaiveDate::from_ymd_opt(year, 3, 21);
        let maryam = insert(
            &mut conn,
            Person {
                phone: Some("+989121234567"),
                birth_date: born(1980),
                tags: vec![people.vip],
                ..Person::default()
            },
        );
        let reza = insert(
            &mut conn,
            Person {
                first_name: "رضا",
                last_name: "کریمی",
                phone: Some("+989351112233"),
                birth_date: born(1995),
                ..Person::default()
            },
        );
        let nasrin = insert(
            &mut conn,
            Person {
                first_name: "نسرین",
                last_name: "کریمی",
                birth_date: born(2001),
                tags: vec![people.vip],
                ..Person::default()
            },
        );
        let nameless_birthday = insert(
            &mut conn,
            Person {
                first_name: "بهرام",
                last_name: "صادقی",
                ..Person::default()
            },
        );
        let all = set([maryam, reza, nasrin, nameless_birthday]);
        let cases: Vec<(&str, ResolvedFilter, BTreeSet<Uuid>)> = vec![
            (
                "equal",
                condition("last_name", Predicate::Eq(text("کریمی"))),
                set([reza, nasrin]),
            ),
            (
                "not equal",
                condition("last_name", Predicate::Neq(text("کریمی"))),
                set([maryam, nameless_birthday]),
            ),
            (
                "in",
                condition(
                    "first_name",
                    Predicate::In(vec![text("رضا"), text("بهرام")]),
                ),
                set([reza, nameless_birthday]),
            ),
            (
                "not in",
                condition(
                    "first_name",
                    Predicate::NotIn(vec![text("رضا"), text("بهرام")]),
                ),
                set([maryam, nasrin]),
            ),
            (
                "contains",
                condition("display_name", Predicate::Contains("کریم".into())),
                set([reza, nasrin]),
            ),
            (
                "starts with",
                condition("first_name", Predicate::StartsWith("نس".into())),
                set([nasrin]),
            ),
            (
                "date range",
                ResolvedFilter::And(vec![
                    condition(
                        "birth_date",
                        Predicate::Gte(TypedValue::Date(born(1990).expect("date"))),
                    ),
                    condition(
                        "birth_date",
                        Predicate::Lt(TypedValue::Date(born(2001).expect("date"))),
                    ),
                ]),
                set([reza]),
            ),
            (
                "is null",
                condition("birth_date", Predicate::IsNull(true)),
                set([nameless_birthday]),
            ),
            (
                "is not null",
                condition("birth_date", Predicate::IsNull(false)),
                set([maryam, reza, nasrin]),
            ),
            (
                "phone as typed, with Persian digits",
                condition("phone", Predicate::Contains("۰۹۳۵۱۱".into())),
                set([reza]),
            ),
            (
                "phone equal in another spelling",
                condition("phone", Predicate::Eq(text("0912 123 4567"))),
                set([maryam]),
            ),
            (
                "no phone",
                condition("phone", Predicate::IsNull(true)),
                set([nasrin, nameless_birthday]),
            ),
            (
                "tagged",
                condition("tag_id", Predicate::Eq(TypedValue::Uuid(people.vip))),
                set([maryam, nasrin]),
            ),
            (
                "not tagged",
                condition("tag_id", Predicate::Neq(TypedValue::Uuid(people.vip))),
                set([reza, nameless_birthday]),
            ),
            (
                "or of and",
                ResolvedFilter::Or(vec![
                    ResolvedFilter::And(vec![
                        condition("last_name", Predicate::Eq(text("کریمی"))),
                        condition("tag_id", Predicate::Eq(TypedValue::Uuid(people.vip))),
                    ]),
                    condition("first_name", Predicate::Eq(text("بهرام"))),
                ]),
                set([nasrin, nameless_birthday]),
            ),
            (
                "matches nobody",
                condition("last_name", Predicate::Eq(text("تهرانی"))),
                set([]),
            ),
        ];
        for (name, filter, expected) in cases {
            let criteria = criteria(Some(filter), &[]);
            let ids = found(&mut conn, &criteria, "", &everyone());
            assert_eq!(set(ids.iter().copied()), expected, "{backend}: {name}");
            assert_eq!(ids.len(), expected.len(), "{backend}: {name}: each once");
            let count =
                search::count(&mut conn, &criteria, Vec::new(), &everyone()).expect("count");
            assert_eq!(count, expected.len() as i64, "{backend}: {name}: count");
        }
        let ids = found(&mut conn, &criteria(None, &[]), "", &everyone());
        assert_eq!(set(ids), all, "{backend}: no filter finds everyone");
    }
}

/// Reads every page of `criteria` with `page` rows each, continuing after the last row
/// of the previous page as a cursor does.
fn pages(conn: &mut DbConnection, criteria: &SearchCriteria, page: i64) -> Vec<Vec<CustomerRow>> {
    let mut pages = Vec::new();
    let mut after: Option<Keyset> = None;
    loop {
        let rows = search::search(
            conn,
            criteria,
            Vec::new(),
            &everyone(),
            after.as_ref(),
            page,
        )
        .expect("page");
        let Some(last) = rows.last() else { break };
        after = Some(Keyset {
            values: criteria
                .sort
                .iter()
                .map(|entry| {
                    typed_to_json(&match entry.field {
                        "display_name" => TypedValue::Text(last.display_name.clone()),
                        "created_at" => TypedValue::Timestamp(last.created_at.0),
                        other => panic!("no sort value for {other}"),
                    })
                })
                .collect(),
            id: last.id.0,
        });
        let full = rows.len() as i64 == page;
        pages.push(rows);
        if !full {
            break;
        }
    }
    pages
}

#[test]
fn keyset_pages_return_every_row_once_with_ties_broken_by_id() {
    for db in test_databases::databases() {
        let backend = db.backend();
        let mut conn = db.pool().get().expect("connection");
        // Three names and three creation times over 23 customers: most rows tie with
        // others on each sort key.
        let names = ["کریمی", "احمدی", "رضایی"];
        let mut ids = BTreeSet::new();
        for i in 0..23_u32 {
            ids.insert(insert(
                &mut conn,
                Person {
                    last_name: names[i as usize % names.len()],
                    created_at: at(2 + i % 3),
                    ..Person::default()
                },
            ));
        }
        let orders: [&[(&'static str, SortDirection)]; 4] = [
            &[],
            &[("created_at", SortDirection::Desc)],
            &[("display_name", SortDirection::Asc)],
            &[
                ("display_name", SortDirection::Desc),
                ("created_at", SortDirection::Asc),
            ],
        ];
        for sort in orders {
            let criteria = criteria(None, sort);
            let whole: Vec<Uuid> =
                search::search(&mut conn, &criteria, Vec::new(), &everyone(), None, 1_000)
                    .expect("search")
                    .iter()
                    .map(|row| row.id.0)
                    .collect();
            assert_eq!(set(whole.iter().copied()), ids, "{backend} {sort:?}");
            for page in [1, 4, 7, 23] {
                let pages = pages(&mut conn, &criteria, page);
                let paged: Vec<CustomerRow> = pages.into_iter().flatten().collect();
                let paged_ids: Vec<Uuid> = paged.iter().map(|row| row.id.0).collect();
                assert_eq!(
                    paged_ids, whole,
                    "{backend} {sort:?} by {page}: the pages in a row are the whole result, \
                     no row twice, none lost"
                );
                // Rows equal on every sort key follow the id in the direction of the last
                // key (ascending without a sort).
                let id_direction = sort.last().map_or(SortDirection::Asc, |entry| entry.1);
                for pair in paged.windows(2) {
                    let key = |row: &CustomerRow| {
                        sort.iter()
                            .map(|(field, _)| match *field {
                                "display_name" => row.display_name.clone(),
                                _ => row.created_at.0.to_rfc3339(),
                            })
                            .collect::<Vec<_>>()
                    };
                    if key(&pair[0]) == key(&pair[1]) {
                        let (first, second) = (pair[0].id.0, pair[1].id.0);
                        match id_direction {
                            SortDirection::Asc => assert!(first < second, "{backend} {sort:?}"),
                            SortDirection::Desc => {
                                assert!(first > second, "{backend} {sort:?}")
                            }
                        }
                    }
                }
            }
        }
        // Creation times sort the same on both backends (unlike text, which follows the
        // database's collation): newest day first.
        let newest_first = criteria(None, &[("created_at", SortDirection::Desc)]);
        let rows = search::search(
            &mut conn,
            &newest_first,
            Vec::new(),
            &everyone(),
            None,
            1_000,
        )
        .expect("search");
        assert!(
            rows.windows(2)
                .all(|pair| pair[0].created_at >= pair[1].created_at),
            "{backend}: descending creation time"
        );
    }
}

#[test]
fn quick_search_matches_persian_text_in_any_spelling() {
    for db in test_databases::databases() {
        let backend = db.backend();
        let mut conn = db.pool().get().expect("connection");
        let ali = insert(
            &mut conn,
            Person {
                first_name: "علی",
                last_name: "کریمی",
                phone: Some("+989121234567"),
                ..Person::default()
            },
        );
        let niknam = insert(
            &mut conn,
            Person {
                first_name: "یاسمن",
                last_name: "نیک‌نام",
                ..Person::default()
            },
        );
        let other = insert(
            &mut conn,
            Person {
                first_name: "کاوه",
                last_name: "رستمی",
                phone: Some("+989351112233"),
                ..Person::default()
            },
        );
        let cases: [(&str, &str, BTreeSet<Uuid>); 10] = [
            ("Persian letters", "علی کریمی", set([ali])),
            ("Arabic yeh and kaf", "علي كريمي", set([ali])),
            ("terms in any order", "کریمی علی", set([ali])),
            ("a two-letter term", "عل", set([ali])),
            ("part of a word", "ریم", set([ali])),
            ("Persian digits of a phone", "۰۹۱۲۱۲۳", set([ali])),
            ("Arabic-Indic digits of a phone", "٠٩٣٥١١١", set([other])),
            ("a half-space written as a space", "نیک نام", set([niknam])),
            ("a half-space left out", "نیکنام", set([niknam])),
            ("every term must match", "علی رستمی", set([])),
        ];
        let everything = criteria(None, &[]);
        for (name, q, expected) in cases {
            let ids = found(&mut conn, &everything, q, &everyone());
            assert_eq!(
                set(ids.iter().copied()),
                expected,
                "{backend}: {name} ({q})"
            );
            assert_eq!(ids.len(), expected.len(), "{backend}: {name}: each once");
            let count = search::count(
                &mut conn,
                &everything,
                domain::persian::search_terms(q),
                &everyone(),
            )
            .expect("count");
            assert_eq!(count, expected.len() as i64, "{backend}: {name}: count");
        }
        // Quick search narrows a filter, it does not widen it.
        let karimi_named_kaveh = criteria(
            Some(condition("first_name", Predicate::Eq(text("کاوه")))),
            &[],
        );
        assert!(
            found(&mut conn, &karimi_named_kaveh, "کریمی", &everyone()).is_empty(),
            "{backend}"
        );
    }
}

#[test]
fn visibility_limits_search_and_count_to_what_the_caller_may_see() {
    for db in test_databases::databases() {
        let backend = db.backend();
        let mut conn = db.pool().get().expect("connection");
        let people = people(&mut conn);
        let alis = insert(
            &mut conn,
            Person {
                owner: Some(people.ali),
                ..Person::default()
            },
        );
        let saras = insert(
            &mut conn,
            Person {
                owner: Some(people.sara),
                ..Person::default()
            },
        );
        let teams_unowned = insert(
            &mut conn,
            Person {
                team: Some(people.team),
                ..Person::default()
            },
        );
        let loners = insert(
            &mut conn,
            Person {
                owner: Some(people.loner),
                ..Person::default()
            },
        );
        let nobodys = insert(&mut conn, Person::default());
        let scope = |visibility, user_id, team_id| Scope {
            visibility,
            user_id,
            team_id,
            partner_id: None,
        };
        // Sara's customer is in the team only through Sara: the rule reads the
        // customer's own team, so Ali's team view does not include it.
        let cases = [
            (
                "own",
                scope(Visibility::Own, people.ali, Some(people.team)),
                set([alis]),
            ),
            (
                "team",
                scope(Visibility::Team, people.ali, Some(people.team)),
                set([alis, teams_unowned]),
            ),
            (
                "team without a team is own",
                scope(Visibility::Team, people.loner, None),
                set([loners]),
            ),
            (
                "all",
                scope(Visibility::All, people.loner, None),
                set([alis, saras, teams_unowned, loners, nobodys]),
            ),
        ];
        let everything = criteria(None, &[]);
        for (name, scope, expected) in cases {
            let ids = found(&mut conn, &everything, "", &scope);
            assert_eq!(set(ids), expected, "{backend}: {name}");
            let count = search::count(&mut conn, &everything, Vec::new(), &scope).expect("count");
            assert_eq!(count, expected.len() as i64, "{backend}: {name}: count");
            for row in search::search(&mut conn, &everything, Vec::new(), &everyone(), None, 100)
                .expect("search")
            {
                assert_eq!(
                    scope.can_see(&row),
                    expected.contains(&row.id.0),
                    "{backend}: {name}: the single-record rule agrees"
                );
            }
        }
    }
}

#[test]
fn writing_a_customer_never_writes_its_purchase_facts() {
    for db in test_databases::databases() {
        let backend = db.backend();
        let mut conn = db.pool().get().expect("connection");
        use diesel::prelude::*;
        use persistence::schema::customers as c;
        let id = insert(&mut conn, Person::default());
        diesel::update(c::table)
            .set(c::revenue.eq(7_000_i64))
            .execute(&mut conn)
            .expect("stored facts");
        // A record read before the facts changed, written back: the stored facts stay.
        let mut stale = customers::find(&mut conn, id).expect("record");
        assert_eq!(stale.row.revenue, 7_000, "{backend:?}");
        stale.row.revenue = 1;
        stale.row.order_count = 5;
        stale.row.last_order_at = Some(DbTime(at(3)));
        stale.row.title = Some("دکتر".into());
        let version = stale.row.version;
        stale.row.version += 1;
        customers::update(&mut conn, &stale, &[], version).expect("update");
        let stored = customers::find(&mut conn, id).expect("record");
        assert_eq!(stored.row.title.as_deref(), Some("دکتر"), "{backend:?}");
        assert_eq!(stored.facts().revenue, 7_000, "{backend:?}");
        assert_eq!(stored.facts().order_count, 0, "{backend:?}");
        assert_eq!(stored.facts().last_order_at, None, "{backend:?}");
    }
}
