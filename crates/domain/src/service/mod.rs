//! Service desk (V-1 … V-6): tickets with their conversation and status rules, the SLA
//! clock that counts their targets in business time, and canned answers with their
//! templates and text-similarity ranking.

pub mod canned_answers;
pub mod sla;
pub mod tickets;
