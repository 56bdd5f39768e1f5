//! Model runs: the analyses the product runs over its own purchase history (A-1, A-2,
//! A-14) — what can be asked for, the rules for each kind's parameters, and how a
//! request resolves into the exact figures a run uses. The models are in `analytics`;
//! reading the history and storing the scores is the application's.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::CalendarSystem;
use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

/// What a model run computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Recency, frequency and monetary quintile scores (1–5) and a named segment.
    Rfm,
    /// BG/NBD and Gamma-Gamma: P(alive), expected purchases and spend over a horizon,
    /// discounted customer lifetime value.
    Clv,
    /// k-means on behavioural features: a cluster per buyer, with each cluster's profile.
    Clusters,
    /// Logistic regression of "no purchase in the next window" on behavioural features,
    /// trained on the history: a churn risk per buyer with the features that raise it.
    Churn,
    /// Association rules "who buys A also buys B" mined from baskets, and the products
    /// each customer is most likely to buy next.
    CrossSell,
    /// Price elasticity of demand per product (and RFM segment) from the prices paid and
    /// the quantities sold per period.
    Elasticity,
    /// Logistic regression of conversion on lead facts, trained on the leads whose
    /// outcome is known: a probability of conversion per open lead with the facts that
    /// moved it most (S-2, A-9).
    LeadPropensity,
}

snake_names!(RunKind {
    Rfm => "rfm",
    Clv => "clv",
    Clusters => "clusters",
    Churn => "churn",
    CrossSell => "cross_sell",
    Elasticity => "elasticity",
    LeadPropensity => "lead_propensity",
});

/// API names of the RFM segments, from the best customers to the lost ones (the recency
/// × frequency grid of the `analytics` crate).
pub const RFM_SEGMENTS: &[&str] = &[
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
];

/// The time unit recency, age and the BG/NBD rates are counted in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    #[default]
    Week,
    Month,
}

/// A run as it is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunRequest {
    /// `{"kind": "rfm", "parameters": {...}}`
    Rfm {
        #[serde(default)]
        parameters: RfmParameters,
    },
    /// `{"kind": "clv", "parameters": {...}}`
    Clv {
        #[serde(default)]
        parameters: ClvParameters,
    },
    /// `{"kind": "clusters", "parameters": {...}}`
    Clusters {
        #[serde(default)]
        parameters: ClusterParameters,
    },
    /// `{"kind": "churn", "parameters": {...}}`
    Churn {
        #[serde(default)]
        parameters: ChurnParameters,
    },
    /// `{"kind": "cross_sell", "parameters": {...}}`
    CrossSell {
        #[serde(default)]
        parameters: CrossSellParameters,
    },
    /// `{"kind": "elasticity", "parameters": {...}}`
    Elasticity {
        #[serde(default)]
        parameters: ElasticityParameters,
    },
    /// `{"kind": "lead_propensity", "parameters": {...}}`
    LeadPropensity {
        #[serde(default)]
        parameters: LeadPropensityParameters,
    },
}

/// The JSON body extractor's structural check. A run request's rules need today's date
/// in the business time zone, so they are checked by [`RunRequest::resolve`].
impl validator::Validate for RunRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

impl RunRequest {
    pub fn kind(&self) -> RunKind {
        match self {
            RunRequest::Rfm { .. } => RunKind::Rfm,
            RunRequest::Clv { .. } => RunKind::Clv,
            RunRequest::Clusters { .. } => RunKind::Clusters,
            RunRequest::Churn { .. } => RunKind::Churn,
            RunRequest::CrossSell { .. } => RunKind::CrossSell,
            RunRequest::Elasticity { .. } => RunKind::Elasticity,
            RunRequest::LeadPropensity { .. } => RunKind::LeadPropensity,
        }
    }

