//! Purchase-history imports (S-8, D-1): a spreadsheet of order lines (or of whole
//! orders, one line each) becomes orders, checked by the rules of `POST /orders` and
//! written all together or not at all.
//!
//! Each row is read with `domain::commerce::order_sheet`; rows sharing an
//! `order_reference` are one order and must agree on the order's fields. The customer
//! is matched by its key (code, e-mail, phone or national code, normalised as the
//! customer rules store them), the product by its SKU; when the options say so, missing
//! customers and products are created (through the customer and catalogue rules). Every
//! order is then priced as `POST /orders` prices it, with the totals the file states
//! checked against the computed ones. Problems are reported per row with the field, the
//! source column and the rule, in the report of the customer import.
//!
//! Writing stores the new products and customers, the orders and their lines (by `COPY`
//! on PostgreSQL), an audit event per order, the buyers' purchase facts, and moves the
//! buyers through the lifecycle rules by replaying the imported purchases in time order
//! (`LifecycleRules::after_history`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::calendar::LocalCalendar;
use domain::commerce::order_sheet::{AmountUnit, OrderCell, OrderSheetField, OrderSheetRow};
use domain::commerce::orders::{
    check_claimed_total, price_lines, LineAmounts, OrderInput, OrderLineInput, OrderStatus,
};
use domain::commerce::products::ProductInput;
use domain::commerce::Currency;
use domain::customers::sheet::{apply_row, SheetCell, SheetField};
use domain::customers::{CustomFieldDefinition, CustomerInput, CustomerKind, LifecycleStage};
use domain::text::{check_text, TextKind};
use domain::validation::FieldViolation;
use persistence::audit::{self, NewAuditEvent};
use persistence::customers::history::{self, LifecycleTransitionRow};
use persistence::customers::matching::find_by_key;
use persistence::customers::CustomerRow;
use persistence::db::DbConnection;
use persistence::orders::{OrderLineRow, OrderRecord, OrderRow};
use persistence::products::ProductRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use tabular::{InputRow, InputSheet};
use utoipa::ToSchema;
use uuid::Uuid;

use super::catalogue;
use crate::acting::Acting;
use crate::customers::import::{
    ColumnUse, ImportOutcome, MatchOn, RejectedRow, RowError, MAX_REPORTED_ROWS,
};
use crate::customers::{Author, Checked, HeldReferences};
use crate::error::{AppError, AppResult};
use crate::i18n;

/// The `source` of imported orders whose options name none.
pub const DEFAULT_SOURCE: &str = "import";

/// The unit of a file's amounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AmountsIn {
    /// The business currency's major unit: rials for IRR.
    #[default]
    Currency,
    /// Toman (ten rials); only when the business currency is IRR.
    Toman,
}

/// How to read a purchase-history file (the `options` part of `POST /orders/imports`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mapping": {"شماره فاکتور": "order_reference", "کد مشتری": "customer", "تاریخ": "placed_at", "کد کالا": "sku", "تعداد": "quantity", "فی": "unit_price"},
    "match_customer_on": "code",
    "source": "pos-vanak",
    "amounts_in": "toman",
    "dry_run": true
}))]
pub struct OrderImportOptions {
    /// Column header → field: `order_reference`, `customer`, `customer_first_name`,
    /// `customer_last_name`, `customer_organization_name`, `placed_at`, `status`,
    /// `channel`, `campaign`, `notes`, `order_total`, `sku`, `product_name`, `quantity`,
    /// `unit_price`, `discount`, `line_total`. Without a mapping, columns whose header is
    /// a field name map to that field.
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
    /// What the `customer` column holds (default `code`).
    #[serde(default)]
    pub match_customer_on: Option<MatchOn>,
    /// The system the orders came from, stored as their `source` with the
    /// `order_reference` as their external reference (default `import`). A reference
    /// already stored for this source is refused, so a file cannot be imported twice.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub amounts_in: AmountsIn,
    /// Create a customer for a key no customer has (a person, or an organization when
    /// `customer_organization_name` is given). Otherwise such rows are rejected.
    #[serde(default)]
    pub create_missing_customers: bool,
    /// Create a product for a SKU no product has, named by `product_name` (else the SKU)
    /// and priced by the row's `unit_price`. Needs `crm:configure`.
    #[serde(default)]
    pub create_missing_products: bool,
    /// Check every row and report, without writing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// The per-row report of an order import (the dry-run response, and the result of an
/// `orders.import` job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "outcome": "imported",
    "dry_run": false,
    "rows": 3,
    "orders": 2,
    "lines": 3,
    "customers_created": 1,
    "products_created": 0,
    "rejected": 0,
    "columns": [{"column": "کد کالا", "field": "sku"}],
    "ignored_columns": [],
    "rejected_rows": [],
    "rejected_rows_truncated": false
}))]
pub struct OrderImportReport {
    pub outcome: ImportOutcome,
    pub dry_run: bool,
    /// Data rows in the file (empty rows are skipped and not counted).
    pub rows: usize,
    /// Orders created (in a dry run or a rejected file: that a real run would create).
    pub orders: usize,
    /// Order lines created (likewise).
    pub lines: usize,
    pub customers_created: usize,
    pub products_created: usize,
    /// Rows rejected.
    pub rejected: usize,
    pub columns: Vec<ColumnUse>,
    pub ignored_columns: Vec<String>,
    /// Every rejected row, in file order (at most 10,000).
    pub rejected_rows: Vec<RejectedRow>,
    pub rejected_rows_truncated: bool,
}

