//! Loyalty points (M-5): an append-only ledger per customer. Points are earned in
//! *lots*, each with the day it expires; redeeming, expiring and taking points away
//! consume lots, the lot that expires first first. A customer's balance is never stored:
//! it is the sum of what remains of their lots that have not expired.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// Most points one entry moves.
pub const MAX_POINTS: i64 = 1_000_000_000;
/// How long earned points last unless the entry says otherwise.
pub const DEFAULT_VALIDITY_DAYS: i64 = 365;
/// The longest a lot may last.
pub const MAX_VALIDITY_DAYS: i64 = 3_650;
/// Longest reason.
pub const MAX_REASON_CHARS: usize = 500;

/// What an entry of the ledger records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoyaltyEntryKind {
    /// Points given: a new lot.
    Earn,
    /// Points spent by the customer, taken from lots.
    Redeem,
    /// What remained of a lot on the day it expired.
    Expire,
    /// Points taken away by staff (a correction), taken from lots.
    Deduct,
}

snake_names!(LoyaltyEntryKind {
    Earn => "earn",
    Redeem => "redeem",
    Expire => "expire",
    Deduct => "deduct",
});

/// Points given to a customer (`POST /customers/{id}/loyalty/earn`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": 500, "reason": "هدیهٔ تولد", "expires_at": "2027-12-31T20:30:00Z"}))]
pub struct EarnInput {
    /// 1 to 1,000,000,000.
    pub points: i64,
    /// Why, as the ledger shows it.
    pub reason: String,
    /// When the points expire (default: 365 days from now; at most ten years ahead).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Points spent or taken away (`POST /customers/{id}/loyalty/redeem` and `…/deduct`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": 200, "reason": "تخفیف سفارش ۱۴۰۵-۰۰۱۲"}))]
pub struct SpendInput {
    /// 1 to 1,000,000,000; never more than the balance.
    pub points: i64,
    pub reason: String,
}

fn check_points(points: i64, v: &mut Violations) {
    if !(1..=MAX_POINTS).contains(&points) {
        v.push(
            "points",
            "out_of_range",
            format!("must be 1 to {MAX_POINTS}"),
        );
    }
}

impl EarnInput {
    /// The input in stored form at `now`, its expiry filled in, or every rule it breaks.
    pub fn validated(mut self, now: DateTime<Utc>) -> Result<EarnInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        check_points(self.points, &mut v);
        v.required_line("reason", &mut self.reason, MAX_REASON_CHARS);
        let expires_at = self
            .expires_at
            .unwrap_or(now + TimeDelta::days(DEFAULT_VALIDITY_DAYS));
        if expires_at <= now {
            v.push("expires_at", "in_past", "must be after now");
        } else if expires_at > now + TimeDelta::days(MAX_VALIDITY_DAYS) {
            v.push(
                "expires_at",
                "too_far",
                format!("must be within {MAX_VALIDITY_DAYS} days"),
            );
        }
        self.expires_at = Some(expires_at);
        v.into_result().map(|()| self)
    }
}

impl SpendInput {
    pub fn validated(mut self) -> Result<SpendInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        check_points(self.points, &mut v);
        v.required_line("reason", &mut self.reason, MAX_REASON_CHARS);
        v.into_result().map(|()| self)
    }
}

/// Where a referral link has its code.
pub const CODE_PLACEHOLDER: &str = "{code}";
const MAX_LINK_CHARS: usize = 500;

/// Crockford's base-32 digits: no I, L, O or U, so a code read aloud or typed from a
/// flyer is not mistaken.
const CODE_DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of a referral code.
pub const CODE_CHARS: usize = 8;

/// A referral code from 40 random bits: eight base-32 digits.
pub fn referral_code(random: [u8; 5]) -> String {
    let mut bits = random
        .iter()
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    let mut code = [0u8; CODE_CHARS];
    for digit in code.iter_mut().rev() {
        *digit = CODE_DIGITS[(bits & 31) as usize];
        bits >>= 5;
    }
    code.iter().map(|&b| char::from(b)).collect()
}