    /// The parameters with every default filled in and every rule checked; `today` is
    /// the current date in the business time zone. Violations name the field under
    /// `parameters.`.
    pub fn resolve(&self, today: NaiveDate) -> Result<RunParameters, Vec<FieldViolation>> {
        match self {
            RunRequest::Rfm { parameters } => parameters.resolve(today).map(RunParameters::Rfm),
            RunRequest::Clv { parameters } => parameters.resolve(today).map(RunParameters::Clv),
            RunRequest::Clusters { parameters } => {
                parameters.resolve(today).map(RunParameters::Clusters)
            }
            RunRequest::Churn { parameters } => parameters.resolve(today).map(RunParameters::Churn),
            RunRequest::CrossSell { parameters } => {
                parameters.resolve(today).map(RunParameters::CrossSell)
            }
            RunRequest::Elasticity { parameters } => {
                parameters.resolve(today).map(RunParameters::Elasticity)
            }
            RunRequest::LeadPropensity { parameters } => {
                parameters.resolve(today).map(RunParameters::LeadPropensity)
            }
        }
    }
}

/// Parameters of an `rfm` run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RfmParameters {
    /// The day recency is counted to, in the business time zone; purchases after it are
    /// left out. Defaults to today.
    pub as_of: Option<NaiveDate>,
}

impl RfmParameters {
    fn resolve(&self, today: NaiveDate) -> Result<RfmRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let as_of = check_as_of(&mut v, self.as_of, today);
        v.into_result().map(|()| RfmRun { as_of })
    }
}

/// The behavioural features `clusters` and `churn` runs describe buyers by, each
/// standardised: days since the last purchase, purchase days, net spend (its logarithm,
/// so that a few large buyers do not decide alone) and days since the first purchase.
pub const BEHAVIOUR_FEATURES: [&str; 4] = [
    "recency_days",
    "purchase_days",
    "log_net_spend",
    "tenure_days",
];

/// Most clusters a run may ask for.
pub const MAX_CLUSTERS: u32 = 10;

/// The numbers of clusters tried when a run does not fix one; the one with the best
/// silhouette is kept.
pub const AUTO_CLUSTERS: std::ops::RangeInclusive<u32> = 2..=8;

/// Parameters of a `clusters` run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterParameters {
    /// The day the features are measured on, in the business time zone; purchases after
    /// it are left out. Defaults to today.
    pub as_of: Option<NaiveDate>,
    /// Number of clusters (2–10). Without it, 2 to 8 are tried and the one with the best
    /// silhouette is kept.
    pub k: Option<u32>,
}

impl ClusterParameters {
    fn resolve(&self, today: NaiveDate) -> Result<ClusterRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let as_of = check_as_of(&mut v, self.as_of, today);
        if let Some(k) = self.k {
            if !(2..=MAX_CLUSTERS).contains(&k) {
                v.push(
                    "parameters.k",
                    "out_of_range",
                    format!("must be 2 to {MAX_CLUSTERS}"),
                );
            }
        }
        v.into_result().map(|()| ClusterRun { as_of, k: self.k })
    }
}

/// Shortest and longest churn window, in days.
pub const CHURN_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 14..=730;

/// Parameters of a `churn` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnParameters {
    /// The day risks are given on, in the business time zone. Defaults to today.
    pub as_of: Option<NaiveDate>,
    /// A buyer has churned who buys nothing for this many days (14–730, default 90).
    /// The model learns it from the buyers as they were `window_days` before `as_of`
    /// and whether they bought since, then gives each buyer as of `as_of` the
    /// probability of buying nothing in the next `window_days`.
    pub window_days: u32,
}

impl Default for ChurnParameters {
    fn default() -> Self {
        ChurnParameters {
            as_of: None,
            window_days: 90,
        }
    }
}

impl ChurnParameters {
    fn resolve(&self, today: NaiveDate) -> Result<ChurnRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let as_of = check_as_of(&mut v, self.as_of, today);
        if !CHURN_WINDOW_DAYS.contains(&self.window_days) {
            v.push(
                "parameters.window_days",
                "out_of_range",
                format!(
                    "must be {} to {}",
                    CHURN_WINDOW_DAYS.start(),
                    CHURN_WINDOW_DAYS.end()
                ),
            );
        }
        v.into_result().map(|()| ChurnRun {
            as_of,
            window_days: self.window_days,
        })
    }
}

