//! Finding the stored customers that the rows of an import refer to, by a business key
//! (code, e-mail, phone, national code or id), for many rows with a few queries.

use diesel::prelude::*;

use super::CustomerRow;
use crate::db::DbConnection;
use crate::schema::{customer_emails, customer_phones, customers};
use crate::PersistenceError;

/// Values per query: SQLite binds each one separately and allows 32,766 in a statement.
const VALUES_PER_QUERY: usize = 5_000;

/// A stored value that identifies a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerKey {
    /// The business's customer code (unique).
    Code,
    /// Any of the customer's e-mail addresses (lower case).
    Email,
    /// Any of the customer's phone numbers (E.164).
    Phone,
    /// A person's national code or an organization's national id.
    National,
}

/// Live (not merged) customers whose `key` is one of `values` (in stored form), each with
/// the value it matched. A value shared by several customers appears once per customer.
pub fn find_by_key(
    conn: &mut DbConnection,
    key: CustomerKey,
    values: &[String],
) -> Result<Vec<(String, CustomerRow)>, PersistenceError> {
    let mut found = Vec::new();
    for chunk in values.chunks(VALUES_PER_QUERY) {
        let live = customers::merged_into_id.is_null();
        match key {
            CustomerKey::Code => {
                let rows: Vec<(Option<String>, CustomerRow)> = customers::table
                    .filter(live)
                    .filter(customers::code.eq_any(chunk))
                    .select((customers::code, CustomerRow::as_select()))
                    .load(conn)?;
                found.extend(
                    rows.into_iter()
                        .filter_map(|(code, row)| Some((code?, row))),
                );
            }
            CustomerKey::National => {
                let rows: Vec<CustomerRow> = customers::table
                    .filter(live)
                    .filter(
                        customers::national_code
                            .eq_any(chunk)
                            .or(customers::national_id.eq_any(chunk)),
                    )
                    .select(CustomerRow::as_select())
                    .load(conn)?;
                found.extend(rows.into_iter().filter_map(|row| {
                    let value = row.national_code.clone().or(row.national_id.clone())?;
                    Some((value, row))
                }));
            }
            CustomerKey::Email => {
                found.extend(
                    customer_emails::table
                        .inner_join(customers::table)
                        .filter(live)
                        .filter(customer_emails::address.eq_any(chunk))
                        .select((customer_emails::address, CustomerRow::as_select()))
                        .load::<(String, CustomerRow)>(conn)?,
                );
            }
            CustomerKey::Phone => {
                found.extend(
                    customer_phones::table
                        .inner_join(customers::table)
                        .filter(live)
                        .filter(customer_phones::number.eq_any(chunk))
                        .select((customer_phones::number, CustomerRow::as_select()))
                        .load::<(String, CustomerRow)>(conn)?,
                );
            }
        }
    }
    Ok(found)
}

/// The customers with `ids`, merged ones included (with `merged_into_id` to follow).
pub fn find_by_ids(
    conn: &mut DbConnection,
    ids: &[uuid::Uuid],
) -> Result<Vec<CustomerRow>, PersistenceError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(VALUES_PER_QUERY) {
        let chunk: Vec<crate::sql_types::DbUuid> = chunk
            .iter()
            .copied()
            .map(crate::sql_types::DbUuid)
            .collect();
        found.extend(
            customers::table
                .filter(customers::id.eq_any(chunk))
                .select(CustomerRow::as_select())
                .load::<CustomerRow>(conn)?,
        );
    }
    Ok(found)
}
