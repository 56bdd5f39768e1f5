//! The board of a pipeline: its open stages in order, each with the number, amount and
//! weighted amount (amount × the stage's probability) of its open deals per currency and
//! the first page of those deals, over the deals the caller may see. A column pages on
//! by itself: the deal search of that stage, in creation order, on the stage index.

use domain::authz::Permission;
use domain::filter::ResolveContext;
use domain::sales::deals::{total, weighted};
use domain::sales::pipelines::StageKind;
use domain::validation::FieldViolation;
use persistence::db::DbConnection;
use persistence::pipelines::{PipelineRecord, StageRow};
use uuid::Uuid;

use super::deals::{self, DealDetails, DealSearch};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::search::{Search, SearchRequest};

/// The open deals of a column in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: String,
    pub deals: i64,
    pub amount: i64,
    /// Σ amount × probability, rounded half up to the minor unit.
    pub weighted_amount: i64,
}

/// One stage of a board.
#[derive(Debug)]
pub struct BoardColumn {
    pub stage: StageRow,
    pub deals: i64,
    /// Per currency, in code order.
    pub totals: Vec<CurrencyTotals>,
    /// The page of the column's deals and the search it continues.
    pub page: Vec<DealDetails>,
    pub search: Search<DealSearch>,
}

/// A pipeline's board.
#[derive(Debug)]
pub struct Board {
    pub pipeline: PipelineRecord,
    pub columns: Vec<BoardColumn>,
}

/// Which deals a board request asks for.
#[derive(Debug, Clone, Default)]
pub struct BoardRequest {
    /// Only this stage's column (to page it on).
    pub stage: Option<Uuid>,
    /// Where the column's previous page ended; with `stage`.
    pub cursor: Option<String>,
    /// Deals per column, 1 to 200.
    pub limit: Option<i64>,
}

/// The board of pipeline `id` (`records:read`). Its sums are exact; one past the
/// largest amount is a 422 `too_large` naming `amount` or `weighted_amount`.
pub fn board(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    request: BoardRequest,
    context: &ResolveContext,
) -> AppResult<Board> {
    acting.require(Permission::RecordsRead)?;
    if request.cursor.is_some() && request.stage.is_none() {
        return Err(AppError::bad_parameter(
            "cursor",
            "stage_required",
            "a cursor continues one column: name its `stage`",
        ));
    }
    let pipeline = persistence::pipelines::find(conn, id)?;
    let open: Vec<StageRow> = pipeline
        .stages
        .iter()
        .filter(|stage| stage.kind == StageKind::Open.as_str())
        .filter(|stage| request.stage.is_none_or(|wanted| stage.id.0 == wanted))
        .cloned()
        .collect();
    if open.is_empty() {
        return Err(AppError::bad_parameter(
            "stage",
            "not_found",
            "is not an open stage of this pipeline",
        ));
    }
    let totals = persistence::deals::stage_totals(conn, id, &acting.scope())?;
    let mut columns = Vec::with_capacity(open.len());
    for stage in open {
        let search = deals::resolve_search(
            SearchRequest {
                filter: Some(serde_json::json!(
                    {"field": "stage_id", "op": "eq", "value": stage.id.0}
                )),
                sort: Some(serde_json::json!([{"field": "created_at", "direction": "asc"}])),
                limit: request.limit,
                cursor: request.cursor.clone(),
                q: None,
            },
            // A column names no custom field.
            &[],
            context,
        )?;
        let page = deals::search(conn, acting, &search)?;
        let mine: Vec<CurrencyTotals> = totals
            .iter()
            .filter(|cell| cell.stage_id == stage.id)
            .map(|cell| {
                Ok(CurrencyTotals {
                    currency: cell.currency.clone(),
                    deals: cell.deals,
                    amount: total("amount", cell.amount)?,
                    weighted_amount: total("weighted_amount", weighted(cell.weighted_percent))?,
                })
            })
            .collect::<Result<_, FieldViolation>>()
            .map_err(|violation| AppError::Invalid(vec![violation]))?;
        columns.push(BoardColumn {
            deals: mine.iter().map(|cell| cell.deals).sum(),
            totals: mine,
            stage,
            page,
            search,
        });
    }
    Ok(Board { pipeline, columns })
}