/// `text` as a referral code is stored (upper case, Crockford's look-alikes read as
/// the digits they stand for), or `None` when it cannot be one.
pub fn normalize_referral_code(text: &str) -> Option<String> {
    let code: String = text
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (code.len() == CODE_CHARS && code.bytes().all(|b| CODE_DIGITS.contains(&b))).then_some(code)
}

/// The link of `code` by the `template` of the loyalty rules.
pub fn referral_link(template: &str, code: &str) -> String {
    template.replace(CODE_PLACEHOLDER, code)
}

/// Who a customer is, as far as telling two people apart goes: normalised phones and
/// e-mail addresses and the national code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub id: Uuid,
    pub merged_into: Option<Uuid>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub national_code: Option<String>,
}

/// Whether `referred` referring to `referrer` is a customer referring themselves: the
/// same record, one merged into the other, or a phone, e-mail address or national code
/// in common.
pub fn is_self_referral(referrer: &Identity, referred: &Identity) -> bool {
    let shares = |a: &[String], b: &[String]| a.iter().any(|x| b.contains(x));
    referrer.id == referred.id
        || referrer.merged_into == Some(referred.id)
        || referred.merged_into == Some(referrer.id)
        || shares(&referrer.phones, &referred.phones)
        || shares(&referrer.emails, &referred.emails)
        || (referrer.national_code.is_some() && referrer.national_code == referred.national_code)
}

/// Most points one rule gives.
pub const MAX_RULE_POINTS: i64 = 1_000_000;
/// Most event names that earn points.
pub const MAX_EVENT_RULES: usize = 50;

/// How customers earn points by themselves (a business setting): for paid orders, by
/// their total, and for behavioural events, by name. None by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LoyaltyRules {
    /// Points an order earns, when it becomes a purchase (paid), per
    /// `order_amount_unit` of its total (0, the default: none).
    pub points_per_order_unit: i64,
    /// The amount, in minor units of the business currency, that earns
    /// `points_per_order_unit` (default 100,000).
    pub order_amount_unit: i64,
    /// Points per behavioural event of each name; other names earn none.
    pub event_points: BTreeMap<String, i64>,
    /// Days points earned by these rules last, from the order's or event's time
    /// (default 365).
    pub validity_days: i64,
    /// Points a customer earns when a customer they referred (`referred_by_customer_id`)
    /// makes a first purchase (0, the default: no referral reward). Never for a
    /// self-referral: the same customer, one merged into the other, or two records
    /// sharing a phone, an e-mail address or a national code.
    pub referral_points: i64,
    /// The referral link a code goes in: an `http(s)` URL with `{code}` in it, e.g.
    /// `https://shop.example.ir/r/{code}`; none by default.
    pub referral_link: Option<String>,
    /// Loyalty tiers (customer tiers, `GET /tiers`) by their threshold: every night a
    /// customer gets the highest tier whose `minimum` their points earned (or their
    /// spend) over the last `tier_window_days` reaches, up or down. Customers in a tier
    /// outside this list are left as they are. None by default.
    pub tiers: Vec<TierRule>,
    pub tier_basis: TierBasis,
    /// Days the tiers look back (default 365).
    pub tier_window_days: i64,
}

/// A loyalty tier and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    pub tier_id: Uuid,
    /// Points earned, or spend in minor units, over the window.
    pub minimum: i64,
}

/// What loyalty tiers are measured by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    /// Points earned in the window (spent or not).
    #[default]
    Points,
    /// Purchases placed in the window, net of refunds.
    Spend,
}

/// Most loyalty tiers.
pub const MAX_TIERS: usize = 10;

/// The tier of `tiers` a customer with `measure` belongs in: the one with the highest
/// minimum reached, or none.
pub fn tier_for(tiers: &[TierRule], measure: i64) -> Option<Uuid> {
    tiers
        .iter()
        .filter(|tier| tier.minimum <= measure)
        .max_by_key(|tier| tier.minimum)
        .map(|tier| tier.tier_id)
}

