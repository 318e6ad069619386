//! Importing audit trails kept elsewhere into this server's trails.
//!
//! Imports go through the store's normal append path ([`crate::store::append::append`]): every
//! imported record is sealed onto its organization's hash chain and Merkle tree exactly like a
//! record sent over HTTP, so `verify`, proofs and checkpoints cover it the same way.

pub mod langfuse;
pub mod langfuse_event;
pub mod langfuse_source;
pub mod org_mapping;
