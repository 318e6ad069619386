//! The Rust SDK of the audit log service (built by the audit-client issue).
