//! Lead scoring points (S-2): a lead's `score_points` is the sum of the points of the
//! active rules whose condition it meets. Each condition is a filter tree over the lead
//! search catalogue ([`rule_catalogue`]), resolved when it is evaluated (so "created
//! this week" moves with the calendar) and asked of the database, so a rule means
//! exactly what the same filter finds in a search.
//!
//! One lead is recounted inside the transaction that creates or changes it
//! ([`rescore_lead`]); every lead is recounted, set-based, when the rules change
//! ([`rescore_all`], run by the `lead_scoring.rescore` job). The catalogue is passed
//! in by the lead search that owns it, so that a field added there is usable in rules.

use domain::filter::{FieldSpec, ResolveContext, ResolvedFilter};
use persistence::db::DbConnection;
use persistence::lead_scoring::{self, LeadScoringRuleRow};
use persistence::leads::LeadRow;

use crate::error::{AppError, AppResult};
use crate::search::resolve_condition;

/// Lead search fields a rule may not name: the scores themselves (a rule on points would
/// feed on itself), and facts that change without a write of the lead (the propensity
/// a model run sets, list membership), after which its points would be stale.
const NOT_IN_RULES: [&str; 3] = ["score_points", "propensity", "list_id"];

/// The fields a rule's condition may name: the lead search catalogue but
/// [`NOT_IN_RULES`].
pub fn rule_catalogue(lead_catalogue: &[FieldSpec]) -> Vec<FieldSpec> {
    lead_catalogue
        .iter()
        .filter(|spec| !NOT_IN_RULES.contains(&spec.name))
        .copied()
        .collect()
}

/// Every active rule with its condition resolved now, in the business calendar.
fn active_rules(
    conn: &mut DbConnection,
    lead_catalogue: &[FieldSpec],
) -> AppResult<Vec<(LeadScoringRuleRow, ResolvedFilter)>> {
    let rules = lead_scoring::active(conn)?;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    let catalogue = rule_catalogue(lead_catalogue);
    rules
        .into_iter()
        .map(|rule| {
            // Checked when saved against a catalogue that only grows; a stored condition
            // that no longer resolves is a fault of the system, not of this lead.
            let filter =
                resolve_condition(&rule.condition.0, &catalogue, &context).map_err(|_| {
                    AppError::Internal(format!(
                        "scoring rule {} no longer fits the lead catalogue",
                        rule.id.0
                    ))
                })?;
            Ok((rule, filter))
        })
        .collect()
}

/// Recounts the points of lead `row` (just written in the caller's transaction) and
/// answers it with them.
pub fn rescore_lead(
    conn: &mut DbConnection,
    mut row: LeadRow,
    lead_catalogue: &[FieldSpec],
) -> AppResult<LeadRow> {
    let mut points = 0;
    for (rule, filter) in active_rules(conn, lead_catalogue)? {
        if persistence::leads::matches(conn, row.id.0, &filter)? {
            points += rule.points;
        }
    }
    if points != row.score_points {
        lead_scoring::set_points(conn, row.id.0, points)?;
        row.score_points = points;
    }
    Ok(row)
}

/// What a recount of every lead did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Recount {
    /// Active rules counted.
    pub rules: usize,
    /// Leads whose points were set back to 0 before the count.
    pub reset: usize,
    /// Rule matches counted (a lead meeting two rules counts twice).
    pub matches: usize,
}

/// Recounts every lead's points in the caller's transaction: all set to 0, then one
/// `UPDATE` per active rule adds its points to the leads meeting its condition.
pub fn rescore_all(conn: &mut DbConnection, lead_catalogue: &[FieldSpec]) -> AppResult<Recount> {
    let rules = active_rules(conn, lead_catalogue)?;
    let reset = lead_scoring::reset_points(conn)?;
    let mut matches = 0;
    for (rule, filter) in &rules {
        matches += lead_scoring::add_points(conn, filter, rule.points)?;
    }
    Ok(Recount {
        rules: rules.len(),
        reset,
        matches,
    })
}
