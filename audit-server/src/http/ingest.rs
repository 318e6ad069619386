//! Turning a submitted event into one ready to append: tenant and project checks, limits,
//! and the catalog.

use audit_core::{AuditEvent, Catalog, CatalogViolation, EventViolation, FieldError};

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::api_keys::AuthenticatedKey;
use crate::store::append::NewRecord;
use crate::store::catalog;

/// Checks events of one organization against the catalog, loading the organization's own
/// additions only when the built-in catalog does not know a pair (the common case costs no query).
pub struct CatalogCheck<'a> {
    state: &'a AppState,
    key: &'a AuthenticatedKey,
    combined: Option<Catalog>,
}

impl<'a> CatalogCheck<'a> {
    /// A checker for the key's organization.
    pub fn new(state: &'a AppState, key: &'a AuthenticatedKey) -> Self {
        CatalogCheck {
            state,
            key,
            combined: None,
        }
    }

    async fn check(&mut self, event: &AuditEvent) -> Result<(), ApiError> {
        if self.state.catalog.allows(&event.resource_type, &event.action) {
            return Ok(());
        }
        if self.combined.is_none() {
            let mut combined = (*self.state.catalog).clone();
            combined.extend(&catalog::extension(&self.state.store, self.key.org_id).await?);
            self.combined = Some(combined);
        }
        let combined = self
            .combined
            .as_ref()
            .map(|catalog| catalog.check(&event.resource_type, &event.action));
        match combined {
            Some(Err(violation)) => Err(catalog_error(violation)),
            _ => Ok(()),
        }
    }
}

fn catalog_error(violation: CatalogViolation) -> ApiError {
    let detail = violation.to_string();
    match violation {
        CatalogViolation::UnknownResourceType { .. } => ApiError::unprocessable(
            detail,
            vec![FieldError::new(
                "resourceType",
                "is not in the catalog; GET /api/v1/catalog lists it",
            )],
        ),
        CatalogViolation::UnknownAction { allowed, .. } => ApiError::unprocessable(
            detail,
            vec![FieldError::new(
                "action",
                format!("allowed: {}", allowed.join(", ")),
            )],
        )
        .with_allowed_actions(allowed),
    }
}

/// Checks a submitted event for the key and prepares it for appending.
pub async fn prepare(
    state: &AppState,
    key: &AuthenticatedKey,
    catalog: &mut CatalogCheck<'_>,
    event: AuditEvent,
) -> Result<NewRecord, ApiError> {
    if event.org_id.is_some_and(|org_id| org_id != key.org_id) {
        return Err(ApiError::forbidden(
            "`orgId` differs from the organization of the key",
        ));
    }
    if let (Some(allowed), Some(given)) = (&key.project_id, &event.project_id)
        && allowed != given
    {
        return Err(ApiError::forbidden(
            "this key may only record events of its own project",
        ));
    }
    match event.validate(&state.config.event_limits()) {
        Ok(()) => {}
        Err(EventViolation::TooLarge(errors)) => {
            return Err(ApiError::payload_too_large(
                "a part of the event is over its size limit",
                errors,
            ));
        }
        Err(EventViolation::Invalid(errors)) => {
            return Err(ApiError::unprocessable("the event is invalid", errors));
        }
    }
    catalog.check(&event).await?;

    // The key's project is filled in before fingerprinting, so that a retry by a project key
    // can only ever match a record of that project.
    let mut event = event;
    if event.project_id.is_none() {
        event.project_id = key.project_id.clone();
    }
    let mut record = NewRecord::from_submitted(event);
    record.event.org_id = None;
    Ok(record)
}
