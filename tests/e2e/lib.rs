//! Harness for the end-to-end suites: starts the real server (migrations, middleware,
//! routes) on a free loopback port over a fresh database, and talks to it over HTTP.

pub mod support;