/// Who imports, when, and in which business.
pub struct OrderImportContext {
    pub acting: Acting,
    pub options: OrderImportOptions,
    pub now: DateTime<Utc>,
    /// Local times and dates in the file are in its time zone.
    pub calendar: LocalCalendar,
    pub currency: Currency,
}

impl OrderImportContext {
    /// The context of an import asked for now by `acting`, in the stored business
    /// settings' currency and time zone.
    pub fn load(
        conn: &mut DbConnection,
        acting: Acting,
        options: OrderImportOptions,
    ) -> AppResult<OrderImportContext> {
        Ok(OrderImportContext {
            acting,
            options,
            now: persistence::now(),
            calendar: crate::settings::calendar(conn)?.local(),
            currency: crate::settings::currency(conn)?,
        })
    }

    fn match_on(&self) -> MatchOn {
        self.options.match_customer_on.unwrap_or(MatchOn::Code)
    }

    fn source(&self) -> &str {
        self.options.source.as_deref().unwrap_or(DEFAULT_SOURCE)
    }

    fn unit(&self) -> AmountUnit {
        match self.options.amounts_in {
            AmountsIn::Currency => AmountUnit::Major(self.currency),
            AmountsIn::Toman => AmountUnit::Toman,
        }
    }
}

/// The field each column of a file is imported into.
#[derive(Debug, Clone)]
pub struct OrderColumnPlan {
    headers: Vec<String>,
    fields: Vec<Option<OrderSheetField>>,
}

impl OrderColumnPlan {
    /// Matches `headers` with the mapping (or the field names) and checks the options:
    /// the customer, SKU and date columns are required, no field is fed twice, toman
    /// only for IRR, creating products only for whoever may configure the catalogue.
    pub fn new(headers: &[String], context: &mut OrderImportContext) -> AppResult<Self> {
        let mut violations = Vec::new();
        for (index, header) in headers.iter().enumerate() {
            if let Some(violation) = check_text(header, TextKind::MultiLine) {
                violations.push(FieldViolation::new(
                    "file",
                    violation.code(),
                    format!(
                        "the header of column {}: {}",
                        index + 1,
                        violation.message()
                    ),
                ));
            }
        }
        let options = &mut context.options;
        let mut source = options.source.take();
        let mut tidy = domain::validation::Violations::default();
        tidy.tidy_line("options.source", &mut source, 100);
        options.source = source;
        violations.extend(tidy.0);
        let fields: Vec<Option<OrderSheetField>> = match &options.mapping {
            None => headers.iter().map(|h| OrderSheetField::parse(h)).collect(),
            Some(mapping) => {
                for (header, field) in mapping {
                    let path = format!("options.mapping.{header}");
                    if !headers.contains(header) {
                        violations.push(FieldViolation::new(
                            &path,
                            "unknown_column",
                            "the file has no column with this header",
                        ));
                    }
                    if OrderSheetField::parse(field).is_none() {
                        violations.push(FieldViolation::new(
                            path,
                            "unknown_field",
                            format!("`{field}` is not an order field that can be imported"),
                        ));
                    }
                }
                headers
                    .iter()
                    .map(|h| mapping.get(h).and_then(|f| OrderSheetField::parse(f)))
                    .collect()
            }
        };
        let mut seen: HashMap<OrderSheetField, &str> = HashMap::new();
        for (header, field) in headers.iter().zip(&fields) {
            let Some(field) = field else { continue };
            if let Some(first) = seen.insert(*field, header) {
                violations.push(FieldViolation::new(
                    format!("options.mapping.{header}"),
                    "duplicate_field",
                    format!(
                        "column \"{first}\" is already imported into {}",
                        field.name()
                    ),
                ));
            }
        }
        for required in [
            OrderSheetField::Customer,
            OrderSheetField::PlacedAt,
            OrderSheetField::Sku,
        ] {
            if !seen.contains_key(&required) {
                violations.push(FieldViolation::new(
                    "options.mapping",
                    "required",
                    format!("no column is imported into {}", required.name()),
                ));
            }
        }
        if options.amounts_in == AmountsIn::Toman && context.currency != Currency::IRR {
            violations.push(FieldViolation::new(
                "options.amounts_in",
                "invalid_value",
                format!(
                    "toman is for IRR; the business currency is {}",
                    context.currency
                ),
            ));
        }
        if !violations.is_empty() {
            return Err(AppError::Invalid(violations));
        }
        if options.create_missing_products {
            context.acting.require(Permission::CrmConfigure)?;
        }
        Ok(OrderColumnPlan {
            headers: headers.to_vec(),
            fields,
        })
    }

