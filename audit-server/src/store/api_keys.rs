//! API keys: creation, listing, revocation and authentication. Creating and revoking a key is
//! recorded in the organization's trail in the same transaction.

use audit_core::{ActorType, ApiKey, AuditEvent, CreatedApiKey, NewApiKey, Scope, timestamp};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Store;
use super::append::{NewRecord, append_in};
use super::entity::api_key;
use crate::keys::secret;

/// Who changes a key: another key of the organization, or the operator's admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy {
    /// The operator (admin token).
    Operator,
    /// An API key with `apiKeys:manage`.
    Key(Uuid),
}

impl ChangedBy {
    fn event(self, resource_id: Uuid, action: &str) -> AuditEvent {
        let mut event = match self {
            ChangedBy::Operator => {
                let mut event = AuditEvent::new(ActorType::System, "apiKey", resource_id.to_string(), action);
                event.metadata = json!({ "actor": "operator" }).as_object().cloned();
                event
            }
            ChangedBy::Key(key_id) => {
                AuditEvent::by_api_key(key_id.to_string(), "apiKey", resource_id.to_string(), action)
            }
        };
        event.ensure_id();
        event
    }

    fn recorded_by(self) -> Option<Uuid> {
        match self {
            ChangedBy::Operator => None,
            ChangedBy::Key(key_id) => Some(key_id),
        }
    }
}

/// A key found by its secret: what a request authenticated with it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedKey {
    /// The key's id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// Its project restriction.
    pub project_id: Option<String>,
    /// Its scopes.
    pub scopes: Vec<Scope>,
}

/// Creates a key and records its creation; the secret is returned this once.
pub async fn create(
    store: &Store,
    org_id: Uuid,
    new_key: &NewApiKey,
    changed_by: ChangedBy,
) -> Result<CreatedApiKey, DbErr> {
    let secret = secret::generate().map_err(|error| DbErr::Custom(format!("no randomness: {error}")))?;
    let mut scopes = new_key.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let row = api_key::Model {
        id: Uuid::now_v7(),
        org_id,
        name: new_key.name.clone(),
        scopes: scopes_to_json(&scopes),
        project_id: new_key.project_id.clone(),
        secret_hash: secret::hash(&secret),
        secret_prefix: secret::display_prefix(&secret),
        created_at: timestamp::now(),
        revoked_at: None,
    };
    let listed = to_wire(row.clone());
    let mut event = changed_by.event(row.id, "create");
    event.project_id = row.project_id.clone();
    event.after = serde_json::to_value(&listed).ok();

    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    api_key::ActiveModel::from(row).insert(&txn).await?;
    append_in(
        &txn,
        org_id,
        vec![NewRecord::from_submitted(event).recorded_by(changed_by.recorded_by())],
    )
    .await?;
    txn.commit().await?;

    Ok(CreatedApiKey {
        id: listed.id,
        org_id,
        name: listed.name,
        scopes: listed.scopes,
        project_id: listed.project_id,
        secret_prefix: listed.secret_prefix,
        created_at: listed.created_at,
        secret,
    })
}

/// The organization's keys (only one project's, when `project_id` is set), oldest first.
pub async fn list(store: &Store, org_id: Uuid, project_id: Option<&str>) -> Result<Vec<ApiKey>, DbErr> {
    let mut query = api_key::Entity::find().filter(api_key::Column::OrgId.eq(org_id));
    if let Some(project_id) = project_id {
        query = query.filter(api_key::Column::ProjectId.eq(project_id));
    }
    let rows = query
        .order_by_asc(api_key::Column::CreatedAt)
        .order_by_asc(api_key::Column::Id)
        .all(store.connection())
        .await?;
    Ok(rows.into_iter().map(to_wire).collect())
}

/// One key of the organization.
pub async fn find(store: &Store, org_id: Uuid, key_id: Uuid) -> Result<Option<ApiKey>, DbErr> {
    let row = api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::OrgId.eq(org_id))
        .one(store.connection())
        .await?;
    Ok(row.map(to_wire))
}

/// Revokes a key at once and records it. Revoking a revoked key changes nothing.
pub async fn revoke(store: &Store, key: &ApiKey, changed_by: ChangedBy) -> Result<(), DbErr> {
    if key.revoked_at.is_some() {
        return Ok(());
    }
    let revoked_at = timestamp::now();
    let mut after = key.clone();
    after.revoked_at = Some(revoked_at);
    let mut event = changed_by.event(key.id, "delete");
    event.project_id = key.project_id.clone();
    event.before = serde_json::to_value(key).ok();
    event.after = serde_json::to_value(&after).ok();

    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    api_key::ActiveModel {
        id: Set(key.id),
        revoked_at: Set(Some(revoked_at)),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    append_in(
        &txn,
        key.org_id,
        vec![NewRecord::from_submitted(event).recorded_by(changed_by.recorded_by())],
    )
    .await?;
    txn.commit().await?;
    store.key_cache.forget(key.id);
    Ok(())
}

/// The live (not revoked) key with this secret. Keys read within the last [`KEY_CACHE_TTL`](super::key_cache::KEY_CACHE_TTL) are answered
/// from this process's [`KeyCache`](super::key_cache::KeyCache).
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<AuthenticatedKey>, DbErr> {
    let secret_hash = secret::hash(secret);
    if let Some(key) = store.key_cache.get(&secret_hash) {
        return Ok(Some(key));
    }
    let row = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(secret_hash.clone()))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(store.connection())
        .await?;
    let key = row.map(|row| AuthenticatedKey {
        id: row.id,
        org_id: row.org_id,
        project_id: row.project_id,
        scopes: scopes_from_json(&row.scopes),
    });
    if let Some(key) = &key {
        store.key_cache.put(secret_hash, key.clone());
    }
    Ok(key)
}

fn scopes_to_json(scopes: &[Scope]) -> Value {
    Value::Array(
        scopes
            .iter()
            .map(|scope| Value::String(scope.as_str().to_owned()))
            .collect(),
    )
}

fn scopes_from_json(value: &Value) -> Vec<Scope> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().and_then(Scope::parse))
                .collect()
        })
        .unwrap_or_default()
}

fn to_wire(row: api_key::Model) -> ApiKey {
    ApiKey {
        id: row.id,
        org_id: row.org_id,
        name: row.name,
        scopes: scopes_from_json(&row.scopes),
        project_id: row.project_id,
        secret_prefix: row.secret_prefix,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    }
}
