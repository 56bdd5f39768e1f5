//! Assignment (S-3), written once for every assignable record kind: the business's
//! ordered rules ([`rules`]) and territories ([`territories`]), users' capacities and
//! out-of-office periods ([`availability`]), and the engine that picks an owner and
//! records every assignment with its rule and reason ([`engine`]). A record kind's
//! use cases (leads in `sales::leads`) call the engine when a record is created and
//! when someone asks for it to be assigned again.

pub mod availability;
pub mod engine;
pub mod rules;
pub mod territories;
