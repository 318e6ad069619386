//! How the worker learns that there is work, without a wake-up per event.
//!
//! While the worker has no batch open it waits on the queue itself, so the first event wakes
//! it and opens a batch. While a batch is open it waits on this doorbell or the batch's timer
//! instead, and takes everything queued in one go when either goes off. Events recorded
//! meanwhile only ring the doorbell once a batch's worth is waiting; flushes and shutdowns
//! always ring it. A queued event then costs the recording thread a channel push, not a
//! cross-thread wake-up of the worker.

use tokio::sync::Notify;

use super::DispatcherConfig;

pub(super) struct Doorbell {
    notify: Notify,
    /// Queued messages worth waking the worker for before its batch timer.
    threshold: usize,
}

impl Doorbell {
    pub(super) fn new(config: &DispatcherConfig) -> Self {
        // A full batch, or half the queue when the queue is smaller than a batch (so that
        // events are taken before the queue overflows).
        let batch = config.max_batch_size.clamp(1, audit_core::MAX_BATCH_EVENTS);
        let threshold = batch.min(config.queue_capacity.max(1).div_ceil(2));
        Doorbell {
            notify: Notify::new(),
            threshold,
        }
    }

    /// An event was queued; `waiting` messages are in the queue now.
    pub(super) fn queued(&self, waiting: usize) {
        if waiting >= self.threshold {
            self.notify.notify_one();
        }
    }

    /// Wakes the worker now (a flush or shutdown waits in the queue).
    pub(super) fn ring(&self) {
        self.notify.notify_one();
    }

    /// Until the doorbell rings (at once if it rang since the last wait).
    pub(super) async fn rung(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_a_batch_or_half_a_small_queue() {
        let threshold = |capacity, batch| {
            Doorbell::new(
                &DispatcherConfig::default()
                    .with_queue_capacity(capacity)
                    .with_max_batch_size(batch),
            )
            .threshold
        };
        assert_eq!(threshold(10_000, 500), 500);
        assert_eq!(threshold(10, 500), 5);
        assert_eq!(threshold(1, 500), 1);
        assert_eq!(threshold(10_000, 1), 1);
    }
}
