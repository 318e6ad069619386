//! Signed checkpoints: signing an organization's current chain head, storing the note, and
//! finding the latest one.

use audit_core::checkpoint::{Checkpoint, CheckpointSigner};
use audit_core::timestamp;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::entity::{chain_head, checkpoint, checkpoint_cosignature};
use super::{Store, merkle};

/// The newest checkpoint of `org_id`, or the newest at or below `at_or_below` when given.
pub async fn latest(
    store: &Store,
    org_id: Uuid,
    at_or_below: Option<i64>,
) -> Result<Option<checkpoint::Model>, DbErr> {
    let mut query = checkpoint::Entity::find().filter(checkpoint::Column::OrgId.eq(org_id));
    if let Some(seq) = at_or_below {
        query = query.filter(checkpoint::Column::Seq.lte(seq));
    }
    query
        .order_by_desc(checkpoint::Column::Seq)
        .one(store.connection())
        .await
}

/// The checkpoint a proof of `org_id`'s record `seq` is best checked against: the newest
/// covering it that a witness cosigned, else the newest covering it; `None` while no checkpoint
/// covers the record yet.
pub async fn covering(store: &Store, org_id: Uuid, seq: i64) -> Result<Option<checkpoint::Model>, DbErr> {
    let cosigned = checkpoint_cosignature::Entity::find()
        .filter(checkpoint_cosignature::Column::OrgId.eq(org_id))
        .filter(checkpoint_cosignature::Column::Seq.gte(seq))
        .order_by_desc(checkpoint_cosignature::Column::Seq)
        .one(store.connection())
        .await?;
    if let Some(cosigned) = cosigned
        && let Some(found) = checkpoint::Entity::find_by_id((org_id, cosigned.seq))
            .one(store.connection())
            .await?
    {
        return Ok(Some(found));
    }
    Ok(latest(store, org_id, None)
        .await?
        .filter(|newest| newest.seq >= seq))
}

/// Every organization's newest checkpoint `seq`.
pub async fn newest_per_org(store: &Store) -> Result<Vec<(Uuid, i64)>, DbErr> {
    checkpoint::Entity::find()
        .select_only()
        .column(checkpoint::Column::OrgId)
        .column_as(checkpoint::Column::Seq.max(), "seq")
        .group_by(checkpoint::Column::OrgId)
        .into_tuple()
        .all(store.connection())
        .await
}

/// Every organization's chain head that holds at least one record.
pub async fn non_empty_heads(store: &Store) -> Result<Vec<chain_head::Model>, DbErr> {
    chain_head::Entity::find()
        .filter(chain_head::Column::Seq.gt(0))
        .all(store.connection())
        .await
}

/// Signs `org_id`'s current head and stores the note (a head another process signed already
/// is kept as it is). Returns the stored checkpoint, or `None` when the trail is empty.
pub async fn sign_head(
    store: &Store,
    signer: &CheckpointSigner,
    org_id: Uuid,
) -> Result<Option<checkpoint::Model>, DbErr> {
    let Some(head) = chain_head::Entity::find_by_id(org_id)
        .one(store.connection())
        .await?
        .filter(|head| head.seq > 0)
    else {
        return Ok(None);
    };
    sign(store, signer, &head).await.map(Some)
}

/// Signs `head` and stores the note.
pub async fn sign(
    store: &Store,
    signer: &CheckpointSigner,
    head: &chain_head::Model,
) -> Result<checkpoint::Model, DbErr> {
    let mut statement = Checkpoint::new(signer.name(), head.org_id, head.seq, &head.hash, timestamp::now());
    if head.tree_size == head.seq {
        let size = head.seq as u64;
        let root = merkle::root(store.connection(), head.org_id, size, size)
            .await
            .map_err(|error| DbErr::Custom(error.to_string()))?;
        statement = statement.with_root(&root);
    }
    let signed = signer.sign(&statement);
    let row = checkpoint::Model {
        org_id: head.org_id,
        seq: head.seq,
        head_hash: signed.checkpoint.head_hash.clone(),
        created_at: signed.checkpoint.time,
        key_name: signed.key_name.clone(),
        key_id: signed.key_id.clone(),
        signature: signed.signature.clone(),
        note: signed.note.clone(),
    };
    {
        let _writer = store.writer_guard().await;
        checkpoint::Entity::insert(checkpoint::ActiveModel {
            org_id: Set(row.org_id),
            seq: Set(row.seq),
            head_hash: Set(row.head_hash.clone()),
            created_at: Set(row.created_at),
            key_name: Set(row.key_name.clone()),
            key_id: Set(row.key_id.clone()),
            signature: Set(row.signature.clone()),
            note: Set(row.note.clone()),
        })
        .on_conflict(
            OnConflict::columns([checkpoint::Column::OrgId, checkpoint::Column::Seq])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(store.connection())
        .await?;
    }
    Ok(latest(store, head.org_id, Some(head.seq)).await?.unwrap_or(row))
}
