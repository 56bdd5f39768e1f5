//! Feedback (F-1..F-3): `entries` (feedback in one place — recorded by callers, by
//! survey answers and by ticket satisfaction answers — with its sentiment, whether it
//! is negative and what that does), `surveys` (definitions, invitations by link or
//! through a channel with the throttle, the public page and answer) and `reports`
//! (NPS, CSAT, CES, ratings and sentiment per period and group with confidence
//! intervals; the SERVQUAL gaps, tolerance zone and expectation factors).

pub mod entries;
pub mod reports;
pub mod surveys;
