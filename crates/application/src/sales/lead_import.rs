//! Lead imports: a spreadsheet's rows mapped onto new leads, each checked by the rules
//! of `POST /leads` (`LeadInput::validated` and the lead custom fields), and written
//! all together or not at all, each as `POST /leads` writes one: scored, handed to the
//! owner given or else to the assignment rules, audited as `lead.create`.
//!
//! Contacts are normalised as on create (E.164 phones from Persian or Arabic-Indic
//! digits, lower-cased e-mails); the same normalised phone or e-mail on two rows of a
//! file rejects the later row (`duplicate_in_file`), since the two rows are one
//! person. The owner is named by e-mail (`owner_email`) and the product asked about by
//! SKU (`product_sku`).
//!
//! The report is the customer import's ([`ImportReport`]): every rejected row with the
//! field, the source column and the rule. **All or nothing:** when any row is rejected
//! nothing is written; otherwise [`write`] stores every row in the caller's transaction.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use domain::authz::Permission;
use domain::customers::{CustomFieldDefinition, EmailInput, PhoneInput};
use domain::persian::normalize_digits;
use domain::sales::leads::{LeadInput, LeadStatus};
use domain::text::{check_text, TextKind};
use domain::validation::FieldViolation;
use persistence::db::DbConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{InputRow, InputSheet};
use utoipa::ToSchema;
use uuid::Uuid;

use super::leads::{checked, definitions, insert_checked};
use crate::acting::Acting;
use crate::customers::import::{
    ColumnUse, ImportOutcome, ImportReport, RejectedRow, RowError, MAX_REPORTED_ROWS,
};
use crate::error::{AppError, AppResult};
use crate::i18n;
use crate::search::CUSTOM_FIELD_PREFIX;

/// How to read the file (the `options` part of `POST /leads/imports`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mapping": {"نام": "first_name", "نام خانوادگی": "last_name", "موبایل": "phone",
                "ایمیل": "email"},
    "dry_run": true
}))]
pub struct LeadImportOptions {
    /// Column header → lead field: `first_name`, `last_name`, `company`, `job_title`,
    /// `phone`, `phone2`, `phone3`, `email`, `email2`, `province`, `city`, `source`,
    /// `campaign`, `language`, `product_sku`, `status`, `disqualified_reason`,
    /// `owner_email`, `description` and `custom.<key>` for a lead custom field. Columns
    /// left out are ignored. Without a mapping, columns whose header is a field name map
    /// to that field.
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
    /// Check every row and report, without writing anything (answers 200 with the
    /// report instead of 202 with a job).
    #[serde(default)]
    pub dry_run: bool,
}

/// A lead field a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    FirstName,
    LastName,
    Company,
    JobTitle,
    Phone(usize),
    Email(usize),
    Province,
    City,
    Source,
    Campaign,
    Language,
    ProductSku,
    Status,
    DisqualifiedReason,
    OwnerEmail,
    Description,
}

const FIELDS: [Field; 19] = [
    Field::FirstName,
    Field::LastName,
    Field::Company,
    Field::JobTitle,
    Field::Phone(0),
    Field::Phone(1),
    Field::Phone(2),
    Field::Email(0),
    Field::Email(1),
    Field::Province,
    Field::City,
    Field::Source,
    Field::Campaign,
    Field::Language,
    Field::ProductSku,
    Field::Status,
    Field::DisqualifiedReason,
    Field::OwnerEmail,
    Field::Description,
];

impl Field {
    fn name(self) -> String {
        match self {
            Field::Phone(0) => "phone".into(),
            Field::Phone(n) => format!("phone{}", n + 1),
            Field::Email(0) => "email".into(),
            Field::Email(n) => format!("email{}", n + 1),
            Field::FirstName => "first_name".into(),
            Field::LastName => "last_name".into(),
            Field::Company => "company".into(),
            Field::JobTitle => "job_title".into(),
            Field::Province => "province".into(),
            Field::City => "city".into(),
            Field::Source => "source".into(),
            Field::Campaign => "campaign".into(),
            Field::Language => "language".into(),
            Field::ProductSku => "product_sku".into(),
            Field::Status => "status".into(),
            Field::DisqualifiedReason => "disqualified_reason".into(),
            Field::OwnerEmail => "owner_email".into(),
            Field::Description => "description".into(),
        }
    }
}

