//! A dispatcher's counters in the Prometheus text format, for the host app's own `/metrics`:
//! the audit server cannot see the queue that lives in the host's process.

use std::fmt::Write;

use super::DispatcherStats;

impl DispatcherStats {
    /// The counters in the Prometheus text exposition format (version 0.0.4), one metric
    /// family each, named `audit_dispatcher_*`; append it to the host's `/metrics` answer.
    ///
    /// ```
    /// let text = audit_client::DispatcherStats::default().prometheus_text();
    /// assert!(text.contains("\naudit_dispatcher_queue_depth 0\n"));
    /// ```
    pub fn prometheus_text(&self) -> String {
        let families: [(&str, &str, &str, u64); 9] = [
            (
                "queue_depth",
                "gauge",
                "Events waiting in the in-memory queue.",
                self.queued,
            ),
            (
                "events_sent_total",
                "counter",
                "Events the audit service stored.",
                self.sent,
            ),
            (
                "retries_total",
                "counter",
                "Delivery attempts that failed transiently and were repeated.",
                self.retried,
            ),
            (
                "events_dropped_total",
                "counter",
                "Events not queued: the queue was full or the dispatcher had stopped.",
                self.dropped,
            ),
            (
                "events_rejected_total",
                "counter",
                "Events the audit service refused.",
                self.rejected,
            ),
            (
                "events_abandoned_total",
                "counter",
                "Events still undelivered when the shutdown deadline passed.",
                self.abandoned,
            ),
            (
                "events_spooled_total",
                "counter",
                "Events written to the spool directory.",
                self.spooled,
            ),
            (
                "events_replayed_total",
                "counter",
                "Events delivered from the spool.",
                self.replayed,
            ),
            (
                "spool_corrupt_total",
                "counter",
                "Damaged stretches of spool files skipped.",
                self.spool_corrupt,
            ),
        ];
        prometheus_families("audit_dispatcher", &families)
    }
}

/// Metric families in the Prometheus text exposition format (version 0.0.4), one per
/// `(name, type, help, value)`, each named `{prefix}_{name}`: for a host's own audit counters
/// next to the dispatcher's (audit-tower's layer writes its own with it).
///
/// ```
/// let text = audit_client::prometheus_families("app", &[("jobs_total", "counter", "Jobs run.", 3)]);
/// assert_eq!(text, "# HELP app_jobs_total Jobs run.\n# TYPE app_jobs_total counter\napp_jobs_total 3\n");
/// ```
pub fn prometheus_families(prefix: &str, families: &[(&str, &str, &str, u64)]) -> String {
    let mut text = String::new();
    for (name, kind, help, value) in families {
        let _ = write!(
            text,
            "# HELP {prefix}_{name} {help}\n# TYPE {prefix}_{name} {kind}\n{prefix}_{name} {value}\n"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_a_family_with_its_value() {
        let stats = DispatcherStats {
            sent: 120,
            retried: 3,
            dropped: 4,
            rejected: 5,
            abandoned: 6,
            queued: 7,
            spooled: 8,
            replayed: 9,
            spool_corrupt: 1,
        };
        let text = stats.prometheus_text();
        for (series, value) in [
            ("audit_dispatcher_queue_depth", 7),
            ("audit_dispatcher_events_sent_total", 120),
            ("audit_dispatcher_retries_total", 3),
            ("audit_dispatcher_events_dropped_total", 4),
            ("audit_dispatcher_events_rejected_total", 5),
            ("audit_dispatcher_events_abandoned_total", 6),
            ("audit_dispatcher_events_spooled_total", 8),
            ("audit_dispatcher_events_replayed_total", 9),
            ("audit_dispatcher_spool_corrupt_total", 1),
        ] {
            assert!(
                text.contains(&format!("\n{series} {value}\n")),
                "{series} in\n{text}"
            );
            assert!(text.contains(&format!("# TYPE {series} ")), "{series} typed");
        }
        assert_eq!(text.lines().count(), 27, "three lines per family:\n{text}");
    }
}
