//! The cross-channel report's SQL against its definition in `domain`, on both
//! backends: on a seeded random history of customers writing on several channels, the
//! touchpoint paths the database counts are those of `touch_path`, and the first-
//! response counts, sums, medians and 90th percentiles it picks with window functions
//! are those of the nearest-rank `percentile` over the same durations; automatic
//! messages either way count for neither.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::{admin, databases};
use diesel::prelude::*;
use domain::omnichannel::analytics::touch_path;
use domain::service::kpis::percentile;
use persistence::channel_accounts::ChannelAccountRow;
use persistence::conversations::{ConversationRow, MessageRow};
use persistence::db::DbConnection;
use persistence::reports::PeriodBounds;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use uuid::Uuid;

/// A small deterministic generator (64-bit LCG), so failures reproduce.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const CHANNELS: [&str; 3] = ["telegram", "sms", "whatsapp"];

fn account(conn: &mut DbConnection, kind: &str) -> Uuid {
    let id = Uuid::now_v7();
    let now = DbTime(persistence::now());
    persistence::channel_accounts::insert(
        conn,
        &ChannelAccountRow {
            id: DbUuid(id),
            kind: kind.into(),
            name: kind.into(),
            active: true,
            settings: DbJson(serde_json::json!({})),
            webhook_key: format!("key-{id}"),
            credentials_key_id: "test".into(),
            credentials_sealed: "sealed".into(),
            created_by: None,
            created_at: now,
            updated_at: now,
            version: 1,
            site_key: None,
        },
    )
    .expect("account");
    id
}

fn message(
    conn: &mut DbConnection,
    conversation: &ConversationRow,
    direction: &str,
    automatic: bool,
    at: DateTime<Utc>,
) {
    let now = DbTime(persistence::now());
    persistence::conversations::insert_message(
        conn,
        &MessageRow {
            id: DbUuid(Uuid::now_v7()),
            conversation_id: conversation.id,
            channel_account_id: conversation.channel_account_id,
            customer_id: conversation.customer_id,
            channel: conversation.channel.clone(),
            direction: direction.into(),
            provider_message_id: Some(Uuid::now_v7().to_string()),
            body: "…".into(),
            subject: None,
            sentiment_score: None,
            sentiment_label: None,
            scheduled_at: None,
            status: if direction == "inbound" {
                "received"
            } else {
                "sent"
            }
            .into(),
            automatic,
            sent_by: None,
            error: None,
            occurred_at: DbTime(at),
            created_at: now,
            updated_at: now,
        },
    )
    .expect("message");
}

