//! Purchase history in a spreadsheet: the columns an order import reads and how one
//! row's cells are read. A row is one order line; rows sharing an `order_reference` are
//! one order (the line-per-row layout), a row without one is an order of its own (the
//! order-per-row layout). Dates, digits and amounts are read as people write them:
//! Jalali or ISO dates with an optional time of day in the business's time zone,
//! Persian digits, thousands separators, amounts in the currency's major unit or in
//! toman. Nothing here looks anything up: the customer and product are named by their
//! key and SKU, for the caller to resolve.

use std::borrow::Cow;

use chrono::{DateTime, NaiveTime, Utc};

use super::money::{parse_major_amount, parse_toman, AmountError, Currency};
use super::orders::OrderStatus;
use crate::calendar::LocalCalendar;
use crate::customers::sheet::parse_date;
use crate::persian::decimal_text;
use crate::validation::FieldViolation;

/// A column an order import can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderSheetField {
    /// Groups the rows of one order; stored as the order's external reference.
    OrderReference,
    /// The customer's key: a code, e-mail, phone or national code, as the import's
    /// `match_customer_on` says.
    Customer,
    /// Names of a customer the import creates.
    CustomerFirstName,
    CustomerLastName,
    CustomerOrganizationName,
    PlacedAt,
    Status,
    Channel,
    Campaign,
    Notes,
    /// The order's total as the file states it, checked against the computed one.
    OrderTotal,
    Sku,
    /// The name of a product the import creates.
    ProductName,
    Quantity,
    UnitPrice,
    Discount,
    /// The line's total as the file states it, checked against the computed one.
    LineTotal,
}

impl OrderSheetField {
    pub const ALL: [OrderSheetField; 17] = [
        OrderSheetField::OrderReference,
        OrderSheetField::Customer,
        OrderSheetField::CustomerFirstName,
        OrderSheetField::CustomerLastName,
        OrderSheetField::CustomerOrganizationName,
        OrderSheetField::PlacedAt,
        OrderSheetField::Status,
        OrderSheetField::Channel,
        OrderSheetField::Campaign,
        OrderSheetField::Notes,
        OrderSheetField::OrderTotal,
        OrderSheetField::Sku,
        OrderSheetField::ProductName,
        OrderSheetField::Quantity,
        OrderSheetField::UnitPrice,
        OrderSheetField::Discount,
        OrderSheetField::LineTotal,
    ];

    pub fn parse(name: &str) -> Option<OrderSheetField> {
        OrderSheetField::ALL
            .into_iter()
            .find(|field| field.name() == name.trim())
    }

    pub fn name(self) -> &'static str {
        match self {
            OrderSheetField::OrderReference => "order_reference",
            OrderSheetField::Customer => "customer",
            OrderSheetField::CustomerFirstName => "customer_first_name",
            OrderSheetField::CustomerLastName => "customer_last_name",
            OrderSheetField::CustomerOrganizationName => "customer_organization_name",
            OrderSheetField::PlacedAt => "placed_at",
            OrderSheetField::Status => "status",
            OrderSheetField::Channel => "channel",
            OrderSheetField::Campaign => "campaign",
            OrderSheetField::Notes => "notes",
            OrderSheetField::OrderTotal => "order_total",
            OrderSheetField::Sku => "sku",
            OrderSheetField::ProductName => "product_name",
            OrderSheetField::Quantity => "quantity",
            OrderSheetField::UnitPrice => "unit_price",
            OrderSheetField::Discount => "discount",
            OrderSheetField::LineTotal => "line_total",
        }
    }

    /// Whether the field describes the order rather than the line: every row of an
    /// order must agree on it (or leave it empty).
    pub fn is_order_level(self) -> bool {
        !matches!(
            self,
            OrderSheetField::Sku
                | OrderSheetField::ProductName
                | OrderSheetField::Quantity
                | OrderSheetField::UnitPrice
                | OrderSheetField::Discount
                | OrderSheetField::LineTotal
        )
    }
}

/// The unit a file's amounts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountUnit {
    /// The currency's major unit: rials, dollars with cents.
    Major(Currency),
    /// Toman (ten rials), for IRR files written the way Iranians usually price.
    Toman,
}

impl AmountUnit {
    pub fn read(self, text: &str) -> Result<i64, AmountError> {
        match self {
            AmountUnit::Major(currency) => parse_major_amount(text, currency),
            AmountUnit::Toman => parse_toman(text),
        }
    }
}

