//! Tags, customer groups and tiers (C-4): lists the business defines (`crm:configure`)
//! and assigns to customers in bulk (`records:write`, only to customers the caller may
//! see). The three kinds share these rules; only tiers have a rank.

use domain::authz::Permission;
use domain::text::TextKind;
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::labels::LabelRow;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most customers one bulk assignment may name.
pub const MAX_ASSIGNMENT: usize = 1000;

/// The fields of a label a caller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFields {
    /// Unique per kind, compared after Persian normalisation and ignoring case.
    pub name: String,
    pub description: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Tiers only: 1 (highest) to 100.
    pub rank: Option<i32>,
}

impl LabelFields {
    fn of(row: &LabelRow) -> LabelFields {
        LabelFields {
            name: row.name.clone(),
            description: row.description.clone(),
            color: row.color.clone(),
            rank: row.rank,
        }
    }

    /// The normalised fields and the name's search key, or every broken rule.
    fn checked(self, kind: &str) -> AppResult<(LabelFields, String)> {
        let mut v = Violations::default();
        let name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        let name_key = domain::persian::search_key(&name);
        v.check_text("name", &self.name, TextKind::SingleLine);
        if name_key.is_empty() {
            v.push("name", "required", "must contain letters or digits");
        } else if name.chars().count() > MAX_NAME_CHARS {
            v.push(
                "name",
                "too_long",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            );
        }
        let description = self
            .description
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            v.push(
                "description",
                "too_long",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        let color = self.color.map(|c| c.trim().to_lowercase());
        if let Some(color) = &color {
            let valid = color.len() == 7
                && color.starts_with('#')
                && color[1..].chars().all(|c| c.is_ascii_hexdigit());
            if !valid {
                v.push("color", "invalid_format", "must be #rrggbb");
            }
        }
        match (kind, self.rank) {
            (persistence::labels::TIER, Some(rank)) if !(1..=100).contains(&rank) => {
                v.push("rank", "out_of_range", "must be 1 to 100")
            }
            (persistence::labels::TIER, _) => {}
            (_, Some(_)) => v.push("rank", "not_allowed_for_kind", "only tiers have a rank"),
            (_, None) => {}
        }
        v.into_result().map_err(AppError::Invalid)?;
        Ok((
            LabelFields {
                name,
                description,
                color,
                rank: self.rank,
            },
            name_key,
        ))
    }
}

/// What a bulk assignment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Customers whose assignment changed.
    pub changed: usize,
    /// Customers that already had (or lacked) the label.
    pub unchanged: usize,
    /// Ids that are not customers the caller may change.
    pub not_found: Vec<Uuid>,
}

/// Creates a label of `kind` (`crm:configure`); a taken name is a conflict.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: &str,
    fields: LabelFields,
) -> AppResult<LabelRow> {
    acting.require(Permission::CrmConfigure)?;
    let (fields, name_key) = fields.checked(kind)?;
    let now = DbTime(persistence::now());
    let row = LabelRow {
        id: DbUuid(Uuid::now_v7()),
        kind: kind.to_string(),
        name: fields.name,
        name_key,
        description: fields.description,
        color: fields.color,
        rank: fields.rank,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transaction(conn, |conn| {
        persistence::labels::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            &format!("{kind}.create"),
            kind,
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// One page of labels of `kind` in creation order (`records:read`): up to `limit + 1`
/// rows after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: &str,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<LabelRow>> {
    acting.require(Permission::RecordsRead)?;
    let after = created_after(cursor)?;
    Ok(persistence::labels::list(conn, kind, after, limit)?)
}

/// A label of `kind` (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, kind: &str, id: Uuid) -> AppResult<LabelRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::labels::find(conn, kind, id)?)
}

/// Changes a label (`crm:configure`) with `edit`, which turns the current fields into
/// the wanted ones.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: &str,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&LabelFields) -> AppResult<LabelFields>,
) -> AppResult<LabelRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::labels::find(conn, kind, id)?;
        precondition.check(id, current.version)?;
        let (after, name_key) = edit(&LabelFields::of(&current))?.checked(kind)?;
        let mut row = current.clone();
        row.name = after.name;
        row.name_key = name_key;
        row.description = after.description;
        row.color = after.color;
        row.rank = after.rank;
        let row = persistence::labels::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            &format!("{kind}.update"),
            kind,
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a label (`crm:configure`); it is removed from every customer.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: &str,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::labels::find(conn, kind, id)?;
        precondition.check(id, current.version)?;
        persistence::labels::delete(conn, kind, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            &format!("{kind}.delete"),
            kind,
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Adds (`attach`) or removes a label on up to [`MAX_ASSIGNMENT`] customers
/// (`records:write`). Only customers the caller may see are changed; the other ids are
/// reported as not found, exactly like ids of no customer.
pub fn assign(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: &str,
    id: Uuid,
    attach: bool,
    customer_ids: &[Uuid],
) -> AppResult<Assignment> {
    acting.require(Permission::RecordsWrite)?;
    if customer_ids.is_empty() || customer_ids.len() > MAX_ASSIGNMENT {
        return Err(AppError::field(
            "customer_ids",
            "invalid_length",
            format!("must list 1 to {MAX_ASSIGNMENT} customers"),
        ));
    }
    let mut ids = customer_ids.to_vec();
    ids.sort();
    ids.dedup();
    transaction(conn, |conn| {
        let label = persistence::labels::find(conn, kind, id)?;
        let rows = persistence::customers::search::visible_rows(conn, &ids, &acting.scope())?;
        let allowed: Vec<Uuid> = rows.iter().map(|row| row.id.0).collect();
        let not_found: Vec<Uuid> = ids
            .iter()
            .copied()
            .filter(|id| !allowed.contains(id))
            .collect();
        let changed = persistence::labels::assign(conn, &label, &allowed, attach)?;
        persistence::customers::history::touch(conn, &allowed)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: &format!("{kind}.{}", if attach { "assign" } else { "unassign" }),
                resource_type: kind,
                resource_id: Some(id.to_string()),
                changes: Some(serde_json::json!({"customer_ids": allowed})),
            },
        )?;
        Ok(Assignment {
            changed,
            unchanged: allowed.len() - changed.min(allowed.len()),
            not_found,
        })
    })
}
