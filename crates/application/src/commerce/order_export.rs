//! Order exports: which columns an order export has and the cells of one order, one
//! row per order or one per order line (the order's columns repeated on each).
//!
//! Amounts are exact in every format: JSON carries the integer minor units of the
//! order's currency, as the API does; CSV and XLSX carry what a person reads, the
//! currency's major unit (IRR as toman when the business shows toman) placed by
//! `domain::commerce::money::display_amount`, with the unit in the column header.

use std::collections::HashMap;

use chrono::SecondsFormat;
use domain::calendar::LocalCalendar;
use domain::commerce::money::display_amount;
use domain::commerce::Currency;
use domain::customers::sheet::DateStyle;
use domain::filter::{FilterNode, SortSpec};
use domain::settings::CurrencyDisplay;
use domain::validation::FieldViolation;
use persistence::customers::CustomerLabel;
use persistence::orders::{OrderLineRow, OrderRecord};
use persistence::products::ProductRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::Cell;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::export::{ExportCalendar, ExportFormat};
use crate::error::{AppError, AppResult};
use crate::search::SearchRequest;

/// Whether an export has a row per order or per order line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportLayout {
    /// One row per order.
    #[default]
    Orders,
    /// One row per order line, the order's columns repeated on each.
    Lines,
}

/// The body of `POST /orders/exports`: which orders (as in `POST /orders/search`) and
/// how to write them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "filter": {"field": "status", "op": "in", "value": ["paid", "fulfilled"]},
    "sort": [{"field": "placed_at", "direction": "desc"}],
    "format": "xlsx",
    "layout": "lines",
    "calendar": "jalali"
}))]
pub struct OrderExportRequest {
    /// Filter tree, as in `POST /orders/search`.
    #[schema(value_type = Option<FilterNode>)]
    pub filter: Option<Value>,
    /// Sort entries, as in `POST /orders/search`; the id is always the final key.
    #[schema(value_type = Option<Vec<SortSpec>>)]
    pub sort: Option<Value>,
    /// Quick-search text, as in `POST /orders/search`.
    #[validate(length(min = 1, max = 200))]
    pub q: Option<String>,
    #[serde(default)]
    pub format: ExportFormat,
    #[serde(default)]
    pub layout: ExportLayout,
    /// Calendar of `placed_on`.
    #[serde(default)]
    pub calendar: ExportCalendar,
    /// Column names (see the operation's description). Default: every column of the
    /// layout.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Lay the XLSX sheet out right to left. Default: when `Accept-Language` prefers
    /// Persian.
    #[serde(default)]
    pub right_to_left: Option<bool>,
}

impl OrderExportRequest {
    /// The search part of the request.
    pub fn search(&self) -> SearchRequest {
        SearchRequest {
            filter: self.filter.clone(),
            sort: self.sort.clone(),
            q: self.q.clone(),
            limit: None,
            cursor: None,
        }
    }
}

/// A column of an order export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderColumn {
    OrderId,
    ExternalReference,
    Source,
    CustomerId,
    CustomerCode,
    CustomerName,
    /// The instant, RFC 3339 in UTC.
    PlacedAt,
    /// The business-local date, in the export's calendar.
    PlacedOn,
    Status,
    Channel,
    Campaign,
    Currency,
    Subtotal,
    DiscountTotal,
    Total,
    RefundedTotal,
    NetTotal,
    LineNumber,
    ProductId,
    Sku,
    ProductName,
    Quantity,
    UnitPrice,
    LineDiscount,
    LineTotal,
    ReturnedQuantity,
    LineRefunded,
}

/// The order's columns, in their default order.
const ORDER_COLUMNS: [OrderColumn; 17] = [
    OrderColumn::OrderId,
    OrderColumn::ExternalReference,
    OrderColumn::Source,
    OrderColumn::CustomerId,
    OrderColumn::CustomerCode,
    OrderColumn::CustomerName,
    OrderColumn::PlacedAt,
    OrderColumn::PlacedOn,
    OrderColumn::Status,
    OrderColumn::Channel,
    OrderColumn::Campaign,
    OrderColumn::Currency,
    OrderColumn::Subtotal,
    OrderColumn::DiscountTotal,
    OrderColumn::Total,
    OrderColumn::RefundedTotal,
    OrderColumn::NetTotal,
];

