//! Stream metrics: records delivered, failed attempts and records set aside (counted by this
//! process), health, lag and dead letters listed (read from the database, so every process
//! reports every stream alike).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use uuid::Uuid;

use crate::store::{Store, dead_letters, streams};

/// What this process counted of one stream.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    delivered: u64,
    failures: u64,
    dead_lettered: u64,
}

/// Per-stream counters of this process.
#[derive(Debug, Default)]
pub struct StreamCounters {
    counts: Mutex<BTreeMap<Uuid, Counts>>,
}

impl StreamCounters {
    fn with(&self, f: impl FnOnce(&mut BTreeMap<Uuid, Counts>)) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut counts);
    }

    /// Counts records a destination acknowledged.
    pub fn delivered(&self, stream_id: Uuid, records: u64) {
        self.with(|counts| counts.entry(stream_id).or_default().delivered += records);
    }

    /// Counts a failed attempt.
    pub fn failed(&self, stream_id: Uuid) {
        self.with(|counts| counts.entry(stream_id).or_default().failures += 1);
    }

    /// Counts a record set aside as a dead letter.
    pub fn dead_lettered(&self, stream_id: Uuid) {
        self.with(|counts| counts.entry(stream_id).or_default().dead_lettered += 1);
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
        for (id, counted) in &counts {
            let delivered = counted.delivered;
            let _ = writeln!(out, "audit_stream_delivered_total{{stream=\"{id}\"}} {delivered}");
        }
        out.push_str(
            "# HELP audit_stream_failures_total Failed delivery attempts of this process, by stream.\n",
        );
        out.push_str("# TYPE audit_stream_failures_total counter\n");
        for (id, counted) in &counts {
            let failures = counted.failures;
            let _ = writeln!(out, "audit_stream_failures_total{{stream=\"{id}\"}} {failures}");
        }
        out.push_str(
            "# HELP audit_stream_dead_lettered_total Records set aside as dead letters by this process, by stream.\n",
        );
        out.push_str("# TYPE audit_stream_dead_lettered_total counter\n");
        for (id, counted) in &counts {
            let dead_lettered = counted.dead_lettered;
            let _ = writeln!(
                out,
                "audit_stream_dead_lettered_total{{stream=\"{id}\"}} {dead_lettered}"
            );
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
        let Ok(listed) = dead_letters::counts(store).await else {
            return out;
        };
        let listed: BTreeMap<Uuid, i64> = listed.into_iter().collect();
        out.push_str("# HELP audit_stream_dead_letters Dead letters the stream lists now.\n");
        out.push_str("# TYPE audit_stream_dead_letters gauge\n");
        for (id, org, _, _, _) in &gauges {
            let _ = writeln!(
                out,
                "audit_stream_dead_letters{{stream=\"{id}\",org=\"{org}\"}} {}",
                listed.get(id).copied().unwrap_or(0)
            );
        }
        out
    }
}
