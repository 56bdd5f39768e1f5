//! An `elasticity` run: for each product sold in the period, the constant-elasticity
//! demand curve ln q = α + ε ln p fitted on one observation per week or month with
//! sales — the average price paid (revenue over units, after discounts) and the units
//! bought per day of the period (so that partial and unequal periods compare) — with
//! its standard error and 95 % confidence interval (`analytics::pricing`). With
//! `by_segment`, each product is fitted once more per RFM segment of its buyers.
//!
//! 1. **read and fit**: the sold products a block at a time, each block's units and
//!    revenue per period summed by the database; a product is fitted as soon as its
//!    block is read, so memory holds the fits, never the order lines;
//! 2. **finish**: in one transaction, the fits are stored with the run and the run is
//!    marked succeeded. Products with too few periods, or one price only, are counted
//!    as skipped in the run's metadata.

use std::collections::BTreeMap;

use analytics::pricing::price_elasticity;
use domain::calendar::LocalCalendar;
use domain::model_runs::{ElasticityRun, PricePeriod, ALL_BUYERS};
use domain::reports::{Bucket, ReportPeriod};
use persistence::db::DbConnection;
use persistence::model_runs::ModelRunRow;
use persistence::product_models::{self, PriceCell, PriceElasticityRow, SalesWindow};
use persistence::reports::PeriodBounds;
use persistence::sql_types::DbUuid;
use serde_json::{json, Value};
use uuid::Uuid;

use super::steps::{no_purchases, succeed, Reading, Storing};
use crate::error::{AppError, AppResult};
use crate::reports::ReportRange;
use crate::transaction;

/// Products read per block.
const READ_BLOCK: i64 = 500;

/// An `elasticity` run reading and fitting its products.
pub struct ElasticityReading {
    run: ModelRunRow,
    parameters: ElasticityRun,
    window: SalesWindow,
    periods: Vec<ReportPeriod>,
    bounds: Vec<PeriodBounds>,
    after: Uuid,
    read_all: bool,
    expected_products: i64,
    products_read: usize,
    fits: Vec<PriceElasticityRow>,
    /// Products (and segments) not fitted, by reason.
    skipped: BTreeMap<&'static str, usize>,
}

impl ElasticityReading {
    pub(super) fn prepare(
        conn: &mut DbConnection,
        run: ModelRunRow,
        parameters: ElasticityRun,
        local: &LocalCalendar,
    ) -> AppResult<ElasticityReading> {
        let bucket = match parameters.period {
            PricePeriod::Week => Bucket::Week,
            PricePeriod::Month => Bucket::Month,
        };
        let (periods, bounds) = crate::reports::cut(
            local,
            &ReportRange {
                from: parameters.first_day(),
                to: parameters.as_of,
                bucket,
                calendar: parameters.calendar,
            },
        )?;
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return Err(AppError::Internal(
                "an elasticity run without periods".into(),
            ));
        };
        let window = SalesWindow {
            start: Some(first.start),
            end: last.end,
        };
        let expected_products = product_models::sold_product_count(conn, &window)?;
        Ok(ElasticityReading {
            run,
            parameters,
            window,
            periods,
            bounds,
            after: Uuid::nil(),
            read_all: false,
            expected_products,
            products_read: 0,
            fits: Vec::new(),
            skipped: BTreeMap::new(),
        })
    }

    /// Fits one product over one segment from its cells (one per period with sales).
    fn fit_cells(&mut self, product: Uuid, segment: &str, cells: &[PriceCell]) -> AppResult<()> {
        let mut observations = Vec::with_capacity(cells.len());
        let (mut units, mut revenue) = (0_i64, 0_i64);
        for cell in cells {
            let period = usize::try_from(cell.period)
                .ok()
                .and_then(|index| self.periods.get(index))
                .ok_or_else(|| AppError::Internal(format!("price period {}", cell.period)))?;
            units += cell.units;
            revenue += cell.revenue;
            // A period of free or returned-only sales says nothing of the price.
            if cell.units > 0 && cell.revenue > 0 {
                let days = (period.range.end - period.range.start).num_days().max(1);
                observations.push((
                    cell.revenue as f64 / cell.units as f64,
                    cell.units as f64 / days as f64,
                ));
            }
        }
        if observations.len() < self.parameters.min_periods as usize {
            *self.skipped.entry("too_few_periods").or_default() += 1;
            return Ok(());
        }
        let Ok(fit) = price_elasticity(&observations) else {
            // Fewer than three periods or a single price: no slope to fit.
            *self.skipped.entry("one_price").or_default() += 1;
            return Ok(());
        };
        let figures = [
            fit.elasticity,
            fit.standard_error,
            fit.confidence_interval.0,
            fit.confidence_interval.1,
            fit.p_value,
            fit.r_squared,
        ];
        if !figures.iter().all(|figure| figure.is_finite()) {
            *self.skipped.entry("no_fit").or_default() += 1;
            return Ok(());
        }
        self.fits.push(PriceElasticityRow {
            run_id: self.run.id,
            product_id: DbUuid(product),
            segment: segment.to_owned(),
            periods: observations.len() as i64,
            units,
            mean_unit_price: if units > 0 {
                (revenue as f64 / units as f64).round() as i64
            } else {
                0
            },
            elasticity: fit.elasticity,
            standard_error: fit.standard_error,
            ci_low: fit.confidence_interval.0,
            ci_high: fit.confidence_interval.1,
            p_value: fit.p_value,
            r_squared: fit.r_squared,
        });
        Ok(())
    }

    /// Fits every product (and segment) of `cells`, ordered by product and segment.
    fn fit_all(&mut self, cells: &[PriceCell]) -> AppResult<()> {
        let same_fit =
            |a: &PriceCell, b: &PriceCell| (a.product_id, &a.segment) == (b.product_id, &b.segment);
        for group in cells.chunk_by(same_fit) {
            let segment = group[0].segment.as_deref().unwrap_or(ALL_BUYERS);
            self.fit_cells(group[0].product_id.0, segment, group)?;
        }
        Ok(())
    }
}