/// The line's columns, after the order's in the `lines` layout.
const LINE_COLUMNS: [OrderColumn; 10] = [
    OrderColumn::LineNumber,
    OrderColumn::ProductId,
    OrderColumn::Sku,
    OrderColumn::ProductName,
    OrderColumn::Quantity,
    OrderColumn::UnitPrice,
    OrderColumn::LineDiscount,
    OrderColumn::LineTotal,
    OrderColumn::ReturnedQuantity,
    OrderColumn::LineRefunded,
];

impl OrderColumn {
    /// The column's name in a request and, with the unit added for amounts in CSV and
    /// XLSX, its header.
    pub fn name(self) -> &'static str {
        match self {
            OrderColumn::OrderId => "order_id",
            OrderColumn::ExternalReference => "external_reference",
            OrderColumn::Source => "source",
            OrderColumn::CustomerId => "customer_id",
            OrderColumn::CustomerCode => "customer_code",
            OrderColumn::CustomerName => "customer_name",
            OrderColumn::PlacedAt => "placed_at",
            OrderColumn::PlacedOn => "placed_on",
            OrderColumn::Status => "status",
            OrderColumn::Channel => "channel",
            OrderColumn::Campaign => "campaign",
            OrderColumn::Currency => "currency",
            OrderColumn::Subtotal => "subtotal",
            OrderColumn::DiscountTotal => "discount_total",
            OrderColumn::Total => "total",
            OrderColumn::RefundedTotal => "refunded_total",
            OrderColumn::NetTotal => "net_total",
            OrderColumn::LineNumber => "line_number",
            OrderColumn::ProductId => "product_id",
            OrderColumn::Sku => "sku",
            OrderColumn::ProductName => "product_name",
            OrderColumn::Quantity => "quantity",
            OrderColumn::UnitPrice => "unit_price",
            OrderColumn::LineDiscount => "line_discount",
            OrderColumn::LineTotal => "line_total",
            OrderColumn::ReturnedQuantity => "returned_quantity",
            OrderColumn::LineRefunded => "line_refunded",
        }
    }

    fn parse(name: &str) -> Option<OrderColumn> {
        ORDER_COLUMNS
            .into_iter()
            .chain(LINE_COLUMNS)
            .find(|column| column.name() == name)
    }

    fn is_line(self) -> bool {
        LINE_COLUMNS.contains(&self)
    }

    fn is_amount(self) -> bool {
        matches!(
            self,
            OrderColumn::Subtotal
                | OrderColumn::DiscountTotal
                | OrderColumn::Total
                | OrderColumn::RefundedTotal
                | OrderColumn::NetTotal
                | OrderColumn::UnitPrice
                | OrderColumn::LineDiscount
                | OrderColumn::LineTotal
                | OrderColumn::LineRefunded
        )
    }
}

/// The columns of an export: `requested` (checked; violations under `columns[i]`) or
/// every column of `layout`. Line columns need the `lines` layout.
pub fn columns(requested: Option<&[String]>, layout: ExportLayout) -> AppResult<Vec<OrderColumn>> {
    let Some(names) = requested else {
        return Ok(match layout {
            ExportLayout::Orders => ORDER_COLUMNS.to_vec(),
            ExportLayout::Lines => ORDER_COLUMNS.into_iter().chain(LINE_COLUMNS).collect(),
        });
    };
    let mut violations = Vec::new();
    let mut columns: Vec<OrderColumn> = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let field = format!("columns[{index}]");
        match OrderColumn::parse(name.trim()) {
            None => violations.push(FieldViolation::new(
                field,
                "unknown_field",
                format!("`{name}` is not an order export column"),
            )),
            Some(column) if columns.contains(&column) => violations.push(FieldViolation::new(
                field,
                "duplicate",
                "the column is listed twice",
            )),
            Some(column) if column.is_line() && layout == ExportLayout::Orders => {
                violations.push(FieldViolation::new(
                    field,
                    "needs_lines_layout",
                    "a line column needs `layout: lines`",
                ))
            }
            Some(column) => columns.push(column),
        }
    }
    if !violations.is_empty() {
        return Err(AppError::Invalid(violations));
    }
    if columns.is_empty() {
        return Err(AppError::field(
            "columns",
            "too_short",
            "name at least one column",
        ));
    }
    Ok(columns)
}

