//! Customer exports (D-3): which columns an export has and the cells of one customer.
//! The column names are the import's field names (see `domain::customers::sheet`), so
//! an export with the default columns imports back unchanged.

use std::collections::HashMap;

use domain::customers::sheet::{cell_value, default_fields, DateStyle, SheetField, SheetValue};
use domain::customers::CustomFieldDefinition;
use domain::filter::{FilterNode, SortSpec};
use domain::validation::FieldViolation;
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use persistence::scores::CustomerScores;
use persistence::PersistenceError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tabular::{Cell, Format};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::search::SearchRequest;

/// A column of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportColumn {
    /// The customer's id; imports ignore it.
    Id,
    /// Kept by the server; imports ignore these.
    DisplayName,
    CreatedAt,
    UpdatedAt,
    /// A purchase fact or a model score ([`FIGURES`]), on request only; imports ignore
    /// them.
    Figure(&'static str),
    /// A column imports read.
    Field(SheetField),
}

/// Figures kept by the server that an export may add: the purchase facts and the scores
/// of the current model runs, named as in the customer search.
pub const FIGURES: [&str; 14] = [
    "order_count",
    "revenue",
    "first_order_at",
    "last_order_at",
    "score.rfm_recency",
    "score.rfm_frequency",
    "score.rfm_monetary",
    "score.rfm_segment",
    "score.p_alive",
    "score.expected_purchases",
    "score.expected_spend",
    "score.clv",
    "score.cluster",
    "score.churn_risk",
];

impl ExportColumn {
    fn parse(name: &str) -> Option<ExportColumn> {
        Some(match name {
            "id" => ExportColumn::Id,
            "display_name" => ExportColumn::DisplayName,
            "created_at" => ExportColumn::CreatedAt,
            "updated_at" => ExportColumn::UpdatedAt,
            other => match FIGURES.iter().find(|figure| **figure == other) {
                Some(figure) => ExportColumn::Figure(figure),
                None => ExportColumn::Field(SheetField::parse(other)?),
            },
        })
    }

    pub fn name(&self) -> String {
        match self {
            ExportColumn::Id => "id".into(),
            ExportColumn::DisplayName => "display_name".into(),
            ExportColumn::CreatedAt => "created_at".into(),
            ExportColumn::UpdatedAt => "updated_at".into(),
            ExportColumn::Figure(name) => (*name).into(),
            ExportColumn::Field(field) => field.name().into_owned(),
        }
    }
}

