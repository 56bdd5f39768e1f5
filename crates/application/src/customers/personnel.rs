//! Organization personnel (C-2): people (customers of kind `person`) listed at an
//! organization with role and unit. A person may be listed at several organizations.

use domain::text::TextKind;
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::personnel::PersonnelRow;
use persistence::sql_types::{DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::visible;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;

/// Longest role or unit, in characters.
const MAX_TEXT_CHARS: usize = 200;

/// A person to list at an organization.
#[derive(Debug, Clone)]
pub struct NewPersonnel {
    pub person_id: Uuid,
    pub role: Option<String>,
    pub unit: Option<String>,
    pub is_primary_contact: bool,
}

/// The fields of a link that can change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonnelPatch {
    pub role: Option<String>,
    pub unit: Option<String>,
    pub is_primary_contact: bool,
}

/// Role and unit with whitespace collapsed, blank as none, within the length limit.
fn tidy(role: Option<String>, unit: Option<String>) -> AppResult<(Option<String>, Option<String>)> {
    let mut v = Violations::default();
    let mut clean = |field: &str, value: Option<String>| {
        if let Some(text) = &value {
            v.check_text(field, text, TextKind::SingleLine);
        }
        let value = value
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty());
        if value
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            v.push(
                field,
                "too_long",
                format!("must be at most {MAX_TEXT_CHARS} characters"),
            );
        }
        value
    };
    let role = clean("role", role);
    let unit = clean("unit", unit);
    v.into_result().map_err(AppError::Invalid)?;
    Ok((role, unit))
}

fn audit_link(
    conn: &mut DbConnection,
    acting: &Acting,
    action: &str,
    row: &PersonnelRow,
) -> AppResult<()> {
    audit::record(
        conn,
        &acting.audit_actor(),
        NewAuditEvent {
            action,
            resource_type: "customer",
            resource_id: Some(row.customer_id.0.to_string()),
            changes: Some(serde_json::json!({
                "personnel_id": row.id.0, "person_id": row.person_id.0,
                "role": row.role, "unit": row.unit, "is_primary_contact": row.is_primary_contact,
            })),
        },
    )?;
    Ok(())
}

/// Lists a person at an organization; both must be visible to the caller.
pub fn add(
    conn: &mut DbConnection,
    acting: &Acting,
    organization: Uuid,
    new: NewPersonnel,
) -> AppResult<PersonnelRow> {
    let (role, unit) = tidy(new.role, new.unit)?;
    let now = DbTime(persistence::now());
    let row = PersonnelRow {
        id: DbUuid(Uuid::now_v7()),
        customer_id: DbUuid(organization),
        person_id: DbUuid(new.person_id),
        role,
        unit,
        is_primary_contact: new.is_primary_contact,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    crate::transaction(conn, |conn| {
        let org = visible(conn, acting, organization)?;
        if org.row.kind != "organization" {
            return Err(AppError::field(
                "id",
                "not_an_organization",
                "personnel can be listed only at an organization",
            ));
        }
        let no_person = || AppError::field("person_id", "not_found", "no customer with this id");
        let person =
            persistence::customers::find(conn, row.person_id.0).map_err(|_| no_person())?;
        if !acting.scope().can_see(&person.row) {
            return Err(no_person());
        }
        if person.row.kind != "person" {
            return Err(AppError::field(
                "person_id",
                "not_a_person",
                "must be a customer of kind person",
            ));
        }
        persistence::personnel::insert(conn, &row)?;
        audit_link(conn, acting, "customer.personnel.add", &row)?;
        Ok(row)
    })
}

/// The people listed at an organization, or the organizations a person is listed at.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
) -> AppResult<Vec<PersonnelRow>> {
    let record = visible(conn, acting, customer)?;
    Ok(persistence::personnel::of_customer(
        conn,
        customer,
        record.row.kind == "organization",
    )?)
}

/// Changes a link: `edit` turns its current fields into the new ones.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    organization: Uuid,
    link: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&PersonnelPatch) -> AppResult<PersonnelPatch>,
) -> AppResult<PersonnelRow> {
    crate::transaction(conn, |conn| {
        visible(conn, acting, organization)?;
        let current = persistence::personnel::find(conn, organization, link)?;
        precondition.check(link, current.version)?;
        let after = edit(&PersonnelPatch {
            role: current.role.clone(),
            unit: current.unit.clone(),
            is_primary_contact: current.is_primary_contact,
        })?;
        let (role, unit) = tidy(after.role, after.unit)?;
        let mut row = current.clone();
        row.role = role;
        row.unit = unit;
        row.is_primary_contact = after.is_primary_contact;
        let row = persistence::personnel::update(conn, &row)?;
        audit_link(conn, acting, "customer.personnel.update", &row)?;
        Ok(row)
    })
}

/// Removes a person from an organization.
pub fn remove(
    conn: &mut DbConnection,
    acting: &Acting,
    organization: Uuid,
    link: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    crate::transaction(conn, |conn| {
        visible(conn, acting, organization)?;
        let current = persistence::personnel::find(conn, organization, link)?;
        precondition.check(link, current.version)?;
        persistence::personnel::delete(conn, organization, link)?;
        audit_link(conn, acting, "customer.personnel.remove", &current)
    })
}
