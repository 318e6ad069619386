//! Witness cosignatures of checkpoints: storing the lines witnesses return, and reading them
//! back to serve a cosigned checkpoint or to learn where a witness stands.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::Store;
use super::entity::checkpoint_cosignature;

/// A cosignature to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCosignature {
    /// The organization.
    pub org_id: Uuid,
    /// The checkpoint's `seq`.
    pub seq: i64,
    /// The witness's key name.
    pub witness: String,
    /// The witness's key id, hex.
    pub key_id: String,
    /// The time the witness stated.
    pub cosigned_at: DateTime<Utc>,
    /// The signature line, without its newline.
    pub line: String,
}

/// Keeps `cosignature` (a witness's second cosignature of one checkpoint is ignored: the
/// first is as good).
pub async fn record(store: &Store, cosignature: NewCosignature) -> Result<(), DbErr> {
    let _writer = store.writer_guard().await;
    checkpoint_cosignature::Entity::insert(checkpoint_cosignature::ActiveModel {
        org_id: Set(cosignature.org_id),
        seq: Set(cosignature.seq),
        witness: Set(cosignature.witness),
        key_id: Set(cosignature.key_id),
        cosigned_at: Set(cosignature.cosigned_at),
        line: Set(cosignature.line),
    })
    .on_conflict(
        OnConflict::columns([
            checkpoint_cosignature::Column::OrgId,
            checkpoint_cosignature::Column::Seq,
            checkpoint_cosignature::Column::Witness,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(store.connection())
    .await?;
    Ok(())
}

/// The cosignatures of `org_id`'s checkpoint at `seq`, by witness name.
pub async fn of_checkpoint(
    store: &Store,
    org_id: Uuid,
    seq: i64,
) -> Result<Vec<checkpoint_cosignature::Model>, DbErr> {
    checkpoint_cosignature::Entity::find()
        .filter(checkpoint_cosignature::Column::OrgId.eq(org_id))
        .filter(checkpoint_cosignature::Column::Seq.eq(seq))
        .order_by_asc(checkpoint_cosignature::Column::Witness)
        .all(store.connection())
        .await
}

/// The `seq` of the newest checkpoint of `org_id` that `witness` cosigned, if any.
pub async fn newest_cosigned(store: &Store, witness: &str, org_id: Uuid) -> Result<Option<i64>, DbErr> {
    Ok(checkpoint_cosignature::Entity::find()
        .filter(checkpoint_cosignature::Column::Witness.eq(witness))
        .filter(checkpoint_cosignature::Column::OrgId.eq(org_id))
        .order_by_desc(checkpoint_cosignature::Column::Seq)
        .one(store.connection())
        .await?
        .map(|row| row.seq))
}