/// Whether moving from tier `from` to `to` (of `tiers`; none is below all) goes up.
pub fn is_upgrade(tiers: &[TierRule], from: Option<Uuid>, to: Option<Uuid>) -> bool {
    let rank = |tier: Option<Uuid>| {
        tier.and_then(|id| tiers.iter().find(|t| t.tier_id == id))
            .map_or(-1, |t| t.minimum)
    };
    rank(to) > rank(from)
}

impl Default for LoyaltyRules {
    fn default() -> Self {
        LoyaltyRules {
            points_per_order_unit: 0,
            order_amount_unit: 100_000,
            event_points: BTreeMap::new(),
            validity_days: DEFAULT_VALIDITY_DAYS,
            referral_points: 0,
            referral_link: None,
            tiers: Vec::new(),
            tier_basis: TierBasis::Points,
            tier_window_days: DEFAULT_VALIDITY_DAYS,
        }
    }
}

impl LoyaltyRules {
    /// Reports each broken rule under `field` (`loyalty`).
    pub fn check(&self, v: &mut Violations, field: &str) {
        if !(0..=MAX_RULE_POINTS).contains(&self.points_per_order_unit) {
            v.push(
                format!("{field}.points_per_order_unit"),
                "out_of_range",
                format!("must be 0 to {MAX_RULE_POINTS}"),
            );
        }
        if self.order_amount_unit < 1 {
            v.push(
                format!("{field}.order_amount_unit"),
                "out_of_range",
                "must be at least 1",
            );
        }
        if !(1..=MAX_VALIDITY_DAYS).contains(&self.validity_days) {
            v.push(
                format!("{field}.validity_days"),
                "out_of_range",
                format!("must be 1 to {MAX_VALIDITY_DAYS}"),
            );
        }
        if !(0..=MAX_RULE_POINTS).contains(&self.referral_points) {
            v.push(
                format!("{field}.referral_points"),
                "out_of_range",
                format!("must be 0 to {MAX_RULE_POINTS}"),
            );
        }
        if let Some(link) = &self.referral_link {
            let usable = link.len() <= MAX_LINK_CHARS
                && link.contains(CODE_PLACEHOLDER)
                && url::Url::parse(&link.replace(CODE_PLACEHOLDER, "CODE")).is_ok_and(|url| {
                    matches!(url.scheme(), "http" | "https") && url.host().is_some()
                });
            if !usable {
                v.push(
                    format!("{field}.referral_link"),
                    "invalid_format",
                    format!("an http(s) URL of at most {MAX_LINK_CHARS} characters with {CODE_PLACEHOLDER} in it"),
                );
            }
        }
        if self.tiers.len() > MAX_TIERS {
            v.push(
                format!("{field}.tiers"),
                "too_many",
                format!("at most {MAX_TIERS} tiers"),
            );
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            if tier.minimum < 0 {
                v.push(
                    format!("{field}.tiers[{i}].minimum"),
                    "out_of_range",
                    "must be 0 or more",
                );
            }
            if self.tiers[..i]
                .iter()
                .any(|t| t.tier_id == tier.tier_id || t.minimum == tier.minimum)
            {
                v.push(
                    format!("{field}.tiers[{i}]"),
                    "duplicate",
                    "each tier once, each with its own minimum",
                );
            }
        }
        if !(1..=MAX_VALIDITY_DAYS).contains(&self.tier_window_days) {
            v.push(
                format!("{field}.tier_window_days"),
                "out_of_range",
                format!("must be 1 to {MAX_VALIDITY_DAYS}"),
            );
        }
        if self.event_points.len() > MAX_EVENT_RULES {
            v.push(
                format!("{field}.event_points"),
                "too_many",
                format!("at most {MAX_EVENT_RULES} event names earn points"),
            );
        }
        for (name, points) in &self.event_points {
            let at = format!("{field}.event_points.{name}");
            if !crate::behaviour::is_valid_name(name) {
                v.push(at.clone(), "invalid_format", "is not an event name");
            }
            if !(1..=MAX_RULE_POINTS).contains(points) {
                v.push(
                    at,
                    "out_of_range",
                    format!("must be 1 to {MAX_RULE_POINTS}"),
                );
            }
        }
    }

