//! Service desk (V-1 … V-6): tickets with their conversation and status rules, the SLA
//! clock that counts their targets in business time, canned answers with their
//! templates and text-similarity ranking, and satisfaction surveys.

pub mod canned_answers;
pub mod sla;
pub mod surveys;
pub mod tickets;
