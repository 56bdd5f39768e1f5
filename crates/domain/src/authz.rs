//! Roles, permissions and record visibility. Every handler asks
//! [`Role::allows`] (through the API's principal) before it acts, and list/read queries
//! of owned records are narrowed by [`Visibility`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user is in the business. Each role maps to a fixed permission set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Sales,
    Support,
    Marketing,
    Analyst,
    Partner,
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Support,
        Role::Marketing,
        Role::Analyst,
        Role::Partner,
        Role::ReadOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Support => "support",
            Role::Marketing => "marketing",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// Visibility a new user of this role gets unless an admin sets another.
    pub fn default_visibility(self) -> Visibility {
        match self {
            Role::Admin | Role::Manager | Role::Analyst | Role::ReadOnly => Visibility::All,
            Role::Support | Role::Marketing => Visibility::Team,
            Role::Sales | Role::Partner => Visibility::Own,
        }
    }

    /// Whether this role holds `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Manager => !matches!(permission, UsersManage | AuditRead | PrivacyManage),
            Role::Sales | Role::Support => {
                matches!(
                    permission,
                    UsersRead
                        | TeamsRead
                        | ApiKeysOwn
                        | JobsRead
                        | RecordsRead
                        | RecordsWrite
                        | EventsWrite
                )
            }
            Role::Marketing => {
                matches!(
                    permission,
                    UsersRead
                        | TeamsRead
                        | ApiKeysOwn
                        | JobsRead
                        | RecordsRead
                        | RecordsWrite
                        | RecordsImport
                        | EventsWrite
                )
            }
            Role::Analyst => matches!(
                permission,
                UsersRead | TeamsRead | ApiKeysOwn | JobsRead | RecordsRead | AnalyticsRun
            ),
            Role::Partner => matches!(
                permission,
                ApiKeysOwn | JobsRead | RecordsRead | RecordsWrite | EventsWrite
            ),
            Role::ReadOnly => matches!(permission, UsersRead | TeamsRead | JobsRead | RecordsRead),
        }
    }
}

/// A capability checked by handlers. The string form doubles as an API-key scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Permission {
    /// See the user directory (to pick owners, assignees).
    #[serde(rename = "users:read")]
    UsersRead,
    /// Create, change and deactivate users and teams.
    #[serde(rename = "users:manage")]
    UsersManage,
    #[serde(rename = "teams:read")]
    TeamsRead,
    /// Create and revoke one's own API keys.
    #[serde(rename = "api_keys:own")]
    ApiKeysOwn,
    /// See jobs (one's own; all of them with `users:manage`).
    #[serde(rename = "jobs:read")]
    JobsRead,
    /// Read the audit log.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Read CRM records within the principal's visibility.
    #[serde(rename = "records:read")]
    RecordsRead,
    /// Create and change CRM records within the principal's visibility.
    #[serde(rename = "records:write")]
    RecordsWrite,
    /// Delete CRM records (within visibility) and merge duplicates away.
    #[serde(rename = "records:delete")]
    RecordsDelete,
    /// Bulk-import records from files.
    #[serde(rename = "records:import")]
    RecordsImport,
    /// Define the business's tags, groups, tiers, custom fields and settings.
    #[serde(rename = "crm:configure")]
    CrmConfigure,
    /// Answer data-subject requests: personal-data export and erasure.
    #[serde(rename = "privacy:manage")]
    PrivacyManage,
    /// Start, re-run and cancel model runs (RFM, CLV) whose scores land on customers.
    #[serde(rename = "analytics:run")]
    AnalyticsRun,
    /// Send behavioural events about customers (the scope of an app's or a device's key).
    #[serde(rename = "events:write")]
    EventsWrite,
}

impl Permission {
    pub const ALL: [Permission; 14] = [
        Permission::UsersRead,
        Permission::UsersManage,
        Permission::TeamsRead,
        Permission::ApiKeysOwn,
        Permission::JobsRead,
        Permission::AuditRead,
        Permission::RecordsRead,
        Permission::RecordsWrite,
        Permission::RecordsDelete,
        Permission::RecordsImport,
        Permission::CrmConfigure,
        Permission::PrivacyManage,
        Permission::AnalyticsRun,
        Permission::EventsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::UsersRead => "users:read",
            Permission::UsersManage => "users:manage",
            Permission::TeamsRead => "teams:read",
            Permission::ApiKeysOwn => "api_keys:own",
            Permission::JobsRead => "jobs:read",
            Permission::AuditRead => "audit:read",
            Permission::RecordsRead => "records:read",
            Permission::RecordsWrite => "records:write",
            Permission::RecordsDelete => "records:delete",
            Permission::RecordsImport => "records:import",
            Permission::CrmConfigure => "crm:configure",
            Permission::PrivacyManage => "privacy:manage",
            Permission::AnalyticsRun => "analytics:run",
            Permission::EventsWrite => "events:write",
        }
    }

    pub fn parse(value: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

/// Which records of an owned resource a user may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Records the user owns.
    Own,
    /// Records owned by anyone in the user's team.
    Team,
    /// Every record.
    All,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Own => "own",
            Visibility::Team => "team",
            Visibility::All => "all",
        }
    }

    pub fn parse(value: &str) -> Option<Visibility> {
        [Visibility::Own, Visibility::Team, Visibility::All]
            .into_iter()
            .find(|v| v.as_str() == value)
    }
}

/// The record-visibility question every owned resource answers the same way: may a
/// principal with `visibility`, user id `viewer` and team `viewer_team` see a record owned
/// by `owner` in `owner_team`? A principal carries its visibility and team, so a handler
/// answers this for a single record; list and search queries of an owned resource must
/// apply the same rule as a condition on its owner and team columns.
pub fn can_see(
    visibility: Visibility,
    viewer: uuid::Uuid,
    viewer_team: Option<uuid::Uuid>,
    owner: Option<uuid::Uuid>,
    owner_team: Option<uuid::Uuid>,
) -> bool {
    match visibility {
        Visibility::All => true,
        Visibility::Own => owner == Some(viewer),
        Visibility::Team => {
            owner == Some(viewer) || (viewer_team.is_some() && owner_team == viewer_team)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_read_audit() {
        for role in Role::ALL {
            assert_eq!(
                role.allows(Permission::UsersManage),
                role == Role::Admin,
                "{role:?}"
            );
            assert_eq!(
                role.allows(Permission::AuditRead),
                role == Role::Admin,
                "{role:?}"
            );
        }
    }

    #[test]
    fn read_only_never_writes() {
        assert!(!Role::ReadOnly.allows(Permission::RecordsWrite));
        assert!(!Role::Analyst.allows(Permission::RecordsWrite));
        assert!(Role::Sales.allows(Permission::RecordsWrite));
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for permission in Permission::ALL {
            assert_eq!(Permission::parse(permission.as_str()), Some(permission));
        }
    }

    #[test]
    fn visibility_rule() {
        let (me, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let team = Some(uuid::Uuid::now_v7());
        assert!(can_see(Visibility::Own, me, team, Some(me), None));
        assert!(!can_see(Visibility::Own, me, team, Some(other), team));
        assert!(can_see(Visibility::Team, me, team, Some(other), team));
        assert!(!can_see(Visibility::Team, me, None, Some(other), None));
        assert!(can_see(Visibility::All, me, None, None, None));
    }
}
