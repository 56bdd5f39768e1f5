//! Quotes (S-6): creating them for a deal (priced by the server, numbered per Jalali
//! year in the creating transaction), reading and listing them, changing drafts,
//! moving them through their statuses (an acceptance may place the order in the same
//! transaction). Quotes are never deleted, so that their numbers stay without gaps. A
//! quote is visible and writable exactly when its deal is.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::authz::Permission;
use domain::commerce::orders::{LineAmounts, OrderInput, OrderLineInput, OrderStatus};
use domain::commerce::Currency;
use domain::sales::quotes::{
    numbering_year, price_quote, quote_number, QuoteInput, QuoteLineAmounts, QuoteStatus,
};
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::products::ProductRow;
use persistence::quotes::{QuoteLineRow, QuoteRecord, QuoteRow};
use persistence::sql_types::{DbTime, DbUuid};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::deals;
use crate::acting::Acting;
use crate::commerce::orders;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::transaction;

/// A quote with the status it has on the business's `today` (a stored draft or sent
/// quote past its validity reads as `expired`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteDetails {
    pub record: QuoteRecord,
    pub status: QuoteStatus,
}

impl QuoteDetails {
    pub fn of(record: QuoteRecord, today: NaiveDate) -> AppResult<QuoteDetails> {
        let status = record
            .row
            .status()?
            .effective(record.row.valid_until, today);
        Ok(QuoteDetails { record, status })
    }
}

/// A status change a client asks for.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "sent"}))]
pub struct StatusChange {
    /// `sent` (from `draft`), `accepted` or `rejected` (from `sent`).
    pub status: QuoteStatus,
    /// With `accepted`: place an order for the deal's customer with the quote's lines,
    /// in the same transaction.
    #[serde(default)]
    pub create_order: bool,
}

/// The quote `id` if the caller may see its deal; any other is not found.
pub(super) fn visible(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
) -> AppResult<QuoteRecord> {
    let record = persistence::quotes::find(conn, id)?;
    deals::visible(conn, acting, record.row.deal_id.0)?;
    Ok(record)
}

/// A quote (`records:read`) whose deal the caller may see.
pub fn get(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    today: NaiveDate,
) -> AppResult<QuoteDetails> {
    acting.require(Permission::RecordsRead)?;
    QuoteDetails::of(visible(conn, acting, id)?, today)
}

/// Quotes in creation order (`records:read`), of one deal if given, whose deal the
/// caller may see: `fetch` after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    deal: Option<Uuid>,
    cursor: Option<&crate::paging::Cursor>,
    fetch: i64,
    today: NaiveDate,
) -> AppResult<Vec<QuoteDetails>> {
    acting.require(Permission::RecordsRead)?;
    let after = crate::paging::created_after(cursor)?;
    let rows = persistence::quotes::list(conn, &acting.scope(), deal, after, fetch)?;
    persistence::quotes::with_lines(conn, rows)?
        .into_iter()
        .map(|record| QuoteDetails::of(record, today))
        .collect()
}

pub fn cursor_after(details: &QuoteDetails) -> crate::paging::Cursor {
    let row = &details.record.row;
    crate::paging::creation_cursor(row.created_at.0, row.id.0)
}

/// The document a merge patch of a draft applies to.
fn quote_input(record: &QuoteRecord) -> QuoteInput {
    QuoteInput {
        deal_id: record.row.deal_id.0,
        valid_until: record.row.valid_until,
        lines: record
            .lines
            .iter()
            .map(|line| domain::sales::quotes::QuoteLineInput {
                product_id: line.product_id.0,
                quantity: line.quantity,
                unit_price: Some(line.unit_price),
                discount: line.discount,
                tax_rate: line.tax_rate,
            })
            .collect(),
        notes: record.row.notes.clone(),
        total: None,
    }
}

