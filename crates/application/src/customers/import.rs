//! Customer imports (D-1): a spreadsheet's rows mapped onto customers, checked by the same
//! rules as every other write, and written all together or not at all.
//!
//! An [`Importer`] takes the rows in batches (so a job can report progress between them)
//! and, per row: finds the existing customer it updates (`upsert`), applies the row's
//! cells with `domain::customers::sheet`, resolves tag names, fills defaults, checks the
//! result with [`super::check_many`] and the assignment rule, and looks for duplicates
//! within the file and against stored codes and national codes. Every problem becomes a
//! [`RowError`] naming the row, the customer field, the source column and the rule.
//! [`Importer::finish`] hands back the report and, when no row was rejected, the writes.
//!
//! **All or nothing:** when any row is rejected nothing is written, and the report lists
//! every rejected row; otherwise [`write`] stores every row in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use domain::authz::Permission;
use domain::customers::sheet::{
    apply_row, refuse_forbidden_cells, MappedRow, SheetCell, SheetField,
};
use domain::customers::{CustomFieldDefinition, CustomerInput, CustomerKind};
use domain::text::{check_text, TextKind};
use domain::validation::{normalize_email, FieldViolation};
use persistence::customers::matching::{find_by_key, CustomerKey};
use persistence::customers::{CustomerRecord, CustomerRow};
use persistence::db::DbConnection;
use serde::{Deserialize, Serialize};
use tabular::{InputRow, InputSheet, ReadLimits};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Author, Checked, HeldReferences};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n;

/// Rows listed in a report at most; the counts stay exact beyond it. Keeps the stored
/// job result (and the dry-run response) bounded when a whole file is wrong.
pub const MAX_REPORTED_ROWS: usize = 10_000;

/// What an import file may hold. Checked rows stay in memory until the import is
/// written in one transaction, so the row count and the rows' memory are bounded well
/// below `tabular`'s defaults (512 MiB holds 250,000 rows of 40 typical columns). The
/// XLSX zip-bomb limits are `tabular`'s: reading stays in bounded memory whatever the
/// upload unpacks to.
pub const READ_LIMITS: ReadLimits = ReadLimits {
    max_rows: 250_000,
    max_columns: 200,
    max_cell_chars: 10_000,
    max_sheet_bytes: 512 << 20,
    ..ReadLimits::DEFAULT
};

/// Rows looked up and checked together.
pub const BATCH_ROWS: usize = 2_000;

/// Whether rows only create customers or may update existing ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Every row is a new customer; a row whose code or national code is already taken
    /// is rejected.
    #[default]
    Create,
    /// A row that matches an existing customer by `match_on` updates it; other rows
    /// create customers.
    Upsert,
}

/// The value that matches a row to an existing customer in `upsert` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchOn {
    Code,
    /// Any of the row's e-mail columns against any of the customer's addresses.
    Email,
    /// Any of the row's phone columns against any of the customer's numbers.
    Phone,
    /// `national_code` (persons) or `national_id` (organizations).
    NationalCode,
}

impl MatchOn {
    /// The stored key this value matches.
    pub fn key(self) -> CustomerKey {
        match self {
            MatchOn::Code => CustomerKey::Code,
            MatchOn::Email => CustomerKey::Email,
            MatchOn::Phone => CustomerKey::Phone,
            MatchOn::NationalCode => CustomerKey::National,
        }
    }

