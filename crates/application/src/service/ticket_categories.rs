//! Ticket categories (V-1): the business's tree of categories (`crm:configure`; read
//! with `records:read`). A category moves under another only where no loop forms and
//! the tree stays [`MAX_CATEGORY_DEPTH`] deep; one with sub-categories or tickets is
//! not deleted.

use std::collections::HashMap;

use domain::authz::Permission;
use domain::service::tickets::{CategoryInput, MAX_CATEGORIES, MAX_CATEGORY_DEPTH};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::ticket_categories::TicketCategoryRow;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::transaction;

/// The document a merge patch of a category applies to.
pub fn input_of(row: &TicketCategoryRow) -> CategoryInput {
    CategoryInput {
        name: row.name.clone(),
        name_en: row.name_en.clone(),
        parent_id: row.parent_id.map(|id| id.0),
    }
}

/// Checks that `parent` exists and that `id` under it keeps the tree free of loops and
/// within its depth.
fn check_parent(conn: &mut DbConnection, id: Uuid, parent: Option<Uuid>) -> AppResult<()> {
    let Some(parent) = parent else {
        return Ok(());
    };
    let all = persistence::ticket_categories::all(conn)?;
    let parents: HashMap<Uuid, Option<Uuid>> = all
        .iter()
        .map(|row| (row.id.0, row.parent_id.map(|p| p.0)))
        .collect();
    if !parents.contains_key(&parent) {
        return Err(AppError::field(
            "parent_id",
            "not_found",
            "no ticket category has this id",
        ));
    }
    // Up from the parent: the category itself must not be an ancestor.
    let mut depth = 1;
    let mut at = Some(parent);
    while let Some(current) = at {
        if current == id {
            return Err(AppError::field(
                "parent_id",
                "cycle",
                "a category cannot sit under itself or its own sub-categories",
            ));
        }
        depth += 1;
        at = parents.get(&current).copied().flatten();
    }
    // Down from the category: its deepest sub-category must stay within the depth.
    let below = levels_below(&all, id);
    if depth + below > MAX_CATEGORY_DEPTH {
        return Err(AppError::field(
            "parent_id",
            "too_deep",
            format!("the category tree is at most {MAX_CATEGORY_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// Levels of sub-categories under `id` (0 for a leaf).
fn levels_below(all: &[TicketCategoryRow], id: Uuid) -> usize {
    all.iter()
        .filter(|row| row.parent_id.map(|p| p.0) == Some(id))
        .map(|child| 1 + levels_below(all, child.id.0))
        .max()
        .unwrap_or(0)
}

/// Adds a category (`crm:configure`).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: CategoryInput,
) -> AppResult<TicketCategoryRow> {
    acting.require(Permission::CrmConfigure)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        if persistence::ticket_categories::count(conn)? >= MAX_CATEGORIES {
            return Err(AppError::Conflict(format!(
                "there are {MAX_CATEGORIES} ticket categories, the most there may be"
            )));
        }
        let id = Uuid::now_v7();
        check_parent(conn, id, input.parent_id)?;
        let now = DbTime(persistence::now());
        let row = TicketCategoryRow {
            id: DbUuid(id),
            parent_id: input.parent_id.map(DbUuid),
            name: input.name,
            name_en: input.name_en,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::ticket_categories::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket_category.create",
            "ticket_category",
            id,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Every category (`records:read`): the tree is small, so it comes whole.
pub fn list(conn: &mut DbConnection, acting: &Acting) -> AppResult<Vec<TicketCategoryRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::ticket_categories::all(conn)?)
}

/// A category (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TicketCategoryRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::ticket_categories::find(conn, id)?)
}

/// Renames or moves a category (`crm:configure`).
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&CategoryInput) -> AppResult<CategoryInput>,
) -> AppResult<TicketCategoryRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::ticket_categories::find(conn, id)?;
        precondition.check(id, current.version)?;
        let after = edit(&input_of(&current))?
            .validated()
            .map_err(AppError::Invalid)?;
        if after.parent_id != current.parent_id.map(|p| p.0) {
            check_parent(conn, id, after.parent_id)?;
        }
        let row = persistence::ticket_categories::update(
            conn,
            &TicketCategoryRow {
                parent_id: after.parent_id.map(DbUuid),
                name: after.name,
                name_en: after.name_en,
                ..current.clone()
            },
        )?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket_category.update",
            "ticket_category",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a category without sub-categories or tickets (`crm:configure`).
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::ticket_categories::find(conn, id)?;
        precondition.check(id, current.version)?;
        if persistence::ticket_categories::in_use(conn, id)? {
            return Err(AppError::Conflict(
                "the category has sub-categories or tickets; move them first".into(),
            ));
        }
        persistence::ticket_categories::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "ticket_category.delete",
            "ticket_category",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}