    /// The column a field is read from.
    fn column_of(&self, field: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.is_some_and(|f| f.name() == field))
    }

    fn columns(&self) -> Vec<ColumnUse> {
        self.headers
            .iter()
            .zip(&self.fields)
            .filter_map(|(column, field)| {
                Some(ColumnUse {
                    column: column.clone(),
                    field: field.as_ref()?.name().to_string(),
                })
            })
            .collect()
    }

    fn ignored(&self) -> Vec<String> {
        self.headers
            .iter()
            .zip(&self.fields)
            .filter(|(_, field)| field.is_none())
            .map(|(header, _)| header.clone())
            .collect()
    }

    /// The mapped, non-empty cells of `row`, and a problem for each holding a control
    /// character (left out, so no rule or report sees its text).
    fn cells<'a>(&self, row: &'a InputRow) -> (Vec<OrderCell<'a>>, Vec<(FieldViolation, usize)>) {
        let mut refused = Vec::new();
        let cells = self
            .fields
            .iter()
            .zip(&row.cells)
            .enumerate()
            .filter_map(|(column, (field, text))| {
                let field = (*field)?;
                if text.trim().is_empty() {
                    return None;
                }
                if let Some(violation) = check_text(text, TextKind::MultiLine) {
                    refused.push((violation.at(field.name()), column));
                    return None;
                }
                Some(OrderCell {
                    field,
                    text,
                    column,
                })
            })
            .collect();
        (cells, refused)
    }
}

/// Who an order is for: a stored customer, or one the import creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buyer {
    Stored(Uuid),
    New(usize),
}

/// What an import that passed writes.
pub struct OrderImportWrites {
    products: Vec<ProductRow>,
    customers: Vec<Checked>,
    orders: Vec<(Buyer, OrderRecord)>,
}

/// An order being assembled from its rows.
struct Draft {
    /// Indices into the rows, in file order; the first holds the order's fields.
    rows: Vec<usize>,
    head: OrderSheetRow,
}

/// Problems per row number, each with the column it came from.
#[derive(Default)]
struct Problems(BTreeMap<usize, Vec<(FieldViolation, Option<usize>)>>);

impl Problems {
    fn add(&mut self, row: usize, violation: FieldViolation, column: Option<usize>) {
        self.0.entry(row).or_default().push((violation, column));
    }

    fn has(&self, row: usize) -> bool {
        self.0.contains_key(&row)
    }
}

/// Checks every row of `rows` (with `progress` told the share done now and then) and
/// answers the report and, when no row was rejected, the writes.
pub fn check<E: From<AppError>>(
    conn: &mut DbConnection,
    context: &OrderImportContext,
    plan: &OrderColumnPlan,
    rows: &[InputRow],
    progress: &mut dyn FnMut(f64) -> Result<(), E>,
) -> Result<(OrderImportReport, Option<OrderImportWrites>), E> {
    let mut problems = Problems::default();
    let unit = context.unit();
    let read: Vec<OrderSheetRow> = rows
        .iter()
        .map(|row| {
            let (cells, refused) = plan.cells(row);
            for (violation, column) in refused {
                problems.add(row.number, violation, Some(column));
            }
            let read = OrderSheetRow::read(&cells, unit, &context.calendar);
            for (violation, column) in &read.problems {
                problems.add(row.number, violation.clone(), Some(*column));
            }
            read
        })
        .collect();
    progress(0.2)?;
    let drafts = group(rows, &read, plan, &mut problems);
    let buyers = match_buyers(conn, context, plan, rows, &drafts, &mut problems)?;
    progress(0.4)?;
    let (products, new_products) = match_products(conn, context, plan, rows, &read, &mut problems)?;
    progress(0.6)?;
    let new_customers =
        check_new_customers(conn, context, plan, rows, &drafts, &buyers, &mut problems)?;
    let taken = taken_references(conn, context, &drafts)?;
    let mut orders = Vec::with_capacity(drafts.len());
    let mut lines = 0;
    for (draft, buyer) in drafts.iter().zip(&buyers) {
        let first = rows[draft.rows[0]].number;
        if let Some(reference) = &draft.head.order_reference {
            if taken.contains(reference) {
                problems.add(
                    first,
                    FieldViolation::new(
                        "order_reference",
                        "already_exists",
                        format!(
                            "an order from source \"{}\" already has this reference",
                            context.source()
                        ),
                    ),
                    plan.column_of("order_reference"),
                );
            }
        }
        lines += draft.rows.len();
        let Some(buyer) = buyer else { continue };
        if let Some(record) = price(
            context,
            plan,
            rows,
            &read,
            draft,
            *buyer,
            &products,
            &mut problems,
        ) {
            orders.push((*buyer, record));
        }
    }
    progress(0.8)?;
    let lang = context.acting.lang;
    let rejected_count = problems.0.len();
    let rejected_rows: Vec<RejectedRow> = problems
        .0
        .into_iter()
        .take(MAX_REPORTED_ROWS)
        .map(|(row, errors)| RejectedRow {
            row,
            errors: errors
                .into_iter()
                .map(|(violation, column)| RowError {
                    column: column
                        .or_else(|| plan.column_of(&violation.field))
                        .and_then(|index| plan.headers.get(index).cloned()),
                    message: i18n::field_message(&violation.code, &violation.message, lang),
                    field: violation.field,
                    code: violation.code,
                })
                .collect(),
        })
        .collect();
    let passed = rejected_count == 0;
    let dry_run = context.options.dry_run;
    let report = OrderImportReport {
        outcome: match (passed, dry_run) {
            (false, _) => ImportOutcome::Rejected,
            (true, true) => ImportOutcome::Valid,
            (true, false) => ImportOutcome::Imported,
        },
        dry_run,
        rows: rows.len(),
        orders: drafts.len(),
        lines,
        customers_created: new_customers.len(),
        products_created: new_products.len(),
        rejected: rejected_count,
        columns: plan.columns(),
        ignored_columns: plan.ignored(),
        rejected_rows_truncated: rejected_count > rejected_rows.len(),
        rejected_rows,
    };
    let writes = passed.then_some(OrderImportWrites {
        products: new_products,
        customers: new_customers,
        orders,
    });
    Ok((report, writes))
}

