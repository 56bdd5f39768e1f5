//! Finding customers that may be the same as another (D-2): candidates come from the
//! indexed keys (national code or id, e-mail, phone, name key), and are then scored in
//! `domain::customers::duplicate_score`.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use domain::customers::{DuplicateEvidence, DuplicateReason};
use uuid::Uuid;

use super::CustomerRecord;
use crate::db::DbConnection;
use crate::schema::{customer_emails, customer_phones, customers};
use crate::sql_types::DbUuid;
use crate::PersistenceError;

/// The keys of a stored customer.
pub fn evidence_of(record: &CustomerRecord) -> DuplicateEvidence {
    DuplicateEvidence {
        national: record
            .row
            .national_code
            .clone()
            .or_else(|| record.row.national_id.clone()),
        emails: record.emails.iter().map(|e| e.address.clone()).collect(),
        phones: record.phones.iter().map(|p| p.number.clone()).collect(),
        name_key: record.row.name_key.clone(),
    }
}

/// Ids of live (not merged, not erased) customers sharing at least one key with
/// `evidence`, other than `exclude`; at most `per_key` per key.
pub fn candidate_ids(
    conn: &mut DbConnection,
    evidence: &DuplicateEvidence,
    exclude: Option<Uuid>,
    per_key: i64,
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut ids: Vec<DbUuid> = Vec::new();
    let live = || {
        customers::table
            .filter(customers::merged_into_id.is_null())
            .filter(customers::erased_at.is_null())
            .select(customers::id)
            .into_boxed()
    };
    if let Some(national) = &evidence.national {
        ids.extend(
            live()
                .filter(
                    customers::national_code
                        .eq(national)
                        .or(customers::national_id.eq(national)),
                )
                .limit(per_key)
                .load::<DbUuid>(conn)?,
        );
    }
    if let Some(name_key) = &evidence.name_key {
        ids.extend(
            live()
                .filter(customers::name_key.eq(name_key))
                .limit(per_key)
                .load::<DbUuid>(conn)?,
        );
    }
    if !evidence.emails.is_empty() {
        ids.extend(
            customer_emails::table
                .filter(customer_emails::address.eq_any(&evidence.emails))
                .select(customer_emails::customer_id)
                .limit(per_key)
                .load::<DbUuid>(conn)?,
        );
    }
    if !evidence.phones.is_empty() {
        ids.extend(
            customer_phones::table
                .filter(customer_phones::number.eq_any(&evidence.phones))
                .select(customer_phones::customer_id)
                .limit(per_key)
                .load::<DbUuid>(conn)?,
        );
    }
    let mut seen = HashSet::new();
    Ok(ids
        .into_iter()
        .map(|id| id.0)
        .filter(|id| Some(*id) != exclude && seen.insert(*id))
        .collect())
}

/// Loads live candidates `ids` as records.
pub fn load_candidates(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<Vec<CustomerRecord>, PersistenceError> {
    let db_ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    let rows = customers::table
        .filter(customers::id.eq_any(db_ids))
        .filter(customers::merged_into_id.is_null())
        .filter(customers::erased_at.is_null())
        .select(super::CustomerRow::as_select())
        .load(conn)?;
    super::load_many(conn, rows)
}

/// The result of grouping live customers by one key over the whole workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedKeys {
    /// The live customers holding one value of the key, for every value more than one
    /// of them holds.
    pub groups: Vec<Vec<Uuid>>,
    /// Values held by more than the allowed number of customers (a switchboard number,
    /// a shared `info@` address), left out: too common to single out duplicates, and
    /// every pair among them would be a candidate.
    pub too_common: usize,
}

/// Keys per `eq_any` round trip when fetching the members of shared keys; well under
/// both backends' bind-parameter limits.
const KEYS_PER_QUERY: usize = 500;

/// Groups live (not merged, not erased) customers by `key`: one group per value held by
/// 2..=`max_members` of them. Counting happens in SQL (`GROUP BY … HAVING`) and only
/// the members of shared values are read, so a workspace scan never loads the customers
/// table. `SameNationalCode` covers both the national code of persons and the
/// legal-entity id of organizations.
pub fn shared_keys(
    conn: &mut DbConnection,
    key: DuplicateReason,
    max_members: usize,
) -> Result<SharedKeys, PersistenceError> {
    use diesel::dsl::count_star;

    let live = || {
        customers::table
            .filter(customers::merged_into_id.is_null())
            .filter(customers::erased_at.is_null())
    };
    // `$source` is a query of live rows, `$value` the key column (selected as
    // `$selected`, which is it without nullability), `$id` the customer id column.
    macro_rules! grouped {
        ($source:expr, $value:expr, $selected:expr, $id:expr) => {{
            let counted: Vec<(String, i64)> = $source
                .filter($value.is_not_null())
                .group_by($value)
                .having(count_star().gt(1))
                .select(($selected, count_star()))
                .load(conn)?;
            let limit = i64::try_from(max_members).unwrap_or(i64::MAX);
            let (shared, too_common): (Vec<_>, Vec<_>) =
                counted.into_iter().partition(|(_, count)| *count <= limit);
            let mut groups = Vec::with_capacity(shared.len());
            let values: Vec<String> = shared.into_iter().map(|(value, _)| value).collect();
            for chunk in values.chunks(KEYS_PER_QUERY) {
                let members: Vec<(String, DbUuid)> = $source
                    .filter($value.eq_any(chunk))
                    .select(($selected, $id))
                    .load(conn)?;
                let mut by_value: HashMap<String, Vec<Uuid>> = HashMap::new();
                for (value, id) in members {
                    by_value.entry(value).or_default().push(id.0);
                }
                groups.extend(by_value.into_values().filter(|ids| ids.len() > 1));
            }
            SharedKeys {
                groups,
                too_common: too_common.len(),
            }
        }};
    }
    Ok(match key {
        DuplicateReason::SameNationalCode => {
            let mut codes = grouped!(
                live(),
                customers::national_code,
                customers::national_code.assume_not_null(),
                customers::id
            );
            let ids = grouped!(
                live(),
                customers::national_id,
                customers::national_id.assume_not_null(),
                customers::id
            );
            codes.groups.extend(ids.groups);
            codes.too_common += ids.too_common;
            codes
        }
        DuplicateReason::SameName => grouped!(
            live(),
            customers::name_key,
            customers::name_key.assume_not_null(),
            customers::id
        ),
        DuplicateReason::SameEmail => grouped!(
            customer_emails::table
                .inner_join(customers::table)
                .filter(customers::merged_into_id.is_null())
                .filter(customers::erased_at.is_null()),
            customer_emails::address,
            customer_emails::address,
            customer_emails::customer_id
        ),
        DuplicateReason::SamePhone => grouped!(
            customer_phones::table
                .inner_join(customers::table)
                .filter(customers::merged_into_id.is_null())
                .filter(customers::erased_at.is_null()),
            customer_phones::number,
            customer_phones::number,
            customer_phones::customer_id
        ),
    })
}
