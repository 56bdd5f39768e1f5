//! Product imports: a spreadsheet's rows mapped onto products of the catalogue, each
//! checked by the rules of `POST /products` (`ProductInput::validated`, a unique SKU, a
//! category that exists), and written all together or not at all.
//!
//! Rows are matched to stored products by SKU: in `create` mode a SKU already in the
//! catalogue rejects the row, in `upsert` mode the row updates that product (empty cells
//! leave its fields as they are). The same SKU twice in a file rejects the later row.
//! Amounts are read in the currency's major unit as people write them (Persian digits,
//! thousands separators) by `domain::commerce::money::parse_major_amount`. Categories are
//! named by their name (names are unique across the tree) or by their path from the
//! root, `نوشیدنی/چای` or `نوشیدنی > چای`.
//!
//! The report is the customer import's ([`ImportReport`]): every rejected row with the
//! field, the source column and the rule. **All or nothing:** when any row is rejected
//! nothing is written; otherwise [`write`] stores every row in the caller's transaction.

use std::collections::{BTreeMap, HashMap};

use domain::authz::Permission;
use domain::commerce::money::parse_major_amount;
use domain::commerce::products::ProductInput;
use domain::commerce::Currency;
use domain::persian::{normalize_digits, search_key};
use domain::text::{check_text, TextKind};
use domain::validation::FieldViolation;
use persistence::db::DbConnection;
use persistence::products::{CategoryRow, ProductRow};
use serde::{Deserialize, Serialize};
use tabular::{InputRow, InputSheet};
use utoipa::ToSchema;
use uuid::Uuid;

use super::catalogue::{insert_checked, product_input, update_checked};
use crate::acting::Acting;
use crate::customers::import::{
    ColumnUse, ImportOutcome, ImportReport, RejectedRow, RowError, MAX_REPORTED_ROWS,
};
use crate::error::{AppError, AppResult};
use crate::i18n;

/// Whether rows only add products or may also change existing ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductImportMode {
    /// Every row is a new product; a row whose SKU is taken is rejected.
    #[default]
    Create,
    /// A row whose SKU is in the catalogue updates that product; other rows add one.
    Upsert,
}

/// How to read the file (the `options` part of `POST /products/imports`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mapping": {"کد کالا": "sku", "نام": "name_fa", "قیمت": "unit_price"},
    "mode": "upsert",
    "dry_run": true
}))]
pub struct ProductImportOptions {
    /// Column header → product field: `sku`, `name_fa`, `name_en`, `description`,
    /// `category`, `unit_price`, `unit_cost`, `currency`, `active`. Columns left out are
    /// ignored. Without a mapping, columns whose header is a field name map to that field.
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub mode: ProductImportMode,
    /// Check every row and report, without writing anything (answers 200 with the
    /// report instead of 202 with a job).
    #[serde(default)]
    pub dry_run: bool,
}

/// A product field a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Sku,
    NameFa,
    NameEn,
    Description,
    Category,
    UnitPrice,
    UnitCost,
    Currency,
    Active,
}

const FIELDS: [Field; 9] = [
    Field::Sku,
    Field::NameFa,
    Field::NameEn,
    Field::Description,
    Field::Category,
    Field::UnitPrice,
    Field::UnitCost,
    Field::Currency,
    Field::Active,
];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Sku => "sku",
            Field::NameFa => "name_fa",
            Field::NameEn => "name_en",
            Field::Description => "description",
            Field::Category => "category",
            Field::UnitPrice => "unit_price",
            Field::UnitCost => "unit_cost",
            Field::Currency => "currency",
            Field::Active => "active",
        }
    }

    fn parse(name: &str) -> Option<Field> {
        FIELDS.into_iter().find(|field| field.name() == name.trim())
    }

    /// The import field a rule of `ProductInput` is about (its own names differ for the
    /// name and the category).
    fn of_input_field(field: &str) -> &str {
        match field {
            "name" => Field::NameFa.name(),
            "category_id" => Field::Category.name(),
            other => other,
        }
    }
}

