//! Peyvand's business types and rules. Nothing here does I/O: storage lives in
//! `persistence`, HTTP in `api`, models in `analytics`.

pub mod assignment;
pub mod attribution;
pub mod audit;
pub mod authz;
pub mod behaviour;
pub mod business_calendar;
pub mod calendar;
pub mod campaigns;
pub mod commerce;
pub mod cron;
pub mod customers;
pub mod feedback;
pub mod filter;
pub mod iran;
pub mod login_throttle;
pub mod loyalty;
pub mod model_runs;
pub mod notifications;
pub mod offers;
pub mod omnichannel;
pub mod partners;
pub mod persian;
pub mod price_experiments;
pub mod reports;
pub mod retention;
pub mod sales;
pub mod segments;
pub mod sentiment;
pub mod service;
pub mod settings;
pub mod text;
pub mod timeline;
pub mod validation;
pub mod webhooks;
pub mod workflows;
