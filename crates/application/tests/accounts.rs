//! Account use cases on every available backend: sessions and refresh-token reuse, the
//! login throttle, permissions, API-key scopes and team membership.

mod common;

use application::accounts::api_keys::{self, NewApiKey};
use application::accounts::login_throttle::{LoginThrottle, ThrottleLimits};
use application::accounts::sessions::{self, LoginAttempt, Rotation, SessionPolicy};
use application::accounts::teams::{self, TeamFields};
use application::accounts::users::{self, NewUser, UserFields};
use application::{Acting, AppError, Precondition};
use common::{admin, api_key, databases, signed_in, PASSWORD};
use domain::authz::{Permission, Role};
use persistence::db::DbConnection;
use uuid::Uuid;

fn policy(max_failures_per_account: u32) -> SessionPolicy {
    SessionPolicy {
        refresh_ttl_secs: 3600,
        throttle: LoginThrottle::from(ThrottleLimits {
            max_failures_per_account,
            max_failures_per_address: 1000,
            failure_window_secs: 900,
            lockout_secs: 60,
            max_lockout_secs: 3600,
        }),
    }
}

fn attempt(email: &str, password: &str) -> LoginAttempt {
    LoginAttempt {
        email: email.to_string(),
        password: password.to_string(),
        client_address: "ip:192.0.2.1".to_string(),
        request_id: None,
    }
}

/// A user created by `admin`, with `role` and optionally in `team`.
fn user(conn: &mut DbConnection, admin: &Acting, role: Role, team: Option<Uuid>) -> (Uuid, String) {
    let email = format!("{}-{}@example.com", role.as_str(), Uuid::now_v7().simple());
    let row = users::create(
        conn,
        admin,
        NewUser {
            email: email.clone(),
            display_name: "Test User".into(),
            password: PASSWORD.into(),
            role,
            team_id: team,
            visibility: None,
            locale: "fa".into(),
        },
    )
    .expect("create user");
    (row.id.0, email)
}

fn audit_actions(conn: &mut DbConnection, user: Uuid) -> Vec<String> {
    let query = persistence::audit::AuditQuery {
        filter: persistence::audit::AuditFilter {
            resource_type: Some("user".into()),
            resource_id: Some(user.to_string()),
            ..Default::default()
        },
        before_seq: None,
        limit: 100,
    };
    persistence::audit::list(conn, &query)
        .expect("audit events")
        .into_iter()
        .map(|event| event.action)
        .collect()
}

#[test]
fn a_reused_refresh_token_revokes_its_whole_session() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (id, email) = user(conn, &admin, Role::Sales, None);
        let first = sessions::login(conn, &policy(10), attempt(&email, PASSWORD)).expect("login");
        let other = sessions::login(conn, &policy(10), attempt(&email, PASSWORD)).expect("login");

        let Rotation::Rotated(second) =
            sessions::refresh(conn, 3600, &first.refresh_token, None).expect("refresh")
        else {
            panic!("{}: a fresh token rotates", db.name);
        };
        assert_eq!((second.user_id, second.session), (id, first.session));
        assert_ne!(second.refresh_token, first.refresh_token);

        let reuse = sessions::refresh(conn, 3600, &first.refresh_token, None).expect("reuse");
        assert_eq!(
            reuse,
            Rotation::ReuseDetected {
                session: first.session
            },
            "{}",
            db.name
        );
        assert_eq!(
            sessions::refresh(conn, 3600, &second.refresh_token, None).expect("after reuse"),
            Rotation::Rejected,
            "{}: every token of the session is revoked",
            db.name
        );
        assert!(
            matches!(
                sessions::refresh(conn, 3600, &other.refresh_token, None),
                Ok(Rotation::Rotated(_))
            ),
            "{}: another session of the same user lives on",
            db.name
        );
        assert!(audit_actions(conn, id).contains(&"auth.refresh_reuse_detected".to_string()));
    }
}