/// Rows with the same reference form one order, which takes each order-level field
/// from the first row that has it; a later row stating a different value is a problem.
fn group(
    rows: &[InputRow],
    read: &[OrderSheetRow],
    plan: &OrderColumnPlan,
    problems: &mut Problems,
) -> Vec<Draft> {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut by_reference: HashMap<&str, usize> = HashMap::new();
    for (index, row) in read.iter().enumerate() {
        let existing = row
            .order_reference
            .as_deref()
            .and_then(|reference| by_reference.get(reference).copied());
        let Some(draft_index) = existing else {
            if let Some(reference) = row.order_reference.as_deref() {
                by_reference.insert(reference, drafts.len());
            }
            drafts.push(Draft {
                rows: vec![index],
                head: row.clone(),
            });
            continue;
        };
        let draft = &mut drafts[draft_index];
        let first = rows[draft.rows[0]].number;
        draft.rows.push(index);
        let head = &mut draft.head;
        let mut agree = |field: &str, head: &mut Option<String>, value: &Option<String>| match (
            head.as_ref(),
            value,
        ) {
            (_, None) => {}
            (None, Some(value)) => *head = Some(value.clone()),
            (Some(kept), Some(value)) if kept == value => {}
            (Some(_), Some(_)) => problems.add(
                rows[index].number,
                inconsistent(field, first),
                plan.column_of(field),
            ),
        };
        agree("customer", &mut head.customer, &row.customer);
        agree(
            "customer_first_name",
            &mut head.customer_first_name,
            &row.customer_first_name,
        );
        agree(
            "customer_last_name",
            &mut head.customer_last_name,
            &row.customer_last_name,
        );
        agree(
            "customer_organization_name",
            &mut head.customer_organization_name,
            &row.customer_organization_name,
        );
        agree("channel", &mut head.channel, &row.channel);
        agree("campaign", &mut head.campaign, &row.campaign);
        agree("notes", &mut head.notes, &row.notes);
        let mut agree_value = |field: &str, differs: bool| {
            if differs {
                problems.add(
                    rows[index].number,
                    inconsistent(field, first),
                    plan.column_of(field),
                );
            }
        };
        agree_value("placed_at", differs(&mut head.placed_at, row.placed_at));
        agree_value("status", differs(&mut head.status, row.status));
        agree_value(
            "order_total",
            differs(&mut head.order_total, row.order_total),
        );
    }
    drafts
}

/// Takes `value` into `head` when `head` has none; whether they disagree.
fn differs<T: PartialEq + Copy>(head: &mut Option<T>, value: Option<T>) -> bool {
    match (*head, value) {
        (_, None) => false,
        (None, Some(value)) => {
            *head = Some(value);
            false
        }
        (Some(kept), Some(value)) => kept != value,
    }
}

fn inconsistent(field: &str, first: usize) -> FieldViolation {
    FieldViolation::new(
        field,
        "inconsistent_order",
        format!("differs from row {first}, which has the same order reference"),
    )
}

