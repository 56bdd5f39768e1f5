//! Duplicate detection (D-2): two customers are compared on the keys people actually
//! share when they are the same person or company: national code or id, e-mail
//! address, phone number and Persian-normalised name. Each agreeing key is independent
//! evidence with its own strength; the score is the probability that at least one of
//! them is right, `1 - Π(1 - pᵢ)`, in percent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Scores at or above this (percent) make a "likely duplicate": creating one answers
/// 409 unless the client confirms. A shared e-mail or national code alone reaches it;
/// a shared phone or name alone does not (families and offices share phones, and many
/// people share a name), but both together do.
pub const DUPLICATE_THRESHOLD: u8 = 80;

/// Why two customers look alike.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    SameNationalCode,
    SameEmail,
    SamePhone,
    SameName,
}

impl DuplicateReason {
    pub const ALL: [DuplicateReason; 4] = [
        DuplicateReason::SameNationalCode,
        DuplicateReason::SameEmail,
        DuplicateReason::SamePhone,
        DuplicateReason::SameName,
    ];

    /// How likely two records agreeing on this key are the same customer.
    fn strength(self) -> f64 {
        match self {
            DuplicateReason::SameNationalCode => 0.99,
            DuplicateReason::SameEmail => 0.85,
            DuplicateReason::SamePhone => 0.70,
            DuplicateReason::SameName => 0.50,
        }
    }
}

/// The comparable keys of one customer, all already normalised (E.164 phones,
/// lower-case e-mails, [`crate::persian::name_key`] names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuplicateEvidence {
    pub national: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub name_key: Option<String>,
}

/// The score (0–100) and the reasons `a` and `b` may be the same customer.
pub fn duplicate_score(a: &DuplicateEvidence, b: &DuplicateEvidence) -> (u8, Vec<DuplicateReason>) {
    let shares = |x: &[String], y: &[String]| x.iter().any(|item| y.contains(item));
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    let mut reasons = Vec::new();
    if same(&a.national, &b.national) {
        reasons.push(DuplicateReason::SameNationalCode);
    }
    if shares(&a.emails, &b.emails) {
        reasons.push(DuplicateReason::SameEmail);
    }
    if shares(&a.phones, &b.phones) {
        reasons.push(DuplicateReason::SamePhone);
    }
    if same(&a.name_key, &b.name_key) {
        reasons.push(DuplicateReason::SameName);
    }
    (score_of(&reasons), reasons)
}

/// The score (0–100) of a pair that agrees on exactly `reasons`.
pub fn score_of(reasons: &[DuplicateReason]) -> u8 {
    if reasons.is_empty() {
        return 0;
    }
    let unlikely: f64 = reasons.iter().map(|r| 1.0 - r.strength()).product();
    ((1.0 - unlikely) * 100.0).round() as u8
}

/// The keys a workspace-wide scan has to group customers by to find every pair scoring
/// at least [`DUPLICATE_THRESHOLD`]. A pair's score comes only from keys it shares, so
/// the weakest keys whose combined score stays under the threshold can never make a
/// likely duplicate on their own: a pair that reaches it also shares one of the
/// returned keys and is found through that one (the weak keys still count in its
/// score). Today that leaves names out, the key most customers share with someone.
pub fn scan_keys() -> Vec<DuplicateReason> {
    let mut by_strength = DuplicateReason::ALL;
    by_strength.sort_by(|a, b| a.strength().total_cmp(&b.strength()));
    let mut weak = Vec::new();
    for reason in by_strength {
        weak.push(reason);
        if score_of(&weak) >= DUPLICATE_THRESHOLD {
            weak.pop();
            break;
        }
    }
    DuplicateReason::ALL
        .into_iter()
        .filter(|reason| !weak.contains(reason))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(name: &str, phone: &str, email: &str) -> DuplicateEvidence {
        DuplicateEvidence {
            national: None,
            emails: (!email.is_empty())
                .then(|| email.to_string())
                .into_iter()
                .collect(),
            phones: (!phone.is_empty())
                .then(|| phone.to_string())
                .into_iter()
                .collect(),
            name_key: (!name.is_empty()).then(|| name.to_string()),
        }
    }

    #[test]
    fn one_weak_key_is_not_a_likely_duplicate() {
        let (score, reasons) = duplicate_score(
            &evidence("علیکریمی", "+989121234567", ""),
            &evidence("حسنکریمی", "+989121234567", ""),
        );
        assert_eq!(reasons, vec![DuplicateReason::SamePhone]);
        assert!(score < DUPLICATE_THRESHOLD);
        let (score, _) =
            duplicate_score(&evidence("علیکریمی", "", ""), &evidence("علیکریمی", "", ""));
        assert_eq!(score, 50);
    }

    #[test]
    fn evidence_accumulates() {
        let (score, reasons) = duplicate_score(
            &evidence("علیکریمی", "+989121234567", ""),
            &evidence("علیکریمی", "+989121234567", ""),
        );
        assert_eq!(
            reasons,
            vec![DuplicateReason::SamePhone, DuplicateReason::SameName]
        );
        assert_eq!(score, 85);
        let (score, _) = duplicate_score(&evidence("", "", "a@b.ir"), &evidence("x", "", "a@b.ir"));
        assert!(score >= DUPLICATE_THRESHOLD);
    }

    #[test]
    fn scanning_the_strong_keys_finds_every_likely_pair() {
        let keys = scan_keys();
        assert!(!keys.contains(&DuplicateReason::SameName));
        // Every combination of reasons that reaches the threshold holds a scanned key.
        for mask in 1_u8..16 {
            let reasons: Vec<DuplicateReason> = DuplicateReason::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, reason)| reason)
                .collect();
            if score_of(&reasons) >= DUPLICATE_THRESHOLD {
                assert!(reasons.iter().any(|reason| keys.contains(reason)));
            }
        }
    }

    #[test]
    fn nothing_shared_scores_zero() {
        assert_eq!(
            duplicate_score(
                &evidence("a", "+1", "a@x.ir"),
                &evidence("b", "+2", "b@x.ir")
            ),
            (0, vec![])
        );
        assert_eq!(
            duplicate_score(&DuplicateEvidence::default(), &DuplicateEvidence::default()).0,
            0
        );
    }
}
