//! Peyvand's HTTP API, background workers and command line.

pub mod app;
pub mod audit_key;
pub mod auth;
pub mod cli;
pub mod config;
pub mod conventions;
pub mod credential_key;
pub mod error;
pub mod i18n;
pub mod key_file;
pub mod observability;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod telemetry;
