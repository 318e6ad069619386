//! The verification policy of one organization's log, as a C2SP tlog-policy file.

use audit_core::Problem;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::routes::checkpoints::org_id_param;
use crate::state::AppState;

/// The policy route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_checkpoint_policy))
}

/// Whose policy.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct PolicyParams {
    /// The organization whose log the policy is for.
    #[param(value_type = String, format = Uuid)]
    pub org_id: uuid::Uuid,
}

/// An organization's tlog-policy.
#[utoipa::path(
    get,
    path = "/api/v1/checkpoints/policy",
    operation_id = "getCheckpointPolicy",
    tag = "checkpoints",
    description = "The C2SP tlog-policy that the organization's checkpoints satisfy once the configured \
                   witnesses have cosigned them: a `log` line with the checkpoint key named by the \
                   organization's origin, a `witness` line per witness with its URL, and a quorum of \
                   `AUDIT_WITNESS_QUORUM` of them (all by default; `quorum none` without witnesses). It is what \
                   `audit-verify --policy` reads. It is the server's own statement of whom it asks: an auditor \
                   should check the witness keys against the witnesses' operators, or write a policy of the \
                   witnesses they trust. No credentials needed; `orgId` is required.",
    params(PolicyParams),
    responses(
        (status = 200, description = "The policy file.", body = String, content_type = "text/plain; charset=utf-8",
         example = json!("log audit-log/3f0c...+1a2b3c4d+AbCd...\nwitness w1.example w1.example+5e6f7a8b+EfGh... https://w1.example\ngroup witnesses all w1.example\nquorum witnesses\n")),
        (status = 400, description = "`orgId` missing, malformed, or an unknown parameter.", body = Problem),
    ),
)]
pub async fn get_checkpoint_policy(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let verifier = state.checkpoint_signer.verifier();
    let org_id = org_id_param(query.as_deref())?.ok_or_else(|| {
        ApiError::bad_request(
            "orgId is required",
            vec![audit_core::FieldError::new("orgId", "is required")],
        )
    })?;
    let log = verifier
        .for_origin(&format!("{}/{org_id}", verifier.name()))
        .map_err(|error| ApiError::internal(error.to_string()))?;
    let policy = state
        .config
        .verification_policy(log)
        .map_err(|error| ApiError::internal(error.to_string()))?;
    let mut response = policy.to_text().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}