impl Reading for ElasticityReading {
    fn read_block(&mut self, conn: &mut DbConnection) -> AppResult<bool> {
        if self.read_all {
            return Ok(false);
        }
        let products =
            product_models::next_sold_products(conn, &self.window, self.after, READ_BLOCK)?;
        let (Some(&first), Some(&last)) = (products.first(), products.last()) else {
            self.read_all = true;
            return Ok(false);
        };
        let cells = product_models::price_cells(conn, &self.bounds, first, last, false)?;
        self.fit_all(&cells)?;
        if self.parameters.by_segment {
            let cells = product_models::price_cells(conn, &self.bounds, first, last, true)?;
            self.fit_all(&cells)?;
        }
        self.products_read += products.len();
        self.after = last;
        self.read_all = products.len() < READ_BLOCK as usize;
        Ok(!self.read_all)
    }

    fn read_progress(&self) -> f64 {
        if self.expected_products <= 0 {
            return 1.0;
        }
        (self.products_read as f64 / self.expected_products as f64).min(1.0)
    }

    fn fit(self: Box<Self>) -> AppResult<Box<dyn Storing>> {
        if self.products_read == 0 {
            return Err(no_purchases("parameters.as_of", self.parameters.as_of));
        }
        Ok(self)
    }
}

impl Storing for ElasticityReading {
    fn write_block(&mut self, _conn: &mut DbConnection) -> AppResult<bool> {
        // The fits are few (one per product and segment): `finish` stores them at once.
        Ok(false)
    }

    fn write_progress(&self) -> f64 {
        1.0
    }

    fn finish(self: Box<Self>, conn: &mut DbConnection) -> AppResult<Value> {
        let mut elasticities: Vec<f64> = self
            .fits
            .iter()
            .filter(|fit| fit.segment == ALL_BUYERS)
            .map(|fit| fit.elasticity)
            .collect();
        elasticities.sort_by(f64::total_cmp);
        let median = match elasticities.len() {
            0 => None,
            n if n % 2 == 1 => Some(elasticities[n / 2]),
            n => Some((elasticities[n / 2 - 1] + elasticities[n / 2]) / 2.0),
        };
        let result = json!({
            "input": {
                "products": self.products_read,
                "periods": self.periods.len(),
                "first_day": self.parameters.first_day(),
                "last_day": self.parameters.as_of,
            },
            "fitted": self.fits.len(),
            "skipped": self.skipped,
            "median_elasticity": median,
            "scored": self.fits.len(),
        });
        transaction(conn, |conn| {
            product_models::insert_elasticities(conn, &self.fits)?;
            succeed(conn, &self.run, &result, self.fits.len(), 0)?;
            Ok(result.clone())
        })
    }
}
