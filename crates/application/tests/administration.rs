//! Administration use cases on every available backend: labels and their assignment
//! within the caller's visibility, custom-field definitions, the audit log.

mod common;

use application::accounts::users::{self, NewUser};
use application::administration::audit_log::{self, AuditFilter};
use application::administration::custom_fields::{self, NewCustomField};
use application::administration::labels::{self, LabelFields};
use application::{Acting, AppError, Precondition};
use chrono::NaiveDate;
use common::{admin, databases, signed_in, PASSWORD};
use domain::authz::Role;
use domain::customers::CustomFieldKind;
use persistence::db::DbConnection;
use persistence::labels::{TAG, TIER};
use uuid::Uuid;

fn sales(conn: &mut DbConnection, admin: &Acting) -> Acting {
    let row = users::create(
        conn,
        admin,
        NewUser {
            email: format!("sales-{}@example.com", Uuid::now_v7().simple()),
            display_name: "Sales".into(),
            password: PASSWORD.into(),
            role: Role::Sales,
            team_id: None,
            visibility: None,
            locale: "fa".into(),
        },
    )
    .expect("user");
    signed_in(row.id.0, Role::Sales)
}

/// A customer owned by `acting`.
fn customer(conn: &mut DbConnection, acting: &Acting, last_name: &str) -> Uuid {
    let input = serde_json::from_value(serde_json::json!({
        "kind": "person", "first_name": "Sara", "last_name": last_name
    }))
    .expect("input");
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
    application::customers::records::create(conn, acting, today, input, true)
        .expect("customer")
        .row
        .id
        .0
}

fn tag(name: &str) -> LabelFields {
    LabelFields {
        name: name.into(),
        description: None,
        color: Some("#C62828".into()),
        rank: None,
    }
}

#[test]
fn assignment_changes_only_customers_the_caller_may_see() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (ali, sara) = (sales(conn, &admin), sales(conn, &admin));
        let own = customer(conn, &ali, "Ahmadi");
        let others = customer(conn, &sara, "Karimi");
        let vip = labels::create(conn, &admin, TAG, tag("VIP")).expect("tag");
        assert_eq!(vip.color.as_deref(), Some("#c62828"));

        let missing = Uuid::now_v7();
        let result = labels::assign(
            conn,
            &ali,
            TAG,
            vip.id.0,
            true,
            &[own, others, missing, own],
        )
        .expect("assign");
        assert_eq!(result.changed, 1, "{}", db.name);
        assert_eq!(result.unchanged, 0);
        let mut not_found = vec![others, missing];
        not_found.sort();
        assert_eq!(result.not_found, not_found, "{}", db.name);

        let again = labels::assign(conn, &ali, TAG, vip.id.0, true, &[own]).expect("again");
        assert_eq!((again.changed, again.unchanged), (0, 1));
        let everyone = labels::assign(conn, &admin, TAG, vip.id.0, false, &[own, others])
            .expect("admin sees all");
        assert_eq!(
            (
                everyone.changed,
                everyone.unchanged,
                everyone.not_found.len()
            ),
            (1, 1, 0),
            "{}",
            db.name
        );

        assert!(matches!(
            labels::assign(conn, &ali, TAG, vip.id.0, true, &[]),
            Err(AppError::Invalid(v)) if v[0].field == "customer_ids"
        ));
        assert!(matches!(
            labels::create(conn, &ali, TAG, tag("Mine")),
            Err(AppError::Forbidden)
        ));
    }
}

#[test]
fn only_tiers_have_a_rank_and_names_are_unique_per_kind() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let ranked = LabelFields {
            rank: Some(1),
            ..tag("Gold")
        };
        assert!(matches!(
            labels::create(conn, &admin, TAG, ranked.clone()),
            Err(AppError::Invalid(v)) if v[0].code == "not_allowed_for_kind"
        ));
        let gold = labels::create(conn, &admin, TIER, ranked).expect("tier");
        assert!(
            labels::create(conn, &admin, TAG, tag("gold")).is_ok(),
            "{}: another kind",
            db.name
        );
        assert!(matches!(
            labels::create(conn, &admin, TIER, tag(" GOLD ")),
            Err(AppError::Conflict(_))
        ));
        let stale = Precondition::AnyOf(vec![(gold.id.0, gold.version + 1)]);
        assert!(matches!(
            labels::update(conn, &admin, TIER, gold.id.0, &stale, |f| Ok(f.clone())),
            Err(AppError::Stale)
        ));
    }
}

#[test]
fn custom_fields_and_the_audit_log_are_for_administrators() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let ali = sales(conn, &admin);
        let new = NewCustomField {
            key: "favourite_branch".into(),
            label: " Branch ".into(),
            kind: CustomFieldKind::Select,
            options: vec!["Vanak".into(), "Tajrish".into()],
            required: false,
            entity: Default::default(),
        };
        assert!(matches!(
            custom_fields::create(conn, &ali, new.clone()),
            Err(AppError::Forbidden)
        ));
        let field = custom_fields::create(conn, &admin, new).expect("define");
        assert_eq!(field.label, "Branch");
        assert!(
            custom_fields::get(conn, &ali, field.id.0).is_ok(),
            "{}",
            db.name
        );

        assert!(matches!(
            audit_log::list(conn, &ali, AuditFilter::default(), None, 50),
            Err(AppError::Forbidden)
        ));
        let events = audit_log::list(
            conn,
            &admin,
            AuditFilter {
                action: Some("custom_field.create".into()),
                ..AuditFilter::default()
            },
            None,
            50,
        )
        .expect("events");
        assert_eq!(events.len(), 1, "{}", db.name);
        assert_eq!(events[0].actor_id.map(|id| id.0), admin.user_id);
        let backwards = AuditFilter {
            since: Some(chrono::Utc::now()),
            until: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
            ..AuditFilter::default()
        };
        assert!(matches!(
            audit_log::list(conn, &admin, backwards, None, 50),
            Err(AppError::Invalid(v)) if v[0].field == "until"
        ));
    }
}
