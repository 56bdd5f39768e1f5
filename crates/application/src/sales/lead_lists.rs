//! Static lead lists (S-1): named sets of leads built by hand. Reading a list's
//! members is a lead search (`list_id` in the filter), so a member the caller may not
//! see stays hidden; adding or removing takes only leads the caller may see.

use domain::authz::Permission;
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::lead_lists::LeadListRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::Cursor;
use crate::precondition::Precondition;
use crate::transaction;

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// Most leads one request adds to or removes from a list.
pub const MAX_MEMBERS_PER_REQUEST: usize = 1_000;

/// A list as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "تماس‌های نمایشگاه ۱۴۰۵", "description": "سرنخ‌های غرفه"}))]
pub struct LeadListInput {
    /// Unique among lists.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

impl LeadListInput {
    fn validated(self) -> AppResult<LeadListInput> {
        let mut v = Violations::default();
        let mut name = Some(self.name);
        v.tidy_line("name", &mut name, MAX_NAME_CHARS);
        if name.is_none() {
            v.push("name", "required", "a list needs a name");
        }
        let mut description = self.description;
        v.tidy_text("description", &mut description, MAX_DESCRIPTION_CHARS);
        v.into_result().map_err(AppError::Invalid)?;
        Ok(LeadListInput {
            name: name.unwrap_or_default(),
            description,
        })
    }
}

/// Whether leads join or leave a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipAction {
    Add,
    Remove,
}

/// Leads to add to or remove from a list.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "add", "lead_ids": ["0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa"]}))]
pub struct Membership {
    pub action: MembershipAction,
    /// 1 to 1,000 leads; ids of leads the caller may not see are reported, not changed.
    pub lead_ids: Vec<Uuid>,
}

/// What a membership change did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MembershipChange {
    /// Leads that joined (or left) the list.
    pub changed: usize,
    /// Leads already in (or not in) it.
    pub unchanged: usize,
    /// Ids that are not leads the caller may see.
    pub not_found: Vec<Uuid>,
}

/// A list and how many leads it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadListView {
    pub row: LeadListRow,
    pub members: i64,
}

/// The lists `rows` with their member counts, counted in one query.
fn views(conn: &mut DbConnection, rows: Vec<LeadListRow>) -> AppResult<Vec<LeadListView>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id.0).collect();
    let counts = persistence::lead_lists::member_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| LeadListView {
            members: counts.get(&row.id.0).copied().unwrap_or(0),
            row,
        })
        .collect())
}

fn view(conn: &mut DbConnection, row: LeadListRow) -> AppResult<LeadListView> {
    Ok(views(conn, vec![row])?.remove(0))
}

pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: LeadListInput,
) -> AppResult<LeadListView> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated()?;
    let now = DbTime(persistence::now());
    let row = LeadListRow {
        id: DbUuid(Uuid::now_v7()),
        name: input.name,
        description: input.description,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transaction(conn, |conn| {
        persistence::lead_lists::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead_list.create",
            "lead_list",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(())
    })?;
    Ok(LeadListView { row, members: 0 })
}

pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<LeadListView> {
    acting.require(Permission::RecordsRead)?;
    let row = persistence::lead_lists::find(conn, id)?;
    view(conn, row)
}

/// Lists in creation order: `fetch` after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    fetch: i64,
) -> AppResult<Vec<LeadListView>> {
    acting.require(Permission::RecordsRead)?;
    let after = crate::paging::created_after(cursor)?;
    let rows = persistence::lead_lists::list(conn, after, fetch)?;
    views(conn, rows)
}

pub fn cursor_after(list: &LeadListView) -> Cursor {
    crate::paging::creation_cursor(list.row.created_at.0, list.row.id.0)
}

/// Renames or redescribes a list (`records:write`): `edit` turns its current document
/// into the new one.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&LeadListInput) -> AppResult<LeadListInput>,
) -> AppResult<LeadListView> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let current = persistence::lead_lists::find(conn, id)?;
        precondition.check(id, current.version)?;
        let after = edit(&LeadListInput {
            name: current.name.clone(),
            description: current.description.clone(),
        })?
        .validated()?;
        let mut row = current.clone();
        row.name = after.name;
        row.description = after.description;
        let row = persistence::lead_lists::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead_list.update",
            "lead_list",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        view(conn, row)
    })
}

/// Deletes a list (`records:delete`); its leads stay.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::RecordsDelete)?;
    transaction(conn, |conn| {
        let current = persistence::lead_lists::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::lead_lists::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead_list.delete",
            "lead_list",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Adds leads to a list or removes them (`records:write`): only leads the caller may
/// see; the others are reported.
pub fn change_members(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    membership: &Membership,
) -> AppResult<MembershipChange> {
    acting.require(Permission::RecordsWrite)?;
    if membership.lead_ids.is_empty() || membership.lead_ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(AppError::field(
            "lead_ids",
            "out_of_range",
            format!("must list 1 to {MAX_MEMBERS_PER_REQUEST} leads"),
        ));
    }
    let mut ids = membership.lead_ids.clone();
    ids.sort();
    ids.dedup();
    transaction(conn, |conn| {
        persistence::lead_lists::find(conn, id)?;
        let seen: std::collections::HashSet<Uuid> = persistence::leads::find_many(conn, &ids)?
            .iter()
            .filter(|lead| super::leads::can_see(acting, lead))
            .map(|lead| lead.id.0)
            .collect();
        let (visible, not_found): (Vec<Uuid>, Vec<Uuid>) =
            ids.iter().partition(|lead| seen.contains(lead));
        let adding = membership.action == MembershipAction::Add;
        let changed = if adding {
            persistence::lead_lists::add_members(conn, id, &visible, acting.user_id)?
        } else {
            persistence::lead_lists::remove_members(conn, id, &visible)?
        };
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: if adding {
                    "lead_list.add"
                } else {
                    "lead_list.remove"
                },
                resource_type: "lead_list",
                resource_id: Some(id.to_string()),
                changes: Some(serde_json::json!({"lead_ids": visible, "changed": changed})),
            },
        )?;
        Ok(MembershipChange {
            changed,
            unchanged: visible.len() - changed,
            not_found,
        })
    })
}