/// The priced lines of `input` for quote `quote_id` in `currency`: each must be a
/// product in that currency, active unless the quote has it already; the unit price
/// defaults to the product's. With the totals, checked against a claimed total.
fn priced_lines(
    conn: &mut DbConnection,
    input: &QuoteInput,
    quote_id: DbUuid,
    currency: Currency,
    held: &[QuoteLineRow],
) -> AppResult<(Vec<QuoteLineRow>, domain::sales::quotes::QuoteTotals)> {
    let mut ids: Vec<Uuid> = input.lines.iter().map(|line| line.product_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let products: HashMap<Uuid, ProductRow> = persistence::products::find_many(conn, &ids)?
        .into_iter()
        .map(|row| (row.id.0, row))
        .collect();
    let mut v = Violations::default();
    let mut amounts = Vec::with_capacity(input.lines.len());
    for (index, line) in input.lines.iter().enumerate() {
        let field = format!("lines[{index}].product_id");
        let on_quote = held.iter().any(|row| row.product_id.0 == line.product_id);
        match products.get(&line.product_id) {
            None => v.push(field, "not_found", "is not a product"),
            Some(product) if !product.active && !on_quote => {
                v.push(field, "inactive", "the product is no longer sold")
            }
            Some(product) if product.currency != currency.code() => v.push(
                field,
                "currency_mismatch",
                format!(
                    "the product is priced in {}, the quote in {currency}",
                    product.currency
                ),
            ),
            Some(product) => amounts.push(QuoteLineAmounts {
                amounts: LineAmounts {
                    quantity: line.quantity,
                    unit_price: line.unit_price.unwrap_or(product.unit_price),
                    discount: line.discount,
                },
                tax_rate: line.tax_rate,
            }),
        }
    }
    v.into_result().map_err(AppError::Invalid)?;
    let (priced, totals) = price_quote(&amounts, input.total).map_err(AppError::Invalid)?;
    let rows = input
        .lines
        .iter()
        .zip(amounts.iter().zip(&priced))
        .enumerate()
        .map(|(position, (line, (amount, priced)))| {
            // Every product was found above.
            let product = &products[&line.product_id];
            QuoteLineRow {
                id: DbUuid(Uuid::now_v7()),
                quote_id,
                position: position as i32,
                product_id: DbUuid(line.product_id),
                name: product.name.clone(),
                name_en: product.name_en.clone(),
                quantity: amount.amounts.quantity,
                unit_price: amount.amounts.unit_price,
                discount: amount.amounts.discount,
                tax_rate: amount.tax_rate,
                tax: priced.tax,
                total: priced.total,
            }
        })
        .collect();
    Ok((rows, totals))
}

/// A 422 naming `valid_until` when the offer would end before `today`.
fn check_validity(input: &QuoteInput, today: NaiveDate) -> AppResult<()> {
    if input.valid_until < today {
        return Err(AppError::field(
            "valid_until",
            "in_past",
            "must be today or later",
        ));
    }
    Ok(())
}

/// Creates a draft quote (`records:write`) for a deal the caller may see, in the deal's
/// currency, numbered in the Jalali year of the business's `today`.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: QuoteInput,
    today: NaiveDate,
) -> AppResult<QuoteDetails> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    check_validity(&input, today)?;
    transaction(conn, |conn| {
        let deal = match deals::visible(conn, acting, input.deal_id) {
            Err(AppError::NotFound) => {
                return Err(AppError::field(
                    "deal_id",
                    "not_found",
                    "is not a deal you may see",
                ))
            }
            other => other?,
        };
        let currency = Currency::parse(&deal.row.currency).ok_or_else(|| {
            AppError::Internal(format!(
                "deal {} has currency {}",
                deal.row.id.0, deal.row.currency
            ))
        })?;
        let id = DbUuid(Uuid::now_v7());
        let (lines, totals) = priced_lines(conn, &input, id, currency, &[])?;
        let year = numbering_year(today);
        // Last of the checks: the counter row stays locked until the commit, so the
        // less that follows, the less concurrent creates wait.
        let number = quote_number(year, persistence::quotes::next_number(conn, year)?);
        let now = DbTime(persistence::now());
        let record = QuoteRecord {
            row: QuoteRow {
                id,
                number,
                deal_id: deal.row.id,
                status: QuoteStatus::Draft.as_str().to_string(),
                currency: currency.code().to_string(),
                valid_until: input.valid_until,
                subtotal: totals.subtotal,
                discount_total: totals.discount_total,
                tax_total: totals.tax_total,
                total: totals.total,
                notes: input.notes,
                order_id: None,
                sent_at: None,
                decided_at: None,
                created_by: acting.user_id.map(DbUuid),
                created_at: now,
                updated_at: now,
                version: 1,
            },
            lines,
        };
        persistence::quotes::insert(conn, &record)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "quote.create",
            "quote",
            id.0,
            &serde_json::json!({}),
            &record.audit_snapshot(),
        )?;
        QuoteDetails::of(record, today)
    })
}

/// The quote `id`, locked and visible, as it reads on `today`, checked against the
/// caller's precondition.
fn current(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    today: NaiveDate,
) -> AppResult<QuoteDetails> {
    persistence::quotes::lock(conn, id)?;
    let current = QuoteDetails::of(visible(conn, acting, id)?, today)?;
    precondition.check(id, current.record.row.version)?;
    Ok(current)
}

fn refuse_unless_draft(details: &QuoteDetails) -> AppResult<()> {
    if details.status == QuoteStatus::Draft {
        return Ok(());
    }
    Err(AppError::Conflict(format!(
        "the quote is {}; only drafts change",
        details.status.as_str()
    )))
}