/// How the cells of an export are written.
#[derive(Debug, Clone, Copy)]
pub struct CellStyle {
    /// The calendar of `placed_on`.
    pub dates: DateStyle,
    /// The business's time zone, which decides the local date of an instant.
    pub local: LocalCalendar,
    /// `None`: amounts as integer minor units (JSON). Otherwise amounts as the major
    /// unit of this currency, shown as the business asks.
    pub display: Option<(Currency, CurrencyDisplay)>,
}

impl CellStyle {
    /// The header of `column`: its name, and the unit of an amount shown in a major
    /// unit, e.g. `total (toman)`.
    pub fn header(&self, column: OrderColumn) -> String {
        match self.display {
            Some((currency, display)) if column.is_amount() => {
                format!(
                    "{} ({})",
                    column.name(),
                    display_amount(0, currency, display).1
                )
            }
            _ => column.name().to_string(),
        }
    }

    /// An amount of `currency`: exact in every format. Shown in a unit with decimals it
    /// is text (a spreadsheet's numbers are floats); in whole units an integer.
    fn amount(&self, minor: i64, currency: &str) -> AppResult<Cell> {
        let Some((shown_currency, display)) = self.display else {
            return Ok(Cell::Integer(minor));
        };
        if currency != shown_currency.code() {
            // Orders are taken in the business currency, which cannot change once one
            // exists: the header's unit holds for every row.
            return Err(AppError::Internal(format!(
                "an order in {currency} among orders in {shown_currency}"
            )));
        }
        let (text, _) = display_amount(minor, shown_currency, display);
        let whole_units = shown_currency.minor_unit_digits() == 0
            && !(shown_currency == Currency::IRR && display == CurrencyDisplay::Toman);
        Ok(match text.parse() {
            Ok(whole) if whole_units => Cell::Integer(whole),
            _ => Cell::Text(text),
        })
    }
}

/// What the rows of a page of orders refer to, looked up once per page.
pub struct PageRefs {
    pub customers: HashMap<Uuid, CustomerLabel>,
    pub products: HashMap<Uuid, ProductRow>,
}

/// The rows of `record` under `columns`: one, or one per line in the `lines` layout
/// (an order without lines still gets one row, with empty line columns).
pub fn rows(
    record: &OrderRecord,
    layout: ExportLayout,
    columns: &[OrderColumn],
    style: &CellStyle,
    refs: &PageRefs,
) -> AppResult<Vec<Vec<Cell>>> {
    let lines: Vec<Option<&OrderLineRow>> = match layout {
        ExportLayout::Lines if !record.lines.is_empty() => record.lines.iter().map(Some).collect(),
        _ => vec![None],
    };
    lines
        .into_iter()
        .map(|line| {
            columns
                .iter()
                .map(|column| cell(record, line, *column, style, refs))
                .collect()
        })
        .collect()
}

fn text(value: &Option<String>) -> Cell {
    value.clone().map_or(Cell::Null, Cell::Text)
}