/// One non-empty, mapped cell.
#[derive(Debug, Clone, Copy)]
pub struct OrderCell<'a> {
    pub field: OrderSheetField,
    pub text: &'a str,
    /// 0-based column index.
    pub column: usize,
}

/// What one row says, each value as written once read; empty cells are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderSheetRow {
    pub order_reference: Option<String>,
    pub customer: Option<String>,
    pub customer_first_name: Option<String>,
    pub customer_last_name: Option<String>,
    pub customer_organization_name: Option<String>,
    pub placed_at: Option<DateTime<Utc>>,
    pub status: Option<OrderStatus>,
    pub channel: Option<String>,
    pub campaign: Option<String>,
    pub notes: Option<String>,
    pub order_total: Option<i64>,
    pub sku: Option<String>,
    pub product_name: Option<String>,
    pub quantity: Option<i64>,
    pub unit_price: Option<i64>,
    pub discount: Option<i64>,
    pub line_total: Option<i64>,
    /// Cells that could not be read, with their columns; the value is left `None`.
    pub problems: Vec<(FieldViolation, usize)>,
}

impl OrderSheetRow {
    /// Reads the cells of one row: amounts in `unit`, times of day in `calendar`'s zone.
    pub fn read(cells: &[OrderCell<'_>], unit: AmountUnit, calendar: &LocalCalendar) -> Self {
        let mut row = OrderSheetRow::default();
        for cell in cells {
            let text = cell.text.trim();
            let owned = || Some(text.to_string());
            let mut problem = |code: &str, message: Cow<'static, str>| {
                row.problems.push((
                    FieldViolation::new(cell.field.name(), code, message),
                    cell.column,
                ));
            };
            match cell.field {
                OrderSheetField::OrderReference => row.order_reference = owned(),
                OrderSheetField::Customer => row.customer = owned(),
                OrderSheetField::CustomerFirstName => row.customer_first_name = owned(),
                OrderSheetField::CustomerLastName => row.customer_last_name = owned(),
                OrderSheetField::CustomerOrganizationName => {
                    row.customer_organization_name = owned()
                }
                OrderSheetField::Channel => row.channel = owned(),
                OrderSheetField::Campaign => row.campaign = owned(),
                OrderSheetField::Notes => row.notes = owned(),
                OrderSheetField::Sku => row.sku = owned(),
                OrderSheetField::ProductName => row.product_name = owned(),
                OrderSheetField::PlacedAt => match read_instant(text, calendar) {
                    Some(at) => row.placed_at = Some(at),
                    None => problem(
                        "invalid_date",
                        "must be a date (1403/01/15 or 2024-04-03), optionally with a time (14:30)"
                            .into(),
                    ),
                },
                OrderSheetField::Status => match OrderStatus::parse(&text.to_lowercase()) {
                    Some(status) => row.status = Some(status),
                    None => problem(
                        "invalid_value",
                        "must be pending, paid, fulfilled or cancelled".into(),
                    ),
                },
                OrderSheetField::Quantity => match read_whole(text) {
                    Some(quantity) => row.quantity = Some(quantity),
                    None => problem("invalid_number", "must be a whole number".into()),
                },
                OrderSheetField::OrderTotal
                | OrderSheetField::UnitPrice
                | OrderSheetField::Discount
                | OrderSheetField::LineTotal => match unit.read(text) {
                    Ok(amount) => {
                        let slot = match cell.field {
                            OrderSheetField::OrderTotal => &mut row.order_total,
                            OrderSheetField::UnitPrice => &mut row.unit_price,
                            OrderSheetField::Discount => &mut row.discount,
                            _ => &mut row.line_total,
                        };
                        *slot = Some(amount);
                    }
                    Err(err) => problem(err.code(), err.message().into()),
                },
            }
        }
        row
    }
}

/// A whole number as people write it (`۱٬۲۰۰`, `3.0`).
fn read_whole(text: &str) -> Option<i64> {
    let canonical = decimal_text(text)?;
    let (whole, fraction) = canonical.split_once('.').unwrap_or((&canonical, ""));
    if !fraction.bytes().all(|digit| digit == b'0') {
        return None;
    }
    whole.parse().ok()
}

