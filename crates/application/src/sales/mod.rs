//! Sales use cases (S-1 … S-6): leads, their conversion into customers and static lead
//! lists; pipelines and lost reasons (the business's configuration), deals with their
//! stage history, the board of a pipeline, and
//! quotes for deals.

pub mod board;
pub mod deals;
pub mod lead_assignment;
pub mod lead_lists;
pub mod lead_scoring;
pub mod lead_scoring_rules;
pub mod leads;
pub mod pipelines;
pub mod quotes;
