//! Table definitions shared by both backends. Columns of the custom types in
//! [`crate::sql_types`] are native on PostgreSQL and TEXT on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    teams (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        visibility -> Text,
        team_id -> Nullable<Uuid>,
        locale -> Text,
        is_active -> Bool,
        last_login_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    api_keys (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Jsonb,
        created_at -> UtcTimestamp,
        expires_at -> Nullable<UtcTimestamp>,
        last_used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    jobs (id) {
        id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        progress -> Double,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> UtcTimestamp,
        locked_by -> Nullable<Text>,
        locked_at -> Nullable<UtcTimestamp>,
        result -> Nullable<Jsonb>,
        last_error -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        finished_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    audit_events (seq) {
        seq -> BigInt,
        id -> Uuid,
        occurred_at -> UtcTimestamp,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        changes -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Jsonb};

    idempotency_keys (principal, idempotency_key) {
        principal -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        response_headers -> Nullable<Jsonb>,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
    }
}

diesel::joinable!(users -> teams (team_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    teams,
    users,
    refresh_tokens,
    api_keys,
    jobs,
    audit_events,
    idempotency_keys,
);
