//! Loyalty points (M-5): the account of a customer visible to the caller (balance,
//! lots, total earned, the ledger page by page), points earned and redeemed
//! (`records:write`) or taken away (`crm:configure`), points earned by the business's
//! rules (a paid order by its total, behavioural events by name: `earn_for_order`,
//! `earn_for_events`, once per order or event), and the expiry of lots.
//!
//! Every change of an account runs in one transaction that first locks the customer's
//! row, then reads the lots and appends entries: two redemptions at the same moment take
//! turns, and the second sees what the first took, so a balance never goes below zero.
//! Each change is audited (`loyalty.earn`, `loyalty.redeem`, `loyalty.deduct`).

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::loyalty::{
    allocate, balance, is_self_referral, normalize_referral_code,
    referral_code as referral_code_of_bits, referral_link, tier_for, EarnInput, Identity, Lot,
    LoyaltyEntryKind, LoyaltyRules, SpendInput, TierBasis,
};
use persistence::audit::{self, NewAuditEvent};
use persistence::behavioural_events::EventRow;
use persistence::db::DbConnection;
use persistence::loyalty::{EntryRow, LotRow, ReferralCodeRow};
use persistence::orders::OrderRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::customers::visible;
use crate::error::{AppError, AppResult};
use crate::paging::{time_cursor, time_position, Cursor};
use crate::transaction;

/// Sort order name of the ledger, newest first.
pub const NEWEST_FIRST: &str = "created_at_desc";
/// Lots the expiry run writes off per transaction.
const EXPIRY_PAGE: i64 = 500;

/// A customer's points now.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub balance: i64,
    pub earned_total: i64,
    /// The lots not expired that still hold points, the one expiring first first.
    pub lots: Vec<LotRow>,
}

fn lot(row: &LotRow) -> Lot {
    Lot {
        id: row.id.0,
        remaining: row.remaining,
        expires_at: row.expires_at.0,
        earned_at: row.created_at.0,
    }
}

/// The account of `customer` at `now`, whose visibility the caller has checked.
pub fn account_of(
    conn: &mut DbConnection,
    customer: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Account> {
    let lots = persistence::loyalty::lots_of(conn, customer)?;
    let open: Vec<Lot> = lots.iter().map(lot).collect();
    Ok(Account {
        balance: balance(&open, now),
        earned_total: persistence::loyalty::earned_total(conn, customer)?,
        lots: lots
            .into_iter()
            .filter(|row| row.expires_at.0 > now)
            .collect(),
    })
}

/// The account of a customer visible to the caller (`records:read`).
pub fn account(conn: &mut DbConnection, acting: &Acting, customer: Uuid) -> AppResult<Account> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, customer)?;
    account_of(conn, customer, persistence::now())
}

/// One page of a visible customer's ledger, newest first (`records:read`).
pub fn entries(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<EntryRow>> {
    acting.require(Permission::RecordsRead)?;
    visible(conn, acting, customer)?;
    let before = time_position(cursor, NEWEST_FIRST)?;
    Ok(persistence::loyalty::entries_of(
        conn, customer, before, limit,
    )?)
}

/// The cursor after `row` in a ledger page.
pub fn cursor_after(row: &EntryRow) -> Cursor {
    time_cursor(NEWEST_FIRST, row.created_at.0, row.id.0)
}

/// Locks a customer the caller may see and change: not merged away, not erased.
fn lock_account(conn: &mut DbConnection, acting: &Acting, customer: Uuid) -> AppResult<()> {
    persistence::customers::lock_for_update(conn, &[customer])?;
    let record = visible(conn, acting, customer)?;
    if let Some(winner) = record.row.merged_into_id {
        return Err(AppError::Conflict(format!(
            "the customer was merged into customer {}, which holds its points",
            winner.0
        )));
    }
    if record.row.erased_at.is_some() {
        return Err(AppError::Conflict("the customer was erased".into()));
    }
    Ok(())
}

/// An entry of `kind` moving `points` on `customer`'s ledger now, by the caller.
fn entry(
    acting: &Acting,
    customer: Uuid,
    kind: LoyaltyEntryKind,
    points: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> EntryRow {
    EntryRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        origin_customer_id: DbUuid(customer),
        kind: kind.as_str().to_string(),
        points,
        lot_id: None,
        expires_at: None,
        reason: Some(reason.to_string()),
        source: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: DbTime(now),
    }
}

/// Gives a visible customer points (`records:write`): a new lot. Audited as
/// `loyalty.earn`.
pub fn earn(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    input: EarnInput,
) -> AppResult<(EntryRow, Account)> {
    acting.require(Permission::RecordsWrite)?;
    let now = persistence::now();
    let input = input.validated(now).map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        lock_account(conn, acting, customer)?;
        let row = EntryRow {
            expires_at: input.expires_at.map(DbTime),
            ..entry(
                acting,
                customer,
                LoyaltyEntryKind::Earn,
                input.points,
                &input.reason,
                now,
            )
        };
        persistence::loyalty::append(conn, std::slice::from_ref(&row))?;
        record(
            conn,
            acting,
            "loyalty.earn",
            customer,
            input.points,
            &[row.id.0],
        )?;
        Ok((row, account_of(conn, customer, now)?))
    })
}

