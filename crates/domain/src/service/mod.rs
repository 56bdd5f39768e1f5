//! Service desk (V-1 … V-6): tickets with their conversation and status rules, the SLA
//! clock that counts their targets in business time, canned answers with their
//! templates and text-similarity ranking, satisfaction surveys, the arithmetic of the
//! service KPIs, the files a ticket may carry and the time spent on it.

pub mod attachments;
pub mod canned_answers;
pub mod kpis;
pub mod sla;
pub mod surveys;
pub mod tickets;
pub mod time_entries;
