//! A tower layer that records a host app's mutating requests as audit events (built by the audit-tower issue).
