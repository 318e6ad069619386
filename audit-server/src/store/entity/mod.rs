//! sea-orm entities, one table each.

pub mod api_key;
pub mod audit_log;
pub mod catalog_entry;
pub mod chain_anchor;
pub mod chain_head;
pub mod checkpoint;
pub mod checkpoint_cosignature;
pub mod log_stream;
pub mod merkle_tile;
pub mod organization;
pub mod purge_authorization;
pub mod retention_policy;
pub mod server_secret;
pub mod stream_dead_letter;
