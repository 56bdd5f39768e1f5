//! Sales use cases (S-1 … S-5, S-7): leads, their conversion into customers and static
//! lead lists; pipelines and lost reasons (the business's configuration), deals with
//! their stage history, and the board of a pipeline; tasks with their reminders, the activities
//! logged against customers, leads and deals, and the automatic follow-ups.

pub mod activities;
pub mod board;
pub mod deals;
pub mod follow_ups;
pub mod lead_lists;
pub mod leads;
pub mod pipelines;
pub mod subjects;
pub mod tasks;
