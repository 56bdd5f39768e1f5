//! What administrators configure and inspect: tags, customer groups and tiers with
//! their assignment to customers, custom-field definitions, and the audit log.

pub mod audit_log;
pub mod custom_fields;
pub mod labels;