/// The buyer of each draft: the stored customer its key matches, a customer to create
/// (when asked for) or `None` with a problem on the order's first row.
fn match_buyers(
    conn: &mut DbConnection,
    context: &OrderImportContext,
    plan: &OrderColumnPlan,
    rows: &[InputRow],
    drafts: &[Draft],
    problems: &mut Problems,
) -> AppResult<Vec<Option<Buyer>>> {
    let key = context.match_on();
    let column = plan.column_of("customer");
    let values: Vec<Option<String>> = drafts
        .iter()
        .map(|draft| {
            draft
                .head
                .customer
                .as_deref()
                .and_then(|text| key.normalize(text))
        })
        .collect();
    let mut lookup: Vec<String> = values.iter().flatten().cloned().collect();
    lookup.sort();
    lookup.dedup();
    let mut found: HashMap<String, Vec<CustomerRow>> = HashMap::new();
    for (value, row) in find_by_key(conn, key.key(), &lookup)? {
        let rows = found.entry(value).or_default();
        if !rows.iter().any(|r| r.id == row.id) {
            rows.push(row);
        }
    }
    let scope = context.acting.scope();
    let mut new_keys: HashMap<String, usize> = HashMap::new();
    let field = "customer";
    Ok(drafts
        .iter()
        .zip(values)
        .map(|(draft, value)| {
            let first = rows[draft.rows[0]].number;
            let mut problem = |code: &str, message: String| {
                problems.add(first, FieldViolation::new(field, code, message), column);
                None
            };
            let Some(value) = value else {
                return match draft.head.customer {
                    None => problem("required", "names the order's customer".into()),
                    Some(_) => problem("invalid_value", format!("is not a valid {}", key.field())),
                };
            };
            match found.get(&value).map(Vec::as_slice) {
                None | Some([]) if context.options.create_missing_customers => {
                    let next = new_keys.len();
                    Some(Buyer::New(*new_keys.entry(value).or_insert(next)))
                }
                None | Some([]) => {
                    problem("not_found", format!("no customer has this {}", key.field()))
                }
                Some([row]) if !scope.can_see(row) => problem(
                    "not_allowed",
                    "the matching customer is outside your visibility".into(),
                ),
                Some([row]) if row.erased_at.is_some() => problem(
                    "erased",
                    "the matching customer's personal data was erased".into(),
                ),
                Some([row]) => Some(Buyer::Stored(row.id.0)),
                Some(_) => problem(
                    "ambiguous_match",
                    "several customers match this order".into(),
                ),
            }
        })
        .collect())
}

/// The customers the import creates, one per new key in order of first appearance,
/// checked by the customer rules with the defaults of `POST /customers`. A customer
/// that breaks one rejects the first row of each of its orders.
fn check_new_customers(
    conn: &mut DbConnection,
    context: &OrderImportContext,
    plan: &OrderColumnPlan,
    rows: &[InputRow],
    drafts: &[Draft],
    buyers: &[Option<Buyer>],
    problems: &mut Problems,
) -> AppResult<Vec<Checked>> {
    let mut firsts: Vec<(usize, &Draft)> = Vec::new();
    let mut rows_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (draft, buyer) in drafts.iter().zip(buyers) {
        if let Some(Buyer::New(index)) = buyer {
            if *index == firsts.len() {
                firsts.push((*index, draft));
            }
            rows_of
                .entry(*index)
                .or_default()
                .push(rows[draft.rows[0]].number);
        }
    }
    if firsts.is_empty() {
        return Ok(Vec::new());
    }
    let key = context.match_on();
    let definitions: Vec<CustomFieldDefinition> = crate::customers::definitions(conn)?;
    let mut inputs: Vec<CustomerInput> = firsts
        .iter()
        .map(|(_, draft)| new_customer(key, &draft.head, &definitions))
        .collect();
    crate::customers::apply_defaults_many(conn, &mut inputs, &context.acting)?;
    let input_refs: Vec<&CustomerInput> = inputs.iter().collect();
    let assignments = crate::customers::check_assignments(conn, &context.acting, &input_refs)?;
    let today = context.calendar.today(context.now);
    let checked = crate::customers::check_many(
        conn,
        inputs
            .into_iter()
            .map(|input| (input, HeldReferences::default()))
            .collect(),
        Author::Caller(&context.acting),
        today,
        &definitions,
    )?;
    let mut created = Vec::with_capacity(checked.len());
    for ((index, _), (result, assignment)) in
        firsts.iter().zip(checked.into_iter().zip(assignments))
    {
        let mut violations = assignment.0;
        match result {
            Ok(checked) => created.push(checked),
            Err(errors) => violations.extend(errors),
        }
        for violation in violations {
            let field = customer_field(&violation.field);
            for row in &rows_of[index] {
                problems.add(
                    *row,
                    FieldViolation::new(field.clone(), &violation.code, &violation.message),
                    plan.column_of(&field),
                );
            }
        }
    }
    Ok(created)
}

/// A new customer with the order's key and names.
fn new_customer(
    key: MatchOn,
    head: &OrderSheetRow,
    definitions: &[CustomFieldDefinition],
) -> CustomerInput {
    let kind = if head.customer_organization_name.is_some() {
        CustomerKind::Organization
    } else {
        CustomerKind::Person
    };
    let key_field = match (key, kind) {
        (MatchOn::Code, _) => SheetField::Code,
        (MatchOn::Email, _) => SheetField::Email(1),
        (MatchOn::Phone, _) => SheetField::Phone(1),
        (MatchOn::NationalCode, CustomerKind::Person) => SheetField::NationalCode,
        (MatchOn::NationalCode, CustomerKind::Organization) => SheetField::NationalId,
    };
    let texts = [
        (key_field, head.customer.as_deref()),
        (SheetField::FirstName, head.customer_first_name.as_deref()),
        (SheetField::LastName, head.customer_last_name.as_deref()),
        (
            SheetField::OrganizationName,
            head.customer_organization_name.as_deref(),
        ),
    ];
    let cells: Vec<SheetCell<'_>> = texts
        .iter()
        .filter_map(|(field, text)| {
            Some(SheetCell {
                field,
                text: (*text)?,
                column: 0,
            })
        })
        .collect();
    apply_row(CustomerInput::empty(kind), &cells, definitions).input
}

