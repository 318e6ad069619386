//! Which OCSF class and activity a record becomes, decided by its resource type and action
//! alone (so one resource's records always land in one class).
//!
//! - the service's own resources (API keys, log streams, viewer tokens, retention and the
//!   trail's purges) are Entity Management (3004);
//! - memberships are User Access Management (3005): granting or changing a role, or taking it;
//! - membership invitations are Account Change (3001): an account offered, or withdrawn;
//! - everything else is API Activity (6003), Create/Read/Update/Delete or Other.

/// An OCSF event class with its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// `class_uid`.
    pub uid: u32,
    /// `class_name`.
    pub name: &'static str,
    /// `category_uid`.
    pub category_uid: u32,
    /// `category_name`.
    pub category_name: &'static str,
}

/// API Activity.
pub const API_ACTIVITY: Class = Class {
    uid: 6003,
    name: "API Activity",
    category_uid: 6,
    category_name: "Application Activity",
};
/// Entity Management.
pub const ENTITY_MANAGEMENT: Class = Class {
    uid: 3004,
    name: "Entity Management",
    category_uid: 3,
    category_name: "Identity & Access Management",
};
/// Account Change.
pub const ACCOUNT_CHANGE: Class = Class {
    uid: 3001,
    name: "Account Change",
    category_uid: 3,
    category_name: "Identity & Access Management",
};
/// User Access Management.
pub const USER_ACCESS: Class = Class {
    uid: 3005,
    name: "User Access Management",
    category_uid: 3,
    category_name: "Identity & Access Management",
};

/// The resources the service records about itself.
const SERVICE_RESOURCES: [&str; 5] = [
    "apiKey",
    "logStream",
    "viewerToken",
    "retentionPolicy",
    "auditLog",
];
/// Memberships: who holds which role.
const MEMBERSHIPS: [&str; 3] = ["membership", "orgMembership", "projectMembership"];
/// Invitations: accounts offered to someone.
const INVITATIONS: [&str; 1] = ["membershipInvitation"];

/// OCSF's "Other" activity, whose name is then the record's action.
pub const OTHER: u32 = 99;

/// The class of a record's resource type.
pub fn class_of(resource_type: &str) -> Class {
    if SERVICE_RESOURCES.contains(&resource_type) {
        ENTITY_MANAGEMENT
    } else if MEMBERSHIPS.contains(&resource_type) {
        USER_ACCESS
    } else if INVITATIONS.contains(&resource_type) {
        ACCOUNT_CHANGE
    } else {
        API_ACTIVITY
    }
}

/// The activity (`activity_id`, `activity_name`) of `action` in `class`; unknown actions are
/// Other, named after the action.
pub fn activity_of(class: Class, action: &str) -> (u32, String) {
    let known: &[(&str, u32, &str)] = match class.uid {
        6003 => &[
            ("create", 1, "Create"),
            ("read", 2, "Read"),
            ("download", 2, "Read"),
            ("update", 3, "Update"),
            ("delete", 4, "Delete"),
        ],
        3004 => &[
            ("create", 1, "Create"),
            ("read", 2, "Read"),
            ("update", 3, "Update"),
            ("delete", 4, "Delete"),
            ("purge", 4, "Delete"),
            ("pause", 12, "Suspend"),
            ("resume", 13, "Resume"),
        ],
        3005 => &[
            ("create", 3, "Assign Role"),
            ("update", 3, "Assign Role"),
            ("delete", 4, "Remove Role"),
        ],
        _ => &[("create", 1, "Create"), ("delete", 6, "Delete")],
    };
    known
        .iter()
        .find(|(name, _, _)| *name == action)
        .map_or((OTHER, action.to_owned()), |(_, id, name)| {
            (*id, (*name).to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_land_in_their_class_and_unknown_actions_are_other() {
        assert_eq!(class_of("prompt"), API_ACTIVITY);
        assert_eq!(class_of("logStream"), ENTITY_MANAGEMENT);
        assert_eq!(class_of("projectMembership"), USER_ACCESS);
        assert_eq!(class_of("membershipInvitation"), ACCOUNT_CHANGE);
        assert_eq!(activity_of(API_ACTIVITY, "update"), (3, "Update".to_owned()));
        assert_eq!(
            activity_of(API_ACTIVITY, "setLabel"),
            (OTHER, "setLabel".to_owned())
        );
        assert_eq!(
            activity_of(ENTITY_MANAGEMENT, "pause"),
            (12, "Suspend".to_owned())
        );
        assert_eq!(activity_of(USER_ACCESS, "delete"), (4, "Remove Role".to_owned()));
        assert_eq!(activity_of(ACCOUNT_CHANGE, "delete"), (6, "Delete".to_owned()));
    }
}
