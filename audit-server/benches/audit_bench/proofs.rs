//! Inclusion and consistency proof latency over HTTP on the seeded trail: proofs of random
//! records against random tree sizes (every fourth at the full size) and consistency proofs
//! between random size pairs (every fourth to the full size), sent by several clients at once,
//! each proof checked with audit-core's verifier.

use std::time::Duration;

use anyhow::ensure;
use audit_core::{AuditLogPage, ConsistencyProof, InclusionProof};
use futures::{StreamExt, TryStreamExt};

use crate::data::Rng;
use crate::load::Api;
use crate::stats::Latency;

/// Proof latency at the trail's size.
#[derive(Debug, Clone)]
pub struct ProofLatency {
    /// The tree's size when measured.
    pub tree_size: u64,
    /// Concurrent clients.
    pub clients: usize,
    /// Inclusion proofs.
    pub inclusion: Latency,
    /// Consistency proofs.
    pub consistency: Latency,
}

/// One inclusion proof to ask for: the record, its `seq`, and the tree size (`None`: the
/// whole tree, the parameter left out).
struct Inclusion {
    id: uuid::Uuid,
    seq: u64,
    tree_size: Option<u64>,
}

/// A size below `size` drawn at random, the full size every fourth time (`None`).
fn size_at_least(rng: &mut Rng, index: usize, low: u64, size: u64) -> Option<u64> {
    (!index.is_multiple_of(4)).then(|| low + rng.below(size - low + 1))
}

/// Measures `requests` inclusion and `requests` consistency proofs sent by `clients` clients
/// at once. The records are found first (not timed): the newest before a random moment of the
/// seeding, so they spread over the tree.
pub async fn measure(
    api: &Api,
    requests: usize,
    clients: usize,
    seed_start: chrono::DateTime<chrono::Utc>,
    seed_end: chrono::DateTime<chrono::Utc>,
    rng: &mut Rng,
) -> anyhow::Result<ProofLatency> {
    let span = (seed_end - seed_start).num_milliseconds().max(1) as u64;
    let moments: Vec<_> = (0..requests)
        .map(|_| seed_start + chrono::Duration::milliseconds(rng.below(span) as i64 + 1))
        .collect();
    let records: Vec<(uuid::Uuid, u64)> = futures::stream::iter(moments)
        .map(|to| async move {
            let query = [
                ("to".to_owned(), audit_core::timestamp::format(&to)),
                ("limit".to_owned(), "1".to_owned()),
            ];
            let (body, _) = api.timed_get("/api/v1/audit-logs", &query).await?;
            let page: AuditLogPage = serde_json::from_slice(&body)?;
            anyhow::Ok(page.data.first().map(|record| (record.id, record.seq as u64)))
        })
        .buffer_unordered(clients)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await?;
    ensure!(!records.is_empty(), "no records to prove");
    let (_, whole) = inclusion(api, &records[0].0, None).await?;
    let tree_size = whole.tree_size;

    let asks: Vec<Inclusion> = records
        .iter()
        .enumerate()
        .map(|(index, &(id, seq))| Inclusion {
            id,
            seq,
            tree_size: size_at_least(rng, index, seq, tree_size),
        })
        .collect();
    let inclusion_times = timed_concurrently(clients, asks, |ask| async move {
        let (took, proof) = inclusion(api, &ask.id, ask.tree_size).await?;
        ensure!(
            proof.seq as u64 == ask.seq && proof.tree_size == ask.tree_size.unwrap_or(tree_size),
            "inclusion proof of {} answered seq {} at size {}",
            ask.id,
            proof.seq,
            proof.tree_size
        );
        Ok(took)
    })
    .await?;

    let pairs: Vec<(u64, Option<u64>)> = (0..requests)
        .map(|index| {
            let old = 1 + rng.below(tree_size);
            (old, size_at_least(rng, index, old, tree_size))
        })
        .collect();
    let consistency_times = timed_concurrently(clients, pairs, |(old, new)| async move {
        let mut query = vec![("oldSize".to_owned(), old.to_string())];
        query.extend(new.map(|new| ("newSize".to_owned(), new.to_string())));
        let (body, took) = api
            .timed_get("/api/v1/audit-logs/consistency-proof", &query)
            .await?;
        let proof: ConsistencyProof = serde_json::from_slice(&body)?;
        proof
            .verify()
            .map_err(|error| anyhow::anyhow!("consistency proof from {old} to {new:?}: {error}"))?;
        Ok(took)
    })
    .await?;

    let latency = ProofLatency {
        tree_size,
        clients,
        inclusion: Latency::of(inclusion_times),
        consistency: Latency::of(consistency_times),
    };
    for (name, figures) in [
        ("inclusion", latency.inclusion),
        ("consistency", latency.consistency),
    ] {
        eprintln!(
            "  {name} proofs at {tree_size} leaves, {clients} clients: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} requests)",
            figures.p50_ms, figures.p99_ms, figures.max_ms, figures.count
        );
    }
    Ok(latency)
}

/// `id`'s inclusion proof at `tree_size` (the whole tree when `None`), checked; answers the
/// time to its last byte and the proof.
async fn inclusion(
    api: &Api,
    id: &uuid::Uuid,
    tree_size: Option<u64>,
) -> anyhow::Result<(Duration, InclusionProof)> {
    let query: Vec<(String, String)> = tree_size
        .map(|size| ("treeSize".to_owned(), size.to_string()))
        .into_iter()
        .collect();
    let (body, took) = api
        .timed_get(&format!("/api/v1/audit-logs/{id}/inclusion-proof"), &query)
        .await?;
    let proof: InclusionProof = serde_json::from_slice(&body)?;
    proof
        .verify()
        .map_err(|error| anyhow::anyhow!("inclusion proof of {id}: {error}"))?;
    Ok((took, proof))
}

/// Runs `request` on every job, `clients` at a time, and answers the times they report.
async fn timed_concurrently<T, F, Fut>(
    clients: usize,
    jobs: Vec<T>,
    request: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = anyhow::Result<Duration>>,
{
    futures::stream::iter(jobs)
        .map(request)
        .buffer_unordered(clients.max(1))
        .try_collect()
        .await
}