/// Shortest and longest history a `cross_sell` or `elasticity` run reads, in days.
pub const LOOKBACK_DAYS: std::ops::RangeInclusive<u32> = 28..=3650;

/// Most products recommended to one customer.
pub const MAX_RECOMMENDATIONS: u32 = 10;

/// Most rules a `cross_sell` run keeps, the most confident first: enough for any
/// catalogue a person reads, and a bound on what a run stores.
pub const MAX_RULES: usize = 10_000;

/// What a basket of a `cross_sell` run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BasketKind {
    /// The products of one order: bought together.
    #[default]
    Order,
    /// The products one customer bought in the period: bought by the same people.
    Customer,
}

/// Parameters of a `cross_sell` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CrossSellParameters {
    /// The last day whose purchases are read, in the business time zone. Defaults to
    /// today.
    pub as_of: Option<NaiveDate>,
    /// Days of purchases up to `as_of` the rules are mined from (28–3650, default 365).
    pub lookback_days: u32,
    pub basket: BasketKind,
    /// Least share of baskets holding both products (0–1, default 0.001).
    pub min_support: f64,
    /// Least share of the baskets with A that also hold B (0–1, default 0.05).
    pub min_confidence: f64,
    /// Least lift: how much more often B comes with A than alone (0–1000, default 1).
    pub min_lift: f64,
    /// Products recommended to each customer, from the products they bought up to
    /// `as_of` (1–10, default 3).
    pub recommendations: u32,
}

impl Default for CrossSellParameters {
    fn default() -> Self {
        CrossSellParameters {
            as_of: None,
            lookback_days: 365,
            basket: BasketKind::Order,
            min_support: 0.001,
            min_confidence: 0.05,
            min_lift: 1.0,
            recommendations: 3,
        }
    }
}

fn check_as_of(v: &mut Violations, as_of: Option<NaiveDate>, today: NaiveDate) -> NaiveDate {
    let as_of = as_of.unwrap_or(today);
    if as_of > today {
        v.push("parameters.as_of", "in_future", "must not be after today");
    }
    as_of
}

fn check_lookback(v: &mut Violations, days: u32) {
    if !LOOKBACK_DAYS.contains(&days) {
        v.push(
            "parameters.lookback_days",
            "out_of_range",
            format!(
                "must be {} to {}",
                LOOKBACK_DAYS.start(),
                LOOKBACK_DAYS.end()
            ),
        );
    }
}

impl CrossSellParameters {
    fn resolve(&self, today: NaiveDate) -> Result<CrossSellRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let as_of = check_as_of(&mut v, self.as_of, today);
        check_lookback(&mut v, self.lookback_days);
        for (field, value, max) in [
            ("parameters.min_support", self.min_support, 1.0),
            ("parameters.min_confidence", self.min_confidence, 1.0),
            ("parameters.min_lift", self.min_lift, 1_000.0),
        ] {
            if !(0.0..=max).contains(&value) {
                v.push(field, "out_of_range", format!("must be 0 to {max}"));
            }
        }
        if !(1..=MAX_RECOMMENDATIONS).contains(&self.recommendations) {
            v.push(
                "parameters.recommendations",
                "out_of_range",
                format!("must be 1 to {MAX_RECOMMENDATIONS}"),
            );
        }
        v.into_result().map(|()| CrossSellRun {
            as_of,
            lookback_days: self.lookback_days,
            basket: self.basket,
            min_support: self.min_support,
            min_confidence: self.min_confidence,
            min_lift: self.min_lift,
            recommendations: self.recommendations,
        })
    }
}

/// The periods an `elasticity` run sums sales over: one price and one quantity per
/// product and period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PricePeriod {
    #[default]
    Week,
    Month,
}

/// The segment name of an elasticity fitted over all buyers.
pub const ALL_BUYERS: &str = "all";

/// Fewest periods with sales a product needs for its elasticity to be fitted.
pub const MIN_PRICE_PERIODS: std::ops::RangeInclusive<u32> = 3..=520;

