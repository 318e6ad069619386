//! The audit log server: immutable, tamper-evident audit trails behind a typed HTTP API.
//!
//! Records live in SQLite (the embedded default) or PostgreSQL; each organization's records
//! carry a gap-free `seq` and a SHA-256 hash chain, and the database itself refuses UPDATE and
//! DELETE on the trail. [`app::Application`] builds and runs the server; [`openapi::document`]
//! is its OpenAPI document.

pub mod app;
pub mod auth;
pub mod body;
pub mod checkpointer;
pub mod config;
pub mod connection_limit;
pub mod error;
pub mod export;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod purger;
pub mod rate_limit;
pub mod routes;
pub mod secret;
pub mod signing_key;
pub mod store;
pub mod streams;
pub mod tail;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timeout;
pub mod viewer_token;

pub use app::{AppState, Application};
pub use config::Config;
