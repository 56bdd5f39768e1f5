//! Demo purchase history: a small catalogue and three years of orders with returns.
//!
//! Each buyer's purchases are drawn from the BG/NBD and Gamma-Gamma models with the
//! parameters published for the CDNOW sample (Fader, Hardie and Lee 2005: r = 0.243,
//! α = 4.414, a = 0.793, b = 2.426 per week; p = 6.25, q = 3.74, γ = 15.44 dollars), so
//! that repeat buying, dropping out and spend look as they do in real retail and the
//! analytics have something true to find. A dollar of the model is a million rials.

use chrono::{DateTime, Duration, Utc};
use domain::commerce::orders::{price_lines, LineAmounts, OrderStatus};
use domain::commerce::returns::refund_for;
use domain::customers::LifecycleStage;
use persistence::db::DbConnection;
use persistence::orders::{OrderLineRow, OrderRecord, OrderRow, ReturnLineRow, ReturnRow};
use persistence::products::ProductRow;
use persistence::sql_types::{DbTime, DbUuid};
use rand::rngs::StdRng;
use rand::Rng;
use uuid::Uuid;

use application::{AppError, AppResult};

/// SKU, name, English name, unit price and cost in rials.
const CATALOGUE: [(&str, &str, &str, i64, i64); 12] = [
    (
        "DEMO-TEA-500",
        "چای سیاه ۵۰۰ گرمی",
        "Black tea 500 g",
        1_850_000,
        1_200_000,
    ),
    (
        "DEMO-SAFFRON-1",
        "زعفران یک مثقالی",
        "Saffron 4.6 g",
        6_500_000,
        4_900_000,
    ),
    (
        "DEMO-PISTACHIO",
        "پسته اکبری ۵۰۰ گرمی",
        "Akbari pistachios 500 g",
        9_800_000,
        7_100_000,
    ),
    (
        "DEMO-DATES",
        "خرمای مضافتی",
        "Mazafati dates",
        2_400_000,
        1_500_000,
    ),
    (
        "DEMO-RICE-10",
        "برنج طارم ۱۰ کیلویی",
        "Tarom rice 10 kg",
        14_500_000,
        11_000_000,
    ),
    (
        "DEMO-HONEY",
        "عسل گون",
        "Astragalus honey",
        7_200_000,
        4_300_000,
    ),
    (
        "DEMO-CARPET",
        "گلیم دستباف",
        "Hand-woven kilim",
        95_000_000,
        61_000_000,
    ),
    (
        "DEMO-TEAPOT",
        "قوری چینی",
        "Porcelain teapot",
        12_500_000,
        7_800_000,
    ),
    (
        "DEMO-SAMOVAR",
        "سماور برقی",
        "Electric samovar",
        48_000_000,
        36_000_000,
    ),
    ("DEMO-GAZ", "گز اصفهان", "Isfahan gaz", 3_900_000, 2_600_000),
    ("DEMO-SOHAN", "سوهان قم", "Qom sohan", 2_900_000, 1_900_000),
    (
        "DEMO-BOOK",
        "دیوان حافظ",
        "Divan of Hafez",
        5_500_000,
        3_300_000,
    ),
];

/// Weeks of history: first purchases fall anywhere in them.
const HISTORY_WEEKS: f64 = 156.0;
/// Share of customers who ever bought, in percent.
const BUYER_PERCENT: u32 = 70;
/// Share of orders with a return, in percent.
const RETURN_PERCENT: u32 = 3;
const RIALS_PER_MODEL_DOLLAR: f64 = 1_000_000.0;
/// The churn window of the default lifecycle rules.
const CHURN_DAYS: i64 = 180;