/// What a column is imported into: a lead field or a lead custom field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Field(Field),
    Custom(String),
}

impl Target {
    /// The target a mapped field name means, checked against the lead custom fields.
    fn parse(name: &str, definitions: &[CustomFieldDefinition]) -> Option<Target> {
        let name = name.trim();
        if let Some(key) = name.strip_prefix(CUSTOM_FIELD_PREFIX) {
            return definitions
                .iter()
                .any(|definition| definition.key == key)
                .then(|| Target::Custom(key.to_string()));
        }
        FIELDS
            .into_iter()
            .find(|field| field.name() == name)
            .map(Target::Field)
    }

    fn name(&self) -> String {
        match self {
            Target::Field(field) => field.name(),
            Target::Custom(key) => format!("{CUSTOM_FIELD_PREFIX}{key}"),
        }
    }
}

/// The target each column of a file is imported into.
#[derive(Debug, Clone)]
pub struct LeadColumnPlan {
    headers: Vec<String>,
    targets: Vec<Option<Target>>,
}

impl LeadColumnPlan {
    /// Matches `headers` with the mapping of `options` (or with field names when there
    /// is none). Unknown mapped headers or fields (a `custom.<key>` that is no lead
    /// custom field among them) and a field fed by two columns are reported under
    /// `options.…`.
    pub fn new(
        headers: &[String],
        options: &LeadImportOptions,
        definitions: &[CustomFieldDefinition],
    ) -> AppResult<Self> {
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
        let targets: Vec<Option<Target>> = match &options.mapping {
            None => headers
                .iter()
                .map(|h| Target::parse(h, definitions))
                .collect(),
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
                    if Target::parse(field, definitions).is_none() {
                        violations.push(FieldViolation::new(
                            path,
                            "unknown_field",
                            format!("`{field}` is not a lead field that can be imported"),
                        ));
                    }
                }
                headers
                    .iter()
                    .map(|h| mapping.get(h).and_then(|f| Target::parse(f, definitions)))
                    .collect()
            }
        };
        let mut seen: HashMap<&Target, &str> = HashMap::new();
        for (header, target) in headers.iter().zip(&targets) {
            let Some(target) = target else { continue };
            if let Some(first) = seen.insert(target, header) {
                violations.push(FieldViolation::new(
                    format!("options.mapping.{header}"),
                    "duplicate_field",
                    format!(
                        "column \"{first}\" is already imported into {}",
                        target.name()
                    ),
                ));
            }
        }
        if violations.is_empty() {
            Ok(LeadColumnPlan {
                headers: headers.to_vec(),
                targets,
            })
        } else {
            Err(AppError::Invalid(violations))
        }
    }

    fn columns(&self) -> Vec<ColumnUse> {
        self.headers
            .iter()
            .zip(&self.targets)
            .filter_map(|(column, target)| {
                Some(ColumnUse {
                    column: column.clone(),
                    field: target.as_ref()?.name(),
                })
            })
            .collect()
    }

    fn ignored(&self) -> Vec<String> {
        self.headers
            .iter()
            .zip(&self.targets)
            .filter(|(_, target)| target.is_none())
            .map(|(header, _)| header.clone())
            .collect()
    }

    /// The column of `target` and the row's non-empty text in it.
    fn cell<'a>(&self, row: &'a InputRow, target: &Target) -> Option<(usize, &'a str)> {
        let column = self
            .targets
            .iter()
            .position(|t| t.as_ref() == Some(target))?;
        let text = row.cells.get(column)?.as_str();
        (!text.trim().is_empty()).then_some((column, text))
    }

    fn field<'a>(&self, row: &'a InputRow, field: Field) -> Option<(usize, &'a str)> {
        self.cell(row, &Target::Field(field))
    }
}