/// Takes points from a visible customer's lots, the lot expiring first first: `redeem`
/// (`records:write`) or `deduct` (`crm:configure`). 422 `points` `exceeds_balance`
/// when the balance is smaller, and nothing is taken. Audited as `loyalty.redeem` or
/// `loyalty.deduct`.
pub fn spend(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    kind: LoyaltyEntryKind,
    input: SpendInput,
) -> AppResult<(Vec<EntryRow>, Account)> {
    let (permission, action) = match kind {
        LoyaltyEntryKind::Redeem => (Permission::RecordsWrite, "loyalty.redeem"),
        LoyaltyEntryKind::Deduct => (Permission::CrmConfigure, "loyalty.deduct"),
        other => {
            return Err(AppError::Internal(format!(
                "{} is not a way of spending points",
                other.as_str()
            )))
        }
    };
    acting.require(permission)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    let now = persistence::now();
    transaction(conn, |conn| {
        lock_account(conn, acting, customer)?;
        let lots: Vec<Lot> = persistence::loyalty::lots_of(conn, customer)?
            .iter()
            .map(lot)
            .collect();
        let takes = allocate(&lots, input.points, now).map_err(|available| {
            AppError::field(
                "points",
                "exceeds_balance",
                format!("the customer has {available} points"),
            )
        })?;
        let rows: Vec<EntryRow> = takes
            .into_iter()
            .map(|(lot_id, take)| EntryRow {
                lot_id: Some(DbUuid(lot_id)),
                ..entry(acting, customer, kind, -take, &input.reason, now)
            })
            .collect();
        persistence::loyalty::append(conn, &rows)?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id.0).collect();
        record(conn, acting, action, customer, -input.points, &ids)?;
        Ok((rows, account_of(conn, customer, now)?))
    })
}

fn record(
    conn: &mut DbConnection,
    acting: &Acting,
    action: &str,
    customer: Uuid,
    points: i64,
    entries: &[Uuid],
) -> AppResult<()> {
    audit::record(
        conn,
        &acting.audit_actor(),
        NewAuditEvent {
            action,
            resource_type: "customer",
            resource_id: Some(customer.to_string()),
            changes: Some(json!({"points": points, "entries": entries})),
        },
    )?;
    Ok(())
}

/// A lot earned by a rule for `customer` at `at` (the order's or event's time), once
/// per `source`.
fn earned_by_rule(
    rules: &LoyaltyRules,
    customer: Uuid,
    points: i64,
    source: String,
    reason: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> EntryRow {
    EntryRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(customer),
        origin_customer_id: DbUuid(customer),
        kind: LoyaltyEntryKind::Earn.as_str().to_string(),
        points,
        lot_id: None,
        expires_at: Some(DbTime(rules.expiry(at))),
        reason: Some(reason.to_string()),
        source: Some(source),
        created_by: None,
        created_at: DbTime(now),
    }
}

