//! Secrets the server generates at first start and keeps in the database, so that every
//! process on one database agrees on them.

use audit_core::timestamp;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DbErr, EntityTrait};

use super::Store;
use super::entity::server_secret;

/// The name of the viewer token signing key.
pub const VIEWER_TOKEN_KEY: &str = "viewer_token_hmac_key";

/// The name of the checkpoint signing key's Ed25519 seed (unless `AUDIT_SIGNING_KEY_FILE` is set).
pub const CHECKPOINT_SIGNING_SEED: &str = "checkpoint_ed25519_seed";

/// The 32-byte secret called `name`, generated on first use.
pub async fn get_or_create(store: &Store, name: &str) -> Result<[u8; 32], DbErr> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|error| DbErr::Custom(format!("no randomness: {error}")))?;
    server_secret::Entity::insert(server_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(hex::encode(fresh)),
        created_at: Set(timestamp::now()),
    })
    .on_conflict(
        OnConflict::column(server_secret::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(store.connection())
    .await?;
    let stored = server_secret::Entity::find_by_id(name.to_owned())
        .one(store.connection())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("server secret {name}")))?;
    let bytes = hex::decode(&stored.value)
        .map_err(|error| DbErr::Custom(format!("server secret {name}: {error}")))?;
    bytes
        .try_into()
        .map_err(|_| DbErr::Custom(format!("server secret {name} is not 32 bytes")))
}
