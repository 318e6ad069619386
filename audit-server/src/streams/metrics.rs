//! Stream metrics: records delivered and failed attempts (counted by this process), health
//! and lag (read from the database, so every process reports every stream alike).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use uuid::Uuid;

use crate::store::{Store, streams};

/// Per-stream counters of this process.
#[derive(Debug, Default)]
pub struct StreamCounters {
    counts: Mutex<BTreeMap<Uuid, (u64, u64)>>,
}

impl StreamCounters {
    fn with(&self, f: impl FnOnce(&mut BTreeMap<Uuid, (u64, u64)>)) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut counts);
    }

    /// Counts records a destination acknowledged.
    pub fn delivered(&self, stream_id: Uuid, records: u64) {
        self.with(|counts| counts.entry(stream_id).or_default().0 += records);
    }

    /// Counts a failed attempt.
    pub fn failed(&self, stream_id: Uuid) {
        self.with(|counts| counts.entry(stream_id).or_default().1 += 1);
    }

    /// The Prometheus text of every stream.
    pub async fn render(&self, store: &Store) -> String {
        let mut out = String::new();
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        out.push_str("# HELP audit_stream_delivered_total Records delivered by this process, by stream.\n");
        out.push_str("# TYPE audit_stream_delivered_total counter\n");
        for (id, (delivered, _)) in &counts {
            let _ = writeln!(out, "audit_stream_delivered_total{{stream=\"{id}\"}} {delivered}");
        }
        out.push_str(
            "# HELP audit_stream_failures_total Failed delivery attempts of this process, by stream.\n",
        );
        out.push_str("# TYPE audit_stream_failures_total counter\n");
        for (id, (_, failures)) in &counts {
            let _ = writeln!(out, "audit_stream_failures_total{{stream=\"{id}\"}} {failures}");
        }
        let Ok(gauges) = streams::gauges(store).await else {
            return out;
        };
        out.push_str("# HELP audit_stream_healthy 1 when the stream is healthy, 0 when unhealthy.\n");
        out.push_str("# TYPE audit_stream_healthy gauge\n");
        for (id, org, healthy, _, _) in &gauges {
            let _ = writeln!(
                out,
                "audit_stream_healthy{{stream=\"{id}\",org=\"{org}\"}} {}",
                u8::from(*healthy)
            );
        }
        out.push_str(
            "# HELP audit_stream_lag_records Records stored after the stream's cursor (head seq - cursor).\n",
        );
        out.push_str("# TYPE audit_stream_lag_records gauge\n");
        for (id, org, _, cursor, head) in &gauges {
            let _ = writeln!(
                out,
                "audit_stream_lag_records{{stream=\"{id}\",org=\"{org}\"}} {}",
                (head - cursor).max(0)
            );
        }
        out
    }
}
