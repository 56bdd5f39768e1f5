//! What administrators configure and inspect: tags, customer groups and tiers with
//! their assignment to customers, custom-field definitions, the audit log, and the
//! retention rules.

pub mod audit_log;
pub mod custom_fields;
pub mod labels;
pub mod retention;