/// Parameters of an `elasticity` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticityParameters {
    /// The last day whose sales are read, in the business time zone. Defaults to today.
    pub as_of: Option<NaiveDate>,
    /// Days of sales up to `as_of` that are read (28–3650, default 365).
    pub lookback_days: u32,
    /// Weeks (starting on the business's first weekday) or months.
    pub period: PricePeriod,
    /// The calendar months are cut in (default `jalali`).
    pub calendar: CalendarSystem,
    /// Fit each product once more per RFM segment of the current `rfm` run.
    pub by_segment: bool,
    /// Fewest periods with sales for a fit (3–520, default 8); products with fewer are
    /// counted as skipped.
    pub min_periods: u32,
}

impl Default for ElasticityParameters {
    fn default() -> Self {
        ElasticityParameters {
            as_of: None,
            lookback_days: 365,
            period: PricePeriod::Week,
            calendar: CalendarSystem::Jalali,
            by_segment: false,
            min_periods: 8,
        }
    }
}

impl ElasticityParameters {
    fn resolve(&self, today: NaiveDate) -> Result<ElasticityRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let as_of = check_as_of(&mut v, self.as_of, today);
        check_lookback(&mut v, self.lookback_days);
        if !MIN_PRICE_PERIODS.contains(&self.min_periods) {
            v.push(
                "parameters.min_periods",
                "out_of_range",
                format!(
                    "must be {} to {}",
                    MIN_PRICE_PERIODS.start(),
                    MIN_PRICE_PERIODS.end()
                ),
            );
        }
        v.into_result().map(|()| ElasticityRun {
            as_of,
            lookback_days: self.lookback_days,
            period: self.period,
            calendar: self.calendar,
            by_segment: self.by_segment,
            min_periods: self.min_periods,
        })
    }
}

/// Most values of a lead's source, province or campaign a `lead_propensity` run gives a
/// feature of its own; the rest share an "other" feature.
pub const MAX_TOP_VALUES: u32 = 50;

/// Parameters of a `lead_propensity` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LeadPropensityParameters {
    /// The model learns from the leads created up to and including this day (in the
    /// business time zone) that are `converted` or `disqualified` now. Defaults to
    /// today.
    pub calibration_end: Option<NaiveDate>,
    /// The most frequent values of source, province and campaign among those leads
    /// that get a feature each (1–50, default 10).
    pub top_values: u32,
}

impl Default for LeadPropensityParameters {
    fn default() -> Self {
        LeadPropensityParameters {
            calibration_end: None,
            top_values: 10,
        }
    }
}

impl LeadPropensityParameters {
    fn resolve(&self, today: NaiveDate) -> Result<LeadPropensityRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let calibration_end = self.calibration_end.unwrap_or(today);
        if calibration_end > today {
            v.push(
                "parameters.calibration_end",
                "in_future",
                "must not be after today",
            );
        }
        if !(1..=MAX_TOP_VALUES).contains(&self.top_values) {
            v.push(
                "parameters.top_values",
                "out_of_range",
                format!("must be 1 to {MAX_TOP_VALUES}"),
            );
        }
        v.into_result().map(|()| LeadPropensityRun {
            calibration_end,
            top_values: self.top_values,
        })
    }
}

/// Resolved parameters of a `lead_propensity` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeadPropensityRun {
    pub calibration_end: NaiveDate,
    pub top_values: u32,
}

/// Parameters of a `clv` run. The defaults are those of `peyvand analyze clv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClvParameters {
    /// Last day of the calibration period, in the business time zone: the models are fit
    /// on purchases up to and including it. Defaults to today.
    pub calibration_end: Option<NaiveDate>,
    /// With a holdout end, purchases after `calibration_end` up to and including this
    /// day are not fit but compared with what the model predicts for that period (the
    /// run's quality check).
    pub holdout_end: Option<NaiveDate>,
    pub time_unit: TimeUnit,
    /// Months ahead that expected purchases, spend and CLV cover (1–120).
    pub horizon_months: u32,
    /// Monthly discount rate of the CLV (0 ≤ d < 1; 0.01 = 1 % a month).
    pub monthly_discount_rate: f64,
    /// Share of revenue that is margin (0 < m ≤ 1).
    pub margin: f64,
    /// L2 penalty of both fits (0–1000), as `penalizer_coef` in `lifetimes`.
    pub penalizer: f64,
}