/// Changes a draft (`records:write`) whose deal the caller may see to what `edit`
/// makes of it: lines, validity and notes; the deal stays.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    today: NaiveDate,
    edit: impl FnOnce(&QuoteInput) -> AppResult<QuoteInput>,
) -> AppResult<QuoteDetails> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let current = current(conn, acting, id, precondition, today)?;
        refuse_unless_draft(&current)?;
        let before = &current.record;
        let after = edit(&quote_input(before))?
            .validated()
            .map_err(AppError::Invalid)?;
        check_validity(&after, today)?;
        if after.deal_id != before.row.deal_id.0 {
            return Err(AppError::field(
                "deal_id",
                "immutable",
                "a quote stays with its deal",
            ));
        }
        let currency = Currency::parse(&before.row.currency).ok_or_else(|| {
            AppError::Internal(format!("quote {id} has currency {}", before.row.currency))
        })?;
        let (lines, totals) = priced_lines(conn, &after, before.row.id, currency, &before.lines)?;
        let mut record = QuoteRecord {
            row: before.row.clone(),
            lines,
        };
        let row = &mut record.row;
        row.valid_until = after.valid_until;
        row.subtotal = totals.subtotal;
        row.discount_total = totals.discount_total;
        row.tax_total = totals.tax_total;
        row.total = totals.total;
        row.notes = after.notes;
        row.updated_at = DbTime(persistence::now());
        let updated = persistence::quotes::update(conn, &record)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "quote.update",
            "quote",
            id,
            &before.audit_snapshot(),
            &updated.audit_snapshot(),
        )?;
        QuoteDetails::of(updated, today)
    })
}

/// Moves a quote (`records:write`) whose deal the caller may see: a draft is sent, a
/// sent quote accepted or rejected, before it expires; anything else is a conflict.
/// Accepting with `create_order` places a pending order for the deal's customer with
/// the quote's lines (orders carry no tax: its total is the quote's before tax) through
/// the order use case, in this transaction, and records the order on the quote.
pub fn change_status(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    today: NaiveDate,
    change: StatusChange,
    business_currency: Currency,
) -> AppResult<QuoteDetails> {
    acting.require(Permission::RecordsWrite)?;
    if change.create_order && change.status != QuoteStatus::Accepted {
        return Err(AppError::field(
            "create_order",
            "only_when_accepted",
            "an order is placed only when a quote is accepted",
        ));
    }
    transaction(conn, |conn| {
        let current = current(conn, acting, id, precondition, today)?;
        if !current.status.may_become(change.status) {
            return Err(AppError::Conflict(format!(
                "a quote that is {} cannot become {}",
                current.status.as_str(),
                change.status.as_str()
            )));
        }
        let before = &current.record;
        let mut record = before.clone();
        let now = DbTime(persistence::now());
        record.row.status = change.status.as_str().to_string();
        record.row.updated_at = now;
        match change.status {
            QuoteStatus::Sent => record.row.sent_at = Some(now),
            _ => record.row.decided_at = Some(now),
        }
        if change.create_order {
            let deal = persistence::deals::find_row(conn, before.row.deal_id.0)?;
            let order = orders::create_checked(
                conn,
                acting,
                order_of(before, deal.customer_id.0),
                business_currency,
            )
            .map_err(under_order)?;
            record.row.order_id = Some(order.row.id);
        }
        let updated = persistence::quotes::update(conn, &record)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "quote.status",
            "quote",
            id,
            &before.audit_snapshot(),
            &updated.audit_snapshot(),
        )?;
        QuoteDetails::of(updated, today)
    })
}

/// The order an accepted quote places: its lines at their quoted prices and discounts,
/// referenced by the quote's number (unique per source, so no second order).
fn order_of(quote: &QuoteRecord, customer: Uuid) -> OrderInput {
    OrderInput {
        customer_id: customer,
        placed_at: None,
        status: OrderStatus::Pending,
        channel: None,
        campaign: None,
        source: Some("quote".into()),
        external_reference: Some(quote.row.number.clone()),
        currency: Currency::parse(&quote.row.currency),
        lines: quote
            .lines
            .iter()
            .map(|line| OrderLineInput {
                product_id: line.product_id.0,
                quantity: line.quantity,
                unit_price: Some(line.unit_price),
                discount: line.discount,
            })
            .collect(),
        total: Some(quote.row.subtotal - quote.row.discount_total),
        notes: None,
    }
}

/// An order's broken rules named under `order.` (the client sent no order: they are
/// the quote's, seen as an order's).
fn under_order(err: AppError) -> AppError {
    match err {
        AppError::Invalid(violations) => AppError::Invalid(
            violations
                .into_iter()
                .map(|mut violation| {
                    violation.field = format!("order.{}", violation.field);
                    violation
                })
                .collect(),
        ),
        other => other,
    }
}