    /// The row's field a violation about the match is reported on.
    pub fn field(self) -> &'static str {
        match self {
            MatchOn::Code => "code",
            MatchOn::Email => "emails",
            MatchOn::Phone => "phones",
            MatchOn::NationalCode => "national_code",
        }
    }

    /// `text` as this key is stored (`None` when it cannot be one): what a customer is
    /// matched on.
    pub fn normalize(self, text: &str) -> Option<String> {
        let fields: &[SheetField] = match self {
            MatchOn::Code => &[SheetField::Code],
            MatchOn::Email => &[SheetField::Email(1)],
            MatchOn::Phone => &[SheetField::Mobile],
            // A person's national code or an organization's national id.
            MatchOn::NationalCode => &[SheetField::NationalCode, SheetField::NationalId],
        };
        fields
            .iter()
            .find_map(|field| self.value(field, text).flatten())
    }

    /// Whether a column holds this key, and its value in stored form (`None` when the
    /// text cannot be one, which the customer rules then report).
    fn value(self, field: &SheetField, text: &str) -> Option<Option<String>> {
        let text = text.trim();
        match (self, field) {
            (MatchOn::Code, SheetField::Code) => Some(Some(normalized_code(text))),
            (MatchOn::Email, SheetField::Email(_)) => Some(normalize_email(text)),
            (MatchOn::Phone, SheetField::Phone(_) | SheetField::Mobile | SheetField::Fax) => {
                Some(domain::iran::normalize_phone(text).ok().map(|p| p.e164))
            }
            (MatchOn::NationalCode, SheetField::NationalCode) => {
                Some(domain::iran::validate_national_code(text).ok())
            }
            (MatchOn::NationalCode, SheetField::NationalId) => {
                Some(domain::iran::validate_legal_entity_id(text).ok())
            }
            _ => None,
        }
    }
}

/// A code as the customer rules store it: inner whitespace collapsed, ASCII digits.
fn normalized_code(text: &str) -> String {
    domain::persian::normalize_digits(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// How to read the file (the `options` part of `POST /imports`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mapping": {"نام": "first_name", "نام خانوادگی": "last_name", "موبایل": "mobile", "کد ملی": "national_code", "تاریخ تولد": "birth_date"},
    "kind": "person",
    "mode": "upsert",
    "match_on": "national_code",
    "dry_run": true
}))]
pub struct ImportOptions {
    /// Column header → customer field (`first_name`, `mobile`, `phone2`, `email`,
    /// `postal_code`, `tag_names`, `custom.<key>`, …). Columns left out are ignored.
    /// Without a mapping, columns whose header is a field name map to that field.
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
    /// Kind of the new customers whose row has no `kind` value (default `person`).
    #[serde(default)]
    pub kind: Option<CustomerKind>,
    #[serde(default)]
    pub mode: ImportMode,
    /// Required with `mode: upsert`.
    #[serde(default)]
    pub match_on: Option<MatchOn>,
    /// Check every row and report, without writing anything (answers 200 with the
    /// report instead of 202 with a job).
    #[serde(default)]
    pub dry_run: bool,
}

/// Which column feeds which field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnUse {
    /// The header in the file.
    pub column: String,
    /// The field it is imported into.
    pub field: String,
}

/// What an import did, or in a dry run would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// Dry run: every row passed; a real run would write them all.
    Valid,
    /// Every row was written.
    Imported,
    /// At least one row was rejected, so nothing was (or would be) written.
    Rejected,
}

/// One broken rule of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// Path of the field, as in the customer API (`national_code`, `phones[1].number`,
    /// `addresses[0].postal_code`, `custom_fields.branch`), or the product import field
    /// (`sku`, `unit_price`).
    pub field: String,
    /// Header of the column the value came from; none when the problem is not about one
    /// cell (e.g. a person without any name column).
    pub column: Option<String>,
    /// Stable rule code (`invalid_checksum`, `invalid_date`, `duplicate_in_file`, …).
    pub code: String,
    /// Explanation in the request's language.
    pub message: String,
}

/// A rejected row and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectedRow {
    /// The row number a spreadsheet program shows (the header is row 1).
    pub row: usize,
    pub errors: Vec<RowError>,
}

/// The per-row report of an import (the dry-run response, and the result of a
/// `customers.import` or `products.import` job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "outcome": "rejected",
    "dry_run": true,
    "rows": 3,
    "created": 0,
    "updated": 0,
    "rejected": 1,
    "columns": [{"column": "کد ملی", "field": "national_code"}],
    "ignored_columns": ["id"],
    "rejected_rows": [{"row": 3, "errors": [{"field": "national_code", "column": "کد ملی", "code": "invalid_checksum", "message": "the check digit does not match"}]}],
    "rejected_rows_truncated": false
}))]
pub struct ImportReport {
    pub outcome: ImportOutcome,
    pub dry_run: bool,
    /// Data rows in the file (empty rows are skipped and not counted).
    pub rows: usize,
    /// Records created (in a dry run: that a real run would create).
    pub created: usize,
    /// Records updated (in a dry run: that a real run would update).
    pub updated: usize,
    /// Rows rejected.
    pub rejected: usize,
    pub columns: Vec<ColumnUse>,
    /// Headers not imported: not mapped, or read-only columns of an export (`id`, …).
    pub ignored_columns: Vec<String>,
    /// Every rejected row, in file order (at most 10,000; see `rejected_rows_truncated`).
    pub rejected_rows: Vec<RejectedRow>,
    pub rejected_rows_truncated: bool,
}

