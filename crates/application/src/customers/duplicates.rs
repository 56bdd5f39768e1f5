//! Duplicate candidates of a customer (D-2), scored by `domain::customers::duplicate_score`.

use domain::customers::{duplicate_score, DuplicateEvidence, DuplicateReason};
use persistence::customers::duplicates::{candidate_ids, evidence_of, load_candidates};
use persistence::db::DbConnection;

use crate::acting::Acting;
use crate::error::AppResult;
use persistence::PersistenceError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Candidates looked at per key; keys shared by more records than this are too common
/// (a company switchboard) to single out duplicates anyway.
const CANDIDATES_PER_KEY: i64 = 50;

/// An existing customer that may be the same as the one in question. One the caller
/// may not see is reported only as existing, with its score and reasons: no id and no
/// other data of it, so that it cannot be looked up or told apart from another.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateCandidate {
    /// Shown only when the caller may see the candidate.
    pub id: Option<Uuid>,
    /// 0–100: how likely the two are the same customer.
    pub score: u8,
    pub reasons: Vec<DuplicateReason>,
    /// Shown only when the caller may see the candidate.
    pub display_name: Option<String>,
    /// Whether the caller may open the candidate.
    pub visible: bool,
}

/// Candidates for `evidence` (other than `exclude`), best first, with a score > 0.
pub fn candidates(
    conn: &mut DbConnection,
    evidence: &DuplicateEvidence,
    exclude: Option<Uuid>,
    acting: &Acting,
) -> Result<Vec<DuplicateCandidate>, PersistenceError> {
    let ids = candidate_ids(conn, evidence, exclude, CANDIDATES_PER_KEY)?;
    let scope = acting.scope();
    let mut found: Vec<DuplicateCandidate> = load_candidates(conn, &ids)?
        .iter()
        .filter_map(|record| {
            let (score, reasons) = duplicate_score(evidence, &evidence_of(record));
            let visible = scope.can_see(&record.row);
            (score > 0).then(|| DuplicateCandidate {
                id: visible.then_some(record.row.id.0),
                score,
                reasons,
                display_name: visible.then(|| record.row.display_name.clone()),
                visible,
            })
        })
        .collect();
    // Visible candidates first among equals, so that the position of a hidden one says
    // nothing about how its id compares with the visible ones'.
    found.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(b.visible.cmp(&a.visible))
            .then(a.id.cmp(&b.id))
            .then_with(|| a.reasons.cmp(&b.reasons))
    });
    Ok(found)
}

/// The comparable keys of validated input.
pub fn evidence_of_input(input: &domain::customers::CustomerInput) -> DuplicateEvidence {
    DuplicateEvidence {
        national: input
            .national_code
            .clone()
            .or_else(|| input.national_id.clone()),
        emails: input.emails.iter().map(|e| e.address.clone()).collect(),
        phones: input.phones.iter().map(|p| p.number.clone()).collect(),
        name_key: domain::customers::name_key_of(input),
    }
}

/// The likely twins of a customer visible to the caller.
pub fn of_customer(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
) -> AppResult<Vec<DuplicateCandidate>> {
    let record = super::visible(conn, acting, id)?;
    Ok(candidates(
        conn,
        &persistence::customers::duplicates::evidence_of(&record),
        Some(id),
        acting,
    )?)
}
