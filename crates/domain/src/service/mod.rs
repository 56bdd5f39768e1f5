//! Service desk (V-1 … V-6): tickets with their conversation and status rules, and the
//! SLA clock that counts their targets in business time.

pub mod sla;
pub mod tickets;
