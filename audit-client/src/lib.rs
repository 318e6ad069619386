//! The Rust SDK of the audit log service.
//!
//! [`AuditClient`] calls every endpoint of the wire contract with the types of [`audit_core`]:
//! recording events one by one or in batches, reading them back page by page or as a
//! [`Stream`](futures::Stream), exporting, verifying the tamper-evidence chain, and managing
//! organizations, API keys, log streams and the catalog. Transient failures are retried with jittered
//! exponential backoff, and recording is idempotent: each event gets a UUIDv7 `id` before the
//! first attempt.
//!
//! [`AuditClient::tail`] follows the trail live, reconnecting where it left off.
//!
//! [`Dispatcher`] records in the background for services that must never wait on auditing:
//! a bounded queue, batches on size or timer, retries until the service is back, and
//! optionally a durable spool directory that keeps undelivered events across restarts.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ListRequest};
//! use audit_core::AuditEvent;
//! use futures::TryStreamExt;
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = AuditClient::builder()
//!         .base_url("http://127.0.0.1:8080")
//!         .api_key(std::env::var("AUDIT_API_KEY")?)
//!         .build()?;
//!
//!     // Record one event and wait for the stored record.
//!     let mut event = AuditEvent::by_user("u_123", "dataset", "ds_1", "update");
//!     event.before = Some(json!({ "name": "old" }));
//!     event.after = Some(json!({ "name": "new" }));
//!     let record = client.record(event).await?;
//!     println!("stored as #{} ({})", record.seq, record.hash);
//!
//!     // Or hand events to the background dispatcher, which never blocks.
//!     let dispatcher = Dispatcher::spawn(client.clone(), DispatcherConfig::default());
//!     dispatcher.record(AuditEvent::by_api_key("pk_1", "dataset", "ds_2", "create"));
//!     dispatcher.shutdown(Duration::from_secs(5)).await?;
//!
//!     // Read everything about datasets back, newest first, across pages.
//!     let mut records = client.list_all(ListRequest::new().resource_type("dataset"));
//!     while let Some(record) = records.try_next().await? {
//!         println!("{} {} {}", record.created_at, record.action, record.resource_id);
//!     }
//!
//!     // Errors carry the service's problem details.
//!     let wrong = AuditEvent::by_user("u_123", "dataset", "ds_1", "explode");
//!     if let Err(error) = client.record(wrong).await {
//!         println!("{:?}: {:?}", error.status(), error.field_errors());
//!     }
//!     Ok(())
//! }
//! ```

mod client;
mod config;
pub mod dispatcher;
mod error;
mod page;
mod retry;
mod secret;
mod spool;
mod sse;
mod tail;

pub use audit_core;
pub use audit_core::ExportFormat;
#[allow(deprecated)]
pub use client::ExportStream;
pub use client::{AuditClient, ExportBody};
pub use config::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
pub use dispatcher::{
    DispatchError, Dispatcher, DispatcherConfig, DispatcherStats, OnRejected, OverflowPolicy, RejectedEvent,
    prometheus_families,
};
pub use error::{Error, Result};
#[allow(deprecated)]
pub use page::RecordStream;
pub use page::{ListRequest, RecordPages};
pub use reqwest::StatusCode;
pub use retry::{Jitter, RetryPolicy, parse_retry_after};
pub use secret::ApiKeySecret;
pub use spool::SpoolError;
pub use tail::TailStream;
