//! One record's `c2sp.org/tlog-proof@v1` file: the record, its inclusion proof and the
//! cosigned checkpoint it is checked against, all in one text an auditor keeps and checks
//! offline with `audit-verify --proof`.

use audit_core::Problem;
use audit_core::record_proof::record_tlog_proof;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, positive_integer_params, uuid_param};
use crate::http::error::ApiError;
use crate::http::routes::checkpoints::to_wire;
use crate::http::routes::proofs::tree_size;
use crate::state::AppState;
use crate::store::{checkpoints, cosignatures, merkle, reads};

/// The tlog-proof route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_tlog_proof))
}

/// The media type of a tlog-proof file.
const TLOG_PROOF_MEDIA_TYPE: &str = "text/plain; charset=utf-8";

/// A record's tlog-proof file.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/{id}/tlog-proof",
    operation_id = "getTlogProof",
    tag = "audit-logs",
    description = "The record's proof as a C2SP `c2sp.org/tlog-proof@v1` file: the `extra` line is the record's \
                   JSON (as the JSONL export writes it), then its leaf index (`seq - 1`), its inclusion proof, and \
                   the signed checkpoint it is included in with the witnesses' cosignature lines. The checkpoint \
                   is the newest one covering the record that a witness cosigned, or the newest covering it when \
                   none is. Check it offline with `audit-verify --proof FILE --policy POLICY`: the record matches \
                   its own hash, its leaf is in the checkpoint's tree, and the checkpoint is signed by the log and \
                   cosigned as the policy demands. Another organization's record, or another project's for a \
                   project-restricted key, is 404. Needs `auditLogs:read`.",
    params(("id" = uuid::Uuid, Path, description = "The record id.")),
    responses(
        (status = 200, description = "The proof file.", body = String, content_type = "text/plain; charset=utf-8",
         example = json!("c2sp.org/tlog-proof@v1\nextra eyJpZCI6Li4ufQ\nindex 41\nq2lV...=\n\naudit-log/3f0c...\n42\nq2lV...=\n\n— audit-log/3f0c... AbCd...=\n")),
        (status = 400, description = "Malformed id or an unknown parameter.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope.", body = Problem),
        (status = 404, description = "No such record for this key.", body = Problem),
        (status = 409, description = "No checkpoint covers the record yet (try again after the next one), or \
                                      the trail has no Merkle tree.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_tlog_proof(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = uuid_param("id", &id)?;
    let scope = caller.read_scope(None)?;
    let [] = positive_integer_params(query.as_deref(), [])?;
    let record = reads::get(&state.store, &scope, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such record"))?;
    let checkpoint = checkpoints::covering(&state.store, scope.org_id, record.seq)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "no signed checkpoint covers this record yet; try again after the next checkpoint",
            )
        })?;
    let tree = tree_size(&state, scope.org_id).await?;
    let size = checkpoint.seq as u64;
    let cosignatures = cosignatures::of_checkpoint(&state.store, scope.org_id, checkpoint.seq).await?;
    let signed = to_wire(checkpoint, cosignatures);
    if size > tree || signed.root_hash.is_none() {
        return Err(ApiError::conflict(
            "the checkpoint covering this record has no Merkle root (signed before the tree was built)",
        ));
    }
    let db = state.store.connection();
    let (proof, _root) = merkle::inclusion_proof(db, scope.org_id, tree, record.seq as u64 - 1, size).await?;
    let note = signed.note;
    let file = record_tlog_proof(&record, proof, &note).encode();

    let mut response = file.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TLOG_PROOF_MEDIA_TYPE),
    );
    let disposition = format!("attachment; filename=\"audit-record-{}.tlog-proof\"", record.id);
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}
