//! Recomputing an organization's chain from the stored records.

use audit_core::{ChainVerifier, GENESIS_HASH, VerifyReport};
use futures::{Stream, StreamExt};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::entity::{audit_log, chain_anchor, chain_head};
use super::stored_row::{StoredRow, fetch_stored};
use super::{RecordDecodeError, Store};

const CHUNK: u64 = 2000;
/// Chunks read ahead of the one being checked.
const READ_AHEAD: usize = 2;
/// Chunks hashed at once on the blocking pool.
const HASHING_IN_PARALLEL: usize = 2;

/// Verifies the records from `from_seq` to `to_seq` (inclusive; defaults: the whole trail, which
/// after a retention purge starts at its anchor), reading in keyset chunks so memory stays flat
/// on any trail length.
pub async fn verify(
    store: &Store,
    org_id: Uuid,
    from_seq: Option<i64>,
    to_seq: Option<i64>,
) -> Result<VerifyReport, DbErr> {
    let db = store.connection();
    let head = chain_head::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("chain head of organization {org_id}")))?;
    // After a retention purge the chain starts at the anchor: the first kept record, which must
    // chain to the hash of the last purged one.
    let anchor = chain_anchor::Entity::find_by_id(org_id).one(db).await?;
    let first_kept = anchor.as_ref().map_or(1, |anchor| anchor.first_seq);
    let from_seq = from_seq.unwrap_or(first_kept).max(first_kept);
    let to_seq = to_seq.unwrap_or(head.seq).min(head.seq);
    if from_seq > to_seq && from_seq > 1 {
        // Nothing stored in the range (it starts past the head): nothing to contradict.
        return Ok(VerifyReport {
            valid: true,
            checked: 0,
            head_seq: head.seq,
            head_hash: head.hash,
            first_invalid_seq: None,
            reason: None,
        });
    }

    let mut verifier = if from_seq == 1 {
        ChainVerifier::from_genesis()
    } else if let Some(anchor) = anchor.filter(|anchor| anchor.first_seq == from_seq) {
        ChainVerifier::after(from_seq - 1, &anchor.prev_hash)
    } else {
        let anchor = audit_log::Entity::find()
            .filter(audit_log::Column::OrgId.eq(org_id))
            .filter(audit_log::Column::Seq.eq(from_seq - 1))
            .one(db)
            .await?;
        match anchor {
            Some(anchor) => ChainVerifier::after(anchor.seq, &anchor.hash),
            None => ChainVerifier::starting_at(from_seq),
        }
    };

    let mut chunks = std::pin::pin!(hashed_chunks(store.clone(), org_id, from_seq, to_seq));
    'chunks: while let Some(chunk) = chunks.next().await {
        for checked in chunk? {
            let ok = match checked {
                Ok(record) => {
                    verifier.push_hashed(record.seq, &record.prev_hash, &record.hash, &record.computed)
                }
                Err(error) => {
                    return Ok(report(&verifier, false, Some(error.seq), Some(error.message)));
                }
            };
            if !ok {
                break 'chunks;
            }
        }
    }

    if let Some(broken) = verifier.first_break() {
        let (seq, reason) = (broken.seq, broken.reason.clone());
        return Ok(report(&verifier, false, Some(seq), Some(reason)));
    }
    if verifier.head_seq() < to_seq {
        let missing = verifier.head_seq() + 1;
        return Ok(report(
            &verifier,
            false,
            Some(missing),
            Some(format!("record seq {missing} is missing")),
        ));
    }
    let mut valid = report(&verifier, true, None, None);
    if head.seq == 0 {
        valid.head_hash = GENESIS_HASH.to_owned();
    } else if to_seq == head.seq && valid.head_hash != head.hash {
        return Ok(report(
            &verifier,
            false,
            Some(head.seq),
            Some("the last record's hash differs from the recorded chain head".to_owned()),
        ));
    }
    Ok(valid)
}

/// A stored record's chain fields and the hash recomputed from its content.
struct Hashed {
    seq: i64,
    prev_hash: String,
    hash: String,
    computed: String,
}

/// Chunks in `seq` order: one task reads ahead from the database while earlier chunks are
/// decoded and hashed on the blocking pool, a few at a time (each record's hash depends only
/// on its own row; the links are checked in order by the caller).
fn hashed_chunks(
    store: Store,
    org_id: Uuid,
    from_seq: i64,
    to_seq: i64,
) -> impl Stream<Item = Result<Vec<Result<Hashed, RecordDecodeError>>, DbErr>> {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        let mut last_seq = from_seq - 1;
        while last_seq < to_seq {
            let query = audit_log::Entity::find()
                .filter(audit_log::Column::OrgId.eq(org_id))
                .filter(audit_log::Column::Seq.gt(last_seq))
                .filter(audit_log::Column::Seq.lte(to_seq))
                .order_by_asc(audit_log::Column::Seq)
                .limit(CHUNK);
            let rows = fetch_stored(store.connection(), query).await;
            let rows = match rows {
                Ok(rows) if rows.is_empty() => break,
                Ok(rows) => rows,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    break;
                }
            };
            last_seq = rows.last().map_or(to_seq, |row| row.seq);
            if sender.send(Ok(rows)).await.is_err() {
                break; // the verifier stopped at a break
            }
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|rows| (rows, receiver))
    })
    .map(|rows| async move {
        let rows = rows?;
        tokio::task::spawn_blocking(move || {
            let mut scratch = Vec::with_capacity(2048);
            rows.into_iter().map(|row| hash_row(row, &mut scratch)).collect()
        })
        .await
        .map_err(|error| DbErr::Custom(format!("hashing a chunk failed: {error}")))
    })
    .buffered(HASHING_IN_PARALLEL)
}

fn hash_row(row: StoredRow, scratch: &mut Vec<u8>) -> Result<Hashed, RecordDecodeError> {
    let computed = row.view()?.compute_hash(scratch);
    Ok(Hashed {
        seq: row.seq,
        prev_hash: row.prev_hash,
        hash: row.hash,
        computed,
    })
}

fn report(
    verifier: &ChainVerifier,
    valid: bool,
    first_invalid_seq: Option<i64>,
    reason: Option<String>,
) -> VerifyReport {
    VerifyReport {
        valid,
        checked: verifier.checked(),
        head_seq: verifier.head_seq(),
        head_hash: verifier.head_hash().to_owned(),
        first_invalid_seq,
        reason,
    }
}
