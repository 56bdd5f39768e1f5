//! The audit chain on both backends: an untouched log verifies; editing an event's
//! changes or deleting an event is reported at the first broken sequence number.

use diesel::prelude::*;
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::write_transaction;
use persistence::schema::audit_events;
use persistence::sql_types::DbJson;
use persistence::{DbConnection, PersistenceError};
use serde_json::json;

fn record_events(conn: &mut DbConnection, count: usize) {
    for n in 0..count {
        write_transaction(conn, |conn| {
            audit::record(
                conn,
                &Actor::system(),
                NewAuditEvent {
                    action: "update",
                    resource_type: "user",
                    resource_id: Some(format!("user-{n}")),
                    changes: Some(
                        json!({"display_name": {"before": "A", "after": format!("B{n}")}}),
                    ),
                },
            )?;
            Ok::<_, PersistenceError>(())
        })
        .expect("record event");
    }
}

#[test]
fn an_untouched_chain_is_intact() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let mut conn = pool.get().expect("connection");
        let empty = audit::verify(&mut conn).expect("verify");
        assert_eq!((empty.events_checked, empty.first_broken), (0, None));
        record_events(&mut conn, 5);
        let report = audit::verify(&mut conn).expect("verify");
        assert_eq!(report.events_checked, 5, "{}", db.backend());
        assert_eq!(report.first_broken, None, "{}", db.backend());
    }
}

#[test]
fn edited_changes_break_the_chain_at_that_event() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let mut conn = pool.get().expect("connection");
        record_events(&mut conn, 6);
        diesel::update(audit_events::table.filter(audit_events::seq.eq(4)))
            .set(audit_events::changes.eq(Some(DbJson(
                json!({"display_name": {"before": "A", "after": "forged"}}),
            ))))
            .execute(&mut conn)
            .expect("tamper");
        let report = audit::verify(&mut conn).expect("verify");
        assert_eq!(report.events_checked, 3, "{}", db.backend());
        assert_eq!(
            report.first_broken.map(|(seq, _)| seq),
            Some(4),
            "{}",
            db.backend()
        );
    }
}

#[test]
fn a_deleted_event_breaks_the_chain_at_its_number() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let mut conn = pool.get().expect("connection");
        record_events(&mut conn, 6);
        diesel::delete(audit_events::table.filter(audit_events::seq.eq(2)))
            .execute(&mut conn)
            .expect("delete");
        let report = audit::verify(&mut conn).expect("verify");
        assert_eq!(report.events_checked, 1, "{}", db.backend());
        let (seq, reason) = report.first_broken.expect("broken");
        assert_eq!(seq, 2, "{}", db.backend());
        assert!(reason.contains("gap"), "{reason}");
    }
}
