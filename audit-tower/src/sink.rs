//! Where a layer's events go: the [`AuditSink`] trait, implemented for the
//! [`Dispatcher`] and for closures over decoded events.
//!
//! A sink must not wait: it is called as a response body ends, on the host's own task.

use audit_client::Dispatcher;
use audit_core::{AuditEvent, EncodedEvent};

/// Where audit events go, as [`EncodedEvent`]s (serialized once, by the layer). It must not
/// wait: [`Dispatcher::record_encoded`] queues and returns. Implemented for [`Dispatcher`]
/// and, for tests and tools, for closures `Fn(AuditEvent) -> bool` (each event is read back
/// from its text for them).
pub trait AuditSink: Send + Sync + 'static {
    /// Takes the event without blocking; returns whether it was accepted.
    fn record(&self, event: EncodedEvent) -> bool;
}

impl AuditSink for Dispatcher {
    fn record(&self, event: EncodedEvent) -> bool {
        self.record_encoded(event)
    }
}

impl<F> AuditSink for F
where
    F: Fn(AuditEvent) -> bool + Send + Sync + 'static,
{
    fn record(&self, event: EncodedEvent) -> bool {
        match event.decode() {
            Ok(event) => self(event),
            Err(error) => {
                tracing::error!(%error, "an encoded audit event did not read back");
                false
            }
        }
    }
}
