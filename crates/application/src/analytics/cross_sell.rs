//! A `cross_sell` run:
//!
//! 1. **read**: the baskets of the period (orders, or customers) a block at a time, each
//!    block's distinct products read from the database and counted into item and pair
//!    counts (`analytics::cross_sell::BasketCounts`), so memory holds the counts, never
//!    the baskets;
//! 2. **fit**: the pairwise rules that meet the thresholds, the [`MAX_RULES`] most
//!    confident kept;
//! 3. **write**: every buyer up to the run's day, a block at a time, gets the products
//!    its own purchases point to and it has not bought, best first;
//! 4. **finish**: in one transaction, the rules are stored with the run, the
//!    recommendations of earlier runs that this run did not replace are removed, and the
//!    run is marked succeeded.

use analytics::cross_sell::{BasketCounts, Recommender, RuleThresholds};
use domain::calendar::LocalCalendar;
use domain::model_runs::{BasketKind, CrossSellRun, MAX_RULES};
use persistence::db::DbConnection;
use persistence::model_runs::ModelRunRow;
use persistence::product_models::{self, CrossSellRuleRow, SalesWindow};
use persistence::scores;
use persistence::sql_types::DbUuid;
use serde_json::{json, Value};
use uuid::Uuid;

use super::steps::{end_of_day, model_failed, no_purchases, succeed, Reading, Storing};
use crate::error::{AppError, AppResult};
use crate::transaction;

/// Baskets read per block.
const READ_BLOCK: i64 = 5_000;
/// Customers given recommendations per block (one transaction each).
const WRITE_BLOCK: i64 = 2_000;

/// A `cross_sell` run counting its baskets.
pub struct CrossSellReading {
    run: ModelRunRow,
    parameters: CrossSellRun,
    window: SalesWindow,
    /// Everything bought up to the run's day, which recommendations look at.
    buyers: SalesWindow,
    expected_buyers: i64,
    counts: BasketCounts<Uuid>,
    after: Uuid,
    expected_baskets: i64,
    read_all: bool,
}

impl CrossSellReading {
    pub(super) fn prepare(
        conn: &mut DbConnection,
        run: ModelRunRow,
        parameters: CrossSellRun,
        local: &LocalCalendar,
    ) -> AppResult<CrossSellReading> {
        let first_day = parameters.first_day();
        let start = local
            .start_of_day(first_day)
            .ok_or_else(|| AppError::Internal(format!("no start of day for {first_day}")))?;
        let window = SalesWindow {
            start: Some(start),
            end: end_of_day(local, parameters.as_of)?,
        };
        let expected_baskets = product_models::basket_count(conn, parameters.basket, &window)?;
        // Recommendations look at everything each buyer bought up to the run's day.
        let buyers = SalesWindow {
            start: None,
            end: window.end,
        };
        let expected_buyers = product_models::basket_count(conn, BasketKind::Customer, &buyers)?;
        Ok(CrossSellReading {
            run,
            parameters,
            window,
            buyers,
            expected_buyers,
            counts: BasketCounts::default(),
            after: Uuid::nil(),
            expected_baskets,
            read_all: false,
        })
    }
}

impl Reading for CrossSellReading {
    fn read_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        if self.read_all {
            return Ok(false);
        }
        let kind = self.parameters.basket;
        let keys = product_models::next_baskets(conn, kind, &self.window, self.after, READ_BLOCK)?;
        let (Some(&first), Some(&last)) = (keys.first(), keys.last()) else {
            self.read_all = true;
            return Ok(false);
        };
        for (_, products) in product_models::basket_products(conn, kind, &self.window, first, last)?
        {
            self.counts.add(&products);
        }
        self.after = last;
        self.read_all = keys.len() < READ_BLOCK as usize;
        Ok(!self.read_all)
    }

    fn read_progress(&self) -> f64 {
        if self.expected_baskets <= 0 {
            return 1.0;
        }
        (self.counts.baskets() as f64 / self.expected_baskets as f64).min(1.0)
    }

    fn fit(self: Box<Self>) -> AppResult<Box<dyn Storing>> {
        if self.counts.baskets() == 0 {
            return Err(no_purchases("parameters.as_of", self.parameters.as_of));
        }
        let thresholds = RuleThresholds {
            min_support: self.parameters.min_support,
            min_confidence: self.parameters.min_confidence,
            min_lift: self.parameters.min_lift,
        };
        let mut rules = self.counts.rules(&thresholds).map_err(model_failed)?;
        let found = rules.rules.len();
        rules.rules.truncate(MAX_RULES);
        Ok(Box::new(CrossSellStoring {
            run: self.run,
            parameters: self.parameters,
            items: self.counts.items(),
            found,
            recommender: Recommender::new(rules),
            buyers: self.buyers,
            expected_buyers: self.expected_buyers,
            after: Uuid::nil(),
            written_all: false,
            customers_read: 0,
            recommended: 0,
        }))
    }
}

