//! Who performed an action.

use serde::{Deserialize, Serialize};

/// The kind of actor behind an audit event, as in Langfuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorType {
    /// A person, identified by `userId`.
    User,
    /// A machine credential of the host app, identified by `apiKeyId`.
    ApiKey,
    /// The system itself (scheduled jobs, retention, the audit service).
    System,
}

impl ActorType {
    /// The wire name (`USER`, `API_KEY`, `SYSTEM`).
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "USER",
            ActorType::ApiKey => "API_KEY",
            ActorType::System => "SYSTEM",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "USER" => Some(ActorType::User),
            "API_KEY" => Some(ActorType::ApiKey),
            "SYSTEM" => Some(ActorType::System),
            _ => None,
        }
    }
}
