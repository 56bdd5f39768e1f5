//! Who a job started through the API acts for: the caller's identity, visibility and
//! language at the time of the request, kept in the job's payload so that the job writes
//! and reads exactly as the request would have.

use domain::authz::{Permission, Visibility};
use persistence::audit::Actor;
use persistence::customers::search::Scope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::customers::{Viewer, Writer};
use crate::i18n::Lang;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnBehalf {
    pub user_id: Uuid,
    pub team_id: Option<Uuid>,
    pub visibility: Visibility,
    /// The audit actor type: `user` or `api_key`.
    pub actor_type: String,
    pub request_id: Option<String>,
    /// `en` or `fa`.
    pub lang: String,
    /// Whether the caller held `users:read` (jobs queued before this was recorded did
    /// not check it).
    #[serde(default = "held_before_recorded")]
    pub reads_users: bool,
}

fn held_before_recorded() -> bool {
    true
}

impl OnBehalf {
    pub fn new(principal: &Principal, request_id: String, lang: Lang) -> OnBehalf {
        let actor = principal.actor(Some(request_id));
        OnBehalf {
            user_id: principal.user_id,
            team_id: principal.team_id,
            visibility: principal.visibility,
            actor_type: actor.actor_type.to_string(),
            request_id: actor.request_id,
            lang: lang.tag().to_string(),
            reads_users: principal.can(Permission::UsersRead),
        }
    }

    pub fn scope(&self) -> Scope {
        Scope {
            visibility: self.visibility,
            user_id: self.user_id,
            team_id: self.team_id,
        }
    }

    /// What the caller may look up, for the references of what the job writes.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            scope: self.scope(),
            reads_users: self.reads_users,
        }
    }

    pub fn writer(&self) -> Writer {
        Writer {
            actor: Actor {
                actor_type: if self.actor_type == "api_key" {
                    "api_key"
                } else {
                    "user"
                },
                actor_id: Some(self.user_id),
                request_id: self.request_id.clone(),
            },
            user_id: Some(self.user_id),
        }
    }

    pub fn lang(&self) -> Lang {
        if self.lang == Lang::Fa.tag() {
            Lang::Fa
        } else {
            Lang::En
        }
    }
}