/// Attempts at a fresh random code before giving up (a collision among 2^40 codes is
/// already unlikely once).
const CODE_ATTEMPTS: usize = 8;

/// A customer's referral code and, when the loyalty rules have a template, its link.
#[derive(Debug, Clone, PartialEq)]
pub struct Referral {
    pub customer_id: Uuid,
    pub code: String,
    pub link: Option<String>,
    /// Whether this request made the code.
    pub created: bool,
}

fn identity(record: &persistence::customers::CustomerRecord) -> Identity {
    Identity {
        id: record.row.id.0,
        merged_into: record.row.merged_into_id.map(|id| id.0),
        phones: record.phones.iter().map(|p| p.number.clone()).collect(),
        emails: record.emails.iter().map(|e| e.address.clone()).collect(),
        national_code: record.row.national_code.clone(),
    }
}

/// The referral code of a visible customer (`records:write`), made on first asking:
/// eight random base-32 digits, kept for good. Audited as `loyalty.referral_code` when
/// made. 410 for an erased customer.
pub fn referral_code(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
) -> AppResult<Referral> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        // Locked as for points: an erasure or a merge waits, or is waited for.
        persistence::customers::lock_for_update(conn, &[customer])?;
        let record = visible(conn, acting, customer)?;
        if record.row.erased_at.is_some() {
            return Err(AppError::Gone("the customer was erased".into()));
        }
        if let Some(winner) = record.row.merged_into_id {
            return Err(AppError::Conflict(format!(
                "the customer was merged into customer {}; ask for its code",
                winner.0
            )));
        }
        if let Some(row) = persistence::loyalty::referral_code_of(conn, customer)? {
            return referral(conn, customer, row.code, false);
        }
        for _ in 0..CODE_ATTEMPTS {
            let row = ReferralCodeRow {
                code: referral_code_of_bits(rand::random()),
                customer_id: DbUuid(customer),
                created_at: DbTime(persistence::now()),
            };
            if persistence::loyalty::insert_referral_code(conn, &row)? {
                audit::record(
                    conn,
                    &acting.audit_actor(),
                    NewAuditEvent {
                        action: "loyalty.referral_code",
                        resource_type: "customer",
                        resource_id: Some(customer.to_string()),
                        changes: Some(json!({"code": row.code})),
                    },
                )?;
                return referral(conn, customer, row.code, true);
            }
            // Another request made this customer's code meanwhile: answer it.
            if let Some(row) = persistence::loyalty::referral_code_of(conn, customer)? {
                return referral(conn, customer, row.code, false);
            }
        }
        Err(AppError::Internal(
            "no free referral code after several attempts".into(),
        ))
    })
}

/// The customer a referral code belongs to, followed through merges, if the caller
/// may see them (`records:read`); 404 for an unknown code, a malformed one or a
/// customer out of sight.
pub fn resolve_referral_code(
    conn: &mut DbConnection,
    acting: &Acting,
    code: &str,
) -> AppResult<Referral> {
    acting.require(Permission::RecordsRead)?;
    let code = normalize_referral_code(code).ok_or(AppError::NotFound)?;
    let row = persistence::loyalty::find_referral_code(conn, &code)?.ok_or(AppError::NotFound)?;
    let chain = crate::customers::merge_chain(conn, acting, row.customer_id.0)?;
    match chain.last() {
        Some(current) if current.row.erased_at.is_none() => {
            referral(conn, current.row.id.0, code, false)
        }
        _ => Err(AppError::NotFound),
    }
}

/// `code` of `customer` with its link by the loyalty rules' template.
fn referral(
    conn: &mut DbConnection,
    customer: Uuid,
    code: String,
    created: bool,
) -> AppResult<Referral> {
    let rules = crate::settings::current(conn)?.0.loyalty;
    Ok(Referral {
        customer_id: customer,
        link: rules
            .referral_link
            .map(|template| referral_link(&template, &code)),
        code,
        created,
    })
}