/// The field each column of a file is imported into.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    headers: Vec<String>,
    fields: Vec<Option<SheetField>>,
}

impl ColumnPlan {
    /// Matches `headers` with the mapping of `options` (or with field names when there
    /// is none). Unknown mapped headers or fields, a field fed by two columns, a custom
    /// field that is not defined and an `upsert` without its key column are reported
    /// under `options.…`.
    pub fn new(
        headers: &[String],
        options: &ImportOptions,
        definitions: &[CustomFieldDefinition],
    ) -> AppResult<ColumnPlan> {
        let mut violations = Vec::new();
        // Headers end up in the report (and a job's stored result), so one holding a
        // control character refuses the file rather than being echoed.
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
        let fields: Vec<Option<SheetField>> = match &options.mapping {
            None => headers.iter().map(|h| SheetField::parse(h)).collect(),
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
                    if SheetField::parse(field).is_none() {
                        violations.push(FieldViolation::new(
                            path,
                            "unknown_field",
                            format!("`{field}` is not a customer field that can be imported"),
                        ));
                    }
                }
                headers
                    .iter()
                    .map(|h| mapping.get(h).and_then(|f| SheetField::parse(f)))
                    .collect()
            }
        };
        let mut seen: HashMap<&SheetField, &str> = HashMap::new();
        for (header, field) in headers.iter().zip(&fields) {
            let Some(field) = field else { continue };
            if let Some(first) = seen.insert(field, header) {
                violations.push(FieldViolation::new(
                    format!("options.mapping.{header}"),
                    "duplicate_field",
                    format!(
                        "column \"{first}\" is already imported into {}",
                        field.name()
                    ),
                ));
            }
            if let SheetField::Custom(key) = field {
                if !definitions.iter().any(|d| &d.key == key) {
                    violations.push(FieldViolation::new(
                        format!("options.mapping.{header}"),
                        "unknown_field",
                        format!("no custom field `{key}` is defined"),
                    ));
                }
            }
        }
        match (options.mode, options.match_on) {
            (ImportMode::Upsert, None) => violations.push(FieldViolation::new(
                "options.match_on",
                "required",
                "upsert needs the field that matches rows to customers",
            )),
            (ImportMode::Upsert, Some(key)) => {
                if !fields.iter().flatten().any(|f| key.value(f, "").is_some()) {
                    violations.push(FieldViolation::new(
                        "options.match_on",
                        "unknown_column",
                        format!("no column is imported into {}", key.field()),
                    ));
                }
            }
            (ImportMode::Create, _) => {}
        }
        if violations.is_empty() {
            Ok(ColumnPlan {
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
                    field: field.as_ref()?.name().into_owned(),
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

    /// The mapped, non-empty cells of `row`.
    fn cells<'a>(&'a self, row: &'a InputRow) -> Vec<SheetCell<'a>> {
        self.fields
            .iter()
            .zip(&row.cells)
            .enumerate()
            .filter_map(|(column, (field, text))| {
                let field = field.as_ref()?;
                (!text.trim().is_empty()).then_some(SheetCell {
                    field,
                    text,
                    column,
                })
            })
            .collect()
    }
}

/// Who imports, on which day, and how.
pub struct ImportContext {
    pub acting: Acting,
    pub options: ImportOptions,
    pub today: NaiveDate,
}

/// The writes of an import that passed.
pub struct ImportWrites {
    creates: Vec<Checked>,
    updates: Vec<(CustomerRecord, Checked)>,
}

/// A row on its way through the checks.
struct Pending {
    number: usize,
    /// The row applied to its customer; `mapped.input` gets tags and defaults added.
    mapped: MappedRow,
    /// The stored customer the row updates.
    target: Option<CustomerRecord>,
    problems: Vec<(FieldViolation, Option<usize>)>,
}

/// Checks an import's rows batch by batch; see the module documentation.
pub struct Importer {
    context: ImportContext,
    plan: ColumnPlan,
    definitions: Vec<CustomFieldDefinition>,
    rows: usize,
    rejected: Vec<RejectedRow>,
    rejected_count: usize,
    writes: ImportWrites,
    /// First row of each code, national code and match target seen so far.
    seen_codes: HashMap<String, usize>,
    seen_national: HashMap<String, usize>,
    seen_targets: HashMap<Uuid, usize>,
    seen_keys: HashMap<String, usize>,
}

impl Importer {
    pub fn new(
        context: ImportContext,
        plan: ColumnPlan,
        definitions: Vec<CustomFieldDefinition>,
    ) -> Importer {
        Importer {
            context,
            plan,
            definitions,
            rows: 0,
            rejected: Vec::new(),
            rejected_count: 0,
            writes: ImportWrites {
                creates: Vec::new(),
                updates: Vec::new(),
            },
            seen_codes: HashMap::new(),
            seen_national: HashMap::new(),
            seen_targets: HashMap::new(),
            seen_keys: HashMap::new(),
        }
    }

    /// Checks the next rows of the file (in file order).
    pub fn add_rows(&mut self, conn: &mut DbConnection, rows: &[InputRow]) -> AppResult<()> {
        self.rows += rows.len();
        let mut pending = self.map_rows(conn, rows)?;
        self.resolve_tags(conn, &mut pending)?;
        self.fill_defaults(conn, &mut pending)?;
        self.check_assignments(conn, &mut pending)?;
        let checked = self.check_rules(conn, &mut pending)?;
        self.check_uniqueness(conn, &mut pending, &checked)?;
        for (row, checked) in pending.into_iter().zip(checked) {
            match checked {
                Some(checked) if row.problems.is_empty() => match row.target {
                    Some(target) => self.writes.updates.push((target, checked)),
                    None => self.writes.creates.push(checked),
                },
                _ => self.reject(row),
            }
        }
        Ok(())
    }

    /// Applies each row to the customer it updates (found by its match key) or to a new
    /// one of the default kind.
    fn map_rows(&mut self, conn: &mut DbConnection, rows: &[InputRow]) -> AppResult<Vec<Pending>> {
        let options = &self.context.options;
        let kind = options.kind.unwrap_or(CustomerKind::Person);
        let (cells, refused): (Vec<Vec<SheetCell<'_>>>, Vec<_>) = rows
            .iter()
            .map(|row| refuse_forbidden_cells(self.plan.cells(row)))
            .unzip();
        let keys: Vec<Vec<String>> = match (options.mode, options.match_on) {
            (ImportMode::Upsert, Some(key)) => cells
                .iter()
                .map(|cells| {
                    let mut values: Vec<String> = cells
                        .iter()
                        .filter_map(|cell| key.value(cell.field, cell.text).flatten())
                        .collect();
                    values.sort();
                    values.dedup();
                    values
                })
                .collect(),
            _ => vec![Vec::new(); rows.len()],
        };
        let targets = self.targets(conn, &keys)?;
        let mut pending = Vec::with_capacity(rows.len());
        for (((row, cells), refused), (keys, target)) in rows
            .iter()
            .zip(&cells)
            .zip(refused)
            .zip(keys.iter().zip(targets))
        {
            let mut problems: Vec<_> = refused
                .into_iter()
                .map(|(problem, column)| (problem, Some(column)))
                .collect();
            let target = target.unwrap_or_else(|problem| {
                problems.push((problem, None));
                None
            });
            // Rows that update a customer are told apart by it (see `check_uniqueness`);
            // new ones by their key values.
            if target.is_none() {
                match keys.iter().find_map(|key| self.seen_keys.get(key)) {
                    Some(&first) => {
                        problems.push((duplicate_in_file(self.match_field(), first), None))
                    }
                    None => {
                        for key in keys {
                            self.seen_keys.insert(key.clone(), row.number);
                        }
                    }
                }
            }
            let base = match &target {
                Some(record) => record.to_input()?,
                None => CustomerInput::empty(kind),
            };
            let mapped = apply_row(base, cells, &self.definitions);
            problems.extend(
                mapped
                    .problems
                    .iter()
                    .map(|(problem, column)| (problem.clone(), Some(*column))),
            );
            pending.push(Pending {
                number: row.number,
                mapped,
                target,
                problems,
            });
        }
        Ok(pending)
    }

    /// Owners and teams of new customers default as in `POST /customers`.
    fn fill_defaults(&self, conn: &mut DbConnection, pending: &mut [Pending]) -> AppResult<()> {
        let mut new_inputs: Vec<CustomerInput> = pending
            .iter()
            .filter(|p| p.target.is_none())
            .map(|p| p.mapped.input.clone())
            .collect();
        super::apply_defaults_many(conn, &mut new_inputs, &self.context.acting)?;
        for (row, input) in pending
            .iter_mut()
            .filter(|p| p.target.is_none())
            .zip(new_inputs)
        {
            row.mapped.input = input;
        }
        Ok(())
    }

    /// The assignment rule of `POST`/`PATCH /customers`: it applies to new customers and
    /// to changed owners or teams.
    fn check_assignments(&self, conn: &mut DbConnection, pending: &mut [Pending]) -> AppResult<()> {
        let inputs: Vec<&CustomerInput> = pending.iter().map(|p| &p.mapped.input).collect();
        let assignments = super::check_assignments(conn, &self.context.acting, &inputs)?;
        for (row, violations) in pending.iter_mut().zip(assignments) {
            let reassigned = row.target.as_ref().is_none_or(|record| {
                record.row.owner_id.map(|id| id.0) != row.mapped.input.owner_id
                    || record.row.team_id.map(|id| id.0) != row.mapped.input.team_id
            });
            if reassigned {
                row.problems
                    .extend(violations.0.into_iter().map(|v| (v, None)));
            }
        }
        Ok(())
    }

    /// Every customer rule, as for any other write; `None` for rows that break one.
    fn check_rules(
        &self,
        conn: &mut DbConnection,
        pending: &mut [Pending],
    ) -> AppResult<Vec<Option<Checked>>> {
        let checked = super::check_many(
            conn,
            pending
                .iter()
                .map(|p| {
                    let held = p
                        .target
                        .as_ref()
                        .map(|record| HeldReferences::of(&record.row));
                    (p.mapped.input.clone(), held.unwrap_or_default())
                })
                .collect(),
            Author::Caller(&self.context.acting),
            self.context.today,
            &self.definitions,
        )?;
        Ok(pending
            .iter_mut()
            .zip(checked)
            .map(|(row, result)| {
                result
                    .map_err(|violations| {
                        row.problems
                            .extend(violations.into_iter().map(|v| (v, None)))
                    })
                    .ok()
            })
            .collect())
    }

    fn match_field(&self) -> &'static str {
        self.context.options.match_on.map_or("code", MatchOn::field)
    }

    /// Per row, the customer its key values match: none, one (loaded whole), or a
    /// problem (several customers, one the importer may not see, an erased one).
    fn targets(
        &self,
        conn: &mut DbConnection,
        keys: &[Vec<String>],
    ) -> AppResult<Vec<Result<Option<CustomerRecord>, FieldViolation>>> {
        let Some(key) = self.context.options.match_on else {
            return Ok(keys.iter().map(|_| Ok(None)).collect());
        };
        let scope = self.context.acting.scope();
        let values: Vec<String> = keys
            .iter()
            .flatten()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if values.is_empty() {
            return Ok(keys.iter().map(|_| Ok(None)).collect());
        }
        let mut by_value: HashMap<String, Vec<Uuid>> = HashMap::new();
        let mut rows: HashMap<Uuid, CustomerRow> = HashMap::new();
        for (value, row) in find_by_key(conn, key.key(), &values)? {
            let ids = by_value.entry(value).or_default();
            if !ids.contains(&row.id.0) {
                ids.push(row.id.0);
            }
            rows.insert(row.id.0, row);
        }
        let mut records: HashMap<Uuid, CustomerRecord> = HashMap::new();
        let all: Vec<CustomerRow> = rows.into_values().collect();
        for chunk in all.chunks(super::IDS_PER_QUERY) {
            for record in persistence::customers::load_many(conn, chunk.to_vec())? {
                records.insert(record.row.id.0, record);
            }
        }
        let field = key.field();
        Ok(keys
            .iter()
            .map(|values| {
                let mut ids: Vec<Uuid> = values
                    .iter()
                    .filter_map(|value| by_value.get(value))
                    .flatten()
                    .copied()
                    .collect();
                ids.sort();
                ids.dedup();
                match ids.as_slice() {
                    [] => Ok(None),
                    [id] => {
                        let record = records.get(id).ok_or_else(|| {
                            FieldViolation::new(field, "not_found", "the matching customer vanished")
                        })?;
                        if !scope.can_see(&record.row) {
                            Err(FieldViolation::new(
                                field,
                                "not_allowed",
                                "the matching customer is outside your visibility",
                            ))
                        } else if record.row.erased_at.is_some() {
                            Err(FieldViolation::new(
                                field,
                                "erased",
                                "the matching customer's personal data was erased; it cannot change",
                            ))
                        } else {
                            Ok(Some(record.clone()))
                        }
                    }
                    _ => Err(FieldViolation::new(
                        field,
                        "ambiguous_match",
                        "several customers match this row",
                    )),
                }
            })
            .collect())
    }

    /// Turns the `tag_names` of each row into tag ids (added to the customer's tags);
    /// names that are no tag are problems of the row.
    fn resolve_tags(&self, conn: &mut DbConnection, pending: &mut [Pending]) -> AppResult<()> {
        let keys: Vec<String> = pending
            .iter()
            .flat_map(|p| &p.mapped.tag_names)
            .map(|name| domain::persian::search_key(name))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut tags: HashMap<String, Uuid> = HashMap::new();
        for chunk in keys.chunks(super::IDS_PER_QUERY) {
            for label in
                persistence::labels::find_by_name_keys(conn, persistence::labels::TAG, chunk)?
            {
                tags.insert(label.name_key, label.id.0);
            }
        }
        for row in pending.iter_mut() {
            let column = row.mapped.column_of("tag_ids");
            for name in &row.mapped.tag_names {
                match tags.get(&domain::persian::search_key(name)) {
                    Some(id) if !row.mapped.input.tag_ids.contains(id) => {
                        row.mapped.input.tag_ids.push(*id)
                    }
                    Some(_) => {}
                    None => row.problems.push((
                        FieldViolation::new(
                            "tag_ids",
                            "not_found",
                            format!("there is no tag named \"{name}\""),
                        ),
                        column,
                    )),
                }
            }
        }
        Ok(())
    }

    /// Codes and national codes must be unique: within the file (the first row keeps
    /// it) and against stored customers other than the one a row updates.
    fn check_uniqueness(
        &mut self,
        conn: &mut DbConnection,
        pending: &mut [Pending],
        checked: &[Option<Checked>],
    ) -> AppResult<()> {
        let national_of = |input: &CustomerInput| {
            input
                .national_code
                .clone()
                .map(|code| ("national_code", code))
                .or(input.national_id.clone().map(|id| ("national_id", id)))
        };
        let codes: Vec<String> = checked
            .iter()
            .flatten()
            .filter_map(|c| c.input.code.clone())
            .collect();
        let nationals: Vec<String> = checked
            .iter()
            .flatten()
            .filter_map(|c| national_of(&c.input).map(|(_, value)| value))
            .collect();
        let stored_codes = holders(conn, CustomerKey::Code, &codes)?;
        let stored_nationals = holders(conn, CustomerKey::National, &nationals)?;
        for (row, checked) in pending.iter_mut().zip(checked) {
            let Some(checked) = checked else { continue };
            let target = row.target.as_ref().map(|record| record.row.id.0);
            let unique_keys = [
                (
                    checked.input.code.clone().map(|code| ("code", code)),
                    &mut self.seen_codes,
                    &stored_codes,
                    "a customer with this code already exists",
                ),
                (
                    national_of(&checked.input),
                    &mut self.seen_national,
                    &stored_nationals,
                    "a customer with this national code already exists; import with mode upsert and match_on national_code to update it",
                ),
            ];
            for (key, seen, stored, taken) in unique_keys {
                let Some((field, value)) = key else { continue };
                if let Some(&first) = seen.get(&value) {
                    row.problems.push((duplicate_in_file(field, first), None));
                    continue;
                }
                let held_by_another = stored
                    .get(&value)
                    .is_some_and(|ids| ids.iter().any(|id| Some(*id) != target));
                if held_by_another {
                    row.problems
                        .push((FieldViolation::new(field, "already_exists", taken), None));
                }
                seen.insert(value, row.number);
            }
            if let Some(target) = target {
                if let Some(&first) = self.seen_targets.get(&target) {
                    row.problems
                        .push((duplicate_in_file(self.match_field(), first), None));
                } else {
                    self.seen_targets.insert(target, row.number);
                }
            }
        }
        Ok(())
    }

    fn reject(&mut self, row: Pending) {
        self.rejected_count += 1;
        if self.rejected.len() >= MAX_REPORTED_ROWS {
            return;
        }
        let lang = self.context.acting.lang;
        let errors = row
            .problems
            .into_iter()
            .map(|(violation, column)| {
                let column = column.or_else(|| row.mapped.column_of(&violation.field));
                RowError {
                    column: column.and_then(|index| self.plan.headers.get(index).cloned()),
                    message: i18n::field_message(&violation.code, &violation.message, lang),
                    field: violation.field,
                    code: violation.code,
                }
            })
            .collect();
        self.rejected.push(RejectedRow {
            row: row.number,
            errors,
        });
    }

    /// The report, and the writes when no row was rejected.
    pub fn finish(self) -> (ImportReport, Option<ImportWrites>) {
        let dry_run = self.context.options.dry_run;
        let passed = self.rejected_count == 0;
        let report = ImportReport {
            outcome: match (passed, dry_run) {
                (false, _) => ImportOutcome::Rejected,
                (true, true) => ImportOutcome::Valid,
                (true, false) => ImportOutcome::Imported,
            },
            dry_run,
            rows: self.rows,
            created: if passed { self.writes.creates.len() } else { 0 },
            updated: if passed { self.writes.updates.len() } else { 0 },
            rejected: self.rejected_count,
            columns: self.plan.columns(),
            ignored_columns: self.plan.ignored(),
            rejected_rows_truncated: self.rejected_count > self.rejected.len(),
            rejected_rows: self.rejected,
        };
        (report, passed.then_some(self.writes))
    }
}

/// The stored customers holding each of `values` of `key`.
fn holders(
    conn: &mut DbConnection,
    key: CustomerKey,
    values: &[String],
) -> AppResult<HashMap<String, Vec<Uuid>>> {
    let mut holders: HashMap<String, Vec<Uuid>> = HashMap::new();
    for (value, row) in find_by_key(conn, key, values)? {
        holders.entry(value).or_default().push(row.id.0);
    }
    Ok(holders)
}

fn duplicate_in_file(field: &str, first_row: usize) -> FieldViolation {
    FieldViolation::new(
        field,
        "duplicate_in_file",
        format!("row {first_row} of the file has the same value"),
    )
}

/// Checks every row of `sheet` as an import with `context` would and reports what it
/// would do; nothing is written (`records:import`).
pub fn dry_run(
    conn: &mut DbConnection,
    context: ImportContext,
    sheet: &InputSheet,
) -> AppResult<ImportReport> {
    context.acting.require(Permission::RecordsImport)?;
    let definitions = super::definitions(conn)?;
    let plan = ColumnPlan::new(&sheet.headers, &context.options, &definitions)?;
    let mut importer = Importer::new(context, plan, definitions);
    for batch in sheet.rows.chunks(BATCH_ROWS) {
        importer.add_rows(conn, batch)?;
    }
    Ok(importer.finish().0)
}

/// Writes an import that passed; call it inside one transaction, which the caller
/// commits only when everything is written.
pub fn write(conn: &mut DbConnection, acting: &Acting, writes: &ImportWrites) -> AppResult<()> {
    super::create_many(conn, acting, &writes.creates, "imported")?;
    let updates: Vec<(&CustomerRecord, &Checked)> = writes
        .updates
        .iter()
        .map(|(record, checked)| (record, checked))
        .collect();
    super::update_many(conn, acting, &updates, "customer.update")
}
