//! Contact points (O-2): the addresses a sender is recognised by. Customers are found by
//! their e-mails and phones and by the messenger ids learnt from their messages
//! (`customer_contact_points`); leads by every address they have
//! (`lead_contact_points`, kept in step with the lead's own lists on every write).

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{
    customer_contact_points, customer_emails, customer_phones, customers, lead_contact_points,
    leads,
};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

/// Customers known by `value` of `kind` (`email`, `phone` or a messenger id kind),
/// erased ones left out, most recently changed first, each with the customer it was
/// merged into (whose the address now is).
pub fn customers_with(
    conn: &mut DbConnection,
    kind: &str,
    value: &str,
) -> Result<Vec<(Uuid, Option<Uuid>)>, PersistenceError> {
    let kept = customers::erased_at.is_null();
    let order = (customers::updated_at.desc(), customers::id);
    let select = (customers::id, customers::merged_into_id);
    let rows: Vec<(DbUuid, Option<DbUuid>)> = match kind {
        "email" => customer_emails::table
            .inner_join(customers::table)
            .filter(kept)
            .filter(customer_emails::address.eq(value))
            .order(order)
            .select(select)
            .load(conn)?,
        "phone" => customer_phones::table
            .inner_join(customers::table)
            .filter(kept)
            .filter(customer_phones::number.eq(value))
            .order(order)
            .select(select)
            .load(conn)?,
        _ => customer_contact_points::table
            .inner_join(customers::table)
            .filter(kept)
            .filter(customer_contact_points::kind.eq(kind))
            .filter(customer_contact_points::value.eq(value))
            .order(order)
            .select(select)
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|(id, merged_into)| (id.0, merged_into.map(|id| id.0)))
        .collect())
}

/// Leads known by `value` of `kind`, each with the customer it was converted into,
/// most recently changed first.
pub fn leads_with(
    conn: &mut DbConnection,
    kind: &str,
    value: &str,
) -> Result<Vec<(Uuid, Option<Uuid>)>, PersistenceError> {
    Ok(lead_contact_points::table
        .inner_join(leads::table)
        .filter(lead_contact_points::kind.eq(kind))
        .filter(lead_contact_points::value.eq(value))
        .order((leads::updated_at.desc(), leads::id))
        .select((leads::id, leads::converted_customer_id))
        .load::<(DbUuid, Option<DbUuid>)>(conn)?
        .into_iter()
        .map(|(lead, customer)| (lead.0, customer.map(|id| id.0)))
        .collect())
}

/// Remembers that `customer` is known by `value` of `kind` (idempotent: one statement
/// that inserts nothing when the point is there already).
pub fn add_to_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    kind: &str,
    value: &str,
) -> Result<(), PersistenceError> {
    let row = (
        customer_contact_points::customer_id.eq(DbUuid(customer)),
        customer_contact_points::kind.eq(kind),
        customer_contact_points::value.eq(value),
        customer_contact_points::created_at.eq(DbTime(crate::now())),
    );
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(customer_contact_points::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(customer_contact_points::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(())
}

/// Remembers that `lead` is known by `value` of `kind` (idempotent, as
/// [`add_to_customer`]).
pub fn add_to_lead(
    conn: &mut DbConnection,
    lead: Uuid,
    kind: &str,
    value: &str,
) -> Result<(), PersistenceError> {
    let row = (
        lead_contact_points::lead_id.eq(DbUuid(lead)),
        lead_contact_points::kind.eq(kind),
        lead_contact_points::value.eq(value),
        lead_contact_points::created_at.eq(DbTime(crate::now())),
    );
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(lead_contact_points::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(lead_contact_points::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(())
}

/// Makes the lead's `email` and `phone` points its current lists (`emails` and
/// `phones` as stored on the lead, already normalised); its messenger ids stay.
pub fn sync_lead(
    conn: &mut DbConnection,
    lead: Uuid,
    emails: &serde_json::Value,
    phones: &serde_json::Value,
) -> Result<(), PersistenceError> {
    diesel::delete(
        lead_contact_points::table
            .filter(lead_contact_points::lead_id.eq(DbUuid(lead)))
            .filter(lead_contact_points::kind.eq_any(["email", "phone"])),
    )
    .execute(conn)?;
    let values = |list: &serde_json::Value, field: &str| -> Vec<String> {
        let mut values: Vec<String> = list
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.get(field)?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        values.sort();
        values.dedup();
        values
    };
    let now = DbTime(crate::now());
    for (kind, value) in values(emails, "address")
        .into_iter()
        .map(|value| ("email", value))
        .chain(
            values(phones, "number")
                .into_iter()
                .map(|value| ("phone", value)),
        )
    {
        diesel::insert_into(lead_contact_points::table)
            .values((
                lead_contact_points::lead_id.eq(DbUuid(lead)),
                lead_contact_points::kind.eq(kind),
                lead_contact_points::value.eq(value),
                lead_contact_points::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Where a customer can be written to on addresses of `kind`, primary first: its
/// e-mails, its phones, or the messenger ids learnt from its messages.
pub fn addresses_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
    kind: &str,
) -> Result<Vec<String>, PersistenceError> {
    let id = DbUuid(customer);
    Ok(match kind {
        "email" => customer_emails::table
            .filter(customer_emails::customer_id.eq(id))
            .order((
                customer_emails::is_primary.desc(),
                customer_emails::position,
            ))
            .select(customer_emails::address)
            .load(conn)?,
        "phone" => customer_phones::table
            .filter(customer_phones::customer_id.eq(id))
            .order((
                customer_phones::is_primary.desc(),
                customer_phones::position,
            ))
            .select(customer_phones::number)
            .load(conn)?,
        _ => customer_contact_points::table
            .filter(customer_contact_points::customer_id.eq(id))
            .filter(customer_contact_points::kind.eq(kind))
            .order(customer_contact_points::created_at.desc())
            .select(customer_contact_points::value)
            .load(conn)?,
    })
}

/// The messenger ids a customer is known by, as (kind, value), for its data export.
pub fn of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<(String, String)>, PersistenceError> {
    Ok(customer_contact_points::table
        .filter(customer_contact_points::customer_id.eq(DbUuid(customer)))
        .order((
            customer_contact_points::kind,
            customer_contact_points::value,
        ))
        .select((
            customer_contact_points::kind,
            customer_contact_points::value,
        ))
        .load(conn)?)
}

/// Forgets every messenger id of the customer (erasure).
pub fn delete_of_customer(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<usize, PersistenceError> {
    Ok(diesel::delete(
        customer_contact_points::table
            .filter(customer_contact_points::customer_id.eq(DbUuid(customer))),
    )
    .execute(conn)?)
}