/// The order-import field a customer rule's violation is reported on.
fn customer_field(field: &str) -> String {
    match field {
        "first_name" | "last_name" | "organization_name" => format!("customer_{field}"),
        "code" | "national_code" | "national_id" => "customer".into(),
        other if other.starts_with("emails") || other.starts_with("phones") => "customer".into(),
        other => format!("customer.{other}"),
    }
}

/// The product of each row by SKU (stored or created), and the products to create.
fn match_products(
    conn: &mut DbConnection,
    context: &OrderImportContext,
    plan: &OrderColumnPlan,
    rows: &[InputRow],
    read: &[OrderSheetRow],
    problems: &mut Problems,
) -> AppResult<(Vec<Option<ProductRow>>, Vec<ProductRow>)> {
    let column = plan.column_of("sku");
    let skus: Vec<Option<String>> = read
        .iter()
        .map(|row| row.sku.as_deref().map(stored_sku))
        .collect();
    let mut lookup: Vec<String> = skus.iter().flatten().cloned().collect();
    lookup.sort();
    lookup.dedup();
    let mut stored: HashMap<String, ProductRow> =
        persistence::products::find_by_skus(conn, &lookup)?
            .into_iter()
            .map(|row| (row.sku.clone(), row))
            .collect();
    let definitions = if context.options.create_missing_products {
        catalogue::product_definitions(conn)?
    } else {
        Vec::new()
    };
    let mut created = Vec::new();
    let mut products = Vec::with_capacity(read.len());
    for ((row, sheet), sku) in rows.iter().zip(read).zip(skus) {
        let Some(sku) = sku else {
            problems.add(
                row.number,
                FieldViolation::new("sku", "required", "names the line's product"),
                column,
            );
            products.push(None);
            continue;
        };
        if let Some(product) = stored.get(&sku) {
            if product.currency != context.currency.code() {
                problems.add(
                    row.number,
                    FieldViolation::new(
                        "sku",
                        "currency_mismatch",
                        format!(
                            "the product is priced in {}, the business in {}",
                            product.currency, context.currency
                        ),
                    ),
                    column,
                );
            }
            products.push(Some(product.clone()));
            continue;
        }
        if !context.options.create_missing_products {
            problems.add(
                row.number,
                FieldViolation::new("sku", "not_found", "no product has this SKU"),
                column,
            );
            products.push(None);
            continue;
        }
        let Some(unit_price) = sheet.unit_price else {
            problems.add(
                row.number,
                FieldViolation::new(
                    "unit_price",
                    "required",
                    "prices the product the import creates for this SKU",
                ),
                plan.column_of("unit_price"),
            );
            products.push(None);
            continue;
        };
        let input = ProductInput {
            sku: sku.clone(),
            name: sheet.product_name.clone().unwrap_or_else(|| sku.clone()),
            name_en: None,
            description: None,
            category_id: None,
            unit_price,
            unit_cost: None,
            currency: Some(context.currency),
            active: true,
            custom_fields: Default::default(),
        };
        let custom = catalogue::checked_custom_fields(&input, &definitions);
        match input.validated().and_then(|input| {
            Ok(ProductInput {
                custom_fields: custom?,
                ..input
            })
        }) {
            Ok(input) => {
                let product = catalogue::new_product_row(input, context.currency, context.now);
                stored.insert(sku, product.clone());
                created.push(product.clone());
                products.push(Some(product));
            }
            Err(violations) => {
                for violation in violations {
                    let field = match violation.field.as_str() {
                        "name" => "product_name".to_string(),
                        other => other.to_string(),
                    };
                    problems.add(
                        row.number,
                        FieldViolation::new(&field, violation.code, violation.message),
                        plan.column_of(&field),
                    );
                }
                products.push(None);
            }
        }
    }
    Ok((products, created))
}

/// A SKU as the catalogue stores it.
fn stored_sku(text: &str) -> String {
    domain::persian::normalize_digits(text.trim())
}

/// The references of the file already stored for its source.
fn taken_references(
    conn: &mut DbConnection,
    context: &OrderImportContext,
    drafts: &[Draft],
) -> AppResult<std::collections::HashSet<String>> {
    let references: Vec<String> = drafts
        .iter()
        .filter_map(|draft| draft.head.order_reference.clone())
        .collect();
    Ok(
        persistence::orders::taken_references(conn, context.source(), &references)?
            .into_iter()
            .collect(),
    )
}

