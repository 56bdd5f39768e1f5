//! Orders: placing them (priced by the server from the catalogue), reading and
//! searching them within the caller's customer visibility, and moving them through
//! their states. Every write keeps the customer's purchase facts current and applies
//! the lifecycle rules when an order becomes a purchase.

use std::collections::HashMap;

use domain::authz::Permission;
use domain::commerce::orders::{
    check_claimed_total, price_lines, LineAmounts, OrderChanges, OrderInput, OrderStatus,
};
use domain::commerce::Currency;
use domain::filter::{FieldKind, FieldSpec, TypedValue};
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::orders::{OrderColumns, OrderLineRow, OrderRecord, OrderRow};
use persistence::products::ProductRow;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use super::lifecycle;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::search::{Search, Searchable};
use crate::transaction;

/// The orders catalogue of the search convention.
pub struct OrderSearch;

impl Searchable for OrderSearch {
    type Columns = OrderColumns;
    // Whole orders, so that a page converts them without looking them up again.
    type Row = OrderRecord;

    // Sortable fields have an index ending in (…, id).
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("customer_id", FieldKind::Uuid),
        FieldSpec::new("product_id", FieldKind::Uuid),
        FieldSpec::new("placed_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("status", FieldKind::Enum(OrderStatus::NAMES)),
        FieldSpec::new("channel", FieldKind::Text).nullable(),
        FieldSpec::new("campaign", FieldKind::Text).nullable(),
        FieldSpec::new("source", FieldKind::Text).nullable(),
        FieldSpec::new("external_reference", FieldKind::Text).nullable(),
        FieldSpec::new("currency", FieldKind::Text),
        FieldSpec::new("subtotal", FieldKind::Integer),
        FieldSpec::new("discount_total", FieldKind::Integer),
        FieldSpec::new("total", FieldKind::Integer).sortable(),
        FieldSpec::new("refunded_total", FieldKind::Integer),
        FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("updated_at", FieldKind::Timestamp),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &["external_reference", "channel", "campaign"];

    fn sort_value(record: &OrderRecord, field: &str) -> Option<TypedValue> {
        let row = &record.row;
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "placed_at" => TypedValue::Timestamp(row.placed_at.0),
            "total" => TypedValue::Integer(row.total),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            _ => return None,
        })
    }

    fn id(record: &OrderRecord) -> Uuid {
        record.row.id.0
    }
}

/// Places an order (`records:write`) for a customer the caller may see.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: OrderInput,
    business_currency: Currency,
) -> AppResult<OrderRecord> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        create_checked(conn, acting, input, business_currency)
    })
}

