//! End-to-end suites: each module drives the real server over HTTP on both backends.

mod api_keys;
mod audit;
mod auth;
mod bad_input;
mod conventions;
mod health;
mod jobs;
mod metrics;
mod openapi;
mod search;
mod teams;
mod users;
