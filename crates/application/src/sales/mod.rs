//! Sales use cases (S-4, S-5): pipelines and lost reasons (the business's
//! configuration), deals with their stage history, and the board of a pipeline.

pub mod board;
pub mod deals;
pub mod pipelines;
