//! Deals: a sale being worked on with a customer, at a stage of a pipeline, worth an
//! amount the client states or the server computes from product lines (as orders are
//! priced). The rules here need no lookup: what the input must look like, what a stage
//! change does to `closed_at` and the lost reason, how long a deal spent at each stage,
//! when an open deal is stuck, and the weighted amounts of the board and forecast.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::pipelines::StageKind;
use crate::commerce::money::Currency;
use crate::commerce::orders::{check_line, price_lines, LineAmounts};
use crate::reports::check_report_day;
use crate::validation::{FieldViolation, Violations};

/// Largest amount of a deal, in minor units: a thousand trillion (10^15), so that a
/// weighted amount (amount × percent) and the sums of a board column stay exact in 64
/// bits.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;
/// Most lines one deal may hold.
pub const MAX_LINES: usize = 100;
/// Most contacts one deal may name.
pub const MAX_CONTACTS: usize = 20;
const MAX_TITLE_CHARS: usize = 200;
const MAX_LABEL_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 5000;

/// A product line of a deal, as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealLineInput {
    pub product_id: Uuid,
    /// Units, 1 to 1,000,000.
    pub quantity: i64,
    /// Price of one unit in minor units; defaults to the product's price.
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Off the whole line, in minor units; at most quantity × unit price.
    #[serde(default)]
    pub discount: i64,
}

/// Everything a client writes on a deal; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "تجهیز شعبهٔ ونک",
    "customer_id": "0193a4e2-7c1d-7b3e-9f10-dddddddddddd",
    "amount": 450_000_000,
    "currency": "IRR",
    "expected_close_date": "2027-02-15",
    "source": "exhibition",
    "campaign": "yalda-1405",
    "description": "دو دستگاه قهوه‌ساز و قرارداد پشتیبانی"
}))]
pub struct DealInput {
    pub title: String,
    /// A customer the caller may see.
    pub customer_id: Uuid,
    /// Persons listed as personnel of the customer (an organization), at most 20.
    #[serde(default)]
    pub contact_ids: Vec<Uuid>,
    /// Defaults to the acting user.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Defaults to the owner's team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// Defaults to the stage's pipeline, else the default pipeline.
    #[serde(default)]
    pub pipeline_id: Option<Uuid>,
    /// A stage of the pipeline; defaults to its first open stage.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    /// In minor units of `currency`. With `lines` the server computes it and a different
    /// value is refused; without lines it defaults to 0.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Defaults to the business currency; the currency of every line's product.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Products the deal is about, at most 100.
    #[serde(default)]
    pub lines: Vec<DealLineInput>,
    /// The local day the deal is expected to close.
    #[serde(default)]
    pub expected_close_date: Option<NaiveDate>,
    /// Where the deal came from (a fair, a referral, the website).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    /// The lead the deal was converted from.
    #[serde(default)]
    pub lead_id: Option<Uuid>,
    /// Why the deal was lost: required at a `lost` stage, refused at any other.
    #[serde(default)]
    pub lost_reason_id: Option<Uuid>,
    #[serde(default)]
    pub description: Option<String>,
    /// Values of the deal custom fields (`/custom-fields` with `entity: deal`) by key,
    /// checked against their definitions; `null` removes a value.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

impl DealInput {
    /// The deal in stored form (texts tidied), or every broken rule that needs no
    /// lookup. Line prices are checked by [`deal_amount`] once products are known.
    pub fn validated(mut self) -> Result<DealInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("title", &mut self.title, MAX_TITLE_CHARS);
        v.tidy_line("source", &mut self.source, MAX_LABEL_CHARS);
        v.tidy_line("campaign", &mut self.campaign, MAX_LABEL_CHARS);
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if self.contact_ids.len() > MAX_CONTACTS {
            v.push(
                "contact_ids",
                "invalid_length",
                format!("must hold at most {MAX_CONTACTS} contacts"),
            );
        }
        for (index, id) in self.contact_ids.iter().enumerate() {
            if self.contact_ids[..index].contains(id) {
                v.push(
                    format!("contact_ids[{index}]"),
                    "duplicate",
                    "names a contact listed before",
                );
            }
        }
        if let Some(amount) = self.amount {
            if !(0..=MAX_AMOUNT).contains(&amount) {
                v.push(
                    "amount",
                    "out_of_range",
                    format!("must be 0 to {MAX_AMOUNT}"),
                );
            }
        }
        if self.lines.len() > MAX_LINES {
            v.push(
                "lines",
                "invalid_length",
                format!("must hold at most {MAX_LINES} lines"),
            );
        }
        for (index, line) in self.lines.iter().enumerate() {
            check_line(&mut v, index, line.quantity, line.unit_price, line.discount);
        }
        if let Some(day) = self.expected_close_date {
            if let Err(violation) = check_report_day("expected_close_date", day) {
                v.0.push(violation);
            }
        }
        v.into_result().map(|()| self)
    }
}

