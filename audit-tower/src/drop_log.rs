//! Drops logged as well as counted: when the sink refuses events (its queue is full or it has
//! stopped), one error line says how many were lost, at most once per [`DROP_LOG_INTERVAL_SECS`],
//! so that a flood of drops cannot flood the host's log too.
//!
//! Invariant: every drop is in exactly one line's count (or still pending for the next line).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The shortest time between two drop lines, in seconds.
pub const DROP_LOG_INTERVAL_SECS: i64 = 10;

/// Drops not yet logged, and when the last line was written.
#[derive(Debug, Default)]
pub(crate) struct DropLog {
    unlogged: AtomicU64,
    last_logged_at: AtomicI64,
}

impl DropLog {
    /// Notes one dropped event; writes a line if none was written in the interval.
    pub(crate) fn dropped(&self, now_secs: i64) {
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        let last = self.last_logged_at.load(Ordering::Relaxed);
        if now_secs - last < DROP_LOG_INTERVAL_SECS {
            return;
        }
        if self
            .last_logged_at
            .compare_exchange(last, now_secs, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let dropped = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::error!(
                dropped,
                "audit events dropped: the sink refused them (its queue is full or it has stopped); \
                 logged at most every {DROP_LOG_INTERVAL_SECS} s, all counted in AuditStats::dropped"
            );
        }
    }

    /// Drops noted since the last line.
    #[cfg(test)]
    fn unlogged(&self) -> u64 {
        self.unlogged.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_every_drop_in_a_line() {
        let log = DropLog::default();
        log.dropped(1_000);
        assert_eq!(log.unlogged(), 0, "the first drop is logged at once");
        for _ in 0..500 {
            log.dropped(1_005);
        }
        assert_eq!(log.unlogged(), 500, "within the interval: counted, not logged");
        log.dropped(1_010);
        assert_eq!(log.unlogged(), 0, "the next line carries them all");
    }
}