/// The order of `draft`, priced and checked by the rules of `POST /orders` (inactive
/// products are accepted: history names products no longer sold); `None` when a row
/// of it has a problem.
#[allow(clippy::too_many_arguments)]
fn price(
    context: &OrderImportContext,
    plan: &OrderColumnPlan,
    rows: &[InputRow],
    read: &[OrderSheetRow],
    draft: &Draft,
    buyer: Buyer,
    products: &[Option<ProductRow>],
    problems: &mut Problems,
) -> Option<OrderRecord> {
    let number = |line: usize| rows[draft.rows[line]].number;
    let first = number(0);
    let head = &draft.head;
    if draft
        .rows
        .iter()
        .any(|&index| problems.has(rows[index].number))
    {
        return None;
    }
    if head.placed_at.is_none() {
        problems.add(
            first,
            FieldViolation::new("placed_at", "required", "says when the order was placed"),
            plan.column_of("placed_at"),
        );
        return None;
    }
    let line_products: Vec<&ProductRow> = draft
        .rows
        .iter()
        .map(|&index| products[index].as_ref())
        .collect::<Option<_>>()?;
    let input = OrderInput {
        customer_id: Uuid::nil(),
        placed_at: head.placed_at,
        status: head.status.unwrap_or(OrderStatus::Fulfilled),
        channel: head.channel.clone(),
        campaign: head.campaign.clone(),
        source: head
            .order_reference
            .as_ref()
            .map(|_| context.source().to_string()),
        external_reference: head.order_reference.clone(),
        currency: Some(context.currency),
        lines: draft
            .rows
            .iter()
            .zip(&line_products)
            .map(|(&index, product)| OrderLineInput {
                product_id: product.id.0,
                quantity: read[index].quantity.unwrap_or(1),
                unit_price: Some(read[index].unit_price.unwrap_or(product.unit_price)),
                discount: read[index].discount.unwrap_or(0),
            })
            .collect(),
        total: head.order_total,
        notes: head.notes.clone(),
    };
    // Reports a violation of the order rules on the row and column it came from.
    let mut report = |violation: FieldViolation| {
        let (row, field) = match violation.field.strip_prefix("lines[") {
            Some(rest) => {
                let (index, field) = rest.split_once("].").unwrap_or((rest, ""));
                let line = index.trim_end_matches(']').parse().unwrap_or(0);
                (number(line.min(draft.rows.len() - 1)), field.to_string())
            }
            None => (first, violation.field.clone()),
        };
        let field = match field.as_str() {
            "total" => "order_total".to_string(),
            "external_reference" | "source" => "order_reference".to_string(),
            "" | "lines" => "order_reference".to_string(),
            _ => field,
        };
        let column = plan.column_of(&field);
        problems.add(
            row,
            FieldViolation::new(field, violation.code, violation.message),
            column,
        );
    };
    let input = match input.validated(context.now) {
        Ok(input) => input,
        Err(violations) => {
            violations.into_iter().for_each(&mut report);
            return None;
        }
    };
    let amounts: Vec<LineAmounts> = input
        .lines
        .iter()
        .map(|line| LineAmounts {
            quantity: line.quantity,
            unit_price: line.unit_price.unwrap_or_default(),
            discount: line.discount,
        })
        .collect();
    let (line_totals, totals) = match price_lines(&amounts) {
        Ok(priced) => priced,
        Err(violations) => {
            violations.into_iter().for_each(&mut report);
            return None;
        }
    };
    let mut ok = true;
    for (line, (&index, total)) in draft.rows.iter().zip(&line_totals).enumerate() {
        if let Some(claimed) = read[index].line_total {
            if claimed != *total {
                ok = false;
                report(FieldViolation::new(
                    format!("lines[{line}].line_total"),
                    "mismatch",
                    format!("the line's total is {total}, not {claimed}"),
                ));
            }
        }
    }
    if let Err(violation) = check_claimed_total(input.total, totals.total) {
        ok = false;
        report(violation);
    }
    if !ok {
        return None;
    }
    let id = Uuid::now_v7();
    let stamp = DbTime(context.now);
    let row = OrderRow {
        id: DbUuid(id),
        customer_id: DbUuid(match buyer {
            Buyer::Stored(id) => id,
            Buyer::New(_) => Uuid::nil(),
        }),
        placed_at: DbTime(input.placed_at.unwrap_or(context.now)),
        status: input.status.as_str().to_string(),
        channel: input.channel,
        campaign: input.campaign,
        source: input.source,
        external_reference: input.external_reference,
        currency: context.currency.code().to_string(),
        subtotal: totals.subtotal,
        discount_total: totals.discount_total,
        total: totals.total,
        refunded_total: 0,
        notes: input.notes,
        created_by: context.acting.user_id.map(DbUuid),
        created_at: stamp,
        updated_at: stamp,
        version: 1,
    };
    let lines = amounts
        .iter()
        .zip(&line_totals)
        .zip(&line_products)
        .enumerate()
        .map(|(position, ((amount, total), product))| OrderLineRow {
            id: DbUuid(Uuid::now_v7()),
            order_id: DbUuid(id),
            position: position as i32,
            product_id: product.id,
            quantity: amount.quantity,
            unit_price: amount.unit_price,
            unit_cost: product.unit_cost,
            discount: amount.discount,
            total: *total,
            returned_quantity: 0,
            refunded: 0,
        })
        .collect();
    Some(OrderRecord { row, lines })
}