/// A deal's amount: the lines' total when it has lines (a claimed `amount` must agree),
/// else the claimed amount or 0. Also each line's total.
pub fn deal_amount(
    claimed: Option<i64>,
    lines: &[LineAmounts],
) -> Result<(i64, Vec<i64>), Vec<FieldViolation>> {
    if lines.is_empty() {
        return Ok((claimed.unwrap_or(0), Vec::new()));
    }
    let (line_totals, totals) = price_lines(lines)?;
    if totals.total > MAX_AMOUNT {
        return Err(vec![FieldViolation::new(
            "lines",
            "too_large",
            format!("the lines add up to more than {MAX_AMOUNT}"),
        )]);
    }
    match claimed {
        Some(claimed) if claimed != totals.total => Err(vec![FieldViolation::new(
            "amount",
            "mismatch",
            format!("is {claimed} but the lines add up to {}", totals.total),
        )]),
        _ => Ok((totals.total, line_totals)),
    }
}

/// The lost reason a deal keeps at a stage of kind `to`: required at a lost stage; at
/// any other stage the reason the deal had (`previous`) is dropped, and a new one is
/// refused.
pub fn lost_reason_at(
    to: StageKind,
    reason: Option<Uuid>,
    previous: Option<Uuid>,
) -> Result<Option<Uuid>, FieldViolation> {
    match (to, reason) {
        (StageKind::Lost, None) => Err(FieldViolation::new(
            "lost_reason_id",
            "required",
            "a lost deal needs the reason it was lost",
        )),
        (StageKind::Lost, Some(reason)) => Ok(Some(reason)),
        (_, None) => Ok(None),
        (_, Some(reason)) if Some(reason) == previous => Ok(None),
        (_, Some(_)) => Err(FieldViolation::new(
            "lost_reason_id",
            "only_when_lost",
            "is set only on a deal at a lost stage",
        )),
    }
}

/// When a deal moved from a stage of kind `from` (none for a new deal) to one of kind
/// `to` at `now` closed: now when it closes or goes from won to lost or back; the same
/// instant while it stays where it is; none once open again.
pub fn closed_at_after(
    from: Option<StageKind>,
    to: StageKind,
    closed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match (from, to) {
        (_, StageKind::Open) => None,
        (Some(from), to) if from == to => closed_at.or(Some(now)),
        _ => Some(now),
    }
}

/// What one entry of a deal's stage history did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageEvent {
    /// The deal was created at the stage.
    Created,
    /// From one open stage to another.
    Moved,
    Won,
    Lost,
    /// From a closed stage back to an open one.
    Reopened,
}

impl StageEvent {
    pub fn of(from: Option<StageKind>, to: StageKind) -> StageEvent {
        match (from, to) {
            (None, _) => StageEvent::Created,
            (_, StageKind::Won) => StageEvent::Won,
            (_, StageKind::Lost) => StageEvent::Lost,
            (Some(StageKind::Open), StageKind::Open) => StageEvent::Moved,
            (Some(_), StageKind::Open) => StageEvent::Reopened,
        }
    }
}

/// How long a deal spent at each stage, from its stage history (the stage entered and
/// when, oldest first): the sum of its intervals there, the last one up to `now`, in
/// whole seconds; stages in the order first entered.
pub fn time_in_stages(entries: &[(Uuid, DateTime<Utc>)], now: DateTime<Utc>) -> Vec<(Uuid, i64)> {
    let mut spent: Vec<(Uuid, i64)> = Vec::new();
    for (index, (stage, entered)) in entries.iter().enumerate() {
        let left = entries.get(index + 1).map_or(now, |(_, at)| *at);
        let seconds = (left - *entered).num_seconds().max(0);
        match spent.iter_mut().find(|(seen, _)| seen == stage) {
            Some((_, total)) => *total += seconds,
            None => spent.push((*stage, seconds)),
        }
    }
    spent
}