/// The demo catalogue's products, created when missing.
pub fn ensure_catalogue(conn: &mut DbConnection) -> AppResult<Vec<ProductRow>> {
    let skus: Vec<String> = CATALOGUE.iter().map(|p| p.0.to_string()).collect();
    let existing = persistence::products::find_by_skus(conn, &skus)?;
    let mut products = Vec::with_capacity(CATALOGUE.len());
    for (sku, name, name_en, price, cost) in CATALOGUE {
        if let Some(found) = existing.iter().find(|row| row.sku == sku) {
            products.push(found.clone());
            continue;
        }
        let now = DbTime(persistence::now());
        let row = ProductRow {
            id: DbUuid(Uuid::now_v7()),
            sku: sku.to_string(),
            name: name.to_string(),
            name_en: Some(name_en.to_string()),
            description: None,
            category_id: None,
            unit_price: price,
            unit_cost: Some(cost),
            currency: "IRR".to_string(),
            active: true,
            custom_fields: persistence::sql_types::DbJson(serde_json::json!({})),
            search_text: format!(
                "{} {} {}",
                domain::persian::search_key(name),
                domain::persian::search_key(name_en),
                domain::persian::search_key(sku)
            ),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::products::insert(conn, &row)?;
        super::created(
            conn,
            &persistence::audit::Actor::system(),
            "product",
            row.id.0,
            row.audit_snapshot(),
        )?;
        products.push(row);
    }
    Ok(products)
}

/// One generated order of a customer of the chunk.
pub struct DemoOrder {
    pub customer: usize,
    pub placed_at: DateTime<Utc>,
    /// Product (index into the catalogue) and units.
    pub lines: Vec<(usize, i64)>,
    /// Units of the first line returned, if any.
    pub returned: Option<i64>,
}

/// Draws a customer's purchase history (none for non-buyers) and the lifecycle stage
/// it implies under the default rules; `stage` is the stage drawn for a non-buyer.
pub fn history(
    rng: &mut StdRng,
    simulator: &analytics::simulate::Simulator,
    customer: usize,
    stage: LifecycleStage,
    now: DateTime<Utc>,
) -> (Vec<DemoOrder>, LifecycleStage) {
    if !rng.gen_ratio(BUYER_PERCENT, 100) {
        let stage = match stage {
            LifecycleStage::Awareness | LifecycleStage::Consideration => stage,
            _ => LifecycleStage::Consideration,
        };
        return (Vec::new(), stage);
    }
    let first_weeks_ago = rng.gen_range(1.0..HISTORY_WEEKS);
    let first = now - Duration::minutes((first_weeks_ago * 7.0 * 24.0 * 60.0) as i64);
    let orders: Vec<DemoOrder> = simulator
        .purchases(rng, first_weeks_ago)
        .into_iter()
        .map(|(weeks, dollars)| {
            let placed_at = first + Duration::minutes((weeks * 7.0 * 24.0 * 60.0) as i64);
            let target = (dollars * RIALS_PER_MODEL_DOLLAR).max(1.0);
            let product = rng.gen_range(0..CATALOGUE.len());
            let units = ((target / CATALOGUE[product].3 as f64).round() as i64).clamp(1, 20);
            let mut lines = vec![(product, units)];
            if rng.gen_ratio(1, 4) {
                lines.push((
                    (product + rng.gen_range(1..CATALOGUE.len())) % CATALOGUE.len(),
                    1,
                ));
            }
            let returned = rng
                .gen_ratio(RETURN_PERCENT, 100)
                .then(|| rng.gen_range(1..=units));
            DemoOrder {
                customer,
                placed_at: placed_at.min(now),
                lines,
                returned,
            }
        })
        .collect();
    let kept = orders
        .iter()
        .filter(|order| order.returned != Some(order.lines[0].1) || order.lines.len() > 1)
        .count();
    let last = orders.iter().map(|order| order.placed_at).max();
    let stage = match last {
        Some(last) if now - last > Duration::days(CHURN_DAYS) => LifecycleStage::Churned,
        _ if stage == LifecycleStage::Advocacy => stage,
        _ if kept >= 2 => LifecycleStage::Retention,
        _ => LifecycleStage::Purchase,
    };
    (orders, stage)
}

/// Writes the orders of a chunk (customer positions resolved through `ids`) with
/// their returns, and the buyers' purchase facts; answers the number of orders.
pub fn write(
    conn: &mut DbConnection,
    orders: &[DemoOrder],
    ids: &[Uuid],
    products: &[ProductRow],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut records = Vec::with_capacity(orders.len());
    let mut returns = Vec::new();
    for order in orders {
        let amounts: Vec<LineAmounts> = order
            .lines
            .iter()
            .map(|(product, units)| LineAmounts {
                quantity: *units,
                unit_price: products[*product].unit_price,
                discount: 0,
            })
            .collect();
        let (line_totals, totals) = price_lines(&amounts)
            .map_err(|errors| AppError::Internal(format!("demo order: {errors:?}")))?;
        let id = Uuid::now_v7();
        let mut lines: Vec<OrderLineRow> = order
            .lines
            .iter()
            .zip(&line_totals)
            .enumerate()
            .map(|(position, ((product, units), total))| OrderLineRow {
                id: DbUuid(Uuid::now_v7()),
                order_id: DbUuid(id),
                position: position as i32,
                product_id: products[*product].id,
                quantity: *units,
                unit_price: products[*product].unit_price,
                unit_cost: products[*product].unit_cost,
                discount: 0,
                total: *total,
                returned_quantity: 0,
                refunded: 0,
            })
            .collect();
        let placed = DbTime(order.placed_at);
        let status = if now - order.placed_at > Duration::days(7) {
            OrderStatus::Fulfilled
        } else {
            OrderStatus::Paid
        };
        let mut row = OrderRow {
            id: DbUuid(id),
            customer_id: DbUuid(ids[order.customer]),
            placed_at: placed,
            status: status.as_str().to_string(),
            channel: Some(
                if order.customer % 3 == 0 {
                    "store"
                } else {
                    "online"
                }
                .to_string(),
            ),
            campaign: None,
            source: None,
            external_reference: None,
            currency: "IRR".to_string(),
            subtotal: totals.subtotal,
            discount_total: totals.discount_total,
            total: totals.total,
            refunded_total: 0,
            notes: None,
            created_by: None,
            created_at: placed,
            updated_at: placed,
            version: 1,
        };
        if let Some(units) = order.returned {
            let line = &mut lines[0];
            let refund = refund_for(line.total, line.quantity, 0, units)
                .ok_or_else(|| AppError::Internal("demo return beyond its line".into()))?;
            line.returned_quantity = units;
            line.refunded = refund;
            row.refunded_total = refund;
            let all_back = lines
                .iter()
                .all(|line| line.returned_quantity == line.quantity);
            row.status = if all_back {
                OrderStatus::Returned
            } else {
                OrderStatus::PartiallyReturned
            }
            .as_str()
            .to_string();
            let returned_at = DbTime((order.placed_at + Duration::days(5)).min(now));
            let return_id = DbUuid(Uuid::now_v7());
            returns.push((
                ReturnRow {
                    id: return_id,
                    order_id: DbUuid(id),
                    reason: "کالا آسیب دیده بود".to_string(),
                    refund_total: refund,
                    returned_at,
                    created_by: None,
                    created_at: returned_at,
                },
                ReturnLineRow {
                    return_id,
                    order_line_id: lines[0].id,
                    quantity: units,
                    refund,
                },
            ));
        }
        records.push(OrderRecord { row, lines });
    }
    persistence::orders::insert_many(conn, &records)?;
    let (rows, lines): (Vec<ReturnRow>, Vec<ReturnLineRow>) = returns.into_iter().unzip();
    persistence::orders::insert_returns(conn, &rows, &lines)?;
    let mut buyers: Vec<Uuid> = orders.iter().map(|order| ids[order.customer]).collect();
    buyers.sort();
    buyers.dedup();
    persistence::orders::refresh_facts(conn, &buyers)?;
    Ok(records.len())
}
