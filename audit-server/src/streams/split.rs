//! Splitting a batch into the payloads a destination accepts: at most `max_bytes` per request
//! body, `max_item_bytes` per record's entry and `max_items` entries. Each payload is a batch of
//! its own (its own envelope: count, first and last `seq`, and `previousBatchHash` naming the
//! last record of the payload before it), so a receiver checks completeness payload by payload
//! exactly as batch by batch. A record whose entry alone is over `max_item_bytes` is sent with
//! its largest values cut (see [`super::fit`]).
//!
//! The stream's cursor moves once every payload of the batch is acknowledged: when a later
//! payload fails, the whole batch is sent again, so the receiver may see the earlier payloads
//! twice (delivery is at least once; `seq` deduplicates).

use std::ops::Range;

use serde_json::Value;

use super::batch::Batch;
use super::fit::fit;

/// What one destination accepts per request.
#[derive(Debug, Clone, Copy)]
pub struct PayloadLimits {
    /// The largest request body, in bytes.
    pub max_bytes: usize,
    /// The largest entry of one record, in bytes.
    pub max_item_bytes: usize,
    /// The most entries in one request.
    pub max_items: usize,
}

impl PayloadLimits {
    /// A body of at most `max_bytes`, however many entries (one entry, too, at most that).
    pub fn body_of_at_most(max_bytes: u64) -> Self {
        let max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        PayloadLimits {
            max_bytes,
            max_item_bytes: max_bytes,
            max_items: usize::MAX,
        }
    }
}

/// Room per entry for envelopes that differ between payloads (counts and `seq`s of other
/// lengths; entries are measured with a `previousBatchHash`, the longest form).
const SLACK_PER_ITEM: usize = 64;

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |bytes| bytes.len())
}

impl<'a> Batch<'a> {
    /// The records at `range` as a batch of their own, after the one whose last record's hash
    /// is `previous_batch_hash`, with this batch's checkpoint. The first part names the dead
    /// letters set aside before the batch; every part says whether it is a dead letter's retry.
    pub fn part(&self, range: Range<usize>, previous_batch_hash: Option<String>) -> Batch<'a> {
        let first_part = range.start == 0;
        let mut part = Batch::new(
            self.envelope.stream_id,
            &self.records[range.clone()],
            self.events[range].to_vec(),
            previous_batch_hash,
        );
        part.envelope.org_id = self.envelope.org_id;
        part.envelope.checkpoint.clone_from(&self.envelope.checkpoint);
        if first_part {
            part.envelope
                .dead_lettered
                .clone_from(&self.envelope.dead_lettered);
        }
        part.envelope.dead_letter_retry = self.envelope.dead_letter_retry;
        part.format = self.format;
        part
    }
}

/// The request bodies, in order, that carry `batch` within `limits`; `body` writes one.
pub fn payloads<'a>(
    batch: &Batch<'a>,
    limits: PayloadLimits,
    body: impl Fn(&Batch<'a>) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    let count = batch.records.len();
    let previous = batch.envelope.previous_batch_hash.clone();
    let mut working = batch.part(0..count, previous.clone());
    let empty = body(&working.part(0..0, previous.clone())).len();
    let item_limit = limits
        .max_item_bytes
        .min(limits.max_bytes.saturating_sub(empty))
        .saturating_sub(SLACK_PER_ITEM);
    let entry_size = |working: &Batch<'a>, index: usize| {
        let longest_previous = Some(working.records[index].hash.clone());
        body(&working.part(index..index + 1, longest_previous))
            .len()
            .saturating_sub(empty)
    };
    let mut sizes = Vec::with_capacity(count);
    for index in 0..count {
        let mut size = entry_size(&working, index);
        for _ in 0..8 {
            if size <= item_limit {
                break;
            }
            let event_size = json_len(&working.events[index]);
            working.events[index] = fit(
                &working.events[index],
                event_size.saturating_sub(size - item_limit),
            );
            size = entry_size(&working, index);
        }
        sizes.push(size);
    }

    let mut bodies = Vec::new();
    let mut start = 0;
    let mut previous = previous;
    while start < count {
        let mut end = start;
        let mut total = empty;
        while end < count
            && end - start < limits.max_items.max(1)
            && (end == start || total + sizes[end] + SLACK_PER_ITEM <= limits.max_bytes)
        {
            total += sizes[end] + SLACK_PER_ITEM;
            end += 1;
        }
        let sent = loop {
            let bytes = body(&working.part(start..end, previous.clone()));
            if bytes.len() <= limits.max_bytes || end == start + 1 {
                break bytes;
            }
            end -= 1;
        };
        bodies.push(sent);
        previous = Some(batch.records[end - 1].hash.clone());
        start = end;
    }
    bodies
}
