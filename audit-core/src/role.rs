//! Organization and project roles, and Langfuse's `auditLogs:read` rule.

use serde::{Deserialize, Serialize};

/// A role an actor holds in an organization or a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Full control, billing included.
    Owner,
    /// Administers members, keys and settings.
    Admin,
    /// Works with the resources.
    Member,
    /// Reads the resources.
    Viewer,
    /// No access; at project level it means "no override", not "no access".
    None,
}

impl Role {
    /// The wire name (`OWNER`, `ADMIN`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
            Role::Viewer => "VIEWER",
            Role::None => "NONE",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "OWNER" => Some(Role::Owner),
            "ADMIN" => Some(Role::Admin),
            "MEMBER" => Some(Role::Member),
            "VIEWER" => Some(Role::Viewer),
            "NONE" => Some(Role::None),
            _ => None,
        }
    }

    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer, Role::None];

    /// Whether this role, on its own, grants `auditLogs:read` (OWNER and ADMIN).
    pub fn grants_audit_logs_read(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// The role that applies in a project: the project role overrides the organization role,
/// except `NONE` (or no project role at all), which leaves the organization role in force.
pub fn effective_role(org_role: Role, project_role: Option<Role>) -> Role {
    match project_role {
        Some(role) if role != Role::None => role,
        _ => org_role,
    }
}

/// Langfuse's rule for `auditLogs:read`: OWNER and ADMIN may read, at organization level or,
/// through a project role that overrides the organization role, at project level.
pub fn can_read_audit_logs(org_role: Role, project_role: Option<Role>) -> bool {
    effective_role(org_role, project_role).grants_audit_logs_read()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_level_grants_only_owner_and_admin() {
        let readers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|role| can_read_audit_logs(*role, None))
            .collect();
        assert_eq!(readers, vec![Role::Owner, Role::Admin]);
    }

    #[test]
    fn project_role_overrides_organization_role_except_none() {
        assert!(can_read_audit_logs(Role::Viewer, Some(Role::Admin)));
        assert!(!can_read_audit_logs(Role::Owner, Some(Role::Member)));
        assert!(can_read_audit_logs(Role::Owner, Some(Role::None)));
        assert!(!can_read_audit_logs(Role::Member, Some(Role::None)));
    }

    #[test]
    fn wire_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
    }
}
