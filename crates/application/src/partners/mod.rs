//! Partners (X-3, collaborative CRM): administrators (`users:manage`) keep the partner
//! organisations and create their users; what those users may see is decided in
//! [`sharing`].

pub mod access;
pub mod sharing;

use domain::authz::{Permission, Role, Visibility};
use domain::partners::{PartnerFields, PartnerKind};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::partners::PartnerRow;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::users::UserRow;
use uuid::Uuid;

use crate::accounts::users::{self, NewUser};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// The fields of a stored partner.
pub fn fields_of(row: &PartnerRow) -> AppResult<PartnerFields> {
    Ok(PartnerFields {
        name: row.name.clone(),
        kind: PartnerKind::parse(&row.kind)
            .ok_or_else(|| AppError::Internal(format!("stored partner kind {:?}", row.kind)))?,
        notes: row.notes.clone(),
        is_active: row.is_active,
    })
}

/// Creates a partner (`users:manage`); a taken name is a conflict.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    fields: PartnerFields,
) -> AppResult<PartnerRow> {
    acting.require(Permission::UsersManage)?;
    let fields = fields.checked().map_err(AppError::Invalid)?;
    let now = DbTime(persistence::now());
    let row = PartnerRow {
        id: DbUuid(Uuid::now_v7()),
        name: fields.name,
        kind: fields.kind.as_str().to_string(),
        notes: fields.notes,
        is_active: fields.is_active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transaction(conn, |conn| {
        persistence::partners::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "partner.create",
            "partner",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// One page of partners in creation order (`users:manage`).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<PartnerRow>> {
    acting.require(Permission::UsersManage)?;
    Ok(persistence::partners::list(
        conn,
        created_after(cursor)?,
        limit,
    )?)
}

/// A partner (`users:manage`), or the caller's own partner for one of its users.
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<PartnerRow> {
    if !acting.can(Permission::UsersManage) && acting.partner_id != Some(id) {
        return Err(AppError::NotFound);
    }
    Ok(persistence::partners::find(conn, id)?)
}

/// A changed partner, and its users whose access the change may have ended (all of
/// them when it was deactivated), for the caller to forget what it cached of them.
#[derive(Debug, Clone)]
pub struct PartnerChange {
    pub partner: PartnerRow,
    pub affected_users: Vec<Uuid>,
}

/// Changes a partner (`users:manage`) with `edit`. Deactivating it stops its users at
/// once: they can no longer sign in or use their keys.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&PartnerFields) -> AppResult<PartnerFields>,
) -> AppResult<PartnerChange> {
    acting.require(Permission::UsersManage)?;
    transaction(conn, |conn| {
        let current = persistence::partners::find(conn, id)?;
        precondition.check(id, current.version)?;
        let after = edit(&fields_of(&current)?)?
            .checked()
            .map_err(AppError::Invalid)?;
        let mut row = current.clone();
        row.name = after.name;
        row.kind = after.kind.as_str().to_string();
        row.notes = after.notes;
        row.is_active = after.is_active;
        let row = persistence::partners::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "partner.update",
            "partner",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        let affected_users = if current.is_active != row.is_active {
            persistence::partners::member_ids(conn, id)?
        } else {
            Vec::new()
        };
        Ok(PartnerChange {
            partner: row,
            affected_users,
        })
    })
}

/// Deletes a partner without users (`users:manage`), with its shares and rules.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::UsersManage)?;
    transaction(conn, |conn| {
        let current = persistence::partners::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::partners::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "partner.delete",
            "partner",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// A user of a partner to create: an account of role `partner`, `own` visibility and
/// no team.
#[derive(Debug, Clone)]
pub struct NewPartnerUser {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub locale: String,
}

/// Creates a user of partner `id` (`users:manage`), audited as `user.create` and
/// `partner.user_add`.
pub fn add_user(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    new: NewPartnerUser,
) -> AppResult<UserRow> {
    acting.require(Permission::UsersManage)?;
    transaction(conn, |conn| {
        persistence::partners::find(conn, id)?;
        let user = users::create(
            conn,
            acting,
            NewUser {
                email: new.email,
                display_name: new.display_name,
                password: new.password,
                role: Role::Partner,
                team_id: None,
                visibility: Some(Visibility::Own),
                locale: new.locale,
            },
        )?;
        persistence::partners::add_member(conn, id, user.id.0)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "partner.user_add",
            "partner",
            id,
            &serde_json::json!({}),
            &serde_json::json!({"user_id": user.id.0}),
        )?;
        Ok(user)
    })
}

/// One page of a partner's users in the order they joined (`users:manage`, or one of
/// the partner's own users): `(joined_at, user)` rows.
pub fn users(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<(DbTime, UserRow)>> {
    get(conn, acting, id)?;
    Ok(persistence::partners::members(
        conn,
        id,
        created_after(cursor)?,
        limit,
    )?)
}

/// The partner `user` belongs to, if any, and whether that partner is active (an
/// inactive partner's users are refused like inactive users).
pub fn membership(conn: &mut DbConnection, user: Uuid) -> AppResult<Option<(Uuid, bool)>> {
    Ok(persistence::partners::membership(conn, user)?)
}
