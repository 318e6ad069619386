//! Who is calling: the operator (admin token) or an organization's API key.

use audit_core::Scope;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::keys::secret;
use crate::keys::viewer_token::{self, ViewerGrant};
use crate::state::AppState;
use crate::store::api_keys::{self, AuthenticatedKey, ChangedBy};
use crate::store::reads::ReadScope;

/// The authenticated caller of an `/api/v1` endpoint.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The operator, holding `AUDIT_ADMIN_TOKEN`.
    Operator,
    /// An organization's API key.
    Key(AuthenticatedKey),
    /// A viewer token minted for one of the host app's users; it may only read.
    Viewer(ViewerGrant),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state).await?;
        if let Some(credential) = caller.credential_id()
            && let Err(wait) = state.rate_limiter.check(&credential)
        {
            state.metrics.rate_limited();
            return Err(ApiError::too_many_requests(
                "this credential is over its request rate; slow down and retry after `Retry-After` seconds",
                wait,
            ));
        }
        Ok(caller)
    }
}

/// Who holds the bearer token of `parts`.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <secret>` header"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <secret>`"))?;

    if let Some(admin_token) = state.config.admin_token.as_deref()
        && secret::constant_time_eq(token, admin_token)
    {
        return Ok(Caller::Operator);
    }
    if token.starts_with(viewer_token::PREFIX) {
        return viewer_token::verify(&state.viewer_key, token, chrono::Utc::now())
            .map(Caller::Viewer)
            .map_err(|error| ApiError::unauthorized(error.to_string()));
    }
    match api_keys::authenticate(&state.store, token).await? {
        Some(key) => Ok(Caller::Key(key)),
        None => Err(ApiError::unauthorized("unknown or revoked credentials")),
    }
}

impl Caller {
    /// The key, when it holds `scope`; the operator is refused (its token manages tenants only).
    pub fn key_with(&self, scope: Scope) -> Result<&AuthenticatedKey, ApiError> {
        match self {
            Caller::Key(key) if key.scopes.contains(&scope) => Ok(key),
            Caller::Key(_) => Err(ApiError::forbidden(format!(
                "this key lacks the `{}` scope",
                scope.as_str()
            ))),
            Caller::Operator => Err(ApiError::forbidden(format!(
                "the admin token manages organizations and keys only; use an API key with `{}`",
                scope.as_str()
            ))),
            Caller::Viewer(_) => Err(ApiError::forbidden("a viewer token may only read audit logs")),
        }
    }

    /// What the caller may read: a key with `auditLogs:read`, or a viewer token, within its
    /// organization and project. `project_filter` is the project the request asks for.
    pub fn read_scope(&self, project_filter: Option<&str>) -> Result<ReadScope, ApiError> {
        let scope = match self {
            Caller::Viewer(grant) => ReadScope {
                org_id: grant.org_id,
                project_id: grant.project_id.clone(),
            },
            _ => self.key_with(Scope::AuditLogsRead)?.read_scope(),
        };
        if let (Some(allowed), Some(asked)) = (&scope.project_id, project_filter)
            && allowed != asked
        {
            return Err(ApiError::forbidden(
                "this credential may only read events of its own project",
            ));
        }
        Ok(scope)
    }

    /// The organization of a key or viewer token (none for the operator).
    pub fn org_id(&self) -> Option<Uuid> {
        match self {
            Caller::Operator => None,
            Caller::Key(key) => Some(key.org_id),
            Caller::Viewer(grant) => Some(grant.org_id),
        }
    }

    /// Which credential this is, for per-credential limits (none for the operator).
    pub fn credential_id(&self) -> Option<String> {
        match self {
            Caller::Operator => None,
            Caller::Key(key) => Some(format!("key:{}", key.id)),
            Caller::Viewer(grant) => Some(format!("viewer:{}", grant.token_id)),
        }
    }

    /// Only the operator.
    pub fn operator(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Key(_) | Caller::Viewer(_) => {
                Err(ApiError::forbidden("only the operator's admin token may do this"))
            }
        }
    }

    /// The operator, or a key of `org_id` with `apiKeys:manage`.
    pub fn manager_of(&self, org_id: Uuid) -> Result<ManagerScope, ApiError> {
        match self {
            Caller::Operator => Ok(ManagerScope {
                changed_by: ChangedBy::Operator,
                project_id: None,
            }),
            Caller::Viewer(_) => Err(ApiError::forbidden("a viewer token may only read audit logs")),
            Caller::Key(key) => {
                if key.org_id != org_id {
                    return Err(ApiError::forbidden("this key belongs to another organization"));
                }
                let key = self.key_with(Scope::ApiKeysManage)?;
                Ok(ManagerScope {
                    changed_by: ChangedBy::Key(key.id),
                    project_id: key.project_id.clone(),
                })
            }
        }
    }
}

/// What a manager may touch: the whole organization, or one project's keys.
#[derive(Debug, Clone)]
pub struct ManagerScope {
    /// Who makes the change, for the audit event.
    pub changed_by: ChangedBy,
    /// A project-restricted manager manages only that project's keys.
    pub project_id: Option<String>,
}

impl AuthenticatedKey {
    /// The records this key may read.
    pub fn read_scope(&self) -> ReadScope {
        ReadScope {
            org_id: self.org_id,
            project_id: self.project_id.clone(),
        }
    }
}
