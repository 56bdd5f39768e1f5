//! Organization personnel (C-2): a person customer working at an organization customer,
//! with a role and an organizational unit. A person may work at several organizations.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::personnel;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

const ALREADY_LINKED: &str = "the person is already listed at this organization";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = personnel)]
pub struct PersonnelRow {
    pub id: DbUuid,
    /// The organization.
    pub customer_id: DbUuid,
    pub person_id: DbUuid,
    pub role: Option<String>,
    pub unit: Option<String>,
    pub is_primary_contact: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

pub fn insert(conn: &mut DbConnection, row: &PersonnelRow) -> Result<(), PersistenceError> {
    diesel::insert_into(personnel::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, ALREADY_LINKED))?;
    Ok(())
}

pub fn insert_many(conn: &mut DbConnection, rows: &[PersonnelRow]) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(2_000) {
        crate::insert_batch!(conn, personnel::table, chunk)
            .map_err(|err| PersistenceError::from_write(err, ALREADY_LINKED))?;
    }
    Ok(())
}

/// The links among `ids` that still exist, in no particular order.
pub fn find_many(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<Vec<PersonnelRow>, PersistenceError> {
    let mut found = Vec::new();
    // Well under SQLite's bound-value limit per statement.
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        found.extend(
            personnel::table
                .filter(personnel::id.eq_any(chunk))
                .select(PersonnelRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

pub fn find(
    conn: &mut DbConnection,
    organization: Uuid,
    id: Uuid,
) -> Result<PersonnelRow, PersistenceError> {
    personnel::table
        .find(DbUuid(id))
        .filter(personnel::customer_id.eq(DbUuid(organization)))
        .select(PersonnelRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// The people listed at `organization`, in the order they were added.
pub fn of_organization(
    conn: &mut DbConnection,
    organization: Uuid,
) -> Result<Vec<PersonnelRow>, PersistenceError> {
    Ok(personnel::table
        .filter(personnel::customer_id.eq(DbUuid(organization)))
        .order((personnel::created_at, personnel::id))
        .select(PersonnelRow::as_select())
        .load(conn)?)
}

/// The organizations `person` is listed at.
pub fn of_person(
    conn: &mut DbConnection,
    person: Uuid,
) -> Result<Vec<PersonnelRow>, PersistenceError> {
    Ok(personnel::table
        .filter(personnel::person_id.eq(DbUuid(person)))
        .order((personnel::created_at, personnel::id))
        .select(PersonnelRow::as_select())
        .load(conn)?)
}

/// The links of a customer seen from its side: an organization's people, or the
/// organizations a person is listed at.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    is_organization: bool,
) -> Result<Vec<PersonnelRow>, PersistenceError> {
    if is_organization {
        of_organization(conn, customer)
    } else {
        of_person(conn, customer)
    }
}

pub fn update(
    conn: &mut DbConnection,
    row: &PersonnelRow,
) -> Result<PersonnelRow, PersistenceError> {
    let updated = diesel::update(
        personnel::table
            .filter(personnel::id.eq(row.id))
            .filter(personnel::version.eq(row.version)),
    )
    .set((
        personnel::role.eq(&row.role),
        personnel::unit.eq(&row.unit),
        personnel::is_primary_contact.eq(row.is_primary_contact),
        personnel::updated_at.eq(DbTime(crate::now())),
        personnel::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, row.customer_id.0, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.customer_id.0, row.id.0)
}

pub fn delete(
    conn: &mut DbConnection,
    organization: Uuid,
    id: Uuid,
) -> Result<(), PersistenceError> {
    find(conn, organization, id)?;
    diesel::delete(personnel::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Deletes links by id (merge: a link that would duplicate the winner's own).
pub fn delete_many(conn: &mut DbConnection, ids: &[Uuid]) -> Result<(), PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    diesel::delete(personnel::table.filter(personnel::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

/// Points links `ids` at organization `organization` and person `person` (merge, undo).
pub fn relink(
    conn: &mut DbConnection,
    id: Uuid,
    organization: Uuid,
    person: Uuid,
) -> Result<(), PersistenceError> {
    diesel::update(personnel::table.find(DbUuid(id)))
        .set((
            personnel::customer_id.eq(DbUuid(organization)),
            personnel::person_id.eq(DbUuid(person)),
        ))
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, ALREADY_LINKED))?;
    Ok(())
}