/// The columns of an export: `requested` (checked; violations under `columns[i]`) or
/// the id followed by every column an import reads back, then, with `include_custom`,
/// one `custom.<key>` per defined custom field not already asked for.
pub fn columns(
    requested: Option<&[String]>,
    include_custom: bool,
    definitions: &[CustomFieldDefinition],
) -> AppResult<Vec<ExportColumn>> {
    let mut columns = match requested {
        None => std::iter::once(ExportColumn::Id)
            .chain(default_fields().into_iter().map(ExportColumn::Field))
            .collect(),
        Some(names) => {
            let mut violations = Vec::new();
            let mut columns: Vec<ExportColumn> = Vec::with_capacity(names.len());
            for (index, name) in names.iter().enumerate() {
                let field = format!("columns[{index}]");
                match ExportColumn::parse(name.trim()) {
                    Some(ExportColumn::Field(SheetField::Custom(key)))
                        if !definitions.iter().any(|d| d.key == key) =>
                    {
                        violations.push(FieldViolation::new(
                            field,
                            "unknown_field",
                            format!("no custom field `{key}` is defined"),
                        ))
                    }
                    Some(column) if columns.contains(&column) => violations.push(
                        FieldViolation::new(field, "duplicate", "the column is listed twice"),
                    ),
                    Some(column) => columns.push(column),
                    None => violations.push(FieldViolation::new(
                        field,
                        "unknown_field",
                        format!("`{name}` is not a customer column"),
                    )),
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
            columns
        }
    };
    if include_custom {
        for definition in definitions {
            let column = ExportColumn::Field(SheetField::Custom(definition.key.clone()));
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
    }
    Ok(columns)
}

/// Names of the tags of `records`, looked up at once.
pub fn tag_names(
    conn: &mut DbConnection,
    records: &[CustomerRecord],
) -> Result<HashMap<Uuid, String>, PersistenceError> {
    let mut ids: Vec<Uuid> = records.iter().flat_map(|r| r.tag_ids.clone()).collect();
    ids.sort();
    ids.dedup();
    Ok(persistence::labels::find_many(conn, &ids)?
        .into_iter()
        .map(|label| (label.id.0, label.name))
        .collect())
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> Cell {
    Cell::Text(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A fraction or a model's expectation as text with six decimals: exact to what it says
/// in every format.
fn decimal(value: f64) -> Cell {
    Cell::Text(format!("{value:.6}"))
}

/// The cell of the figure `name` ([`FIGURES`]); empty where there is none (no purchase
/// yet, no run scored the customer).
fn figure(record: &CustomerRecord, scores: &CustomerScores, name: &str) -> Cell {
    let row = &record.row;
    let rfm = scores.rfm.as_ref();
    let clv = scores.clv.as_ref();
    let cell = match name {
        "order_count" => Some(Cell::Integer(row.order_count)),
        "revenue" => Some(Cell::Integer(row.revenue)),
        "first_order_at" => row.first_order_at.map(|at| timestamp(at.0)),
        "last_order_at" => row.last_order_at.map(|at| timestamp(at.0)),
        "score.rfm_recency" => rfm.map(|rfm| Cell::Integer(rfm.recency)),
        "score.rfm_frequency" => rfm.map(|rfm| Cell::Integer(rfm.frequency)),
        "score.rfm_monetary" => rfm.map(|rfm| Cell::Integer(rfm.monetary)),
        "score.rfm_segment" => rfm.map(|rfm| Cell::Text(rfm.segment.clone())),
        "score.p_alive" => clv.map(|clv| decimal(clv.p_alive)),
        "score.expected_purchases" => clv.map(|clv| decimal(clv.expected_purchases)),
        "score.expected_spend" => clv.map(|clv| Cell::Integer(clv.expected_spend)),
        "score.clv" => clv.map(|clv| Cell::Integer(clv.clv)),
        "score.cluster" => scores.cluster.map(|cluster| Cell::Integer(cluster.cluster)),
        "score.churn_risk" => scores.churn.as_ref().map(|churn| decimal(churn.risk)),
        _ => None,
    };
    cell.unwrap_or(Cell::Null)
}

/// The cells of `record` under `columns`.
pub fn cells(
    record: &CustomerRecord,
    columns: &[ExportColumn],
    dates: DateStyle,
    definitions: &[CustomFieldDefinition],
    tags: &HashMap<Uuid, String>,
) -> Result<Vec<Cell>, PersistenceError> {
    let input = record.to_input()?;
    let scores = record.scores();
    Ok(columns
        .iter()
        .map(|column| match column {
            ExportColumn::Id => Cell::Text(record.row.id.0.to_string()),
            ExportColumn::DisplayName => Cell::Text(record.row.display_name.clone()),
            ExportColumn::CreatedAt => timestamp(record.row.created_at.0),
            ExportColumn::UpdatedAt => timestamp(record.row.updated_at.0),
            ExportColumn::Figure(name) => figure(record, &scores, name),
            ExportColumn::Field(SheetField::TagNames) => {
                let names: Vec<&str> = input
                    .tag_ids
                    .iter()
                    .filter_map(|id| tags.get(id).map(String::as_str))
                    .collect();
                if names.is_empty() {
                    Cell::Null
                } else {
                    Cell::Text(names.join(", "))
                }
            }
            ExportColumn::Field(field) => match cell_value(&input, field, dates, definitions) {
                None => Cell::Null,
                Some(SheetValue::Text(text)) => Cell::Text(text),
                Some(SheetValue::Integer(number)) => Cell::Integer(number),
                Some(SheetValue::Bool(flag)) => Cell::Bool(flag),
            },
        })
        .collect())
}

/// File format of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// UTF-8 with a byte-order mark, as Excel expects.
    #[default]
    Csv,
    Xlsx,
    /// An array of objects keyed by column name.
    Json,
}

impl ExportFormat {
    pub fn format(self) -> Format {
        match self {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Xlsx => Format::Xlsx,
            ExportFormat::Json => Format::Json,
        }
    }
}

/// Calendar of the date columns of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportCalendar {
    /// ISO `YYYY-MM-DD`.
    #[default]
    Gregorian,
    /// Jalali `YYYY/MM/DD`; imports read it back.
    Jalali,
}

impl ExportCalendar {
    pub fn date_style(self) -> DateStyle {
        match self {
            ExportCalendar::Gregorian => DateStyle::Gregorian,
            ExportCalendar::Jalali => DateStyle::Jalali,
        }
    }
}

/// The body of `POST /exports`: which customers (as in `POST /customers/search`) and how
/// to write them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "filter": {"field": "city", "op": "eq", "value": "تهران"},
    "sort": [{"field": "display_name", "direction": "asc"}],
    "format": "xlsx",
    "calendar": "jalali",
    "include_custom_fields": true
}))]
pub struct ExportRequest {
    /// Filter tree, as in `POST /customers/search`.
    #[schema(value_type = Option<FilterNode>)]
    pub filter: Option<Value>,
    /// Sort entries, as in `POST /customers/search`; the id is always the final key.
    #[schema(value_type = Option<Vec<SortSpec>>)]
    pub sort: Option<Value>,
    /// Quick-search text, as in `POST /customers/search`.
    #[validate(length(min = 1, max = 200))]
    pub q: Option<String>,
    #[serde(default)]
    pub format: ExportFormat,
    /// Column names (the import's field names, plus `id`, `display_name`, `created_at`,
    /// `updated_at`, the purchase facts `order_count`, `revenue`, `first_order_at`,
    /// `last_order_at` and the current scores `score.rfm_recency`, `score.rfm_frequency`,
    /// `score.rfm_monetary`, `score.rfm_segment`, `score.p_alive`,
    /// `score.expected_purchases`, `score.expected_spend`, `score.clv`, `score.cluster`,
    /// `score.churn_risk`).
    /// Default: `id` and every column an import reads back.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Adds a `custom.<key>` column for every custom field.
    #[serde(default)]
    pub include_custom_fields: bool,
    #[serde(default)]
    pub calendar: ExportCalendar,
    /// Lay the XLSX sheet out right to left. Default: when `Accept-Language` prefers
    /// Persian.
    #[serde(default)]
    pub right_to_left: Option<bool>,
}

impl ExportRequest {
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
