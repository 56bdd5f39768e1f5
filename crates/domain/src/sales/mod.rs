//! Sales (S-1 … S-6): leads, the people and companies that may become customers;
//! pipelines of stages with win probabilities, the reasons deals are lost, deals with
//! their amount or lines, their stage history, and the figures the board and the
//! forecast derive from them; quotes with their lines, tax and numbers; tasks and the
//! activities logged against leads, deals and customers (S-7). Amounts are integer
//! minor units ([`crate::commerce::money`]); probabilities are whole percents.

pub mod activities;
pub mod deals;
pub mod follow_ups;
pub mod lead_scoring;
pub mod leads;
pub mod pipelines;
pub mod quotes;
pub mod tasks;