/// The field each column of a file is imported into.
#[derive(Debug, Clone)]
pub struct ProductColumnPlan {
    headers: Vec<String>,
    fields: Vec<Option<Field>>,
}

impl ProductColumnPlan {
    /// Matches `headers` with the mapping of `options` (or with field names when there
    /// is none). Unknown mapped headers or fields, a field fed by two columns and a file
    /// without a `sku` column are reported under `options.…`.
    pub fn new(headers: &[String], options: &ProductImportOptions) -> AppResult<Self> {
        let mut violations = Vec::new();
        // Headers end up in the report, so one holding a control character refuses the
        // file rather than being echoed.
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
        let fields: Vec<Option<Field>> = match &options.mapping {
            None => headers.iter().map(|h| Field::parse(h)).collect(),
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
                    if Field::parse(field).is_none() {
                        violations.push(FieldViolation::new(
                            path,
                            "unknown_field",
                            format!("`{field}` is not a product field that can be imported"),
                        ));
                    }
                }
                headers
                    .iter()
                    .map(|h| mapping.get(h).and_then(|f| Field::parse(f)))
                    .collect()
            }
        };
        let mut seen: HashMap<Field, &str> = HashMap::new();
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
        if !seen.contains_key(&Field::Sku) {
            violations.push(FieldViolation::new(
                "options.mapping",
                "required",
                "no column is imported into sku, which identifies each product",
            ));
        }
        if violations.is_empty() {
            Ok(ProductColumnPlan {
                headers: headers.to_vec(),
                fields,
            })
        } else {
            Err(AppError::Invalid(violations))
        }
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

    /// The column of `field` and the row's non-empty text in it.
    fn cell<'a>(&self, row: &'a InputRow, field: Field) -> Option<(usize, &'a str)> {
        let column = self.fields.iter().position(|f| *f == Some(field))?;
        let text = row.cells.get(column)?.as_str();
        (!text.trim().is_empty()).then_some((column, text))
    }
}