/// [`create`] inside the caller's transaction (batches run one per item).
pub fn create_checked(
    conn: &mut DbConnection,
    acting: &Acting,
    input: OrderInput,
    business_currency: Currency,
) -> AppResult<OrderRecord> {
    acting.require(Permission::RecordsWrite)?;
    let now = persistence::now();
    let input = input.validated(now).map_err(AppError::Invalid)?;
    let mut v = Violations::default();
    let currency = input.currency.unwrap_or(business_currency);
    if currency != business_currency {
        v.push(
            "currency",
            "unsupported_currency",
            format!("must be the business currency, {business_currency}"),
        );
    }
    // The customer's row lock orders concurrent writes to its purchase facts.
    persistence::customers::lock_for_update(conn, &[input.customer_id])?;
    check_customer(conn, acting, input.customer_id, &mut v)?;
    let mut product_ids: Vec<Uuid> = input.lines.iter().map(|line| line.product_id).collect();
    product_ids.sort();
    product_ids.dedup();
    let products: HashMap<Uuid, ProductRow> = persistence::products::find_many(conn, &product_ids)?
        .into_iter()
        .map(|row| (row.id.0, row))
        .collect();
    let mut amounts = Vec::with_capacity(input.lines.len());
    for (index, line) in input.lines.iter().enumerate() {
        let field = format!("lines[{index}].product_id");
        match products.get(&line.product_id) {
            None => v.push(field, "not_found", "is not a product"),
            Some(product) if !product.active => {
                v.push(field, "inactive", "the product is no longer sold")
            }
            Some(product) if product.currency != currency.code() => v.push(
                field,
                "currency_mismatch",
                format!(
                    "the product is priced in {}, the order in {currency}",
                    product.currency
                ),
            ),
            Some(product) => amounts.push(LineAmounts {
                quantity: line.quantity,
                unit_price: line.unit_price.unwrap_or(product.unit_price),
                discount: line.discount,
            }),
        }
    }
    v.into_result().map_err(AppError::Invalid)?;
    let (line_totals, totals) = price_lines(&amounts).map_err(AppError::Invalid)?;
    check_claimed_total(input.total, totals.total).map_err(|v| AppError::Invalid(vec![v]))?;
    let id = Uuid::now_v7();
    let stamp = DbTime(now);
    let placed_at = input.placed_at.unwrap_or(now);
    let row = OrderRow {
        id: DbUuid(id),
        customer_id: DbUuid(input.customer_id),
        placed_at: DbTime(placed_at),
        status: input.status.as_str().to_string(),
        channel: input.channel,
        campaign: input.campaign,
        source: input.source,
        external_reference: input.external_reference,
        currency: currency.code().to_string(),
        subtotal: totals.subtotal,
        discount_total: totals.discount_total,
        total: totals.total,
        refunded_total: 0,
        notes: input.notes,
        created_by: acting.user_id.map(DbUuid),
        created_at: stamp,
        updated_at: stamp,
        version: 1,
    };
    let lines: Vec<OrderLineRow> = input
        .lines
        .iter()
        .zip(amounts.iter().zip(&line_totals))
        .enumerate()
        .map(|(position, (line, (amount, total)))| OrderLineRow {
            id: DbUuid(Uuid::now_v7()),
            order_id: DbUuid(id),
            position: position as i32,
            product_id: DbUuid(line.product_id),
            quantity: amount.quantity,
            unit_price: amount.unit_price,
            unit_cost: products.get(&line.product_id).and_then(|p| p.unit_cost),
            discount: amount.discount,
            total: *total,
            returned_quantity: 0,
            refunded: 0,
        })
        .collect();
    let record = OrderRecord { row, lines };
    persistence::orders::insert(conn, &record)?;
    lifecycle::after_order_change(
        conn,
        acting,
        input.customer_id,
        &record.row,
        input.status.is_purchase(),
    )?;
    crate::events::publish(
        conn,
        acting,
        &[persistence::events::NewEvent::new(
            "order.placed",
            "order",
            id,
            serde_json::json!({
                "order_id": id,
                "customer_id": record.row.customer_id.0,
                "status": record.row.status,
                "total": record.row.total,
                "currency": record.row.currency,
                "placed_at": record.row.placed_at.0,
            }),
            persistence::now(),
        )],
    )?;
    // Last: appending to the audit chain serialises writers until they commit, so the
    // less that follows it, the more orders are placed at once.
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "order.create",
        "order",
        id,
        &serde_json::json!({}),
        &record.row.audit_snapshot(),
    )?;
    Ok(record)
}

/// Reports on `customer_id` a customer that cannot take orders (or deals): one the
/// caller may not see (as if missing), an erased one, or one merged into another.
pub(crate) fn check_customer(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    v: &mut Violations,
) -> AppResult<()> {
    let row = match persistence::customers::find_row(conn, customer) {
        Ok(row) if acting.scope().can_see(&row) => row,
        Ok(_) | Err(persistence::PersistenceError::NotFound) => {
            v.push("customer_id", "not_found", "is not a customer you may see");
            return Ok(());
        }
        Err(other) => return Err(other.into()),
    };
    if row.erased_at.is_some() {
        v.push(
            "customer_id",
            "erased",
            "the customer's personal data was erased",
        );
    }
    if let Some(winner) = row.merged_into_id {
        v.push(
            "customer_id",
            "merged",
            format!("the customer was merged into customer {}", winner.0),
        );
    }
    Ok(())
}