#[test]
fn the_database_counts_paths_and_percentiles_as_the_domain_defines_them() {
    for db in databases() {
        let conn = &mut db.conn();
        let acting = admin(conn);
        let accounts: BTreeMap<&str, Uuid> = CHANNELS
            .iter()
            .map(|kind| (*kind, account(conn, kind)))
            .collect();
        let start = Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap();
        let mut random = Seeded(20_251_001);
        let mut expected_paths: BTreeMap<Vec<String>, i64> = BTreeMap::new();
        let mut expected_seconds: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut conversations_per_channel: BTreeMap<String, i64> = BTreeMap::new();
        for index in 0..60_i64 {
            let input = serde_json::from_value(serde_json::json!({
                "kind": "person", "first_name": "Test", "last_name": format!("Buyer {index}")
            }))
            .expect("input");
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
            let customer =
                application::customers::records::create(conn, &acting, today, input, true)
                    .expect("customer")
                    .row
                    .id
                    .0;
            let origin = start + Duration::hours(24 * index);
            let touches: Vec<&str> = (0..random.below(9))
                .map(|_| CHANNELS[random.below(3) as usize])
                .collect();
            // The first order comes after `before` of the touches, ten minutes apart (the
            // rest follow it).
            let before = random.below(touches.len() as u64 + 1) as usize;
            let order_at = origin + Duration::minutes(10 * before as i64 - 5);
            let mut open: BTreeMap<&str, ConversationRow> = BTreeMap::new();
            for (step, channel) in touches.iter().enumerate() {
                let at = origin + Duration::minutes(10 * step as i64);
                let conversation = open.entry(channel).or_insert_with(|| {
                    let row = ConversationRow {
                        id: DbUuid(Uuid::now_v7()),
                        channel_account_id: DbUuid(accounts[channel]),
                        channel: channel.to_string(),
                        contact_kind: "phone".into(),
                        contact_value: customer.to_string(),
                        contact_name: None,
                        customer_id: Some(DbUuid(customer)),
                        lead_id: None,
                        status: "open".into(),
                        ticket_id: None,
                        last_message_at: DbTime(at),
                        created_at: DbTime(at),
                        updated_at: DbTime(at),
                        auto_replied_until: None,
                    };
                    persistence::conversations::insert(conn, &row).expect("conversation");
                    *conversations_per_channel
                        .entry(channel.to_string())
                        .or_default() += 1;
                    // An automatic answer at once never counts; an agent answers two
                    // conversations in three, up to 5,000 s later.
                    message(conn, &row, "outbound", true, at + Duration::seconds(1));
                    if random.below(3) > 0 {
                        let seconds = random.below(5_000) as i64;
                        message(
                            conn,
                            &row,
                            "outbound",
                            false,
                            at + Duration::seconds(seconds),
                        );
                        expected_seconds
                            .entry(channel.to_string())
                            .or_default()
                            .push(seconds);
                    }
                    row
                });
                let conversation = conversation.clone();
                message(conn, &conversation, "inbound", false, at);
            }
            // An automatic answer from the customer's side (an out-of-office reply)
            // before everything: neither a touch nor the start of the clock.
            if let Some(conversation) = open.values().next() {
                if random.below(2) == 0 {
                    message(
                        conn,
                        conversation,
                        "inbound",
                        true,
                        origin - Duration::minutes(1),
                    );
                }
            }
            if random.below(5) > 0 || before > 0 {
                use persistence::schema::customers;
                diesel::update(customers::table.find(DbUuid(customer)))
                    .set(customers::first_order_at.eq(Some(DbTime(order_at))))
                    .execute(conn)
                    .expect("first order");
                let path: Vec<String> = touch_path(&touches[..before])
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if !path.is_empty() {
                    *expected_paths.entry(path).or_default() += 1;
                }
            }
        }

        let end = start + Duration::days(400);
        let scope = acting.scope();
        let counted: BTreeMap<Vec<String>, i64> =
            persistence::channel_reports::paths(conn, start, end, &scope)
                .expect("paths")
                .into_iter()
                .map(|cell| (cell.path(), cell.customers))
                .collect();
        assert!(
            expected_paths.keys().any(|path| path.len() == 4),
            "long paths"
        );
        assert_eq!(counted, expected_paths, "{}", db.name);

        let whole = PeriodBounds {
            start,
            end,
            age_thresholds: [NaiveDate::MIN; 6],
        };
        let cells = persistence::channel_reports::conversations(conn, &[whole], &scope)
            .expect("conversations");
        assert_eq!(cells.len(), CHANNELS.len(), "{}", db.name);
        for cell in cells {
            let mut seconds = expected_seconds.remove(&cell.channel).unwrap_or_default();
            seconds.sort_unstable();
            assert_eq!(
                (
                    cell.conversations,
                    cell.answered,
                    cell.total_seconds(),
                    cell.p50_seconds,
                    cell.p90_seconds,
                ),
                (
                    conversations_per_channel[&cell.channel],
                    seconds.len() as i64,
                    seconds.iter().map(|s| i128::from(*s)).sum::<i128>(),
                    percentile(&seconds, 0.5),
                    percentile(&seconds, 0.9),
                ),
                "{} {}",
                db.name,
                cell.channel
            );
        }
    }
}