#[test]
fn repeated_failed_logins_lock_the_address_out() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (_, email) = user(conn, &admin, Role::Sales, None);
        let policy = policy(2);
        for _ in 0..2 {
            assert!(
                matches!(
                    sessions::login(conn, &policy, attempt(&email, "wrong horse battery")),
                    Err(AppError::InvalidCredentials)
                ),
                "{}",
                db.name
            );
        }
        assert!(
            matches!(
                sessions::login(conn, &policy, attempt(&email, PASSWORD)),
                Err(AppError::LoginThrottled { retry_after_secs }) if retry_after_secs > 0
            ),
            "{}: locked before the password is checked",
            db.name
        );
        let unknown = format!("nobody-{}@example.com", Uuid::now_v7().simple());
        for _ in 0..2 {
            let _ = sessions::login(conn, &policy, attempt(&unknown, PASSWORD));
        }
        assert!(
            matches!(
                sessions::login(conn, &policy, attempt(&unknown, PASSWORD)),
                Err(AppError::LoginThrottled { .. })
            ),
            "{}: an unknown address is throttled like a known one",
            db.name
        );
    }
}

#[test]
fn callers_without_the_permission_are_forbidden() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (sales_id, _) = user(conn, &admin, Role::Sales, None);
        let sales = signed_in(sales_id, Role::Sales);
        let forbidden = |result: Result<_, AppError>| matches!(result, Err(AppError::Forbidden));
        assert!(forbidden(
            users::create(
                conn,
                &sales,
                NewUser {
                    email: "new@example.com".into(),
                    display_name: "New".into(),
                    password: PASSWORD.into(),
                    role: Role::Admin,
                    team_id: None,
                    visibility: None,
                    locale: "fa".into(),
                },
            )
            .map(drop)
        ));
        let team = TeamFields {
            name: "Tehran sales".into(),
            description: None,
        };
        assert!(forbidden(teams::create(conn, &sales, team).map(drop)));
        assert!(forbidden(users::deactivate(
            conn,
            &sales,
            admin.user_id.unwrap(),
            &Precondition::None
        )));
        // Another user's account: forbidden to one who may read users...
        assert!(forbidden(
            users::update(
                conn,
                &sales,
                admin.user_id.unwrap(),
                &Precondition::None,
                |f| Ok(f.clone())
            )
            .map(drop)
        ));
        // ...and simply not there for a key without `users:read`.
        let key = api_key(sales_id, Role::Sales, vec![Permission::RecordsRead]);
        assert!(matches!(
            users::update(
                conn,
                &key,
                admin.user_id.unwrap(),
                &Precondition::None,
                |f| Ok(f.clone())
            ),
            Err(AppError::NotFound)
        ));
        assert!(forbidden(
            users::get(conn, &key, admin.user_id.unwrap()).map(drop)
        ));
        assert!(
            users::get(conn, &key, sales_id).is_ok(),
            "{}: one's own account",
            db.name
        );
    }
}

#[test]
fn users_change_only_their_own_name_and_locale() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (id, _) = user(conn, &admin, Role::Sales, None);
        let sales = signed_in(id, Role::Sales);
        let renamed = users::update(conn, &sales, id, &Precondition::None, |before| {
            Ok(UserFields {
                display_name: "Ali R.".into(),
                locale: "en".into(),
                ..before.clone()
            })
        })
        .expect("own name");
        assert_eq!(
            (
                renamed.user.display_name.as_str(),
                renamed.user.locale.as_str()
            ),
            ("Ali R.", "en")
        );
        let promoted = users::update(conn, &sales, id, &Precondition::None, |before| {
            Ok(UserFields {
                role: Role::Admin,
                ..before.clone()
            })
        });
        assert!(
            matches!(&promoted, Err(AppError::Invalid(v)) if v.iter().any(|v| v.field == "role" && v.code == "not_allowed")),
            "{}: {promoted:?}",
            db.name
        );
        let stale = Precondition::AnyOf(vec![(id, renamed.user.version - 1)]);
        assert!(matches!(
            users::update(conn, &sales, id, &stale, |before| Ok(before.clone())),
            Err(AppError::Stale)
        ));
    }
}

