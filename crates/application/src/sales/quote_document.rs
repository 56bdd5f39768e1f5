//! The printable quote (S-6): what a quote says, in Persian (right to left, Persian
//! digits, Jalali dates, `٬` between thousands) or English (Gregorian dates), laid out
//! by the `documents` crate as an A4 PDF. Reading the quote is a use case like any
//! other (`records:read`, the deal's visibility); drawing the pages needs no database,
//! so the caller does it after the connection is back in the pool.

use chrono::NaiveDate;
use documents::{Align, Column, Direction, TableDocument};
use domain::authz::Permission;
use domain::calendar::{JalaliDate, LocalCalendar};
use domain::commerce::money::grouped_amount;
use domain::commerce::Currency;
use domain::persian::persian_digits;
use domain::sales::quotes::QuoteStatus;
use persistence::db::DbConnection;
use persistence::quotes::QuoteRecord;
use uuid::Uuid;

use super::quotes::{self, QuoteDetails};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;

/// A quote ready to print, and the file name it is downloaded under.
#[derive(Debug, Clone)]
pub struct QuoteDocument {
    pub file_name: String,
    pub document: TableDocument,
}

impl QuoteDocument {
    /// The PDF. Pure computation, a few milliseconds a page.
    pub fn render(&self) -> AppResult<Vec<u8>> {
        self.document
            .render()
            .map_err(|error| AppError::Internal(error.to_string()))
    }
}

/// The quote `id` (`records:read`, its deal within the caller's visibility) as a
/// document in `lang`; dates are the business's (`calendar`).
pub fn quote_document(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    calendar: &LocalCalendar,
    lang: Lang,
) -> AppResult<QuoteDocument> {
    acting.require(Permission::RecordsRead)?;
    let record = quotes::visible(conn, acting, id)?;
    let deal = persistence::deals::find(conn, record.row.deal_id.0)?;
    let customer = persistence::customers::find(conn, deal.row.customer_id.0)?;
    let today = calendar.today(persistence::now());
    let issued = calendar.local_time(record.row.created_at.0).date();
    let details = QuoteDetails::of(record, today)?;
    let parties = Parties {
        customer: customer.row.display_name,
        deal: deal.row.title,
        issued,
    };
    let document = Texts::of(lang).document(&details.record, details.status, &parties)?;
    Ok(QuoteDocument {
        file_name: format!("{}.pdf", details.record.row.number),
        document,
    })
}

/// Who and what the quote is for, and the business date it was made.
struct Parties {
    customer: String,
    deal: String,
    issued: NaiveDate,
}

/// The labels and number forms of one language.
struct Texts {
    lang: Lang,
    title: &'static str,
    number: &'static str,
    issued: &'static str,
    valid_until: &'static str,
    customer: &'static str,
    deal: &'static str,
    status: &'static str,
    columns: [&'static str; 7],
    subtotal: &'static str,
    discount: &'static str,
    tax: &'static str,
    total: &'static str,
}

impl Texts {
    fn of(lang: Lang) -> Texts {
        match lang {
            Lang::Fa => Texts {
                lang,
                title: "پیش‌فاکتور",
                number: "شماره",
                issued: "تاریخ",
                valid_until: "معتبر تا",
                customer: "مشتری",
                deal: "معامله",
                status: "وضعیت",
                columns: [
                    "ردیف",
                    "شرح",
                    "تعداد",
                    "بهای واحد",
                    "تخفیف",
                    "مالیات",
                    "مبلغ",
                ],
                subtotal: "جمع پیش از تخفیف",
                discount: "تخفیف",
                tax: "مالیات",
                total: "مبلغ قابل پرداخت",
            },
            Lang::En => Texts {
                lang,
                title: "Quote",
                number: "Number",
                issued: "Date",
                valid_until: "Valid until",
                customer: "Customer",
                deal: "Deal",
                status: "Status",
                columns: [
                    "#",
                    "Item",
                    "Qty",
                    "Unit price",
                    "Discount",
                    "Tax",
                    "Amount",
                ],
                subtotal: "Subtotal",
                discount: "Discount",
                tax: "Tax",
                total: "Total due",
            },
        }
    }