/// An instant: RFC 3339 (`2024-04-03T14:30:00Z`, with its own offset), or a Jalali or
/// ISO date with an optional local time of day (`1403/01/15 14:30`), a date alone
/// meaning the start of that day in the business's time zone.
fn read_instant(text: &str, calendar: &LocalCalendar) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let text = crate::persian::normalize_digits(text);
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((date, time)) => (date, Some(time.trim())),
        None => (text.as_str(), None),
    };
    let date = parse_date(date)?;
    match time {
        None | Some("") => calendar.start_of_day(date),
        Some(time) => {
            let time = NaiveTime::parse_from_str(time, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
                .ok()?;
            calendar.instant_at(date.and_time(time))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(cells: &[(OrderSheetField, &str)], unit: AmountUnit) -> OrderSheetRow {
        let cells: Vec<OrderCell<'_>> = cells
            .iter()
            .enumerate()
            .map(|(column, (field, text))| OrderCell {
                field: *field,
                text,
                column,
            })
            .collect();
        OrderSheetRow::read(&cells, unit, &LocalCalendar::default())
    }

    #[test]
    fn field_names_round_trip() {
        for field in OrderSheetField::ALL {
            assert_eq!(OrderSheetField::parse(field.name()), Some(field));
        }
        assert_eq!(OrderSheetField::parse("total"), None);
    }

    #[test]
    fn a_row_is_read_as_people_write_it() {
        use OrderSheetField::*;
        let row = read(
            &[
                (OrderReference, " INV-7 "),
                (PlacedAt, "۱۴۰۳/۰۱/۱۵ ۱۴:۳۰"),
                (Status, "Paid"),
                (Sku, "TEA-500"),
                (Quantity, "۳"),
                (UnitPrice, "۱۸۵٬۰۰۰"),
                (Discount, "5,000"),
                (LineTotal, "550000"),
            ],
            AmountUnit::Major(Currency::IRR),
        );
        assert!(row.problems.is_empty(), "{:?}", row.problems);
        assert_eq!(row.order_reference.as_deref(), Some("INV-7"));
        // 1403/01/15 is 2024-04-03; 14:30 in Tehran (UTC+3:30) is 11:00 UTC.
        assert_eq!(
            row.placed_at.unwrap().to_rfc3339(),
            "2024-04-03T11:00:00+00:00"
        );
        assert_eq!(row.status, Some(OrderStatus::Paid));
        assert_eq!(row.quantity, Some(3));
        assert_eq!(row.unit_price, Some(185_000));
        assert_eq!(row.discount, Some(5_000));
        assert_eq!(row.line_total, Some(550_000));
    }

    #[test]
    fn dates_alone_start_the_business_day_and_offsets_are_kept() {
        use OrderSheetField::*;
        let unit = AmountUnit::Major(Currency::IRR);
        let day = read(&[(PlacedAt, "2024-04-03")], unit).placed_at.unwrap();
        assert_eq!(day.to_rfc3339(), "2024-04-02T20:30:00+00:00");
        let jalali = read(&[(PlacedAt, "1403-01-15")], unit).placed_at.unwrap();
        assert_eq!(jalali, day);
        let exact = read(&[(PlacedAt, "2024-04-03T10:00:00+02:00")], unit)
            .placed_at
            .unwrap();
        assert_eq!(exact.to_rfc3339(), "2024-04-03T08:00:00+00:00");
    }

    #[test]
    fn toman_amounts_are_rials_times_ten() {
        let row = read(&[(OrderSheetField::UnitPrice, "۱۲٫۵")], AmountUnit::Toman);
        assert_eq!(row.unit_price, Some(125));
    }

    #[test]
    fn unreadable_cells_are_problems_of_their_column() {
        use OrderSheetField::*;
        let row = read(
            &[
                (PlacedAt, "1403/13/01"),
                (Status, "shipped"),
                (Quantity, "2.5"),
                (UnitPrice, "12.5"),
                (Discount, "ده"),
            ],
            AmountUnit::Major(Currency::IRR),
        );
        let problems: Vec<(&str, &str, usize)> = row
            .problems
            .iter()
            .map(|(v, column)| (v.field.as_str(), v.code.as_str(), *column))
            .collect();
        assert_eq!(
            problems,
            vec![
                ("placed_at", "invalid_date", 0),
                ("status", "invalid_value", 1),
                ("quantity", "invalid_number", 2),
                ("unit_price", "too_precise", 3),
                ("discount", "invalid_number", 4),
            ]
        );
        assert_eq!(row.quantity, None);
    }
}
