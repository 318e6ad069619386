//! A backend service recording audit events through the SDK (built by the audit-client issue).

fn main() {}
