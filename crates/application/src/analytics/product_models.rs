//! What the product models found, as callers read it: the association rules of a
//! `cross_sell` run and the price elasticities of an `elasticity` run, of
//! the current run of the kind or of one run asked for by id, a keyset page at a time.
//! Both describe the whole customer base, so reading them needs what reading runs
//! needs (`records:read` with visibility over every record).

use std::collections::HashMap;

use domain::model_runs::{RunKind, ALL_BUYERS, RFM_SEGMENTS};
use persistence::db::DbConnection;
use persistence::model_runs::ModelRunRow;
use persistence::product_models::{self, CrossSellRuleRow, PriceElasticityRow};
use serde_json::json;
use uuid::Uuid;

use super::access::require_reader;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{invalid_cursor, Cursor};

const RULE_ORDER: &str = "cross_sell_rules";
const ELASTICITY_ORDER: &str = "price_elasticities";

/// A product as a result names it; `sku` and `name` are absent once it was removed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductLabel {
    pub id: Uuid,
    pub sku: Option<String>,
    pub name: Option<String>,
}

/// A rule with its products named.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleView {
    pub rule: CrossSellRuleRow,
    pub antecedent: ProductLabel,
    pub consequent: ProductLabel,
}

/// An elasticity with its product named.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticityView {
    pub elasticity: PriceElasticityRow,
    pub product: ProductLabel,
}

/// The run whose results are read: the one a cursor continues, else `run_id`, else the
/// current run of `kind`.
fn run_of(
    conn: &mut DbConnection,
    kind: RunKind,
    run_id: Option<Uuid>,
    cursor_run: Option<Uuid>,
) -> AppResult<ModelRunRow> {
    if let (Some(asked), Some(continued)) = (run_id, cursor_run) {
        if asked != continued {
            return Err(invalid_cursor());
        }
    }
    let kind_name = kind.as_str();
    let found = match cursor_run.or(run_id) {
        Some(id) => persistence::model_runs::find(conn, id)?
            .map(|run| run.row)
            .filter(|run| run.kind == kind_name && run.succeeded_at.is_some()),
        None => persistence::model_runs::latest_succeeded(conn, kind_name)?,
    };
    found.ok_or_else(|| {
        AppError::field(
            "run_id",
            "no_succeeded_run",
            match run_id {
                Some(_) => format!("no succeeded {kind_name} run has this id"),
                None => format!("no {kind_name} run has succeeded yet"),
            },
        )
    })
}

/// The keyset a cursor of `order` holds: its run and the values after which to go on.
fn continued(
    cursor: Option<&Cursor>,
    order: &str,
) -> AppResult<Option<(Uuid, Vec<serde_json::Value>)>> {
    cursor
        .map(|cursor| {
            cursor
                .keyset(order)
                .map(|keyset| (keyset.id, keyset.values))
        })
        .transpose()
}

fn labels(conn: &mut DbConnection, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, ProductLabel>> {
    Ok(product_models::product_labels(conn, &ids)?
        .into_iter()
        .map(|(id, sku, name)| {
            (
                id,
                ProductLabel {
                    id,
                    sku: Some(sku),
                    name: Some(name),
                },
            )
        })
        .collect())
}

fn label(labels: &HashMap<Uuid, ProductLabel>, id: Uuid) -> ProductLabel {
    labels.get(&id).cloned().unwrap_or(ProductLabel {
        id,
        sku: None,
        name: None,
    })
}

/// Rules of a `cross_sell` run in rank order (the most confident first), optionally
/// only those from `antecedent`: `fetch` rows after `cursor`, with the run they are of.
pub fn cross_sell_rules(
    conn: &mut DbConnection,
    acting: &Acting,
    run_id: Option<Uuid>,
    antecedent: Option<Uuid>,
    cursor: Option<&Cursor>,
    fetch: i64,
) -> AppResult<(Uuid, Vec<RuleView>)> {
    require_reader(acting)?;
    let continued = continued(cursor, RULE_ORDER)?;
    let run = run_of(
        conn,
        RunKind::CrossSell,
        run_id,
        continued.as_ref().map(|c| c.0),
    )?;
    let after = match continued {
        None => 0,
        Some((_, values)) => match values.as_slice() {
            [rank] => rank.as_i64().ok_or_else(invalid_cursor)?,
            _ => return Err(invalid_cursor()),
        },
    };
    let rules = product_models::rules(conn, run.id.0, antecedent, after, fetch)?;
    let ids = rules
        .iter()
        .flat_map(|rule| [rule.antecedent_id.0, rule.consequent_id.0])
        .collect();
    let labels = labels(conn, ids)?;
    let views = rules
        .into_iter()
        .map(|rule| RuleView {
            antecedent: label(&labels, rule.antecedent_id.0),
            consequent: label(&labels, rule.consequent_id.0),
            rule,
        })
        .collect();
    Ok((run.id.0, views))
}

pub fn rule_cursor_after(rule: &RuleView) -> Cursor {
    Cursor::new(RULE_ORDER, vec![json!(rule.rule.rank)], rule.rule.run_id.0)
}

/// Elasticities of an `elasticity` run by product, then segment, optionally of one
/// product or one segment: `fetch` rows after `cursor`, with the run they are of.
pub fn price_elasticities(
    conn: &mut DbConnection,
    acting: &Acting,
    run_id: Option<Uuid>,
    product: Option<Uuid>,
    segment: Option<&str>,
    cursor: Option<&Cursor>,
    fetch: i64,
) -> AppResult<(Uuid, Vec<ElasticityView>)> {
    require_reader(acting)?;
    if let Some(segment) = segment {
        if segment != ALL_BUYERS && !RFM_SEGMENTS.contains(&segment) {
            return Err(AppError::field(
                "segment",
                "unknown_segment",
                format!("must be `{ALL_BUYERS}` or an RFM segment name"),
            ));
        }
    }
    let continued = continued(cursor, ELASTICITY_ORDER)?;
    let run = run_of(
        conn,
        RunKind::Elasticity,
        run_id,
        continued.as_ref().map(|c| c.0),
    )?;
    let after = match continued {
        None => None,
        Some((_, values)) => match values.as_slice() {
            [product, segment] => Some((
                product
                    .as_str()
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .ok_or_else(invalid_cursor)?,
                segment.as_str().ok_or_else(invalid_cursor)?.to_owned(),
            )),
            _ => return Err(invalid_cursor()),
        },
    };
    let rows = product_models::elasticities(conn, run.id.0, product, segment, after, fetch)?;
    let labels = labels(conn, rows.iter().map(|row| row.product_id.0).collect())?;
    let views = rows
        .into_iter()
        .map(|row| ElasticityView {
            product: label(&labels, row.product_id.0),
            elasticity: row,
        })
        .collect();
    Ok((run.id.0, views))
}

pub fn elasticity_cursor_after(view: &ElasticityView) -> Cursor {
    let row = &view.elasticity;
    Cursor::new(
        ELASTICITY_ORDER,
        vec![json!(row.product_id.0), json!(row.segment)],
        row.run_id.0,
    )
}
