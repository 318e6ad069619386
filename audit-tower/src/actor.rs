//! Who performed the request.
//!
//! The host's authentication middleware knows the caller; the layer asks an [`ExtractActor`]
//! hook. The default, [`DefaultActorExtractor`], reads an [`Actor`] the middleware put into
//! the request's extensions (or, failing that, that the handler put into the response's).
//! A closure `Fn(&http::request::Parts) -> Option<Actor>` works as well:
//!
//! ```
//! use audit_core::Role;
//! use audit_tower::{Actor, ExtractActor};
//!
//! let from_header = |parts: &http::request::Parts| {
//!     let user = parts.headers.get("x-user-id")?.to_str().ok()?;
//!     Some(Actor::user(user).with_org_role(Role::Admin))
//! };
//! let request = http::Request::builder().header("x-user-id", "u_1").body(()).unwrap();
//! let (parts, _) = request.into_parts();
//! assert_eq!(from_header.extract(&parts), Some(Actor::user("u_1").with_org_role(Role::Admin)));
//! ```
//!
//! An agent acting for a user, or staff impersonating a customer, is one actor with its
//! principal attached: `Actor::api_key("agent_7").on_behalf_of("u_1")` records
//! `apiKeyId: agent_7, onBehalfOf: u_1`; `Actor::user("u_1").impersonated_by("staff_3")`
//! records `userId: u_1, impersonatedBy: staff_3`.

use audit_core::{ActorType, Role};
use http::request::Parts;

/// The actor of an audited request: a user or an API key of the host app, with roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `USER`, `API_KEY` or `SYSTEM`.
    pub actor_type: ActorType,
    /// The user id or API key id (empty for `SYSTEM`).
    pub id: String,
    /// The actor's role in the organization.
    pub org_role: Option<Role>,
    /// The actor's role in the request's project.
    pub project_role: Option<Role>,
    /// The user the actor acted for (an AI agent or API key working on a person's behalf);
    /// recorded as `onBehalfOf`.
    pub on_behalf_of: Option<String>,
    /// The staff member acting as this actor (support impersonating a customer); recorded as
    /// `impersonatedBy`.
    pub impersonated_by: Option<String>,
}

impl Actor {
    /// A user.
    pub fn user(id: impl Into<String>) -> Self {
        Actor {
            actor_type: ActorType::User,
            id: id.into(),
            org_role: None,
            project_role: None,
            on_behalf_of: None,
            impersonated_by: None,
        }
    }

    /// An API key of the host app.
    pub fn api_key(id: impl Into<String>) -> Self {
        Actor {
            actor_type: ActorType::ApiKey,
            ..Actor::user(id)
        }
    }

    /// The host system itself.
    pub fn system() -> Self {
        Actor {
            actor_type: ActorType::System,
            ..Actor::user("")
        }
    }

    /// With this organization role.
    pub fn with_org_role(mut self, role: Role) -> Self {
        self.org_role = Some(role);
        self
    }

    /// With this project role.
    pub fn with_project_role(mut self, role: Role) -> Self {
        self.project_role = Some(role);
        self
    }

    /// Acting for this user: an agent or API key working on a person's behalf.
    pub fn on_behalf_of(mut self, user_id: impl Into<String>) -> Self {
        self.on_behalf_of = Some(user_id.into());
        self
    }

    /// Acted as by this staff member (impersonation): the actor is the user impersonated.
    pub fn impersonated_by(mut self, staff_id: impl Into<String>) -> Self {
        self.impersonated_by = Some(staff_id.into());
        self
    }
}

/// Finds the actor of a request.
pub trait ExtractActor: Send + Sync + 'static {
    /// The actor, or `None` when the request is anonymous.
    fn extract(&self, parts: &Parts) -> Option<Actor>;
}

impl<F> ExtractActor for F
where
    F: Fn(&Parts) -> Option<Actor> + Send + Sync + 'static,
{
    fn extract(&self, parts: &Parts) -> Option<Actor> {
        self(parts)
    }
}

/// Reads the [`Actor`] the host's authentication middleware inserted into the request's
/// extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultActorExtractor;

impl ExtractActor for DefaultActorExtractor {
    fn extract(&self, parts: &Parts) -> Option<Actor> {
        parts.extensions.get::<Actor>().cloned()
    }
}

/// What to do with an audited request whose actor is unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissingActor {
    /// Record nothing (counted in [`AuditStats::skipped`](crate::AuditStats::skipped)).
    #[default]
    Skip,
    /// Record the request as done by `SYSTEM`.
    RecordAsSystem,
}
