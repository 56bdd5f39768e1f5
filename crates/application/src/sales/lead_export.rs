//! Lead exports: which columns a lead export has and the cells of one lead. Columns are
//! named like the lead import's fields (`phone`, `phone2`, `email`, `custom.<key>`…),
//! so a CSV or XLSX export imports back; the lead custom fields are columns of their
//! own.

use chrono::SecondsFormat;
use domain::customers::{CustomFieldDefinition, EmailInput, PhoneInput};
use domain::filter::{FilterNode, SortSpec};
use domain::validation::FieldViolation;
use persistence::leads::LeadRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::Cell;
use utoipa::ToSchema;

use crate::customers::export::ExportFormat;
use crate::error::{AppError, AppResult};
use crate::search::{SearchRequest, CUSTOM_FIELD_PREFIX};

/// The body of `POST /leads/exports`: which leads (as in `POST /leads/search`) and how
/// to write them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "filter": {"field": "status", "op": "in", "value": ["new", "contacted"]},
    "sort": [{"field": "created_at", "direction": "desc"}],
    "format": "xlsx"
}))]
pub struct LeadExportRequest {
    /// Filter tree, as in `POST /leads/search` (`custom.<key>` included).
    #[schema(value_type = Option<FilterNode>)]
    pub filter: Option<Value>,
    /// Sort entries, as in `POST /leads/search`; the id is always the final key.
    #[schema(value_type = Option<Vec<SortSpec>>)]
    pub sort: Option<Value>,
    /// Quick-search text, as in `POST /leads/search`.
    #[validate(length(min = 1, max = 200))]
    pub q: Option<String>,
    #[serde(default)]
    pub format: ExportFormat,
    /// Column names (see the operation's description). Default: every column, the lead
    /// custom fields last.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Lay the XLSX sheet out right to left. Default: when `Accept-Language` prefers
    /// Persian.
    #[serde(default)]
    pub right_to_left: Option<bool>,
}

impl LeadExportRequest {
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

/// How many phone and e-mail columns an export has: as many as the import reads.
const PHONE_COLUMNS: usize = 3;
const EMAIL_COLUMNS: usize = 2;

/// A column of a lead export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadColumn {
    /// A column of the lead itself, by name.
    Field(&'static str),
    /// The n-th phone (E.164) or e-mail address, the primary one first.
    Phone(usize),
    Email(usize),
    /// A lead custom field's value.
    Custom(String),
}

/// The lead's own columns, in their default order.
const FIELD_COLUMNS: [&str; 22] = [
    "id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "province",
    "city",
    "source",
    "campaign",
    "language",
    "product_id",
    "status",
    "disqualified_reason",
    "owner_id",
    "team_id",
    "description",
    "display_name",
    "score_points",
    "propensity",
    "converted_customer_id",
    "created_at",
    "updated_at",
];

impl LeadColumn {
    /// The column's name in a request and its header.
    pub fn name(&self) -> String {
        match self {
            LeadColumn::Field(name) => name.to_string(),
            LeadColumn::Phone(0) => "phone".into(),
            LeadColumn::Phone(n) => format!("phone{}", n + 1),
            LeadColumn::Email(0) => "email".into(),
            LeadColumn::Email(n) => format!("email{}", n + 1),
            LeadColumn::Custom(key) => format!("{CUSTOM_FIELD_PREFIX}{key}"),
        }
    }

