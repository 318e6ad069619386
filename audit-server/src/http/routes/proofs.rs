//! Merkle proofs: a record's inclusion in the organization's tree, and the consistency of two
//! sizes of that tree. Both are answered from stored tiles in O(log n).

use audit_core::merkle::record_leaf_hash;
use audit_core::{ConsistencyProof, FieldError, InclusionProof, Problem, encode_hash};
use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, positive_integer_params, uuid_param};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::merkle::{self, TreeError};
use crate::store::reads;

/// The proof routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_inclusion_proof))
        .routes(routes!(get_consistency_proof))
}

/// Which tree an inclusion proof is against.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[into_params(rename_all = "camelCase")]
pub struct InclusionParams {
    /// The tree size, at least the record's `seq` (default: the whole tree now). Give a signed
    /// checkpoint's size to check the proof against that checkpoint's root.
    #[param(minimum = 1)]
    pub tree_size: Option<u64>,
}

/// Which two tree sizes a consistency proof links.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[into_params(rename_all = "camelCase")]
pub struct ConsistencyParams {
    /// The older size (required).
    #[param(minimum = 1)]
    pub old_size: Option<u64>,
    /// The newer size, at least `oldSize` (default: the whole tree now).
    #[param(minimum = 1)]
    pub new_size: Option<u64>,
}

impl From<TreeError> for ApiError {
    fn from(error: TreeError) -> Self {
        match error {
            TreeError::OutOfRange(message) => ApiError::unprocessable(message, Vec::new()),
            TreeError::Damaged(_) => ApiError::internal(error.to_string()),
            TreeError::Database(error) => error.into(),
        }
    }
}

/// The organization's tree size, or 409 when its trail has no tree.
pub(crate) async fn tree_size(state: &AppState, org_id: uuid::Uuid) -> Result<u64, ApiError> {
    merkle::size(state.store.connection(), org_id)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "this trail has no Merkle tree: its first records were purged before trees were kept",
            )
        })
}

/// A record's inclusion proof.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/{id}/inclusion-proof",
    operation_id = "getInclusionProof",
    tag = "audit-logs",
    description = "Proves that the record is leaf `seq - 1` of the organization's RFC 6962 Merkle tree of \
                   `treeSize` leaves: check the proof from `leafHash` to `rootHash`, then that `rootHash` is the \
                   root of a signed checkpoint of that size. The leaf is SHA-256(0x00 || the record's 32-byte \
                   chain hash). Answered from stored subtree hashes in O(log n). Another organization's record, \
                   or another project's for a project-restricted key, is 404. Needs `auditLogs:read`.",
    params(("id" = uuid::Uuid, Path, description = "The record id."), InclusionParams),
    responses(
        (status = 200, description = "The proof.", body = InclusionProof),
        (status = 400, description = "Malformed id or parameters.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope.", body = Problem),
        (status = 404, description = "No such record for this key.", body = Problem),
        (status = 409, description = "The trail has no Merkle tree.", body = Problem),
        (status = 422, description = "`treeSize` below the record's `seq` or beyond the tree.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_inclusion_proof(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<InclusionProof>, ApiError> {
    let id = uuid_param("id", &id)?;
    let scope = caller.read_scope(None)?;
    let [requested] = positive_integer_params(query.as_deref(), ["treeSize"])?;
    let record = reads::get(&state.store, &scope, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such record"))?;
    let tree = tree_size(&state, scope.org_id).await?;
    let size = requested.unwrap_or(tree);
    let seq = record.seq as u64;
    if size < seq || size > tree {
        return Err(FieldError::new(
            "treeSize",
            format!("must be between the record's seq ({seq}) and the tree's size ({tree})"),
        )
        .into());
    }
    let db = state.store.connection();
    let (proof, root) = merkle::inclusion_proof(db, scope.org_id, tree, seq - 1, size).await?;
    let leaf = record_leaf_hash(&record.hash)
        .ok_or_else(|| ApiError::internal("a stored record has no chain hash"))?;
    Ok(Json(InclusionProof {
        id: record.id,
        seq: record.seq,
        leaf_index: seq - 1,
        tree_size: size,
        leaf_hash: encode_hash(&leaf),
        root_hash: encode_hash(&root),
        proof: proof.iter().map(encode_hash).collect(),
    }))
}

/// A consistency proof between two sizes of the organization's tree.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/consistency-proof",
    operation_id = "getConsistencyProof",
    tag = "audit-logs",
    description = "Proves that the organization's tree of `oldSize` leaves is the start of its tree of `newSize`: \
                   nothing an older checkpoint covered was changed, removed or reordered since. Check it with \
                   the roots of two signed checkpoints. The tree spans the whole organization, so \
                   project-restricted credentials may not call it. Needs `auditLogs:read`.",
    params(ConsistencyParams),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProof),
        (status = 400, description = "Malformed or unknown parameters.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope, or a project-restricted credential.", body = Problem),
        (status = 409, description = "The trail has no Merkle tree.", body = Problem),
        (status = 422, description = "`oldSize` missing or sizes out of order or beyond the tree.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_consistency_proof(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let scope = caller.read_scope(None)?;
    if scope.project_id.is_some() {
        return Err(ApiError::forbidden(
            "the tree spans the organization; use an organization-level credential",
        ));
    }
    let [old_size, new_size] = positive_integer_params(query.as_deref(), ["oldSize", "newSize"])?;
    let old_size = old_size.ok_or_else(|| FieldError::new("oldSize", "is required"))?;
    let tree = tree_size(&state, scope.org_id).await?;
    let new_size = new_size.unwrap_or(tree);
    if new_size > tree {
        return Err(FieldError::new("newSize", format!("must be at most the tree's size ({tree})")).into());
    }
    if old_size > new_size {
        return Err(FieldError::new("oldSize", format!("must be at most newSize ({new_size})")).into());
    }
    let db = state.store.connection();
    let consistency = merkle::consistency_proof(db, scope.org_id, tree, old_size, new_size).await?;
    Ok(Json(ConsistencyProof {
        old_size,
        new_size,
        old_root_hash: encode_hash(&consistency.old_root),
        new_root_hash: encode_hash(&consistency.new_root),
        proof: consistency.proof.iter().map(encode_hash).collect(),
    }))
}