/// A row's cells as a lead, and the column each entry of its lists came from.
struct RowInput {
    input: LeadInput,
    phone_columns: Vec<usize>,
    email_columns: Vec<usize>,
}

impl RowInput {
    /// The column a rule of `LeadInput` about `field` came from.
    fn column_of(&self, plan: &LeadColumnPlan, row: &InputRow, field: &str) -> Option<usize> {
        let index = |prefix: &str| -> Option<usize> {
            field.strip_prefix(prefix)?.split(']').next()?.parse().ok()
        };
        if let Some(i) = index("phones[") {
            return self.phone_columns.get(i).copied();
        }
        if let Some(i) = index("emails[") {
            return self.email_columns.get(i).copied();
        }
        if let Some(key) = field.strip_prefix("custom_fields.") {
            return plan
                .cell(row, &Target::Custom(key.to_string()))
                .map(|(column, _)| column);
        }
        FIELDS
            .into_iter()
            .find(|f| f.name() == field)
            .and_then(|f| plan.field(row, f))
            .map(|(column, _)| column)
    }
}

/// What the rows name, looked up once for the whole file.
struct Lookups {
    /// Products by their SKU as stored.
    products: HashMap<String, Uuid>,
    /// Active users by their lower-cased e-mail address.
    owners: HashMap<String, Option<Uuid>>,
}

