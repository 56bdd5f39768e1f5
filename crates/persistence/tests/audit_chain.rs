//! The audit chain on both backends: an untouched log verifies; editing an event's
//! changes or deleting an event is reported at the first broken sequence number.

use diesel::prelude::*;
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::schema::audit_events;
use persistence::sql_types::DbJson;
use persistence::transaction::write_transaction;
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

/// Many connections writing at once (on PostgreSQL each commit seals its own and its
/// neighbours' events) leave one gapless chain holding every event.
#[test]
fn concurrent_writers_leave_one_intact_chain() {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    for db in test_databases::databases() {
        let pool = db.pool();
        std::thread::scope(|scope| {
            for _ in 0..WRITERS {
                let pool = pool.clone();
                scope.spawn(move || {
                    let mut conn = pool.get().expect("connection");
                    record_events(&mut conn, EACH);
                });
            }
        });
        let mut conn = pool.get().expect("connection");
        let report = audit::verify(&mut conn).expect("verify");
        assert_eq!(
            report.events_checked,
            (WRITERS * EACH) as u64,
            "{}",
            db.backend()
        );
        assert_eq!(report.first_broken, None, "{}", db.backend());
        let pending: i64 = persistence::schema::audit_pending::table
            .count()
            .get_result(&mut conn)
            .expect("count");
        assert_eq!(pending, 0, "{}", db.backend());
    }
}

/// A transaction that committed without being sealed (as when the process dies between
/// the commit and the seal) still has its event listed, and the chain stays whole.
#[test]
fn an_unsealed_commit_is_sealed_by_the_next_reader() {
    for db in test_databases::databases() {
        let pool = db.pool();
        let mut conn = pool.get().expect("connection");
        record_events(&mut conn, 2);
        conn.transaction(|conn| {
            audit::record(
                conn,
                &Actor::system(),
                NewAuditEvent {
                    action: "delete",
                    resource_type: "user",
                    resource_id: Some("left-pending".into()),
                    changes: None,
                },
            )
        })
        .expect("commit without sealing");
        let listed = audit::list(
            &mut conn,
            &audit::AuditQuery {
                filter: audit::AuditFilter {
                    resource_id: Some("left-pending".into()),
                    ..Default::default()
                },
                before_seq: None,
                limit: 10,
            },
        )
        .expect("list");
        assert_eq!(listed.len(), 1, "{}", db.backend());
        assert_eq!(listed[0].seq, 3, "{}", db.backend());
        let report = audit::verify(&mut conn).expect("verify");
        assert_eq!(
            (report.events_checked, report.first_broken),
            (3, None),
            "{}",
            db.backend()
        );
    }
}

/// A bulk change (as an import makes) beside small concurrent writers: its events are
/// linked in its own transaction, the others sealed after theirs, one chain in all.
#[test]
fn a_bulk_change_and_small_writers_share_one_chain() {
    const BULK: usize = 150;
    for db in test_databases::databases() {
        let pool = db.pool();
        std::thread::scope(|scope| {
            for _ in 0..3 {
                let pool = pool.clone();
                scope.spawn(move || {
                    let mut conn = pool.get().expect("connection");
                    record_events(&mut conn, 20);
                });
            }
            let pool = pool.clone();
            scope.spawn(move || {
                let mut conn = pool.get().expect("connection");
                let events = (0..BULK)
                    .map(|n| NewAuditEvent {
                        action: "customer.import",
                        resource_type: "customer",
                        resource_id: Some(format!("imported-{n}")),
                        changes: Some(json!({"code": {"before": null, "after": n}})),
                    })
                    .collect();
                write_transaction(&mut conn, |conn| {
                    audit::record_many(conn, &Actor::system(), events)
                })
                .expect("bulk change");
            });
        });
        let mut conn = pool.get().expect("connection");
        let report = audit::verify(&mut conn).expect("verify");
        assert_eq!(
            report.events_checked,
            (3 * 20 + BULK) as u64,
            "{}",
            db.backend()
        );
        assert_eq!(report.first_broken, None, "{}", db.backend());
    }
}
