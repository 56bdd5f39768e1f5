//! The daily stuck-deals check (S-4, S-7): each open deal with an owner and no activity
//! for its pipeline's `stuck_after_days` tells its owner, once per spell of being stuck.
//!
//! A spell is named by the deal's `last_activity_at`, which an activity logged on the
//! deal and every change of it (a stage change, a new owner) move: the notification's
//! `dedupe_key` holds the deal and that instant, so a deal that stays stuck is told
//! about once however many days the check finds it, a repeated run tells nobody twice,
//! and a deal that moved and went stale again starts a new spell that is told again.

use chrono::{DateTime, Utc};
use domain::notifications::{Link, LinkType, NotificationKind, Texts};
use domain::sales::deals::stuck_cutoff;
use persistence::db::DbConnection;
use uuid::Uuid;

use crate::error::AppResult;
use crate::notifications::notify;
use crate::transaction;

/// Deals read and notified per transaction.
const BATCH: i64 = 500;

/// What a stuck-deals check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StuckCheck {
    /// Stuck open deals with an owner.
    pub stuck: usize,
    /// Owners told now (the others were told earlier in the same spell).
    pub notified: usize,
}

/// The notification key of one stuck spell of a deal.
fn spell_key(deal: Uuid, last_activity_at: DateTime<Utc>) -> String {
    format!("stuck_deal:{deal}:{}", last_activity_at.timestamp_micros())
}

/// Tells the owner of every deal stuck at `now` that was not told in its current
/// spell: per pipeline (the setting is the pipeline's), a batch of deals per
/// transaction, each notification in the transaction that finds its deal stuck.
pub fn notify_stuck(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<StuckCheck> {
    let mut check = StuckCheck::default();
    for pipeline in persistence::pipelines::all(conn)? {
        let cutoff = stuck_cutoff(now, pipeline.row.stuck_after_days);
        let mut after = None;
        loop {
            let (seen, last, notified) = transaction(conn, |conn| {
                let deals = persistence::deals::stuck_with_owner(
                    conn,
                    pipeline.row.id.0,
                    cutoff,
                    after,
                    BATCH,
                )?;
                let mut notified = 0;
                for deal in &deals {
                    let Some(owner) = deal.owner_id else {
                        continue;
                    };
                    let idle = now - deal.last_activity_at.0;
                    if notify(
                        conn,
                        owner.0,
                        NotificationKind::StuckDeal,
                        Texts::deal_stuck(&deal.title, idle.num_days()),
                        Some(Link {
                            kind: LinkType::Deal,
                            id: deal.id.0,
                        }),
                        Some(spell_key(deal.id.0, deal.last_activity_at.0)),
                    )? {
                        notified += 1;
                    }
                }
                Ok((deals.len(), deals.last().map(|deal| deal.id.0), notified))
            })?;
            check.stuck += seen;
            check.notified += notified;
            if (seen as i64) < BATCH {
                break;
            }
            after = last;
        }
    }
    Ok(check)
}
