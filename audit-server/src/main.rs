//! The audit log server.
fn main() {}
