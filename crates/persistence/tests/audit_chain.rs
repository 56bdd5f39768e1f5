//! The audit chain on both backends: an untouched log verifies; editing an event's
//! changes or deleting an event is reported at the first broken sequence number, and
//! removing the newest events is caught by a signed checkpoint.

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
        let empty = audit::verify(&mut conn, None, &[]).expect("verify");
        assert_eq!((empty.events_checked, empty.first_broken), (0, None));
        record_events(&mut conn, 5);
        let report = audit::verify(&mut conn, None, &[]).expect("verify");
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
        let report = audit::verify(&mut conn, None, &[]).expect("verify");
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
        let report = audit::verify(&mut conn, None, &[]).expect("verify");
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
        let report = audit::verify(&mut conn, None, &[]).expect("verify");
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
        let report = audit::verify(&mut conn, None, &[]).expect("verify");
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
        let report = audit::verify(&mut conn, None, &[]).expect("verify");
        assert_eq!(
            report.events_checked,
            (3 * 20 + BULK) as u64,
            "{}",
            db.backend()
        );
        assert_eq!(report.first_broken, None, "{}", db.backend());
    }
}

#[test]
fn removing_the_newest_events_is_caught_by_a_signed_checkpoint() {
    let key = b"a checkpoint key of thirty-two b";
    for db in test_databases::databases() {
        let backend = db.backend();
        let pool = db.pool();
        let mut conn = pool.get().expect("connection");
        assert_eq!(audit::checkpoint(&mut conn, key).expect("empty"), None);
        record_events(&mut conn, 6);
        let signed = audit::checkpoint(&mut conn, key)
            .expect("checkpoint")
            .expect("a chain end");
        assert_eq!(signed.seq, 6, "{backend}");
        assert!(signed.is_signed_by(key));
        assert!(!signed.is_signed_by(b"another key"));
        // Asked again with nothing new, the same checkpoint.
        assert_eq!(
            audit::checkpoint(&mut conn, key).unwrap(),
            Some(signed.clone())
        );
        record_events(&mut conn, 2);
        let report = audit::verify(&mut conn, Some(key), &[]).expect("verify");
        assert_eq!(
            (
                report.events_checked,
                report.first_broken,
                report.anchored_seq
            ),
            (8, None, Some(6)),
            "{backend}"
        );

        // Cutting the chain back to five events leaves links that all hold; the
        // checkpoint of event six does not.
        diesel::delete(audit_events::table.filter(audit_events::seq.gt(5)))
            .execute(&mut conn)
            .expect("truncate");
        let report = audit::verify(&mut conn, Some(key), &[]).expect("verify");
        assert_eq!(report.events_checked, 5, "{backend}");
        assert_eq!(
            report.first_broken,
            Some((
                6,
                "events were removed from the end: a signed checkpoint names a later event"
            )),
            "{backend}"
        );
        // Removing the checkpoint as well is caught by the copy kept outside the
        // database (the anchor file), and a checkpoint forged for the shorter chain
        // fails its signature.
        diesel::delete(persistence::schema::audit_checkpoints::table)
            .execute(&mut conn)
            .expect("remove checkpoints");
        let report =
            audit::verify(&mut conn, Some(key), std::slice::from_ref(&signed)).expect("verify");
        assert_eq!(
            report.first_broken.map(|(seq, _)| seq),
            Some(6),
            "{backend}"
        );
        let forged = audit::checkpoint(&mut conn, b"the attacker's own key")
            .expect("checkpoint")
            .expect("a chain end");
        assert_eq!(forged.seq, 5);
        let report = audit::verify(&mut conn, Some(key), &[]).expect("verify");
        assert_eq!(
            report.first_broken,
            Some((
                5,
                "a checkpoint's signature does not verify: it was not signed with this server's key"
            )),
            "{backend}"
        );
    }
}