/// The referral reward for `customer`'s first purchase, `order`, inside the
/// transaction that made it one: the loyalty rules' `referral_points` to the customer
/// who referred them, once per referred customer (the lot's source
/// `referral:<customer>`), never for a self-referral or an erased referrer.
pub(crate) fn reward_referral(
    conn: &mut DbConnection,
    rules: &LoyaltyRules,
    customer: Uuid,
    order: &OrderRow,
) -> AppResult<()> {
    if rules.referral_points == 0 {
        return Ok(());
    }
    let referred = persistence::customers::find(conn, customer)?;
    let Some(referrer) = referred.row.referred_by_customer_id else {
        return Ok(());
    };
    // A referrer merged away since is the customer it was merged into now.
    let mut referrer = referrer.0;
    let mut records = Vec::new();
    for _ in 0..crate::customers::MAX_MERGE_HOPS {
        persistence::customers::lock_for_update(conn, &[referrer])?;
        let record = persistence::customers::find(conn, referrer)?;
        let next = record.row.merged_into_id;
        records.push(record);
        match next {
            Some(winner) => referrer = winner.0,
            None => break,
        }
    }
    let Some(current) = records.last() else {
        return Ok(());
    };
    if current.row.erased_at.is_some()
        || current.row.merged_into_id.is_some()
        || records
            .iter()
            .any(|record| is_self_referral(&identity(record), &identity(&referred)))
    {
        return Ok(());
    }
    let referrer = current;
    let row = earned_by_rule(
        rules,
        referrer.row.id.0,
        rules.referral_points,
        format!("referral:{customer}"),
        "referral",
        order.placed_at.0,
        persistence::now(),
    );
    persistence::loyalty::append_earned(conn, &[row])?;
    Ok(())
}

/// The points `order` earns by the business's rules now that it became a purchase,
/// inside the transaction that made it one (the customer's row is locked); once per
/// order. A lot of an old order expires counting from when it was placed.
pub fn earn_for_order(
    conn: &mut DbConnection,
    rules: &LoyaltyRules,
    order: &OrderRow,
) -> AppResult<()> {
    let points = rules.order_points(order.total);
    if points == 0 {
        return Ok(());
    }
    let row = earned_by_rule(
        rules,
        order.customer_id.0,
        points,
        format!("order:{}", order.id.0),
        "order",
        order.placed_at.0,
        persistence::now(),
    );
    persistence::loyalty::append_earned(conn, &[row])?;
    Ok(())
}

/// The points behavioural `events` earn by the business's rules (per name), inside the
/// transaction that stores them; once per event.
pub fn earn_for_events(conn: &mut DbConnection, events: &[&EventRow]) -> AppResult<()> {
    let rules = crate::settings::current(conn)?.0.loyalty;
    if rules.event_points.is_empty() {
        return Ok(());
    }
    let now = persistence::now();
    let rows: Vec<EntryRow> = events
        .iter()
        .filter_map(|event| {
            let points = *rules.event_points.get(&event.event_name)?;
            Some(earned_by_rule(
                &rules,
                event.customer_id.0,
                points,
                format!("event:{}", event.id.0),
                &event.event_name,
                event.occurred_at.0,
                now,
            ))
        })
        .collect();
    persistence::loyalty::append_earned(conn, &rows)?;
    Ok(())
}