/// A fitted `cross_sell` run storing its recommendations.
struct CrossSellStoring {
    run: ModelRunRow,
    parameters: CrossSellRun,
    /// Distinct products in the baskets.
    items: usize,
    /// Rules that met the thresholds, before the [`MAX_RULES`] cut.
    found: usize,
    /// The kept rules, indexed once for every buyer's recommendations.
    recommender: Recommender<Uuid>,
    buyers: SalesWindow,
    expected_buyers: i64,
    after: Uuid,
    written_all: bool,
    customers_read: usize,
    /// Customers given at least one recommendation.
    recommended: usize,
}

impl Storing for CrossSellStoring {
    fn write_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        if self.written_all || self.recommender.rules().rules.is_empty() {
            self.written_all = true;
            return Ok(false);
        }
        let customers = product_models::next_baskets(
            conn,
            BasketKind::Customer,
            &self.buyers,
            self.after,
            WRITE_BLOCK,
        )?;
        let (Some(&first), Some(&last)) = (customers.first(), customers.last()) else {
            self.written_all = true;
            return Ok(false);
        };
        let bought =
            product_models::basket_products(conn, BasketKind::Customer, &self.buyers, first, last)?;
        let top = self.parameters.recommendations as usize;
        let rows: Vec<(Uuid, Value)> = bought
            .iter()
            .filter_map(|(customer, products)| {
                let products: Vec<Value> = self
                    .recommender
                    .recommend(products, top)
                    .into_iter()
                    .map(|(recommendation, rule)| {
                        json!({
                            "product_id": recommendation.item,
                            "confidence": rule.confidence,
                            "lift": rule.lift,
                            "because_of": recommendation.because_of,
                        })
                    })
                    .collect();
                (!products.is_empty()).then_some((*customer, Value::Array(products)))
            })
            .collect();
        let run_id = self.run.id.0;
        transaction(conn, |conn| {
            Ok(scores::write_recommendations(conn, run_id, &rows)?)
        })?;
        self.recommended += rows.len();
        self.customers_read += customers.len();
        self.after = last;
        self.written_all = customers.len() < WRITE_BLOCK as usize;
        Ok(!self.written_all)
    }

    fn write_progress(&self) -> f64 {
        if self.written_all || self.expected_buyers <= 0 {
            return 1.0;
        }
        (self.customers_read as f64 / self.expected_buyers as f64).min(1.0)
    }

    fn finish(self: Box<Self>, conn: &mut DbConnection) -> AppResult<Value> {
        let run_id = self.run.id.0;
        let rules = self.recommender.rules();
        let rows: Vec<CrossSellRuleRow> = rules
            .rules
            .iter()
            .zip(1_i64..)
            .map(|(rule, rank)| CrossSellRuleRow {
                run_id: DbUuid(run_id),
                rank,
                antecedent_id: DbUuid(rule.antecedent),
                consequent_id: DbUuid(rule.consequent),
                baskets: rule.count as i64,
                support: rule.support,
                confidence: rule.confidence,
                lift: rule.lift,
            })
            .collect();
        let mut result = json!({
            "input": {
                "baskets": rules.baskets,
                "basket": self.parameters.basket,
                "products": self.items,
                "first_day": self.parameters.first_day(),
                "last_day": self.parameters.as_of,
            },
            "rules": {"found": self.found, "kept": rows.len()},
            "customers": self.customers_read,
            "scored": self.recommended,
        });
        transaction(conn, |conn| {
            product_models::insert_rules(conn, &rows)?;
            let cleared = scores::clear_recommendations_before(conn, run_id)?;
            result["cleared"] = json!(cleared);
            succeed(conn, &self.run, &result, self.recommended, cleared)?;
            Ok(result)
        })
    }
}
