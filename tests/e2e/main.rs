//! End-to-end suites: each module drives the real server over HTTP on both backends.

mod api_keys;
mod audit;
mod auth;
mod bad_input;
mod concurrency;
mod conventions;
mod customers;
mod demo_data;
mod duplicates;
mod erasure;
mod existence;
mod exports;
mod health;
mod imports;
mod jobs;
mod login_throttle;
mod merge;
mod metrics;
mod observability;
mod openapi;
mod request_examples;
mod search;
mod security_headers;
mod teams;
mod text_input;
mod users;