/// Writes off what remains of the lots that expired in `(after, until]`: one `expire`
/// entry per lot, a page of lots per transaction, each customer's row locked first so
/// that a redemption at the same moment takes turns with it. Answers the lots written
/// off.
pub fn expire(
    conn: &mut DbConnection,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AppResult<usize> {
    let mut written = 0;
    loop {
        let done = transaction(conn, |conn| {
            let page = persistence::loyalty::expired_lots(conn, after, until, EXPIRY_PAGE)?;
            let mut customers: Vec<Uuid> = page.iter().map(|lot| lot.customer_id.0).collect();
            customers.sort();
            customers.dedup();
            persistence::customers::lock_for_update(conn, &customers)?;
            // Read again under the locks: a redemption may have taken from them.
            let page = persistence::loyalty::expired_lots(conn, after, until, EXPIRY_PAGE)?;
            let rows: Vec<EntryRow> = page
                .iter()
                .map(|lot| EntryRow {
                    id: DbUuid(Uuid::now_v7()),
                    customer_id: lot.customer_id,
                    origin_customer_id: lot.customer_id,
                    kind: LoyaltyEntryKind::Expire.as_str().to_string(),
                    points: -lot.remaining,
                    lot_id: Some(lot.id),
                    expires_at: None,
                    reason: None,
                    source: None,
                    created_by: None,
                    // The instant it expired, where the ledger shows it.
                    created_at: lot.expires_at,
                })
                .collect();
            persistence::loyalty::append(conn, &rows)?;
            Ok((rows.len(), (page.len() as i64) < EXPIRY_PAGE))
        })?;
        written += done.0;
        if done.1 {
            return Ok(written);
        }
    }
}

/// Customers re-tiered per transaction.
const TIER_PAGE: i64 = 500;

/// What a nightly tier run changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TierChanges {
    pub upgraded: usize,
    pub downgraded: usize,
    pub customers: usize,
}

/// Puts every customer the loyalty tiers manage in the tier their measure over the
/// window before `now` reaches (`domain::loyalty::tier_for`), a page of customers per
/// transaction; a customer in a tier outside the programme keeps it. Audited as
/// `loyalty.tiers` with the counts when anything changed.
pub fn retier(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<TierChanges> {
    let mut rules = crate::settings::current(conn)?.0.loyalty;
    // A tier deleted since the rules were saved is no longer one to move anyone into.
    let ids: Vec<Uuid> = rules.tiers.iter().map(|tier| tier.tier_id).collect();
    let existing = persistence::labels::find_many(conn, &ids)?;
    rules.tiers.retain(|tier| {
        existing
            .iter()
            .any(|label| label.id.0 == tier.tier_id && label.kind == persistence::labels::TIER)
    });
    let mut changes = TierChanges::default();
    if rules.tiers.is_empty() {
        return Ok(changes);
    }
    let managed: Vec<Uuid> = rules.tiers.iter().map(|tier| tier.tier_id).collect();
    let since = now - chrono::TimeDelta::days(rules.tier_window_days);
    let mut after = None;
    loop {
        let page = transaction(conn, |conn| {
            let page = persistence::loyalty::tier_candidates(conn, &managed, after, TIER_PAGE)?;
            let ids: Vec<Uuid> = page.iter().map(|(id, _)| *id).collect();
            let measures = match rules.tier_basis {
                TierBasis::Points => persistence::loyalty::points_earned_since(conn, &ids, since)?,
                TierBasis::Spend => persistence::orders::spend_since(conn, &ids, since)?,
            };
            let measures: std::collections::HashMap<Uuid, i64> = measures
                .into_iter()
                .map(|m| (m.customer_id.0, m.measure))
                .collect();
            let mut moves: std::collections::BTreeMap<Option<Uuid>, Vec<Uuid>> = Default::default();
            for (id, current) in &page {
                let measure = measures.get(id).copied().unwrap_or(0);
                let tier = tier_for(&rules.tiers, measure);
                if tier != *current {
                    if domain::loyalty::is_upgrade(&rules.tiers, *current, tier) {
                        changes.upgraded += 1;
                    } else {
                        changes.downgraded += 1;
                    }
                    moves.entry(tier).or_default().push(*id);
                }
            }
            for (tier, customers) in &moves {
                persistence::loyalty::set_tier(conn, customers, *tier, now)?;
            }
            Ok(page)
        })?;
        changes.customers += page.len();
        match page.last() {
            Some((last, _)) if page.len() as i64 == TIER_PAGE => after = Some(*last),
            _ => break,
        }
    }
    if changes.upgraded + changes.downgraded > 0 {
        transaction(conn, |conn| {
            audit::record(
                conn,
                &Acting::system(crate::i18n::Lang::En).audit_actor(),
                NewAuditEvent {
                    action: "loyalty.tiers",
                    resource_type: "loyalty",
                    resource_id: None,
                    changes: Some(json!(changes)),
                },
            )?;
            Ok(())
        })?;
    }
    Ok(changes)
}
