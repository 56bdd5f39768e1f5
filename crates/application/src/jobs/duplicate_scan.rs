//! `customers.duplicate_scan` (D-2): finds likely duplicates across the whole
//! workspace.
//!
//! Customers are grouped in SQL by each key that can make a likely duplicate
//! (`domain::customers::scan_keys`); only the members of shared values are read, then
//! every pair sharing a value is scored with `domain::customers::duplicate_score`. Pairs
//! at or above the threshold are joined into groups (customers linked by a chain of
//! likely-duplicate pairs), limited to the customers the user who started the scan may
//! see.

use std::collections::{BTreeSet, HashMap};

use domain::customers::{
    duplicate_score, scan_keys, DuplicateEvidence, DuplicateReason, DUPLICATE_THRESHOLD,
};
use persistence::customers::duplicates::{evidence_of, load_candidates, shared_keys};
use persistence::customers::search::Scope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;

pub const DUPLICATE_SCAN: &str = "customers.duplicate_scan";

/// Customers holding one key value beyond which the value is too common to single out
/// duplicates (a switchboard number): the same cap as the candidates of one customer.
const MAX_MEMBERS_PER_KEY: usize = 50;
/// Customers whose keys are loaded per round trip while scoring.
const LOAD_CHUNK: usize = 500;
/// Groups kept in the result; the rest are counted.
const MAX_GROUPS: usize = 1_000;
/// Share of the progress bar the grouping queries take; scoring takes the rest.
const GROUPING_SHARE: f64 = 0.4;

/// What a `customers.duplicate_scan` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DuplicateScanPayload {
    /// Who started the scan, as they were then: the report shows only what they saw.
    pub acting: Acting,
}

/// The result of a `customers.duplicate_scan` job.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "threshold": 80,
    "total_groups": 1,
    "total_pairs": 1,
    "keys_too_common": 0,
    "groups": [{
        "customer_ids": ["0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa", "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"],
        "pairs": [{"customer_ids": ["0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa", "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"], "score": 85, "reasons": ["same_phone", "same_name"]}]
    }]
}))]
pub struct DuplicateScanReport {
    /// Scores at or above this make a likely duplicate.
    pub threshold: u8,
    /// Groups of likely duplicates, best pair first; at most 1,000.
    pub groups: Vec<DuplicateGroup>,
    /// Groups found in all.
    pub total_groups: usize,
    /// Likely-duplicate pairs found in all.
    pub total_pairs: usize,
    /// Key values shared by too many customers to single out duplicates (more than
    /// 50), left out of the scan.
    pub keys_too_common: usize,
}

/// Customers linked by likely-duplicate pairs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DuplicateGroup {
    pub customer_ids: Vec<Uuid>,
    /// The likely-duplicate pairs within the group, best first.
    pub pairs: Vec<DuplicatePair>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DuplicatePair {
    pub customer_ids: [Uuid; 2],
    /// 0–100: how likely the two are the same customer.
    pub score: u8,
    pub reasons: Vec<DuplicateReason>,
}

pub struct DuplicateScanJob;

impl JobHandler for DuplicateScanJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: DuplicateScanPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let report = scan(ctx, &payload.acting.scope())?;
        serde_json::to_value(report).map_err(JobError::internal)
    }
}