    /// Every column, the lead custom fields of `definitions` last.
    fn all(definitions: &[CustomFieldDefinition]) -> Vec<LeadColumn> {
        let (head, tail) = FIELD_COLUMNS.split_at(5);
        head.iter()
            .map(|name| LeadColumn::Field(name))
            .chain((0..PHONE_COLUMNS).map(LeadColumn::Phone))
            .chain((0..EMAIL_COLUMNS).map(LeadColumn::Email))
            .chain(tail.iter().map(|name| LeadColumn::Field(name)))
            .chain(
                definitions
                    .iter()
                    .map(|definition| LeadColumn::Custom(definition.key.clone())),
            )
            .collect()
    }
}

/// The columns of an export: `requested` (checked; violations under `columns[i]`) or
/// every column with a column per lead custom field of `definitions`.
pub fn columns(
    requested: Option<&[String]>,
    definitions: &[CustomFieldDefinition],
) -> AppResult<Vec<LeadColumn>> {
    let all = LeadColumn::all(definitions);
    let Some(names) = requested else {
        return Ok(all);
    };
    let mut violations = Vec::new();
    let mut columns: Vec<LeadColumn> = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let field = format!("columns[{index}]");
        match all.iter().find(|column| column.name() == name.trim()) {
            None => violations.push(FieldViolation::new(
                field,
                "unknown_field",
                format!("`{name}` is not a lead export column"),
            )),
            Some(column) if columns.contains(column) => violations.push(FieldViolation::new(
                field,
                "duplicate",
                "the column is listed twice",
            )),
            Some(column) => columns.push(column.clone()),
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

fn text(value: &Option<String>) -> Cell {
    value.clone().map_or(Cell::Null, Cell::Text)
}

fn id(value: Option<persistence::sql_types::DbUuid>) -> Cell {
    value.map_or(Cell::Null, |id| Cell::Text(id.0.to_string()))
}

/// The cells of `row` under `columns`.
pub fn cells(row: &LeadRow, columns: &[LeadColumn]) -> AppResult<Vec<Cell>> {
    let corrupt = |err: serde_json::Error| AppError::Internal(format!("stored lead: {err}"));
    let phones: Vec<PhoneInput> = serde_json::from_value(row.phones.0.clone()).map_err(corrupt)?;
    let emails: Vec<EmailInput> = serde_json::from_value(row.emails.0.clone()).map_err(corrupt)?;
    let instant = |at: &persistence::sql_types::DbTime| {
        Cell::Text(at.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    };
    columns
        .iter()
        .map(|column| {
            Ok(match column {
                LeadColumn::Phone(n) => phones
                    .get(*n)
                    .map_or(Cell::Null, |phone| Cell::Text(phone.number.clone())),
                LeadColumn::Email(n) => emails
                    .get(*n)
                    .map_or(Cell::Null, |email| Cell::Text(email.address.clone())),
                LeadColumn::Custom(key) => match row.custom_fields.0.get(key) {
                    None | Some(Value::Null) => Cell::Null,
                    Some(Value::Bool(flag)) => Cell::Bool(*flag),
                    Some(Value::Number(number)) => {
                        number.as_i64().map_or(Cell::Null, Cell::Integer)
                    }
                    Some(Value::String(text)) => Cell::Text(text.clone()),
                    Some(other) => Cell::Text(other.to_string()),
                },
                LeadColumn::Field(name) => match *name {
                    "id" => Cell::Text(row.id.0.to_string()),
                    "first_name" => text(&row.first_name),
                    "last_name" => text(&row.last_name),
                    "company" => text(&row.company),
                    "job_title" => text(&row.job_title),
                    "province" => text(&row.province),
                    "city" => text(&row.city),
                    "source" => text(&row.source),
                    "campaign" => text(&row.campaign),
                    "language" => text(&row.language),
                    "product_id" => id(row.product_id),
                    "status" => Cell::Text(row.status.clone()),
                    "disqualified_reason" => text(&row.disqualified_reason),
                    "owner_id" => id(row.owner_id),
                    "team_id" => id(row.team_id),
                    "description" => text(&row.description),
                    "display_name" => Cell::Text(row.display_name.clone()),
                    "score_points" => Cell::Integer(row.score_points),
                    // A probability as text: a spreadsheet would round a float's digits.
                    "propensity" => row
                        .propensity
                        .map_or(Cell::Null, |p| Cell::Text(p.to_string())),
                    "converted_customer_id" => id(row.converted_customer_id),
                    "created_at" => instant(&row.created_at),
                    "updated_at" => instant(&row.updated_at),
                    other => return Err(AppError::Internal(format!("lead export column {other}"))),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use domain::customers::CustomFieldKind;

    use super::*;

    #[test]
    fn requested_columns_are_checked_and_custom_fields_are_columns() {
        let definitions = [CustomFieldDefinition {
            key: "budget".into(),
            kind: CustomFieldKind::Integer,
            options: Vec::new(),
            required: false,
        }];
        let all = columns(None, &definitions).unwrap();
        assert_eq!(all.len(), 22 + 3 + 2 + 1);
        assert_eq!(all.last().unwrap().name(), "custom.budget");
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            columns(Some(&names(&["phone2", " custom.budget "])), &definitions).unwrap(),
            vec![LeadColumn::Phone(1), LeadColumn::Custom("budget".into())]
        );
        let Err(AppError::Invalid(violations)) = columns(
            Some(&names(&["status", "status", "custom.colour"])),
            &definitions,
        ) else {
            panic!("refused");
        };
        let found: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![("columns[1]", "duplicate"), ("columns[2]", "unknown_field")]
        );
    }
}