/// The order `id` if its customer is one the caller may see; any other is not found.
pub fn visible_row(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<OrderRow> {
    let row = persistence::orders::find_row(conn, id)?;
    let customer = persistence::customers::find_row(conn, row.customer_id.0)?;
    if acting.scope().can_see(&customer) {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// An order with its lines (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<OrderRecord> {
    acting.require(Permission::RecordsRead)?;
    let row = visible_row(conn, acting, id)?;
    Ok(persistence::orders::with_lines(conn, vec![row])?.remove(0))
}

/// The next page of an order search (`records:read`), whole orders.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<OrderSearch>,
) -> AppResult<Vec<OrderRecord>> {
    acting.require(Permission::RecordsRead)?;
    let rows = persistence::orders::search(
        conn,
        &search.criteria,
        &acting.scope(),
        search.after.as_ref(),
        search.fetch_limit(),
    )?;
    Ok(persistence::orders::with_lines(conn, rows)?)
}

/// The document a merge patch of an order applies to.
pub fn changes_of(row: &OrderRow) -> AppResult<OrderChanges> {
    Ok(OrderChanges {
        status: row.status()?,
        channel: row.channel.clone(),
        campaign: row.campaign.clone(),
        notes: row.notes.clone(),
    })
}

/// Changes an order's status, channel, campaign or notes (`records:write`). A status
/// that makes it a purchase (or stops it being one) updates the customer's purchase
/// facts, and the lifecycle rules see the new purchase.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&OrderChanges) -> AppResult<OrderChanges>,
) -> AppResult<OrderRecord> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let found = visible_row(conn, acting, id)?;
        persistence::customers::lock_for_update(conn, &[found.customer_id.0])?;
        // Read again under the customer's lock: a merge may have moved the order.
        let current = visible_row(conn, acting, id)?;
        precondition.check(id, current.version)?;
        let status = current.status()?;
        let after = edit(&changes_of(&current)?)?
            .validated(status)
            .map_err(AppError::Invalid)?;
        let mut row = current.clone();
        row.status = after.status.as_str().to_string();
        row.channel = after.channel;
        row.campaign = after.campaign;
        row.notes = after.notes;
        let row = persistence::orders::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "order.update",
            "order",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        if after.status != status {
            lifecycle::after_order_change(
                conn,
                acting,
                row.customer_id.0,
                &row,
                !status.is_purchase() && after.status.is_purchase(),
            )?;
        }
        Ok(persistence::orders::with_lines(conn, vec![row])?.remove(0))
    })
}

/// What the 360 view shows of a customer's purchases.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseSummary {
    pub facts: persistence::orders::PurchaseFacts,
    /// Revenue per purchase, rounded down; `None` before the first purchase.
    pub average_order_value: Option<i64>,
    /// The products bought most of by amount, with their rows (absent if deleted).
    pub top_products: Vec<(persistence::orders::ProductBought, Option<ProductRow>)>,
    /// The newest orders, whatever their status, with their lines.
    pub latest_orders: Vec<OrderRecord>,
}

/// Orders and products shown in the 360 view.
pub const OVERVIEW_ORDERS: i64 = 5;
pub const OVERVIEW_PRODUCTS: usize = 5;

/// The purchases section of a customer's 360 view; the caller checked visibility.
pub fn summary(conn: &mut DbConnection, customer: Uuid) -> AppResult<PurchaseSummary> {
    let facts = persistence::orders::stored_facts(conn, customer)?;
    let bought = persistence::orders::top_products(conn, customer, OVERVIEW_PRODUCTS)?;
    let ids: Vec<Uuid> = bought.iter().map(|b| b.product_id).collect();
    let mut rows: HashMap<Uuid, ProductRow> = persistence::products::find_many(conn, &ids)?
        .into_iter()
        .map(|row| (row.id.0, row))
        .collect();
    Ok(PurchaseSummary {
        average_order_value: (facts.order_count > 0).then(|| facts.revenue / facts.order_count),
        top_products: bought
            .into_iter()
            .map(|b| {
                let row = rows.remove(&b.product_id);
                (b, row)
            })
            .collect(),
        latest_orders: {
            let rows = persistence::orders::latest_of_customer(conn, customer, OVERVIEW_ORDERS)?;
            persistence::orders::with_lines(conn, rows)?
        },
        facts,
    })
}