impl Default for ClvParameters {
    fn default() -> Self {
        ClvParameters {
            calibration_end: None,
            holdout_end: None,
            time_unit: TimeUnit::Week,
            horizon_months: 12,
            monthly_discount_rate: 0.01,
            margin: 1.0,
            penalizer: 0.0,
        }
    }
}

/// Longest CLV horizon, ten years.
pub const MAX_HORIZON_MONTHS: u32 = 120;

/// Largest penalty of the fits.
pub const MAX_PENALIZER: f64 = 1_000.0;

impl ClvParameters {
    fn resolve(&self, today: NaiveDate) -> Result<ClvRun, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let calibration_end = self.calibration_end.unwrap_or(today);
        if calibration_end > today {
            v.push(
                "parameters.calibration_end",
                "in_future",
                "must not be after today",
            );
        }
        if let Some(holdout_end) = self.holdout_end {
            if holdout_end <= calibration_end {
                v.push(
                    "parameters.holdout_end",
                    "not_after_calibration_end",
                    "must be after calibration_end",
                );
            } else if holdout_end > today {
                v.push(
                    "parameters.holdout_end",
                    "in_future",
                    "must not be after today",
                );
            }
        }
        if !(1..=MAX_HORIZON_MONTHS).contains(&self.horizon_months) {
            v.push(
                "parameters.horizon_months",
                "out_of_range",
                format!("must be 1 to {MAX_HORIZON_MONTHS}"),
            );
        }
        if !(0.0..1.0).contains(&self.monthly_discount_rate) {
            v.push(
                "parameters.monthly_discount_rate",
                "out_of_range",
                "must be at least 0 and below 1",
            );
        }
        if !(self.margin > 0.0 && self.margin <= 1.0) {
            v.push(
                "parameters.margin",
                "out_of_range",
                "must be above 0 and at most 1",
            );
        }
        if !(0.0..=MAX_PENALIZER).contains(&self.penalizer) {
            v.push(
                "parameters.penalizer",
                "out_of_range",
                format!("must be 0 to {MAX_PENALIZER}"),
            );
        }
        v.into_result().map(|()| ClvRun {
            calibration_end,
            holdout_end: self.holdout_end,
            time_unit: self.time_unit,
            horizon_months: self.horizon_months,
            monthly_discount_rate: self.monthly_discount_rate,
            margin: self.margin,
            penalizer: self.penalizer,
        })
    }
}

/// The figures a run uses: its request with the defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RunParameters {
    Rfm(RfmRun),
    Clv(ClvRun),
    Clusters(ClusterRun),
    Churn(ChurnRun),
    CrossSell(CrossSellRun),
    Elasticity(ElasticityRun),
    LeadPropensity(LeadPropensityRun),
}

impl RunParameters {
    /// The parameters of a run of `kind` as stored (their JSON form).
    pub fn from_stored(
        kind: RunKind,
        value: serde_json::Value,
    ) -> Result<RunParameters, serde_json::Error> {
        match kind {
            RunKind::Rfm => serde_json::from_value(value).map(RunParameters::Rfm),
            RunKind::Clv => serde_json::from_value(value).map(RunParameters::Clv),
            RunKind::Clusters => serde_json::from_value(value).map(RunParameters::Clusters),
            RunKind::Churn => serde_json::from_value(value).map(RunParameters::Churn),
            RunKind::CrossSell => serde_json::from_value(value).map(RunParameters::CrossSell),
            RunKind::Elasticity => serde_json::from_value(value).map(RunParameters::Elasticity),
            RunKind::LeadPropensity => {
                serde_json::from_value(value).map(RunParameters::LeadPropensity)
            }
        }
    }
}

/// Resolved parameters of an `rfm` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RfmRun {
    pub as_of: NaiveDate,
}

/// Resolved parameters of a `clusters` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterRun {
    pub as_of: NaiveDate,
    /// `None`: chosen by silhouette among [`AUTO_CLUSTERS`].
    pub k: Option<u32>,
}