#[test]
fn api_keys_hold_at_most_their_creators_permissions() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (id, _) = user(conn, &admin, Role::Sales, None);
        let sales = signed_in(id, Role::Sales);
        let new = |scopes: &[&str]| NewApiKey {
            name: "Website forms".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
        };
        let created = api_keys::create(
            conn,
            &sales,
            new(&["records:read", "records:read", "records:write"]),
        )
        .expect("create key");
        assert!(created.key.starts_with("pvk_"));
        assert_eq!(
            created.row.scope_names(),
            vec!["records:read".to_string(), "records:write".to_string()]
        );

        let refused = api_keys::create(conn, &sales, new(&["users:manage", "no:such"]));
        let Err(AppError::Invalid(violations)) = refused else {
            panic!("{}: {refused:?}", db.name);
        };
        let rules: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.code.as_str()))
            .collect();
        assert_eq!(
            rules,
            vec![("scopes[0]", "not_allowed"), ("scopes[1]", "invalid_value")]
        );

        // A key may make keys, but never with more than its own scopes.
        let key = api_key(
            id,
            Role::Sales,
            vec![Permission::ApiKeysOwn, Permission::RecordsRead],
        );
        assert!(api_keys::create(conn, &key, new(&["records:read"])).is_ok());
        assert!(matches!(
            api_keys::create(conn, &key, new(&["records:write"])),
            Err(AppError::Invalid(_))
        ));

        // Someone else's key does not exist for a user; an admin sees and revokes it.
        let (other_id, _) = user(conn, &admin, Role::Sales, None);
        let other = signed_in(other_id, Role::Sales);
        let key_id = created.row.id.0;
        assert!(matches!(
            api_keys::get(conn, &other, key_id),
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            api_keys::list(conn, &other, true, None, 50),
            Err(AppError::Forbidden)
        ));
        api_keys::revoke(conn, &admin, key_id).expect("revoke");
        assert!(api_keys::get(conn, &sales, key_id)
            .expect("own key")
            .revoked_at
            .is_some());
    }
}

#[test]
fn teams_with_members_stay_and_members_need_a_real_team() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let team = teams::create(
            conn,
            &admin,
            TeamFields {
                name: "Tehran sales".into(),
                description: None,
            },
        )
        .expect("team");
        let duplicate = teams::create(
            conn,
            &admin,
            TeamFields {
                name: "Tehran sales".into(),
                description: None,
            },
        );
        assert!(
            matches!(duplicate, Err(AppError::Conflict(_))),
            "{}",
            db.name
        );

        let (member, _) = user(conn, &admin, Role::Support, Some(team.id.0));
        assert!(
            matches!(
                teams::delete(conn, &admin, team.id.0, &Precondition::None),
                Err(AppError::Conflict(_))
            ),
            "{}: a team with members is kept",
            db.name
        );

        let nowhere = users::update(conn, &admin, member, &Precondition::None, |before| {
            Ok(UserFields {
                team_id: Some(Uuid::now_v7()),
                ..before.clone()
            })
        });
        assert!(
            matches!(&nowhere, Err(AppError::Invalid(v)) if v[0].field == "team_id"),
            "{}: {nowhere:?}",
            db.name
        );

        users::update(conn, &admin, member, &Precondition::None, |before| {
            Ok(UserFields {
                team_id: None,
                ..before.clone()
            })
        })
        .expect("leave the team");
        teams::delete(conn, &admin, team.id.0, &Precondition::None).expect("empty team");
    }
}

#[test]
fn a_password_change_ends_the_other_sessions_and_needs_a_session() {
    for db in databases() {
        let conn = &mut db.conn();
        let admin = admin(conn);
        let (id, email) = user(conn, &admin, Role::Sales, None);
        let current = sessions::login(conn, &policy(10), attempt(&email, PASSWORD)).expect("login");
        let other = sessions::login(conn, &policy(10), attempt(&email, PASSWORD)).expect("login");
        let acting = Acting {
            credential: application::Credential::Session {
                session: current.session,
            },
            ..signed_in(id, Role::Sales)
        };
        let key = api_key(id, Role::Sales, vec![Permission::UsersRead]);
        assert!(matches!(
            sessions::change_password(conn, &key, PASSWORD, "staple tree lamp river"),
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            sessions::change_password(conn, &acting, "wrong horse battery", "staple tree lamp river"),
            Err(AppError::Invalid(v)) if v[0].field == "current_password"
        ));
        let ended = sessions::change_password(conn, &acting, PASSWORD, "staple tree lamp river")
            .expect("change");
        assert_eq!(ended, vec![other.session], "{}", db.name);
        assert!(matches!(
            sessions::login(conn, &policy(10), attempt(&email, PASSWORD)),
            Err(AppError::InvalidCredentials)
        ));
        sessions::login(conn, &policy(10), attempt(&email, "staple tree lamp river"))
            .expect("the new password");
    }
}
