//! Sales use cases (S-1 … S-5): leads, their conversion into customers and static lead
//! lists; pipelines and lost reasons (the business's configuration), deals with their
//! stage history, and the board of a pipeline.

pub mod board;
pub mod deals;
pub mod lead_lists;
pub mod lead_scoring;
pub mod lead_scoring_rules;
pub mod leads;
pub mod pipelines;
