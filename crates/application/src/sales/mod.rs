//! Sales use cases (S-1 … S-7): leads, their conversion into customers and static lead
//! lists, their imports from spreadsheets and exports, their assignment and scoring; pipelines and lost reasons (the business's
//! configuration), deals with their stage history, the board of a pipeline, and quotes
//! for deals and the daily notice of stuck ones; tasks with their reminders, the
//! activities logged against customers, leads and deals, and the automatic follow-ups.

pub mod activities;
pub mod board;
pub mod deals;
pub mod follow_ups;
pub mod lead_assignment;
pub mod lead_export;
pub mod lead_import;
pub mod lead_lists;
pub mod lead_scoring;
pub mod lead_scoring_rules;
pub mod leads;
pub mod pipelines;
pub mod quote_document;
pub mod quotes;
pub mod stuck_deals;
pub mod subjects;
pub mod tasks;
