//! One batch as a destination sends it: the stored records, what is sent for each of them, and
//! the envelope a receiver checks completeness with.
//!
//! Invariant: `events[i]` is what the stream sends for `records[i]`, in `seq` order. Destinations
//! write `events` (the stream's format with its privacy policy applied) and read `records` only
//! for transport fields (`seq`, times, trace ids); the stored records are never changed.

use audit_core::{AuditRecord, PrivacyPolicy, StreamFormat};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::store::entity::checkpoint;

/// What a receiver needs to prove no batch is missing or replayed, carried by every batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEnvelope {
    /// The stream delivering.
    pub stream_id: Uuid,
    /// The organization whose trail this is.
    pub org_id: Uuid,
    /// How many records the batch holds.
    pub count: usize,
    /// The `seq` of the first record.
    pub first_seq: i64,
    /// The `seq` of the last record.
    pub last_seq: i64,
    /// The hash of the last record of the previous batch this stream delivered (`None` for a
    /// stream's first batch).
    pub previous_batch_hash: Option<String>,
    /// The hash of the last record of this batch.
    pub last_hash: String,
    /// The newest signed checkpoint of the organization's log, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The `seq`s the stream set aside as dead letters since the previous batch (refused for
    /// good by the destination; never in a batch of the chain). Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dead_lettered: Vec<i64>,
    /// `true` on a dead letter re-delivered through the API: outside the chain, so a receiver
    /// stores its record and leaves its `previousBatchHash` state alone. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dead_letter_retry: bool,
}

impl BatchEnvelope {
    /// `deadLettered` as one comma-separated text (`"12,15"`), for destinations whose fields
    /// are flat; `None` when there are none.
    pub fn dead_lettered_text(&self) -> Option<String> {
        (!self.dead_lettered.is_empty()).then(|| {
            self.dead_lettered
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

/// One batch ready to send.
#[derive(Debug)]
pub struct Batch<'a> {
    /// The stored records, in `seq` order; never empty.
    pub records: &'a [AuditRecord],
    /// What is sent for each record, in the same order.
    pub events: Vec<Value>,
    /// The batch's envelope.
    pub envelope: BatchEnvelope,
    /// The stream's format of `events`.
    pub format: StreamFormat,
}

impl<'a> Batch<'a> {
    /// The batch of `records` (not empty) in `format`, with `privacy` applied under the
    /// stream's hashing key `privacy_key`; OCSF events name the log `origin` (`<log
    /// name>/<orgId>`) in their attestations.
    pub fn in_format(
        stream_id: Uuid,
        format: StreamFormat,
        origin: &str,
        (privacy, privacy_key): (&PrivacyPolicy, &[u8]),
        records: &'a [AuditRecord],
        previous_batch_hash: Option<String>,
    ) -> Self {
        let event = |record: &AuditRecord| match format {
            StreamFormat::Native => serde_json::to_value(record).unwrap_or(Value::Null),
            StreamFormat::Ocsf => super::ocsf::event(record, origin),
        };
        let events = records
            .iter()
            .map(|record| {
                if privacy.rules.is_empty() {
                    event(record)
                } else {
                    event(&super::privacy::apply(privacy, privacy_key, record))
                }
            })
            .collect();
        let mut batch = Batch::new(stream_id, records, events, previous_batch_hash);
        batch.format = format;
        batch
    }

    /// Attaches the organization's newest signed checkpoint: its note to the envelope and, in
    /// OCSF, its signature to the attestation of every record it covers.
    pub fn attach_checkpoint(&mut self, checkpoint: Option<checkpoint::Model>) {
        let Some(checkpoint) = checkpoint else {
            return;
        };
        if self.format == StreamFormat::Ocsf {
            for (record, event) in self.records.iter().zip(&mut self.events) {
                if record.seq <= checkpoint.seq {
                    super::ocsf::integrity::add_checkpoint_signature(event, &checkpoint);
                }
            }
        }
        self.envelope.checkpoint = Some(checkpoint.note);
    }

    /// The batch sending `events` for `records` (not empty, same length).
    pub fn new(
        stream_id: Uuid,
        records: &'a [AuditRecord],
        events: Vec<Value>,
        previous_batch_hash: Option<String>,
    ) -> Self {
        debug_assert_eq!(records.len(), events.len());
        let first = records.first();
        let last = records.last();
        let envelope = BatchEnvelope {
            stream_id,
            org_id: first.map(|record| record.org_id).unwrap_or_default(),
            count: records.len(),
            first_seq: first.map_or(0, |record| record.seq),
            last_seq: last.map_or(0, |record| record.seq),
            previous_batch_hash,
            last_hash: last.map(|record| record.hash.clone()).unwrap_or_default(),
            checkpoint: None,
            dead_lettered: Vec::new(),
            dead_letter_retry: false,
        };
        Batch {
            records,
            events,
            envelope,
            format: StreamFormat::Native,
        }
    }
}
