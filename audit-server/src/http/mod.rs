//! Everything that speaks HTTP: the router and its middleware (metrics, timeouts, rate limits),
//! the extractors (credentials, bodies, paths), problem+json errors, the OpenAPI document, and
//! one module of routes per feature. Code below this folder returns domain errors; this folder
//! turns them into answers.

pub mod auth;
pub mod body;
pub mod connection_limit;
pub mod error;
pub mod export_body;
pub mod export_format;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod read_your_writes;
pub mod router;
pub mod routes;
pub mod server;
pub mod tail;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timeout;