fn scan(ctx: &JobContext<'_>, scope: &Scope) -> Result<DuplicateScanReport, JobError> {
    let keys = scan_keys();
    let mut candidates: BTreeSet<(Uuid, Uuid)> = BTreeSet::new();
    let mut keys_too_common = 0;
    for (done, key) in keys.iter().enumerate() {
        let shared = shared_keys(&mut *connection(ctx.pool())?, *key, MAX_MEMBERS_PER_KEY)?;
        keys_too_common += shared.too_common;
        for group in &shared.groups {
            for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    candidates.insert((*a.min(b), *a.max(b)));
                }
            }
        }
        step(ctx, GROUPING_SHARE * (done + 1) as f64 / keys.len() as f64)?;
    }
    let ids: Vec<Uuid> = candidates
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Only customers the scope may see are loaded; pairs with any other are dropped.
    let mut evidence: HashMap<Uuid, DuplicateEvidence> = HashMap::with_capacity(ids.len());
    let chunks = ids.chunks(LOAD_CHUNK).len().max(1);
    for (done, chunk) in ids.chunks(LOAD_CHUNK).enumerate() {
        for record in load_candidates(&mut *connection(ctx.pool())?, chunk)? {
            if scope.can_see(&record.row) {
                evidence.insert(record.row.id.0, evidence_of(&record));
            }
        }
        step(
            ctx,
            GROUPING_SHARE + (1.0 - GROUPING_SHARE) * (done + 1) as f64 / chunks as f64,
        )?;
    }
    let pairs: Vec<DuplicatePair> = candidates
        .into_iter()
        .filter_map(|(a, b)| {
            let (score, reasons) = duplicate_score(evidence.get(&a)?, evidence.get(&b)?);
            (score >= DUPLICATE_THRESHOLD).then_some(DuplicatePair {
                customer_ids: [a, b],
                score,
                reasons,
            })
        })
        .collect();
    Ok(report(pairs, keys_too_common))
}

/// Progress, stopping early when the worker shuts down.
fn step(ctx: &JobContext<'_>, progress: f64) -> Result<(), JobError> {
    if ctx.should_stop() {
        return Err(JobError::Interrupted);
    }
    ctx.set_progress(progress)
}

/// Joins `pairs` into groups (connected components), best group first.
fn report(mut pairs: Vec<DuplicatePair>, keys_too_common: usize) -> DuplicateScanReport {
    pairs.sort_by(|x, y| {
        y.score
            .cmp(&x.score)
            .then(x.customer_ids.cmp(&y.customer_ids))
    });
    let mut parent: HashMap<Uuid, Uuid> = HashMap::new();
    fn root(parent: &mut HashMap<Uuid, Uuid>, id: Uuid) -> Uuid {
        let mut current = id;
        while let Some(&up) = parent.get(&current).filter(|up| **up != current) {
            current = up;
        }
        parent.insert(id, current);
        current
    }
    for pair in &pairs {
        let [a, b] = pair.customer_ids;
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent.insert(ra.max(rb), ra.min(rb));
    }
    let total_pairs = pairs.len();
    // Pairs are best first, so each group's first pair is its best and groups come out
    // in the order of their best pair.
    let mut order: Vec<Uuid> = Vec::new();
    let mut groups: HashMap<Uuid, DuplicateGroup> = HashMap::new();
    for pair in pairs {
        let group_root = root(&mut parent, pair.customer_ids[0]);
        let group = groups.entry(group_root).or_insert_with(|| {
            order.push(group_root);
            DuplicateGroup {
                customer_ids: Vec::new(),
                pairs: Vec::new(),
            }
        });
        for id in pair.customer_ids {
            if !group.customer_ids.contains(&id) {
                group.customer_ids.push(id);
            }
        }
        group.pairs.push(pair);
    }
    let total_groups = order.len();
    DuplicateScanReport {
        threshold: DUPLICATE_THRESHOLD,
        groups: order
            .into_iter()
            .take(MAX_GROUPS)
            .filter_map(|group_root| groups.remove(&group_root))
            .collect(),
        total_groups,
        total_pairs,
        keys_too_common,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: Uuid, b: Uuid, score: u8) -> DuplicatePair {
        DuplicatePair {
            customer_ids: [a.min(b), a.max(b)],
            score,
            reasons: vec![DuplicateReason::SameEmail],
        }
    }

    #[test]
    fn chained_pairs_form_one_group_and_groups_are_ordered_by_their_best_pair() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let report = report(
            vec![
                pair(ids[0], ids[1], 85),
                pair(ids[1], ids[2], 90),
                pair(ids[3], ids[4], 99),
            ],
            2,
        );
        assert_eq!(report.total_groups, 2);
        assert_eq!(report.total_pairs, 3);
        assert_eq!(report.keys_too_common, 2);
        assert_eq!(report.groups[0].customer_ids, vec![ids[3], ids[4]]);
        let mut chain = report.groups[1].customer_ids.clone();
        chain.sort();
        assert_eq!(chain, ids[..3].to_vec());
        assert_eq!(report.groups[1].pairs[0].score, 90);
    }
}