/// Checks every row of `sheet` as an import with `context` would and reports what it
/// would do; nothing is written (`records:import`).
pub fn dry_run(
    conn: &mut DbConnection,
    acting: Acting,
    options: OrderImportOptions,
    sheet: &InputSheet,
) -> AppResult<OrderImportReport> {
    acting.require(Permission::RecordsImport)?;
    let mut context = OrderImportContext::load(conn, acting, options)?;
    let plan = OrderColumnPlan::new(&sheet.headers, &mut context)?;
    Ok(check::<AppError>(conn, &context, &plan, &sheet.rows, &mut |_| Ok(()))?.0)
}

/// Writes an import that passed; call it inside one transaction, which the caller
/// commits only when everything is written.
pub fn write(
    conn: &mut DbConnection,
    context: &OrderImportContext,
    writes: OrderImportWrites,
) -> AppResult<()> {
    let acting = &context.acting;
    for product in &writes.products {
        catalogue::insert_product(conn, acting, product)?;
    }
    let new_ids = crate::customers::create_many(conn, acting, &writes.customers, "imported")?;
    let mut buyers: Vec<Uuid> = Vec::new();
    let mut records = Vec::with_capacity(writes.orders.len());
    for (buyer, mut record) in writes.orders {
        let id = match buyer {
            Buyer::Stored(id) => id,
            Buyer::New(index) => new_ids[index],
        };
        record.row.customer_id = DbUuid(id);
        buyers.push(id);
        records.push(record);
    }
    buyers.sort();
    buyers.dedup();
    // Ordered with every other order write by the buyers' row locks.
    persistence::customers::lock_for_update(conn, &buyers)?;
    let earlier = persistence::orders::purchase_times(conn, &buyers)?;
    persistence::orders::insert_many(conn, &records)?;
    persistence::orders::refresh_facts(conn, &buyers)?;
    let mut imported: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    for record in &records {
        let purchase = OrderStatus::parse(&record.row.status).is_some_and(OrderStatus::is_purchase);
        if purchase {
            imported
                .entry(record.row.customer_id.0)
                .or_default()
                .push(record.row.placed_at.0);
        }
    }
    apply_lifecycle(conn, acting, &earlier, &imported, context.now)?;
    // Last, so that the audit chain's lock is held only until the commit.
    audit::record_many(
        conn,
        &acting.audit_actor(),
        records
            .iter()
            .map(|record| NewAuditEvent {
                action: "order.import",
                resource_type: "order",
                resource_id: Some(record.row.id.0.to_string()),
                changes: Some(record.row.audit_snapshot()),
            })
            .collect(),
    )?;
    Ok(())
}

/// Moves each buyer through the lifecycle rules by its imported purchases.
fn apply_lifecycle(
    conn: &mut DbConnection,
    acting: &Acting,
    earlier: &HashMap<Uuid, Vec<DateTime<Utc>>>,
    imported: &HashMap<Uuid, Vec<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (rules, _) = super::lifecycle::current(conn)?;
    let ids: Vec<Uuid> = imported.keys().copied().collect();
    let stages = persistence::customers::stages(conn, &ids)?;
    let mut moves: BTreeMap<&'static str, Vec<Uuid>> = BTreeMap::new();
    let mut transitions = Vec::new();
    let mut events = Vec::new();
    for (customer, purchases) in imported {
        let Some(stage) = stages.get(customer) else {
            continue;
        };
        let Some(from) = LifecycleStage::parse(stage) else {
            return Err(AppError::Internal(format!(
                "customer {customer} has stage {stage:?}"
            )));
        };
        let before = earlier.get(customer).map_or(&[][..], Vec::as_slice);
        let Some((to, rule)) = rules.after_history(from, before, purchases, now) else {
            continue;
        };
        moves.entry(to.as_str()).or_default().push(*customer);
        transitions.push(LifecycleTransitionRow {
            id: DbUuid(Uuid::now_v7()),
            customer_id: DbUuid(*customer),
            from_stage: Some(stage.clone()),
            to_stage: to.as_str().to_string(),
            reason: rule.reason().to_string(),
            changed_by: acting.user_id.map(DbUuid),
            changed_at: DbTime(now),
        });
        events.push(NewAuditEvent {
            action: "customer.lifecycle_rule",
            resource_type: "customer",
            resource_id: Some(customer.to_string()),
            changes: Some(serde_json::json!({
                "lifecycle_stage": {"before": stage, "after": to.as_str()},
                "rule": rule.reason(),
            })),
        });
    }
    for (stage, ids) in &moves {
        history::set_stage(conn, ids, stage, now)?;
    }
    crate::customers::record_transitions(conn, acting, &transitions)?;
    audit::record_many(conn, &acting.audit_actor(), events)?;
    Ok(())
}