/// A SKU as products store it.
fn sku_key(text: &str) -> String {
    normalize_digits(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn owner_key(text: &str) -> String {
    normalize_digits(text.trim()).to_lowercase()
}

impl Lookups {
    fn load(
        conn: &mut DbConnection,
        plan: &LeadColumnPlan,
        sheet: &InputSheet,
    ) -> AppResult<Lookups> {
        let skus: Vec<String> = sheet
            .rows
            .iter()
            .filter_map(|row| plan.field(row, Field::ProductSku))
            .map(|(_, text)| sku_key(text))
            .collect();
        let products = persistence::products::find_by_skus(conn, &skus)?
            .into_iter()
            .map(|row| (row.sku, row.id.0))
            .collect();
        let mut owners = HashMap::new();
        for row in &sheet.rows {
            if let Some((_, text)) = plan.field(row, Field::OwnerEmail) {
                if let Entry::Vacant(entry) = owners.entry(owner_key(text)) {
                    let user = persistence::users::find_by_email(conn, entry.key())?
                        .filter(|user| user.is_active)
                        .map(|user| user.id.0);
                    entry.insert(user);
                }
            }
        }
        Ok(Lookups { products, owners })
    }
}

/// The leads of an import that passed, in file order.
pub struct LeadWrites {
    creates: Vec<LeadInput>,
}

/// Checks every row of `sheet` against `plan`; returns the report and, when no row was
/// rejected, the writes.
pub fn check(
    conn: &mut DbConnection,
    acting: &Acting,
    options: &LeadImportOptions,
    plan: &LeadColumnPlan,
    sheet: &InputSheet,
) -> AppResult<(ImportReport, Option<LeadWrites>)> {
    let definitions = definitions(conn)?;
    let lookups = Lookups::load(conn, plan, sheet)?;
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    let mut writes = LeadWrites {
        creates: Vec::new(),
    };
    let (mut rejected, mut rejected_count) = (Vec::new(), 0);
    for row in &sheet.rows {
        let mut problems: Vec<(FieldViolation, Option<usize>)> = Vec::new();
        let cells = apply_row(plan, row, &lookups, &mut problems);
        let assignment = crate::customers::assignment_violations(
            conn,
            acting,
            &[(cells.input.owner_id, cells.input.team_id)],
            "leads",
        )?;
        for violation in assignment.into_iter().flat_map(|found| found.0) {
            let column = plan.field(row, Field::OwnerEmail).map(|(column, _)| column);
            problems.push((
                FieldViolation {
                    field: Field::OwnerEmail.name(),
                    ..violation
                },
                column,
            ));
        }
        let input = match checked(cells.input.clone(), &definitions) {
            Ok(input) => Some(input),
            Err(violations) => {
                for violation in violations {
                    let column = cells.column_of(plan, row, &violation.field);
                    problems.push((violation, column));
                }
                None
            }
        };
        if let Some(input) = &input {
            // The same person twice in one file: by a normalised phone or e-mail.
            let keys =
                input
                    .phones
                    .iter()
                    .enumerate()
                    .map(|(i, phone)| (format!("phones[{i}].number"), phone.number.clone()))
                    .chain(
                        input.emails.iter().enumerate().map(|(i, email)| {
                            (format!("emails[{i}].address"), email.address.clone())
                        }),
                    );
            for (field, key) in keys {
                match first_row_of.get(&key) {
                    Some(first) if *first != row.number => {
                        let column = cells.column_of(plan, row, &field);
                        problems.push((
                            FieldViolation::new(
                                field,
                                "duplicate_in_file",
                                format!("row {first} of the file has the same value"),
                            ),
                            column,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        first_row_of.insert(key, row.number);
                    }
                }
            }
        }
        match input {
            Some(input) if problems.is_empty() => writes.creates.push(input),
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
        updated: 0,
        rejected: rejected_count,
        columns: plan.columns(),
        ignored_columns: plan.ignored(),
        rejected_rows_truncated: rejected_count > rejected.len(),
        rejected_rows: rejected,
    };
    Ok((report, passed.then_some(writes)))
}

/// The row's cells as a new lead. Cells that cannot be read (an unknown status, SKU or
/// owner) are reported in `problems` and leave their field empty.
fn apply_row(
    plan: &LeadColumnPlan,
    row: &InputRow,
    lookups: &Lookups,
    problems: &mut Vec<(FieldViolation, Option<usize>)>,
) -> RowInput {
    let mut cells = RowInput {
        input: LeadInput::default(),
        phone_columns: Vec::new(),
        email_columns: Vec::new(),
    };
    let problem = |field: Field, column: usize, code: &str, message: String| {
        (
            FieldViolation::new(field.name(), code, message),
            Some(column),
        )
    };
    let input = &mut cells.input;
    for field in FIELDS {
        let Some((column, text)) = plan.field(row, field) else {
            continue;
        };
        let text = text.to_string();
        match field {
            Field::FirstName => input.first_name = Some(text),
            Field::LastName => input.last_name = Some(text),
            Field::Company => input.company = Some(text),
            Field::JobTitle => input.job_title = Some(text),
            Field::Province => input.province = Some(text),
            Field::City => input.city = Some(text),
            Field::Source => input.source = Some(text),
            Field::Campaign => input.campaign = Some(text),
            Field::Language => input.language = Some(text),
            Field::DisqualifiedReason => input.disqualified_reason = Some(text),
            Field::Description => input.description = Some(text),
            Field::Phone(_) => {
                input.phones.push(PhoneInput {
                    number: text,
                    phone_type: None,
                    label: None,
                    primary: false,
                });
                cells.phone_columns.push(column);
            }
            Field::Email(_) => {
                input.emails.push(EmailInput {
                    address: text,
                    label: None,
                    primary: false,
                });
                cells.email_columns.push(column);
            }
            Field::Status => match LeadStatus::parse(text.trim()) {
                Some(status) => input.status = status,
                None => problems.push(problem(
                    field,
                    column,
                    "invalid_value",
                    format!("must be one of: {}", LeadStatus::NAMES.join(", ")),
                )),
            },
            Field::ProductSku => match lookups.products.get(&sku_key(&text)) {
                Some(product) => input.product_id = Some(*product),
                None => problems.push(problem(
                    field,
                    column,
                    "not_found",
                    format!("no product has the SKU \"{}\"", text.trim()),
                )),
            },
            Field::OwnerEmail => match lookups.owners.get(&owner_key(&text)) {
                Some(Some(owner)) => input.owner_id = Some(*owner),
                _ => problems.push(problem(
                    field,
                    column,
                    "not_found",
                    "no active user has this e-mail address".to_string(),
                )),
            },
        }
    }
    // Custom values go as text, which the definitions read by their kind (Persian
    // digits in numbers, `بله`/`خیر` for booleans).
    for target in plan.targets.iter().flatten() {
        if let Target::Custom(key) = target {
            if let Some((_, text)) = plan.cell(row, target) {
                input
                    .custom_fields
                    .insert(key.clone(), Value::String(text.to_string()));
            }
        }
    }
    cells
}

fn rejected_row(
    plan: &LeadColumnPlan,
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
/// would do; nothing is written (`records:import` and `records:write`).
pub fn dry_run(
    conn: &mut DbConnection,
    acting: &Acting,
    options: &LeadImportOptions,
    sheet: &InputSheet,
) -> AppResult<ImportReport> {
    require(acting)?;
    let plan = LeadColumnPlan::new(&sheet.headers, options, &definitions(conn)?)?;
    Ok(check(conn, acting, options, &plan, sheet)?.0)
}

/// The permissions of a lead import: importing, and creating leads, which is what every
/// row does.
pub fn require(acting: &Acting) -> AppResult<()> {
    acting.require(Permission::RecordsImport)?;
    acting.require(Permission::RecordsWrite)
}

/// Writes an import that passed, each lead as `POST /leads` writes one (assignment,
/// scoring, audit `lead.create`); call it inside one transaction, which the caller
/// commits only when everything is written.
pub fn write(conn: &mut DbConnection, acting: &Acting, writes: &LeadWrites) -> AppResult<()> {
    require(acting)?;
    for input in &writes.creates {
        insert_checked(conn, acting, input.clone())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use domain::customers::CustomFieldKind;

    use super::*;

    #[test]
    fn the_plan_knows_lead_fields_and_the_lead_custom_fields_once() {
        let definitions = [CustomFieldDefinition {
            key: "budget".into(),
            kind: CustomFieldKind::Integer,
            options: Vec::new(),
            required: false,
        }];
        let headers: Vec<String> = ["نام", "موبایل", "بودجه", "id"].map(String::from).to_vec();
        let mapping = |pairs: &[(&str, &str)]| LeadImportOptions {
            mapping: Some(
                pairs
                    .iter()
                    .map(|(h, f)| (h.to_string(), f.to_string()))
                    .collect(),
            ),
            ..LeadImportOptions::default()
        };
        let plan = LeadColumnPlan::new(
            &headers,
            &mapping(&[
                ("نام", "first_name"),
                ("موبایل", "phone2"),
                ("بودجه", "custom.budget"),
            ]),
            &definitions,
        )
        .unwrap();
        assert_eq!(plan.ignored(), vec!["id".to_string()]);
        assert_eq!(
            plan.columns()
                .into_iter()
                .map(|c| c.field)
                .collect::<Vec<_>>(),
            ["first_name", "phone2", "custom.budget"]
        );
        let Err(AppError::Invalid(violations)) = LeadColumnPlan::new(
            &headers,
            &mapping(&[
                ("نام", "first_name"),
                ("موبایل", "first_name"),
                ("بودجه", "custom.colour"),
                ("رنگ", "phone"),
            ]),
            &definitions,
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
                ("options.mapping.بودجه", "unknown_field"),
                ("options.mapping.رنگ", "unknown_column"),
                ("options.mapping.موبایل", "duplicate_field"),
            ]
        );
    }
}
