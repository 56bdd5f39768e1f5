//! Service desk use cases (V-1 … V-6): tickets with their conversation and status
//! history, ticket categories, SLA policies, the scan that finds breaches and
//! re-assigns tickets nobody picked up (with the queueing of its runs), and the
//! library of canned answers with its suggestions; satisfaction surveys of resolved
//! tickets and their CSAT report; the files attached to tickets and the time spent on
//! them.

pub mod canned_answers;
pub mod sla_policies;
pub mod sla_scan;
pub mod sla_schedule;
pub mod surveys;
pub mod ticket_attachments;
pub mod ticket_catalogue;
pub mod ticket_categories;
pub mod ticket_time;
pub mod tickets;
