//! sea-orm entities, one table each.

pub mod api_key;
pub mod audit_log;
pub mod catalog_entry;
pub mod chain_head;
pub mod checkpoint;
pub mod organization;
pub mod server_secret;
