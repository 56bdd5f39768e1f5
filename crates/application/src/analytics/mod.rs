//! Analytics in the product: model runs over the purchase history, queued as jobs, and
//! the scores they leave on every customer they cover, and schedules that queue runs.

pub mod execution;
pub mod runs;
pub mod schedules;
