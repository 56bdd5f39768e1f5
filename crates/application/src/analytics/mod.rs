//! Analytics in the product: model runs over the purchase history, queued as jobs, and
//! the scores they leave on every customer they cover, the rules and elasticities of
//! the product models, and schedules that queue runs.

pub mod access;
pub mod cross_sell;
pub mod elasticity;
pub mod execution;
pub mod lead_propensity;
pub mod product_models;
pub mod runs;
pub mod schedules;
pub mod steps;