    fn document(
        &self,
        quote: &QuoteRecord,
        status: QuoteStatus,
        parties: &Parties,
    ) -> AppResult<TableDocument> {
        let row = &quote.row;
        let currency = Currency::parse(&row.currency).ok_or_else(|| {
            AppError::Internal(format!("quote {} has an unknown currency", row.id.0))
        })?;
        let money = |minor: i64| self.amount(minor, currency);
        let weights = [0.75, 3.2, 0.8, 1.5, 1.2, 1.3, 1.6];
        let aligns = [
            Align::Center,
            Align::Start,
            Align::End,
            Align::End,
            Align::End,
            Align::End,
            Align::End,
        ];
        let columns = self
            .columns
            .iter()
            .zip(weights)
            .zip(aligns)
            .map(|((heading, weight), align)| Column {
                heading: (*heading).into(),
                weight,
                align,
            })
            .collect();
        let rows = quote
            .lines
            .iter()
            .map(|line| {
                let name = match self.lang {
                    Lang::En => line.name_en.clone().unwrap_or_else(|| line.name.clone()),
                    Lang::Fa => line.name.clone(),
                };
                vec![
                    self.number_text(&line.position.to_string()),
                    name,
                    self.number_text(&line.quantity.to_string()),
                    money(line.unit_price),
                    money(line.discount),
                    money(line.tax),
                    money(line.total),
                ]
            })
            .collect();
        let currency_name = match (self.lang, currency) {
            (Lang::Fa, Currency::IRR) => "ریال".to_owned(),
            _ => currency.code().to_owned(),
        };
        let with_currency = |minor: i64| format!("{} {currency_name}", money(minor));
        Ok(TableDocument {
            direction: match self.lang {
                Lang::Fa => Direction::RightToLeft,
                Lang::En => Direction::LeftToRight,
            },
            title: format!("{} {}", self.title, row.number),
            header: vec![
                (self.number.into(), row.number.clone()),
                (self.issued.into(), self.date(parties.issued)),
                (self.customer.into(), parties.customer.clone()),
                (self.valid_until.into(), self.date(row.valid_until)),
                (self.deal.into(), parties.deal.clone()),
                (self.status.into(), self.status_name(status).into()),
            ],
            columns,
            rows,
            totals: vec![
                (self.subtotal.into(), with_currency(row.subtotal)),
                (self.discount.into(), with_currency(row.discount_total)),
                (self.tax.into(), with_currency(row.tax_total)),
                (self.total.into(), with_currency(row.total)),
            ],
            notes: row.notes.clone(),
            page_label: match self.lang {
                Lang::Fa => |page, count| persian_digits(&format!("صفحه {page} از {count}")),
                Lang::En => |page, count| format!("Page {page} of {count}"),
            },
        })
    }

    fn number_text(&self, ascii: &str) -> String {
        match self.lang {
            Lang::Fa => persian_digits(ascii),
            Lang::En => ascii.to_owned(),
        }
    }

    fn amount(&self, minor: i64, currency: Currency) -> String {
        match self.lang {
            // The Arabic thousands separator and decimal separator of Persian text.
            Lang::Fa => persian_digits(&grouped_amount(minor, currency, '٬').replace('.', "٫")),
            Lang::En => grouped_amount(minor, currency, ','),
        }
    }

    fn date(&self, date: NaiveDate) -> String {
        match self.lang {
            Lang::Fa => persian_digits(&JalaliDate::from_gregorian(date).to_string()),
            Lang::En => date.format("%Y-%m-%d").to_string(),
        }
    }

    fn status_name(&self, status: QuoteStatus) -> &'static str {
        match (self.lang, status) {
            (Lang::Fa, QuoteStatus::Draft) => "پیش‌نویس",
            (Lang::Fa, QuoteStatus::Sent) => "ارسال‌شده",
            (Lang::Fa, QuoteStatus::Accepted) => "پذیرفته",
            (Lang::Fa, QuoteStatus::Rejected) => "ردشده",
            (Lang::Fa, QuoteStatus::Expired) => "منقضی",
            (Lang::En, QuoteStatus::Draft) => "Draft",
            (Lang::En, QuoteStatus::Sent) => "Sent",
            (Lang::En, QuoteStatus::Accepted) => "Accepted",
            (Lang::En, QuoteStatus::Rejected) => "Rejected",
            (Lang::En, QuoteStatus::Expired) => "Expired",
        }
    }
}
