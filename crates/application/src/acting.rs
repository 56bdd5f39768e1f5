//! Who is acting: one context for every kind of caller — a user signed in with a
//! session, an API key acting for its owner, a job acting for whoever queued it, and the
//! system itself (the command line, demo data, maintenance). Use cases take it to decide
//! what the caller may do and see, whom to record in the audit log and history rows, and
//! which language to answer in.
//!
//! A job stores the context of the request that queued it in its payload, so the job
//! reads and writes exactly as that request would have, with that request's id.

use domain::authz::{Permission, Role, Visibility};
use persistence::audit::Actor;
use persistence::customers::search::Scope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;

/// How the acting party proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// An access token of a signed-in user; `session` is its refresh-token family.
    Session { session: Uuid },
    /// An API key acting for its owner, limited to `scopes`.
    ApiKey {
        key_id: Uuid,
        scopes: Vec<Permission>,
    },
    /// The system itself: the command line, demo data, maintenance work.
    System,
    /// A step of a workflow run, acting as the system does; `depth` counts the runs
    /// before it in a chain of runs each started by a step of the one before.
    Workflow {
        workflow_id: Uuid,
        run_id: Uuid,
        depth: i32,
    },
}

/// The acting context of a use case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acting {
    /// The user acting (an API key's owner); `None` for the system.
    pub user_id: Option<Uuid>,
    pub role: Role,
    /// The user's team, which `team` visibility opens up.
    pub team_id: Option<Uuid>,
    /// Which customers the caller may see and change.
    pub visibility: Visibility,
    /// The partner whose user is acting: the caller sees besides what is shared
    /// with it, and its visibility is `own` whatever is stored.
    #[serde(default)]
    pub partner_id: Option<Uuid>,
    pub credential: Credential,
    /// The language messages meant for the caller are written in.
    pub lang: Lang,
    /// The id of the request this work belongs to (also for a job that request queued),
    /// recorded with every audit event.
    pub request_id: Option<String>,
}

impl Acting {
    /// The system acting on its own (command line, demo data): every permission, every
    /// record, recorded in the audit log as `system`.
    pub fn system(lang: Lang) -> Acting {
        Acting {
            user_id: None,
            role: Role::Admin,
            team_id: None,
            visibility: Visibility::All,
            partner_id: None,
            credential: Credential::System,
            lang,
            request_id: None,
        }
    }

    /// A workflow run's steps: every permission and every record, like the system, and
    /// recorded in the audit log as the workflow.
    pub fn workflow(workflow_id: Uuid, run_id: Uuid, depth: i32, lang: Lang) -> Acting {
        Acting {
            credential: Credential::Workflow {
                workflow_id,
                run_id,
                depth,
            },
            ..Acting::system(lang)
        }
    }

    /// Whether the caller may do what `permission` names: the role must allow it and,
    /// for an API key, the key's scopes must include it.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
            && match &self.credential {
                Credential::Session { .. } | Credential::System | Credential::Workflow { .. } => {
                    true
                }
                Credential::ApiKey { scopes, .. } => scopes.contains(&permission),
            }
    }

    /// [`Acting::can`] as a guard: [`AppError::Forbidden`] when not allowed.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The customers the caller may see, as a query condition.
    pub fn scope(&self) -> Scope {
        Scope {
            visibility: match self.partner_id {
                Some(_) => Visibility::Own,
                None => self.visibility,
            },
            // The system sees everything; its id is never compared.
            user_id: self.user_id.unwrap_or(Uuid::nil()),
            team_id: self.team_id,
            partner_id: self.partner_id,
        }
    }

    /// Whether the caller may look other users up (`users:read`): a reference to a user
    /// it may not look up answers exactly as a missing one.
    pub fn reads_users(&self) -> bool {
        self.can(Permission::UsersRead)
    }

    /// How the caller is recorded in the audit log.
    pub fn audit_actor(&self) -> Actor {
        let (actor_type, actor_id) = match self.credential {
            Credential::Session { .. } => ("user", self.user_id),
            Credential::ApiKey { .. } => ("api_key", self.user_id),
            Credential::System => ("system", self.user_id),
            Credential::Workflow { workflow_id, .. } => ("workflow", Some(workflow_id)),
        };
        Actor {
            actor_type,
            actor_id,
            request_id: self.request_id.clone(),
        }
    }

    /// The session of a signed-in user.
    pub fn session(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session { session } => Some(session),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales(credential: Credential) -> Acting {
        Acting {
            user_id: Some(Uuid::now_v7()),
            role: Role::Sales,
            team_id: None,
            visibility: Visibility::Own,
            partner_id: None,
            credential,
            lang: Lang::En,
            request_id: Some("r1".into()),
        }
    }

    #[test]
    fn api_keys_need_role_and_scope() {
        let key = sales(Credential::ApiKey {
            key_id: Uuid::now_v7(),
            scopes: vec![Permission::UsersRead, Permission::UsersManage],
        });
        assert!(key.require(Permission::UsersRead).is_ok());
        assert!(
            key.require(Permission::UsersManage).is_err(),
            "scope without the role permission"
        );
        assert!(
            key.require(Permission::RecordsRead).is_err(),
            "role permission without the scope"
        );
        assert_eq!(key.audit_actor().actor_type, "api_key");

        let user = sales(Credential::Session {
            session: Uuid::now_v7(),
        });
        assert!(user.require(Permission::RecordsRead).is_ok());
        let actor = user.audit_actor();
        assert_eq!(
            (
                actor.actor_type,
                actor.actor_id,
                actor.request_id.as_deref()
            ),
            ("user", user.user_id, Some("r1"))
        );
    }

    #[test]
    fn the_system_may_do_and_see_everything() {
        let system = Acting::system(Lang::Fa);
        assert!(system.can(Permission::UsersManage));
        assert_eq!(system.scope().visibility, Visibility::All);
        assert_eq!(system.audit_actor(), Actor::system());
    }

    #[test]
    fn a_queued_job_keeps_the_context_of_its_request() {
        let acting = sales(Credential::ApiKey {
            key_id: Uuid::now_v7(),
            scopes: vec![Permission::RecordsRead],
        });
        let stored = serde_json::to_value(&acting).unwrap();
        assert_eq!(stored["credential"]["kind"], "api_key");
        let restored: Acting = serde_json::from_value(stored).unwrap();
        assert_eq!(restored, acting);
    }
}