fn cell(
    record: &OrderRecord,
    line: Option<&OrderLineRow>,
    column: OrderColumn,
    style: &CellStyle,
    refs: &PageRefs,
) -> AppResult<Cell> {
    let order = &record.row;
    let customer = refs.customers.get(&order.customer_id.0);
    let currency = order.currency.as_str();
    if column.is_line() {
        let Some(line) = line else {
            return Ok(Cell::Null);
        };
        let product = refs.products.get(&line.product_id.0);
        return match column {
            OrderColumn::LineNumber => Ok(Cell::Integer(i64::from(line.position) + 1)),
            OrderColumn::ProductId => Ok(Cell::Text(line.product_id.0.to_string())),
            OrderColumn::Sku => Ok(product.map_or(Cell::Null, |p| Cell::Text(p.sku.clone()))),
            OrderColumn::ProductName => {
                Ok(product.map_or(Cell::Null, |p| Cell::Text(p.name.clone())))
            }
            OrderColumn::Quantity => Ok(Cell::Integer(line.quantity)),
            OrderColumn::ReturnedQuantity => Ok(Cell::Integer(line.returned_quantity)),
            OrderColumn::UnitPrice => style.amount(line.unit_price, currency),
            OrderColumn::LineDiscount => style.amount(line.discount, currency),
            OrderColumn::LineTotal => style.amount(line.total, currency),
            OrderColumn::LineRefunded => style.amount(line.refunded, currency),
            _ => unreachable!("{column:?} is an order column"),
        };
    }
    Ok(match column {
        OrderColumn::OrderId => Cell::Text(order.id.0.to_string()),
        OrderColumn::ExternalReference => text(&order.external_reference),
        OrderColumn::Source => text(&order.source),
        OrderColumn::CustomerId => Cell::Text(order.customer_id.0.to_string()),
        OrderColumn::CustomerCode => text(&customer.and_then(|c| c.code.clone())),
        OrderColumn::CustomerName => text(&customer.map(|c| c.display_name.clone())),
        OrderColumn::PlacedAt => {
            Cell::Text(order.placed_at.0.to_rfc3339_opts(SecondsFormat::Secs, true))
        }
        OrderColumn::PlacedOn => Cell::Text(
            style
                .dates
                .format(style.local.local_time(order.placed_at.0).date()),
        ),
        OrderColumn::Status => Cell::Text(order.status.clone()),
        OrderColumn::Channel => text(&order.channel),
        OrderColumn::Campaign => text(&order.campaign),
        OrderColumn::Currency => Cell::Text(order.currency.clone()),
        OrderColumn::Subtotal => style.amount(order.subtotal, currency)?,
        OrderColumn::DiscountTotal => style.amount(order.discount_total, currency)?,
        OrderColumn::Total => style.amount(order.total, currency)?,
        OrderColumn::RefundedTotal => style.amount(order.refunded_total, currency)?,
        OrderColumn::NetTotal => style.amount(
            order
                .total
                .checked_sub(order.refunded_total)
                .ok_or_else(|| AppError::Internal(format!("order {} net", order.id.0)))?,
            currency,
        )?,
        _ => unreachable!("{column:?} is a line column"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_columns_are_checked_against_the_layout() {
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            columns(Some(&names(&["total", " sku "])), ExportLayout::Lines).unwrap(),
            vec![OrderColumn::Total, OrderColumn::Sku]
        );
        let Err(AppError::Invalid(violations)) = columns(
            Some(&names(&["total", "sku", "total", "colour"])),
            ExportLayout::Orders,
        ) else {
            panic!("refused");
        };
        let found: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("columns[1]", "needs_lines_layout"),
                ("columns[2]", "duplicate"),
                ("columns[3]", "unknown_field")
            ]
        );
        assert_eq!(columns(None, ExportLayout::Orders).unwrap().len(), 17);
        assert_eq!(columns(None, ExportLayout::Lines).unwrap().len(), 27);
    }

    #[test]
    fn amounts_are_minor_units_in_json_and_the_shown_unit_elsewhere() {
        let style = |display| CellStyle {
            dates: DateStyle::Gregorian,
            local: LocalCalendar::default(),
            display,
        };
        let json = style(None);
        assert_eq!(json.header(OrderColumn::Total), "total");
        assert_eq!(
            json.amount(1_250_005, "IRR").unwrap(),
            Cell::Integer(1_250_005)
        );
        let toman = style(Some((Currency::IRR, CurrencyDisplay::Toman)));
        assert_eq!(toman.header(OrderColumn::LineTotal), "line_total (toman)");
        assert_eq!(toman.header(OrderColumn::Quantity), "quantity");
        assert_eq!(
            toman.amount(1_250_005, "IRR").unwrap(),
            Cell::Text("125000.5".into())
        );
        let rial = style(Some((Currency::IRR, CurrencyDisplay::Rial)));
        assert_eq!(rial.header(OrderColumn::Total), "total (IRR)");
        assert_eq!(
            rial.amount(1_250_005, "IRR").unwrap(),
            Cell::Integer(1_250_005)
        );
        let usd = Currency::parse("USD").unwrap();
        let dollars = style(Some((usd, CurrencyDisplay::Toman)));
        assert_eq!(
            dollars.amount(1999, "USD").unwrap(),
            Cell::Text("19.99".into())
        );
        assert!(dollars.amount(1999, "IRR").is_err());
    }
}