/// Resolved parameters of a `churn` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChurnRun {
    pub as_of: NaiveDate,
    pub window_days: u32,
}

impl ChurnRun {
    /// The day the training features are measured on: a window before `as_of`.
    pub fn training_end(&self) -> Option<NaiveDate> {
        self.as_of
            .checked_sub_days(chrono::Days::new(u64::from(self.window_days)))
    }
}

/// The first day of a history of `lookback_days` days ending on `as_of`.
fn first_day(as_of: NaiveDate, lookback_days: u32) -> NaiveDate {
    as_of
        .checked_sub_days(chrono::Days::new(u64::from(
            lookback_days.saturating_sub(1),
        )))
        .unwrap_or(NaiveDate::MIN)
}

/// Resolved parameters of a `cross_sell` run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CrossSellRun {
    pub as_of: NaiveDate,
    pub lookback_days: u32,
    pub basket: BasketKind,
    pub min_support: f64,
    pub min_confidence: f64,
    pub min_lift: f64,
    pub recommendations: u32,
}

impl CrossSellRun {
    /// The first day whose purchases the rules are mined from.
    pub fn first_day(&self) -> NaiveDate {
        first_day(self.as_of, self.lookback_days)
    }
}

/// Resolved parameters of an `elasticity` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ElasticityRun {
    pub as_of: NaiveDate,
    pub lookback_days: u32,
    pub period: PricePeriod,
    pub calendar: CalendarSystem,
    pub by_segment: bool,
    pub min_periods: u32,
}

impl ElasticityRun {
    /// The first day whose sales are read.
    pub fn first_day(&self) -> NaiveDate {
        first_day(self.as_of, self.lookback_days)
    }
}

/// Resolved parameters of a `clv` run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClvRun {
    pub calibration_end: NaiveDate,
    pub holdout_end: Option<NaiveDate>,
    pub time_unit: TimeUnit,
    pub horizon_months: u32,
    pub monthly_discount_rate: f64,
    pub margin: f64,
    pub penalizer: f64,
}

impl ClvRun {
    /// The last day whose purchases the run reads: the holdout's end, else the
    /// calibration's.
    pub fn last_day_read(&self) -> NaiveDate {
        self.holdout_end.unwrap_or(self.calibration_end)
    }
}

/// Calibration frequencies the holdout check groups customers by: 0 to 6 repeat
/// purchases each, and 7 or more together, as in the Fader–Hardie figures.
pub const HOLDOUT_BUCKETS: u32 = 8;

