//! The audit log server: immutable, tamper-evident audit trails behind a typed HTTP API.
//!
//! Records live in SQLite (the embedded default) or PostgreSQL; each organization's records
//! carry a gap-free `seq` and a SHA-256 hash chain, and the database itself refuses UPDATE and
//! DELETE on the trail. [`Application`] builds and runs the server; [`http::openapi::document`]
//! is its OpenAPI document.
//!
//! The layers, each importing only those below it (and [`config`] and [`state`], which
//! everything may name):
//!
//! | folder | what it holds | may use |
//! |---|---|---|
//! | [`keys`] | secrets, signing keys, viewer tokens, sealed stream secrets: pure cryptography | – |
//! | [`store`] | the database: schema, migrations, the append path, reads | `keys` |
//! | [`streams`] | log streams: the delivery worker and one module per destination | `store`, `keys` |
//! | [`tasks`] | background tasks: checkpoint signing, retention purge | `store`, `keys` |
//! | [`import`] | imports of other trails (Langfuse's `audit_logs`) through the append path | `store` |
//! | [`http`] | the HTTP API: router, extractors, problem+json errors, routes | everything |
//! | [`witness`] | `audit-witness`, a tlog-witness cosigning checkpoints: independent of the server | – |

pub mod config;
pub mod http;
pub mod import;
pub mod keys;
pub mod state;
pub mod store;
pub mod streams;
pub mod tasks;
pub mod witness;

pub use config::Config;
pub use http::server::{Application, shutdown_signal};
#[cfg(feature = "testing")]
pub use http::testing;
pub use state::AppState;