/// The last instant of activity at which an open deal is stuck at `now`, for a pipeline
/// whose deals are stuck after `stuck_after_days` days without a change.
pub fn stuck_cutoff(now: DateTime<Utc>, stuck_after_days: i32) -> DateTime<Utc> {
    now - Duration::days(i64::from(stuck_after_days))
}

/// Whether a deal of status `status`, last changed at `last_activity_at`, is stuck at
/// `now`.
pub fn is_stuck(
    status: StageKind,
    last_activity_at: DateTime<Utc>,
    stuck_after_days: i32,
    now: DateTime<Utc>,
) -> bool {
    status == StageKind::Open && last_activity_at <= stuck_cutoff(now, stuck_after_days)
}

/// An amount weighted by a win probability in percent, rounded half up to the minor
/// unit; `weighted_total` is Σ amount × percent of several deals. Exact: [`total`]
/// makes it an amount.
pub fn weighted(weighted_total: i128) -> i128 {
    (weighted_total + 50).div_euclid(100)
}

/// A sum of deal amounts (a board column's, a forecast period's) as an amount, or the
/// rule it breaks, named `field`: amounts are 64-bit like every amount here, and a sum
/// past them is refused, never shown wrapped or cut short.
pub fn total(field: &str, sum: i128) -> Result<i64, FieldViolation> {
    i64::try_from(sum).map_err(|_| {
        FieldViolation::new(
            field,
            "too_large",
            format!(
                "the deals' amounts add up to more than the largest amount, {} minor units",
                i64::MAX
            ),
        )
    })
}