/// A SKU as `ProductInput::validated` stores it, to match rows with stored products.
fn sku_key(text: &str) -> String {
    normalize_digits(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The catalogue's categories by name and by id, to resolve the `category` cells.
struct Categories {
    by_key: HashMap<String, CategoryRow>,
    by_id: HashMap<Uuid, CategoryRow>,
}

impl Categories {
    fn load(conn: &mut DbConnection) -> AppResult<Categories> {
        let all = persistence::products::all_categories(conn)?;
        Ok(Categories {
            by_key: all
                .iter()
                .map(|row| (row.name_key.clone(), row.clone()))
                .collect(),
            by_id: all.into_iter().map(|row| (row.id.0, row)).collect(),
        })
    }

    /// The category a cell names: by its whole text as a name, else as a path from the
    /// root with `/` or `>` between the names.
    fn resolve(&self, text: &str) -> Result<Uuid, FieldViolation> {
        if let Some(row) = self.by_key.get(&search_key(text)) {
            return Ok(row.id.0);
        }
        let path: Vec<String> = text.split(['/', '>']).map(search_key).collect();
        let not_found = || {
            FieldViolation::new(
                "category",
                "not_found",
                format!(
                    "there is no product category named or at \"{}\"",
                    text.trim()
                ),
            )
        };
        let leaf = match path.as_slice() {
            [_, .., last] => self.by_key.get(last).ok_or_else(not_found)?,
            _ => return Err(not_found()),
        };
        // The leaf's ancestors, nearest first, must be the path read backwards.
        let mut chain = vec![leaf];
        while let Some(parent) = chain.last().and_then(|row| row.parent_id) {
            match self.by_id.get(&parent.0) {
                Some(row) if chain.len() <= path.len() => chain.push(row),
                _ => break,
            }
        }
        let names: Vec<&str> = chain
            .iter()
            .rev()
            .map(|row| row.name_key.as_str())
            .collect();
        if names == path.iter().map(String::as_str).collect::<Vec<_>>() {
            Ok(leaf.id.0)
        } else {
            Err(not_found())
        }
    }
}

/// The writes of an import that passed.
pub struct ProductWrites {
    creates: Vec<ProductInput>,
    updates: Vec<(ProductRow, ProductInput)>,
}

/// Checks every row of `sheet` against `plan`; returns the report and, when no row was
/// rejected, the writes. `business_currency` is the currency of products without one.
pub fn check(
    conn: &mut DbConnection,
    acting: &Acting,
    options: &ProductImportOptions,
    plan: &ProductColumnPlan,
    sheet: &InputSheet,
    business_currency: Currency,
) -> AppResult<(ImportReport, Option<ProductWrites>)> {
    let categories = Categories::load(conn)?;
    let definitions = super::catalogue::product_definitions(conn)?;
    let skus: Vec<String> = sheet
        .rows
        .iter()
        .filter_map(|row| plan.cell(row, Field::Sku))
        .map(|(_, text)| sku_key(text))
        .collect();
    let stored: HashMap<String, ProductRow> = persistence::products::find_by_skus(conn, &skus)?
        .into_iter()
        .map(|row| (row.sku.clone(), row))
        .collect();
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    let mut writes = ProductWrites {
        creates: Vec::new(),
        updates: Vec::new(),
    };
    let (mut rejected, mut rejected_count) = (Vec::new(), 0);
    for row in &sheet.rows {
        let mut problems: Vec<(FieldViolation, Option<usize>)> = Vec::new();
        let target = match plan.cell(row, Field::Sku) {
            None => {
                problems.push((
                    FieldViolation::new("sku", "required", "must not be blank"),
                    None,
                ));
                None
            }
            Some((column, text)) => {
                let key = sku_key(text);
                if let Some(first) = first_row_of.get(&key) {
                    problems.push((
                        FieldViolation::new(
                            "sku",
                            "duplicate_in_file",
                            format!("row {first} of the file has the same value"),
                        ),
                        Some(column),
                    ));
                } else {
                    first_row_of.insert(key.clone(), row.number);
                }
                match (stored.get(&key), options.mode) {
                    (Some(_), ProductImportMode::Create) => {
                        problems.push((
                            FieldViolation::new(
                                "sku",
                                "already_exists",
                                "a product with this SKU already exists; import with mode upsert to update it",
                            ),
                            Some(column),
                        ));
                        None
                    }
                    (found, _) => found,
                }
            }
        };
        let input = apply_row(
            plan,
            row,
            target,
            &categories,
            business_currency,
            &mut problems,
        )?;
        // The product fields' rules (a required one the file cannot fill) as for
        // `POST /products`.
        let custom = super::catalogue::checked_custom_fields(&input, &definitions);
        let checked = input
            .validated()
            .and_then(|input| {
                Ok(ProductInput {
                    custom_fields: custom?,
                    ..input
                })
            })
            .map_err(|violations| {
                for mut violation in violations {
                    violation.field = Field::of_input_field(&violation.field).to_string();
                    let column = Field::parse(&violation.field)
                        .and_then(|field| plan.cell(row, field))
                        .map(|(column, _)| column);
                    problems.push((violation, column));
                }
            })
            .ok();
        match checked {
            Some(input) if problems.is_empty() => match target {
                Some(current) => writes.updates.push((current.clone(), input)),
                None => writes.creates.push(input),
            },
            _ => {
                rejected_count += 1;
                if rejected.len() < MAX_REPORTED_ROWS {
                    rejected.push(rejected_row(plan, row.number, problems, acting));
                }
            }
        }
    }
    let passed = rejected_count == 0;
    let report = ImportReport {
        outcome: match (passed, options.dry_run) {
            (false, _) => ImportOutcome::Rejected,
            (true, true) => ImportOutcome::Valid,
            (true, false) => ImportOutcome::Imported,
        },
        dry_run: options.dry_run,
        rows: sheet.rows.len(),
        created: if passed { writes.creates.len() } else { 0 },
        updated: if passed { writes.updates.len() } else { 0 },
        rejected: rejected_count,
        columns: plan.columns(),
        ignored_columns: plan.ignored(),
        rejected_rows_truncated: rejected_count > rejected.len(),
        rejected_rows: rejected,
    };
    Ok((report, passed.then_some(writes)))
}

/// The row's cells applied to the product it updates or to a new one. Cells that
/// cannot be read, and a new product without a price, are reported in `problems`; such
/// a cell leaves its field as it was.
fn apply_row(
    plan: &ProductColumnPlan,
    row: &InputRow,
    target: Option<&ProductRow>,
    categories: &Categories,
    business_currency: Currency,
    problems: &mut Vec<(FieldViolation, Option<usize>)>,
) -> AppResult<ProductInput> {
    let mut input = match target {
        Some(current) => product_input(current)?,
        None => ProductInput {
            sku: String::new(),
            name: String::new(),
            name_en: None,
            description: None,
            category_id: None,
            unit_price: 0,
            unit_cost: None,
            currency: None,
            active: true,
            custom_fields: Default::default(),
        },
    };
    let problem = |field: Field, column: usize, code: &str, message: String| {
        (
            FieldViolation::new(field.name(), code, message),
            Some(column),
        )
    };
    // The currency first: the amounts are read in it.
    if let Some((column, text)) = plan.cell(row, Field::Currency) {
        match Currency::parse(text) {
            Some(currency) => input.currency = Some(currency),
            None => problems.push(problem(
                Field::Currency,
                column,
                "unknown_currency",
                format!("\"{}\" is not an ISO 4217 currency code", text.trim()),
            )),
        }
    }
    let currency = input.currency.unwrap_or(business_currency);
    let mut price_given = target.is_some();
    for field in FIELDS {
        let Some((column, text)) = plan.cell(row, field) else {
            continue;
        };
        match field {
            Field::Sku => input.sku = text.to_string(),
            Field::NameFa => input.name = text.to_string(),
            Field::NameEn => input.name_en = Some(text.to_string()),
            Field::Description => input.description = Some(text.to_string()),
            Field::Category => match categories.resolve(text) {
                Ok(id) => input.category_id = Some(id),
                Err(violation) => problems.push((violation, Some(column))),
            },
            Field::UnitPrice | Field::UnitCost => match parse_major_amount(text, currency) {
                Ok(amount) if field == Field::UnitPrice => {
                    input.unit_price = amount;
                    price_given = true;
                }
                Ok(amount) => input.unit_cost = Some(amount),
                Err(err) => {
                    price_given |= field == Field::UnitPrice;
                    problems.push(problem(field, column, err.code(), err.message()));
                }
            },
            Field::Currency => {}
            Field::Active => match text.trim().to_lowercase().as_str() {
                "true" | "yes" | "1" | "بله" => input.active = true,
                "false" | "no" | "0" | "خیر" => input.active = false,
                _ => problems.push(problem(
                    field,
                    column,
                    "invalid_type",
                    "must be true or false".to_string(),
                )),
            },
        }
    }
    if !price_given {
        problems.push((
            FieldViolation::new(
                Field::UnitPrice.name(),
                "required",
                "a new product needs its unit price",
            ),
            None,
        ));
    }
    input.currency = Some(currency);
    Ok(input)
}

fn rejected_row(
    plan: &ProductColumnPlan,
    number: usize,
    problems: Vec<(FieldViolation, Option<usize>)>,
    acting: &Acting,
) -> RejectedRow {
    RejectedRow {
        row: number,
        errors: problems
            .into_iter()
            .map(|(violation, column)| RowError {
                column: column.and_then(|index| plan.headers.get(index).cloned()),
                message: i18n::field_message(&violation.code, &violation.message, acting.lang),
                field: violation.field,
                code: violation.code,
            })
            .collect(),
    }
}

/// Checks every row of `sheet` as an import with `options` would and reports what it
/// would do; nothing is written (`records:import` and `crm:configure`).
pub fn dry_run(
    conn: &mut DbConnection,
    acting: &Acting,
    options: &ProductImportOptions,
    sheet: &InputSheet,
    business_currency: Currency,
) -> AppResult<ImportReport> {
    require(acting)?;
    let plan = ProductColumnPlan::new(&sheet.headers, options)?;
    Ok(check(conn, acting, options, &plan, sheet, business_currency)?.0)
}

/// The permissions of a product import: importing, and changing the catalogue, which
/// is what every row does.
pub fn require(acting: &Acting) -> AppResult<()> {
    acting.require(Permission::RecordsImport)?;
    acting.require(Permission::CrmConfigure)
}

/// Writes an import that passed, each product audited as `POST /products` and `PATCH
/// /products/{id}` audit it; call it inside one transaction, which the caller commits
/// only when everything is written. A SKU taken or a product changed since the check is
/// a conflict, which rolls everything back.
pub fn write(
    conn: &mut DbConnection,
    acting: &Acting,
    writes: &ProductWrites,
    business_currency: Currency,
) -> AppResult<()> {
    require(acting)?;
    for input in &writes.creates {
        insert_checked(conn, acting, input.clone(), business_currency)?;
    }
    for (current, after) in &writes.updates {
        update_checked(conn, acting, current, after.clone(), business_currency)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use persistence::sql_types::{DbTime, DbUuid};

    use super::*;

    fn category(name: &str, parent: Option<&CategoryRow>) -> CategoryRow {
        let now = DbTime(persistence::now());
        CategoryRow {
            id: DbUuid(Uuid::now_v7()),
            name: name.into(),
            name_key: search_key(name),
            parent_id: parent.map(|p| p.id),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn categories_are_found_by_name_or_by_their_path_from_the_root() {
        let drinks = category("نوشیدنی", None);
        let tea = category("چای", Some(&drinks));
        let dishes = category("ظروف", None);
        let all = [drinks.clone(), tea.clone(), dishes.clone()];
        let categories = Categories {
            by_key: all
                .iter()
                .map(|c| (c.name_key.clone(), c.clone()))
                .collect(),
            by_id: all.iter().map(|c| (c.id.0, c.clone())).collect(),
        };
        assert_eq!(categories.resolve(" چاي "), Ok(tea.id.0), "Arabic yeh");
        assert_eq!(categories.resolve("نوشیدنی / چای"), Ok(tea.id.0));
        assert_eq!(categories.resolve("نوشیدنی > چای"), Ok(tea.id.0));
        for wrong in [
            "ظروف/چای",
            "چای/نوشیدنی",
            "نوشیدنی/ظروف",
            "قهوه",
            "/",
            "x/نوشیدنی/چای",
        ] {
            assert_eq!(
                categories.resolve(wrong).map_err(|v| v.code),
                Err("not_found".to_string()),
                "{wrong}"
            );
        }
    }

    #[test]
    fn the_plan_needs_a_sku_column_and_known_fields_once() {
        let headers: Vec<String> = ["کد", "نام", "قیمت", "id"].map(String::from).to_vec();
        let mapping = |pairs: &[(&str, &str)]| ProductImportOptions {
            mapping: Some(
                pairs
                    .iter()
                    .map(|(h, f)| (h.to_string(), f.to_string()))
                    .collect(),
            ),
            ..ProductImportOptions::default()
        };
        let plan = ProductColumnPlan::new(
            &headers,
            &mapping(&[("کد", "sku"), ("نام", "name_fa"), ("قیمت", "unit_price")]),
        )
        .unwrap();
        assert_eq!(plan.ignored(), vec!["id".to_string()]);
        assert_eq!(plan.columns()[0].field, "sku");
        let Err(AppError::Invalid(violations)) = ProductColumnPlan::new(
            &headers,
            &mapping(&[("نام", "name_fa"), ("قیمت", "name_fa"), ("رنگ", "colour")]),
        ) else {
            panic!("refused");
        };
        let codes: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("options.mapping.رنگ", "unknown_column"),
                ("options.mapping.رنگ", "unknown_field"),
                ("options.mapping.قیمت", "duplicate_field"),
                ("options.mapping", "required"),
            ]
        );
    }
}
