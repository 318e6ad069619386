//! A layer's counters: [`AuditStats`], the snapshot the host reads, and the atomic counters
//! behind it that every clone and service of one layer adds to.
//!
//! Each counter counts one outcome of an audited request (recorded, refused by the sink,
//! skipped for want of an actor, lost to a panicking hook), only ever upwards.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a layer, since it was built (shared by its clones and services).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditStats {
    /// Events the sink accepted.
    pub recorded: u64,
    /// Events the sink refused (its queue was full or it had shut down).
    pub dropped: u64,
    /// Audited requests not recorded because no actor was found.
    pub skipped: u64,
    /// Audited requests whose event was lost because the actor extractor or the sink
    /// panicked (the request itself is served as usual; a panicking before-state loader only
    /// costs the event its `before`).
    pub failed: u64,
    /// Requests of a sampled read rule that its sampling left unrecorded.
    pub sampled_out: u64,
}

/// One count, added to from any thread (relaxed: a count orders nothing).
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The count so far.
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The live counters behind [`AuditStats`], one per outcome of an audited request.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) recorded: Counter,
    pub(crate) dropped: Counter,
    pub(crate) skipped: Counter,
    pub(crate) failed: Counter,
    pub(crate) sampled_out: Counter,
}

impl Counters {
    /// The counts so far.
    pub(crate) fn snapshot(&self) -> AuditStats {
        AuditStats {
            recorded: self.recorded.get(),
            dropped: self.dropped.get(),
            skipped: self.skipped.get(),
            failed: self.failed.get(),
            sampled_out: self.sampled_out.get(),
        }
    }
}