    /// The points a purchase of `total` earns: whole units of `order_amount_unit`
    /// times `points_per_order_unit`.
    pub fn order_points(&self, total: i64) -> i64 {
        (total.max(0) / self.order_amount_unit.max(1))
            .saturating_mul(self.points_per_order_unit)
            .min(MAX_POINTS)
    }

    /// When points earned by a rule at `at` expire.
    pub fn expiry(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + TimeDelta::days(self.validity_days)
    }
}

/// A lot as spending sees it: what remains of it and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    pub id: Uuid,
    pub remaining: i64,
    pub expires_at: DateTime<Utc>,
    pub earned_at: DateTime<Utc>,
}

/// The points available at `now`: what remains of the lots not expired.
pub fn balance(lots: &[Lot], now: DateTime<Utc>) -> i64 {
    lots.iter()
        .filter(|lot| lot.expires_at > now)
        .map(|lot| lot.remaining.max(0))
        .sum()
}

/// How `points` are taken from `lots` at `now`: from the lot that expires first (then
/// the one earned first), each lot at most what remains of it; `Err(balance)` when the
/// lots not expired hold fewer points.
pub fn allocate(lots: &[Lot], points: i64, now: DateTime<Utc>) -> Result<Vec<(Uuid, i64)>, i64> {
    let available = balance(lots, now);
    if points > available {
        return Err(available);
    }
    let mut open: Vec<&Lot> = lots
        .iter()
        .filter(|lot| lot.expires_at > now && lot.remaining > 0)
        .collect();
    open.sort_by_key(|lot| (lot.expires_at, lot.earned_at, lot.id));
    let mut left = points;
    let mut takes = Vec::new();
    for lot in open {
        if left == 0 {
            break;
        }
        let take = left.min(lot.remaining);
        takes.push((lot.id, take));
        left -= take;
    }
    Ok(takes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_tier_reached_is_the_customers() {
        let (silver, gold) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let tiers = [
            TierRule {
                tier_id: gold,
                minimum: 500,
            },
            TierRule {
                tier_id: silver,
                minimum: 100,
            },
        ];
        assert_eq!(tier_for(&tiers, 99), None);
        assert_eq!(tier_for(&tiers, 100), Some(silver));
        assert_eq!(tier_for(&tiers, 10_000), Some(gold));
        assert!(is_upgrade(&tiers, None, Some(silver)));
        assert!(is_upgrade(&tiers, Some(silver), Some(gold)));
        assert!(!is_upgrade(&tiers, Some(gold), Some(silver)));
        assert!(!is_upgrade(&tiers, Some(silver), None));
    }

    #[test]
    fn referral_codes_are_eight_unambiguous_digits_read_back_as_written() {
        let code = referral_code([0xff, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(code.len(), CODE_CHARS);
        assert_eq!(referral_code([0; 5]), "00000000");
        assert_eq!(referral_code([0xff; 5]), "ZZZZZZZZ");
        assert_eq!(
            normalize_referral_code(&code.to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(
            normalize_referral_code(" 0o1i-lzzz "),
            Some("00111ZZZ".into())
        );
        assert_eq!(normalize_referral_code("UUUUUUUU"), None);
        assert_eq!(normalize_referral_code("ZZZZ"), None);
        assert_eq!(
            referral_link("https://shop.example.ir/r/{code}", "AB12CD34"),
            "https://shop.example.ir/r/AB12CD34"
        );
    }

    #[test]
    fn self_referrals_are_the_same_person_by_any_identifier() {
        let person = |id: u128, phone: &str, email: &str| Identity {
            id: Uuid::from_u128(id),
            merged_into: None,
            phones: vec![phone.into()],
            emails: vec![email.into()],
            national_code: None,
        };
        let referrer = person(1, "+989121111111", "a@example.ir");
        assert!(!is_self_referral(
            &referrer,
            &person(2, "+989122222222", "b@example.ir")
        ));
        assert!(is_self_referral(
            &referrer,
            &person(1, "+989122222222", "b@example.ir")
        ));
        assert!(is_self_referral(
            &referrer,
            &person(2, "+989121111111", "b@example.ir")
        ));
        assert!(is_self_referral(
            &referrer,
            &person(2, "+989122222222", "a@example.ir")
        ));
        let mut merged = person(2, "+989122222222", "b@example.ir");
        merged.merged_into = Some(referrer.id);
        assert!(is_self_referral(&referrer, &merged));
        let (mut a, mut b) = (referrer.clone(), person(2, "+989122222222", "b@example.ir"));
        a.national_code = Some("0012345678".into());
        b.national_code = Some("0012345678".into());
        assert!(is_self_referral(&a, &b));
    }

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc()
            + TimeDelta::days(days)
    }

    fn lot(n: u128, remaining: i64, expires: i64, earned: i64) -> Lot {
        Lot {
            id: Uuid::from_u128(n),
            remaining,
            expires_at: at(expires),
            earned_at: at(earned),
        }
    }

    #[test]
    fn points_come_from_the_lot_that_expires_first() {
        let lots = [
            lot(1, 50, 100, 0),
            lot(2, 30, 10, 1),
            lot(3, 20, 10, 0),
            lot(4, 99, -1, 0),
        ];
        assert_eq!(balance(&lots, at(0)), 100);
        // Lot 4 expired; 3 and 2 expire on the same day, 3 was earned first.
        assert_eq!(
            allocate(&lots, 60, at(0)),
            Ok(vec![
                (Uuid::from_u128(3), 20),
                (Uuid::from_u128(2), 30),
                (Uuid::from_u128(1), 10)
            ])
        );
        assert_eq!(allocate(&lots, 101, at(0)), Err(100));
        // After day 10 only lot 1 is left.
        assert_eq!(balance(&lots, at(10)), 50);
        assert_eq!(
            allocate(&lots, 50, at(10)),
            Ok(vec![(Uuid::from_u128(1), 50)])
        );
    }

    #[test]
    fn rules_earn_whole_units_of_an_order() {
        let rules = LoyaltyRules {
            points_per_order_unit: 3,
            order_amount_unit: 100_000,
            ..LoyaltyRules::default()
        };
        assert_eq!(rules.order_points(2_599_000), 75);
        assert_eq!(rules.order_points(99_999), 0);
        assert_eq!(LoyaltyRules::default().order_points(10_000_000), 0);
        let mut v = Violations::default();
        LoyaltyRules {
            order_amount_unit: 0,
            event_points: BTreeMap::from([("Page View".to_string(), 0)]),
            ..LoyaltyRules::default()
        }
        .check(&mut v, "loyalty");
        let fields: Vec<&str> = v.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "loyalty.order_amount_unit",
                "loyalty.event_points.Page View",
                "loyalty.event_points.Page View"
            ]
        );
    }

    #[test]
    fn inputs_keep_their_rules() {
        let now = at(0);
        let earn = EarnInput {
            points: 10,
            reason: "  خرید  اول ".into(),
            expires_at: None,
        }
        .validated(now)
        .unwrap();
        assert_eq!(earn.reason, "خرید اول");
        assert_eq!(earn.expires_at, Some(at(DEFAULT_VALIDITY_DAYS)));
        let bad = EarnInput {
            points: 0,
            reason: " ".into(),
            expires_at: Some(at(-1)),
        }
        .validated(now)
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["points", "reason", "expires_at"]);
        assert!(SpendInput {
            points: MAX_POINTS + 1,
            reason: "x".into()
        }
        .validated()
        .is_err());
    }
}