/// The holdout-check bucket of a calibration frequency.
pub fn holdout_bucket(frequency: u32) -> usize {
    frequency.min(HOLDOUT_BUCKETS - 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn fields(result: Result<RunParameters, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect()
    }

    #[test]
    fn defaults_follow_the_cli_and_today() {
        let request: RunRequest = serde_json::from_str(r#"{"kind": "clv"}"#).expect("request");
        let today = day("2026-03-20");
        let RunParameters::Clv(run) = request.resolve(today).expect("valid") else {
            panic!("a clv run");
        };
        assert_eq!(run.calibration_end, today);
        assert_eq!(run.holdout_end, None);
        assert_eq!(run.time_unit, TimeUnit::Week);
        assert_eq!((run.horizon_months, run.monthly_discount_rate), (12, 0.01));
        assert_eq!((run.margin, run.penalizer), (1.0, 0.0));
        assert_eq!(run.last_day_read(), today);
    }

    #[test]
    fn every_broken_rule_is_named() {
        let request: RunRequest = serde_json::from_value(serde_json::json!({
            "kind": "clv",
            "parameters": {
                "calibration_end": "2026-03-10", "holdout_end": "2026-03-01",
                "horizon_months": 0, "monthly_discount_rate": 1.0, "margin": 0.0,
                "penalizer": -1.0
            }
        }))
        .expect("request");
        assert_eq!(
            fields(request.resolve(day("2026-03-20"))),
            [
                "parameters.holdout_end:not_after_calibration_end",
                "parameters.horizon_months:out_of_range",
                "parameters.monthly_discount_rate:out_of_range",
                "parameters.margin:out_of_range",
                "parameters.penalizer:out_of_range",
            ]
        );
        let future: RunRequest =
            serde_json::from_str(r#"{"kind": "rfm", "parameters": {"as_of": "2026-03-21"}}"#)
                .expect("request");
        assert_eq!(
            fields(future.resolve(day("2026-03-20"))),
            ["parameters.as_of:in_future"]
        );
    }

    #[test]
    fn cross_sell_and_elasticity_defaults_and_rules() {
        let today = day("2026-03-20");
        let request: RunRequest =
            serde_json::from_str(r#"{"kind": "cross_sell"}"#).expect("request");
        let RunParameters::CrossSell(run) = request.resolve(today).expect("valid") else {
            panic!("a cross_sell run");
        };
        assert_eq!(
            (run.as_of, run.basket, run.recommendations),
            (today, BasketKind::Order, 3)
        );
        // 365 days ending today.
        assert_eq!(run.first_day(), day("2025-03-21"));
        let request: RunRequest =
            serde_json::from_str(r#"{"kind": "elasticity"}"#).expect("request");
        let RunParameters::Elasticity(run) = request.resolve(today).expect("valid") else {
            panic!("an elasticity run");
        };
        assert_eq!(
            (run.period, run.by_segment, run.min_periods),
            (PricePeriod::Week, false, 8)
        );
        let broken: RunRequest = serde_json::from_value(serde_json::json!({
            "kind": "cross_sell",
            "parameters": {"lookback_days": 7, "min_support": 1.5, "min_confidence": -0.1,
                           "min_lift": 1e9, "recommendations": 0}
        }))
        .expect("request");
        assert_eq!(
            fields(broken.resolve(today)),
            [
                "parameters.lookback_days:out_of_range",
                "parameters.min_support:out_of_range",
                "parameters.min_confidence:out_of_range",
                "parameters.min_lift:out_of_range",
                "parameters.recommendations:out_of_range",
            ]
        );
        let broken: RunRequest = serde_json::from_value(serde_json::json!({
            "kind": "elasticity",
            "parameters": {"as_of": "2026-03-21", "lookback_days": 4000, "min_periods": 2}
        }))
        .expect("request");
        assert_eq!(
            fields(broken.resolve(today)),
            [
                "parameters.as_of:in_future",
                "parameters.lookback_days:out_of_range",
                "parameters.min_periods:out_of_range",
            ]
        );
    }

    #[test]
    fn lead_propensity_defaults_and_rules() {
        let today = day("2026-03-20");
        let request: RunRequest =
            serde_json::from_str(r#"{"kind": "lead_propensity"}"#).expect("request");
        assert_eq!(request.kind().as_str(), "lead_propensity");
        let RunParameters::LeadPropensity(run) = request.resolve(today).expect("valid") else {
            panic!("a lead_propensity run");
        };
        assert_eq!((run.calibration_end, run.top_values), (today, 10));
        let broken: RunRequest = serde_json::from_value(serde_json::json!({
            "kind": "lead_propensity",
            "parameters": {"calibration_end": "2026-03-21", "top_values": 0}
        }))
        .expect("request");
        assert_eq!(
            fields(broken.resolve(today)),
            [
                "parameters.calibration_end:in_future",
                "parameters.top_values:out_of_range",
            ]
        );
    }

    #[test]
    fn unknown_kinds_and_parameters_are_refused() {
        for body in [
            r#"{"kind": "astrology"}"#,
            r#"{"kind": "rfm", "parameters": {"k": 3}}"#,
            r#"{"kind": "clv", "extra": 1}"#,
        ] {
            assert!(serde_json::from_str::<RunRequest>(body).is_err(), "{body}");
        }
    }

    #[test]
    fn seven_or_more_repeat_purchases_share_the_last_bucket() {
        assert_eq!(holdout_bucket(0), 0);
        assert_eq!(holdout_bucket(6), 6);
        assert_eq!(holdout_bucket(7), 7);
        assert_eq!(holdout_bucket(40), 7);
    }
}
