//! Signed checkpoints and the key that verifies them.

use audit_core::{CheckpointCosignature, CheckpointPublicKey, FieldError, Problem, SignedCheckpointResponse};
use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::query_pairs;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::entity::{checkpoint, checkpoint_cosignature};
use crate::store::{checkpoints, cosignatures};

/// The checkpoint routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest_checkpoint))
        .routes(routes!(checkpoint_public_key))
}

/// Which checkpoint to fetch.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointParams {
    /// The newest checkpoint at or below this `seq` instead of the newest of all (for example
    /// the last `seq` of an export).
    #[param(minimum = 1)]
    pub seq: Option<i64>,
}

/// The organization's latest signed checkpoint.
#[utoipa::path(
    get,
    path = "/api/v1/checkpoints/latest",
    operation_id = "getLatestCheckpoint",
    tag = "checkpoints",
    description = "The newest signed checkpoint of the caller's organization (or the newest at or below `seq`): \
                   the server's Ed25519 signature over `(orgId, seq, rootHash, headHash, time)` as a C2SP signed \
                   note whose body is a tlog-checkpoint (origin, tree size, Merkle root). The \
                   server signs one for every organization whose head moved, every `AUDIT_CHECKPOINT_EVERY_RECORDS` \
                   records or `AUDIT_CHECKPOINT_INTERVAL_SECS` seconds. Give the `note` to `audit-verify \
                   --checkpoint` with the key of `GET /api/v1/checkpoints/public-key`. Needs `auditLogs:read` of \
                   the whole organization (an organization-level key or viewer token).",
    params(CheckpointParams),
    responses(
        (status = 200, description = "The checkpoint.", body = SignedCheckpointResponse),
        (status = 400, description = "Malformed or unknown parameters.", body = Problem),
        (status = 401, description = "Missing, unknown or expired credentials.", body = Problem),
        (status = 403, description = "Missing scope, or a project-restricted credential.", body = Problem),
        (status = 404, description = "No checkpoint (at or below `seq`) yet.", body = Problem),
        (status = 422, description = "`seq` below 1.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<SignedCheckpointResponse>, ApiError> {
    let scope = caller.read_scope(None)?;
    if scope.project_id.is_some() {
        return Err(ApiError::forbidden(
            "a checkpoint covers the whole organization; use an organization-level credential",
        ));
    }
    let mut seq = None;
    for (name, value) in query_pairs(query.as_deref())? {
        if name != "seq" {
            return Err(ApiError::bad_request(
                "unknown query parameter",
                vec![FieldError::new(name, "is not a known parameter")],
            ));
        }
        let parsed = value.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "malformed query parameters",
                vec![FieldError::new("seq", "must be a whole number")],
            )
        })?;
        if parsed < 1 {
            return Err(ApiError::unprocessable(
                "invalid seq",
                vec![FieldError::new("seq", "must be at least 1")],
            ));
        }
        seq = Some(parsed);
    }
    let found = checkpoints::latest(&state.store, scope.org_id, seq)
        .await?
        .ok_or_else(|| ApiError::not_found("no checkpoint has been signed yet"))?;
    let cosignatures = cosignatures::of_checkpoint(&state.store, found.org_id, found.seq).await?;
    Ok(Json(to_wire(found, cosignatures)))
}

/// Whose log the verifier key is named for.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct PublicKeyParams {
    /// Name the key by this organization's origin (`<log name>/<orgId>`), the verifier key a
    /// C2SP tlog-policy `log` line and standard signed-note tools take for that log.
    #[param(value_type = Option<String>, format = Uuid)]
    pub org_id: Option<uuid::Uuid>,
}

/// The checkpoint verifier key.
#[utoipa::path(
    get,
    path = "/api/v1/checkpoints/public-key",
    operation_id = "getCheckpointPublicKey",
    tag = "checkpoints",
    description = "The Ed25519 key that verifies every checkpoint of this server, as a signed-note verifier key \
                   (`vkey`, what `audit-verify --public-key` reads) and as raw base64. No credentials needed: \
                   fetch it once and keep it apart from the exports it will check. Named by the log name it \
                   verifies every organization's checkpoints with `audit-verify`; with `orgId` it is named by that \
                   organization's origin, the key name on its checkpoints' signature lines, as standard \
                   signed-note verifiers and tlog-policy files want it.",
    params(PublicKeyParams),
    responses(
        (status = 200, description = "The key.", body = CheckpointPublicKey),
        (status = 400, description = "Malformed or unknown parameters.", body = Problem),
    ),
)]
pub async fn checkpoint_public_key(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<CheckpointPublicKey>, ApiError> {
    let verifier = state.checkpoint_signer.verifier();
    let named = match org_id_param(query.as_deref())? {
        Some(org_id) => Some(
            verifier
                .for_origin(&format!("{}/{org_id}", verifier.name()))
                .map_err(|error| {
                    ApiError::bad_request(
                        "malformed query parameters",
                        vec![FieldError::new("orgId", error.to_string())],
                    )
                })?,
        ),
        None => None,
    };
    Ok(Json(CheckpointPublicKey::from(
        named.as_ref().unwrap_or(&verifier),
    )))
}

/// The query's only parameter, `orgId`, if given: 400 for an unknown or repeated parameter or
/// one that is not a UUID.
pub fn org_id_param(query: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    let mut org_id = None;
    for (name, value) in query_pairs(query)? {
        if name != "orgId" || org_id.is_some() {
            return Err(ApiError::bad_request(
                "unknown or repeated query parameter",
                vec![FieldError::new(name, "is not a known parameter, or is repeated")],
            ));
        }
        org_id = Some(uuid::Uuid::parse_str(&value).map_err(|_| {
            ApiError::bad_request(
                "malformed query parameters",
                vec![FieldError::new("orgId", "must be a UUID")],
            )
        })?);
    }
    Ok(org_id)
}

/// `row` as the wire carries it, its note followed by the witnesses' `cosignatures`.
pub fn to_wire(
    row: checkpoint::Model,
    cosignatures: Vec<checkpoint_cosignature::Model>,
) -> SignedCheckpointResponse {
    let mut note = row.note;
    for cosignature in &cosignatures {
        note.push_str(&cosignature.line);
        note.push('\n');
    }
    SignedCheckpointResponse {
        org_id: row.org_id,
        seq: row.seq,
        head_hash: row.head_hash,
        root_hash: SignedCheckpointResponse::root_of_note(&note),
        time: row.created_at,
        key_name: row.key_name,
        key_id: row.key_id,
        signature: row.signature,
        note,
        cosignatures: cosignatures
            .into_iter()
            .map(|cosignature| CheckpointCosignature {
                witness: cosignature.witness,
                key_id: cosignature.key_id,
                time: cosignature.cosigned_at,
                line: cosignature.line,
            })
            .collect(),
    }
}