/// Won deals over the deals closed (won or lost); `None` when none closed.
pub fn win_rate(won: i64, lost: i64) -> Option<f64> {
    let closed = won + lost;
    (closed > 0).then(|| won as f64 / closed as f64)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn deal() -> DealInput {
        DealInput {
            title: "  تجهیز   شعبه ".into(),
            customer_id: Uuid::now_v7(),
            contact_ids: Vec::new(),
            owner_id: None,
            team_id: None,
            pipeline_id: None,
            stage_id: None,
            amount: Some(5),
            currency: None,
            lines: Vec::new(),
            expected_close_date: None,
            source: Some(" ".into()),
            campaign: None,
            lead_id: None,
            lost_reason_id: None,
            description: None,
            custom_fields: Default::default(),
        }
    }

    #[test]
    fn deals_are_tidied_and_every_broken_rule_is_reported() {
        let tidy = deal().validated().unwrap();
        assert_eq!(tidy.title, "تجهیز شعبه");
        assert_eq!(tidy.source, None);

        let contact = Uuid::now_v7();
        let mut broken = deal();
        broken.title = "\u{0}".into();
        broken.contact_ids = vec![contact, contact];
        broken.amount = Some(MAX_AMOUNT + 1);
        broken.lines = vec![DealLineInput {
            product_id: Uuid::now_v7(),
            quantity: 0,
            unit_price: Some(-1),
            discount: -1,
        }];
        broken.expected_close_date = NaiveDate::from_ymd_opt(1800, 1, 1);
        broken.description = Some("a\u{7}".into());
        let fields: Vec<String> = broken
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                "title:nul_character",
                "description:control_character",
                "contact_ids[1]:duplicate",
                "amount:out_of_range",
                "lines[0].quantity:out_of_range",
                "lines[0].unit_price:negative",
                "lines[0].discount:negative",
                "expected_close_date:out_of_range",
            ]
        );
    }

    #[test]
    fn the_amount_comes_from_the_lines_when_there_are_any() {
        let line = |quantity, unit_price, discount| LineAmounts {
            quantity,
            unit_price,
            discount,
        };
        assert_eq!(deal_amount(None, &[]).unwrap(), (0, vec![]));
        assert_eq!(deal_amount(Some(7), &[]).unwrap(), (7, vec![]));
        let lines = [line(3, 1_000, 500), line(1, 250, 0)];
        assert_eq!(
            deal_amount(None, &lines).unwrap(),
            (2_750, vec![2_500, 250])
        );
        assert_eq!(deal_amount(Some(2_750), &lines).unwrap().0, 2_750);
        let mismatch = deal_amount(Some(2_751), &lines).unwrap_err();
        assert_eq!(
            (mismatch[0].field.as_str(), mismatch[0].code.as_str()),
            ("amount", "mismatch")
        );
        let huge = deal_amount(None, &[line(1_000, MAX_AMOUNT, 0)]).unwrap_err();
        assert_eq!(
            (huge[0].field.as_str(), huge[0].code.as_str()),
            ("lines", "too_large")
        );
        let overflow = deal_amount(None, &[line(1_000_000, MAX_AMOUNT, 0)]).unwrap_err();
        assert_eq!(overflow[0].field, "lines[0].unit_price");
    }

    #[test]
    fn a_lost_reason_belongs_to_lost_deals_only() {
        let (reason, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            lost_reason_at(StageKind::Lost, None, None)
                .unwrap_err()
                .code,
            "required"
        );
        assert_eq!(
            lost_reason_at(StageKind::Lost, Some(reason), None),
            Ok(Some(reason))
        );
        // Reopening drops the reason the deal was lost for.
        assert_eq!(
            lost_reason_at(StageKind::Open, Some(reason), Some(reason)),
            Ok(None)
        );
        assert_eq!(
            lost_reason_at(StageKind::Won, Some(other), Some(reason))
                .unwrap_err()
                .code,
            "only_when_lost"
        );
        assert_eq!(lost_reason_at(StageKind::Open, None, None), Ok(None));
    }

    #[test]
    fn closing_and_reopening_set_closed_at() {
        use StageKind::*;
        let earlier = Some(at(1));
        assert_eq!(closed_at_after(None, Open, None, at(2)), None);
        assert_eq!(closed_at_after(None, Won, None, at(2)), Some(at(2)));
        assert_eq!(closed_at_after(Some(Open), Lost, None, at(2)), Some(at(2)));
        assert_eq!(closed_at_after(Some(Won), Won, earlier, at(2)), earlier);
        assert_eq!(
            closed_at_after(Some(Won), Lost, earlier, at(2)),
            Some(at(2))
        );
        assert_eq!(closed_at_after(Some(Lost), Open, earlier, at(2)), None);
        assert_eq!(StageEvent::of(None, Open), StageEvent::Created);
        assert_eq!(StageEvent::of(Some(Open), Open), StageEvent::Moved);
        assert_eq!(StageEvent::of(Some(Open), Won), StageEvent::Won);
        assert_eq!(StageEvent::of(Some(Won), Lost), StageEvent::Lost);
        assert_eq!(StageEvent::of(Some(Lost), Open), StageEvent::Reopened);
    }

    #[test]
    fn time_in_each_stage_sums_its_intervals_up_to_now() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let history = [(a, at(1)), (b, at(3)), (a, at(4))];
        assert_eq!(
            time_in_stages(&history, at(10)),
            vec![(a, 8 * 3600), (b, 3600)]
        );
        assert_eq!(time_in_stages(&[], at(10)), vec![]);
    }

    #[test]
    fn open_deals_without_change_for_the_pipelines_days_are_stuck() {
        let now = at(12);
        let days_ago = |days: i64| now - Duration::days(days);
        assert!(is_stuck(StageKind::Open, days_ago(3), 3, now));
        assert!(!is_stuck(
            StageKind::Open,
            days_ago(3) + Duration::seconds(1),
            3,
            now
        ));
        assert!(!is_stuck(StageKind::Won, days_ago(30), 3, now));
    }

    #[test]
    fn weighted_amounts_round_half_up_and_win_rates_need_closed_deals() {
        assert_eq!(weighted(1_000 * 40 + 333 * 50), 567);
        assert_eq!(weighted(150), 2);
        assert_eq!(weighted(149), 1);
        let huge = i128::from(i64::MAX);
        assert_eq!(total("amount", huge), Ok(i64::MAX));
        assert_eq!(total("amount", huge + 1).unwrap_err().code, "too_large");
        assert_eq!(
            total("weighted_amount", weighted(2 * huge * 40)),
            Ok(7_378_697_629_483_820_646)
        );
        assert_eq!(win_rate(3, 1), Some(0.75));
        assert_eq!(win_rate(0, 0), None);
    }
}
