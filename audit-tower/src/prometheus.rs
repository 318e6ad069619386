//! A layer's counters in the Prometheus text format, for the host app's own `/metrics`, next
//! to its dispatcher's.

use crate::AuditStats;

impl AuditStats {
    /// The counters in the Prometheus text exposition format (version 0.0.4), one metric
    /// family each, named `audit_layer_*`; append it to the host's `/metrics` answer, with
    /// [`DispatcherStats::prometheus_text`](audit_client::DispatcherStats::prometheus_text).
    ///
    /// ```
    /// let text = audit_tower::AuditStats::default().prometheus_text();
    /// assert!(text.contains("\naudit_layer_events_recorded_total 0\n"));
    /// ```
    pub fn prometheus_text(&self) -> String {
        audit_client::prometheus_families(
            "audit_layer",
            &[
                (
                    "events_recorded_total",
                    "counter",
                    "Audit events handed to the sink.",
                    self.recorded,
                ),
                (
                    "events_dropped_total",
                    "counter",
                    "Audit events the sink refused (its queue was full or it had stopped).",
                    self.dropped,
                ),
                (
                    "requests_skipped_total",
                    "counter",
                    "Audited requests not recorded because no actor was found.",
                    self.skipped,
                ),
                (
                    "events_failed_total",
                    "counter",
                    "Audit events lost because the actor extractor or the sink panicked.",
                    self.failed,
                ),
                (
                    "requests_sampled_out_total",
                    "counter",
                    "Requests of sampled read rules left unrecorded by their sampling.",
                    self.sampled_out,
                ),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::AuditStats;

    #[test]
    fn every_counter_is_a_family_with_its_value() {
        let stats = AuditStats {
            recorded: 12,
            dropped: 3,
            skipped: 4,
            failed: 5,
            sampled_out: 6,
        };
        let text = stats.prometheus_text();
        for (series, value) in [
            ("audit_layer_events_recorded_total", 12),
            ("audit_layer_events_dropped_total", 3),
            ("audit_layer_requests_skipped_total", 4),
            ("audit_layer_events_failed_total", 5),
            ("audit_layer_requests_sampled_out_total", 6),
        ] {
            assert!(
                text.contains(&format!("\n{series} {value}\n")),
                "{series} in\n{text}"
            );
            assert!(
                text.contains(&format!("# TYPE {series} counter\n")),
                "{series} typed"
            );
        }
        assert_eq!(text.lines().count(), 15, "three lines per family:\n{text}");
    }
}
