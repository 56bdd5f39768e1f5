//! Leads (S-1): the rows, their search catalogue and visibility. A lead's contact
//! lists are stored as the validated input gives them (JSON arrays); its display name
//! and quick-search text are derived from the input on every write.

use diesel::prelude::*;
use domain::authz::Visibility;
use domain::filter::{Predicate, SearchCriteria, TypedValue};
use uuid::Uuid;

use crate::customers::search::Scope;
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{
    apply_search, like_escape, Condition, FilterError, Keyset, SearchColumn, SearchError,
    SearchTable,
};
use crate::schema::{lead_contact_points, lead_list_members, leads};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = leads, treat_none_as_null = true)]
pub struct LeadRow {
    pub id: DbUuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    /// `[PhoneInput]` as validated: E.164 numbers, one primary.
    pub phones: DbJson,
    /// `[EmailInput]` as validated: lower-cased, one primary.
    pub emails: DbJson,
    pub province: Option<String>,
    pub city: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub status: String,
    pub disqualified_reason: Option<String>,
    pub owner_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub description: Option<String>,
    pub display_name: String,
    /// `domain::sales::leads::LeadInput::search_text`.
    pub search_text: String,
    /// The person (or, for a company alone, the organization) the lead became.
    pub converted_customer_id: Option<DbUuid>,
    /// The organization the lead's company became, when it was converted with one.
    pub converted_organization_id: Option<DbUuid>,
    pub converted_at: Option<DbTime>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    /// ISO 639 code.
    pub language: Option<String>,
    /// The product the lead asked about.
    pub product_id: Option<DbUuid>,
    /// Lead scoring (`crate::lead_scoring`): the points of the active rules the lead
    /// matches, kept by every write of the lead and of the rules.
    pub score_points: i64,
    /// Written only by `lead_propensity` runs: the probability of conversion, the
    /// factors that moved it most and the run.
    pub propensity: Option<f64>,
    pub propensity_factors: Option<DbJson>,
    pub propensity_run_id: Option<DbUuid>,
    /// Values of the lead custom fields by key, as checked against their definitions.
    pub custom_fields: DbJson,
}

impl LeadRow {
    /// What the audit trail records of a lead: everything but the derived text.
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "job_title": self.job_title,
            "phones": self.phones.0,
            "emails": self.emails.0,
            "province": self.province,
            "city": self.city,
            "source": self.source,
            "campaign": self.campaign,
            "language": self.language,
            "product_id": self.product_id.map(|id| id.0),
            "status": self.status,
            "disqualified_reason": self.disqualified_reason,
            "owner_id": self.owner_id.map(|id| id.0),
            "team_id": self.team_id.map(|id| id.0),
            "description": self.description,
            "converted_customer_id": self.converted_customer_id.map(|id| id.0),
            "converted_organization_id": self.converted_organization_id.map(|id| id.0),
            "custom_fields": self.custom_fields.0,
        })
    }
}

pub fn insert(conn: &mut DbConnection, row: &LeadRow) -> Result<(), PersistenceError> {
    diesel::insert_into(leads::table)
        .values(row)
        .execute(conn)?;
    crate::contact_points::sync_lead(conn, row.id.0, &row.emails.0, &row.phones.0)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<LeadRow, PersistenceError> {
    leads::table
        .find(DbUuid(id))
        .select(LeadRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// [`find`] holding the row until the transaction ends (PostgreSQL; SQLite's writer
/// lock already serialises writers), so that two conversions of one lead queue.
pub fn find_for_update(conn: &mut DbConnection, id: Uuid) -> Result<LeadRow, PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        leads::table
            .find(DbUuid(id))
            .select(leads::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    find(conn, id)
}

/// Writes `row` over the stored lead with the same id, its version one more.
pub fn update(conn: &mut DbConnection, row: &LeadRow) -> Result<LeadRow, PersistenceError> {
    let mut row = row.clone();
    row.version += 1;
    row.updated_at = DbTime(crate::now());
    diesel::update(leads::table.find(row.id))
        .set(&row)
        .execute(conn)?;
    crate::contact_points::sync_lead(conn, row.id.0, &row.emails.0, &row.phones.0)?;
    Ok(row)
}

/// Hands the lead just written in this transaction to `owner` in `team`, keeping its
/// version: the owner a rule picks belongs to the same write as the lead.
pub fn set_owner(
    conn: &mut DbConnection,
    id: Uuid,
    owner: Uuid,
    team: Option<Uuid>,
) -> Result<(), PersistenceError> {
    diesel::update(leads::table.find(DbUuid(id)))
        .set((
            leads::owner_id.eq(DbUuid(owner)),
            leads::team_id.eq(team.map(DbUuid)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    crate::record_shares::forget_records(conn, domain::partners::SharedKind::Lead, &[id])?;
    diesel::delete(leads::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Deletes the leads `ids` with everything that cascades from them; answers how many.
pub fn delete_many(conn: &mut DbConnection, ids: &[Uuid]) -> Result<usize, PersistenceError> {
    crate::record_shares::forget_records(conn, domain::partners::SharedKind::Lead, ids)?;
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        deleted += diesel::delete(leads::table.filter(leads::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

/// Anonymises the leads `ids` (retention): the name becomes `placeholder`; names,
/// company, title, phones, e-mails, description and custom fields go, with the lead's
/// contact points. Source, campaign, place, status, owner, scores and dates stay for
/// the reports. Answers how many.
pub fn anonymise(
    conn: &mut DbConnection,
    ids: &[Uuid],
    placeholder: &str,
) -> Result<usize, PersistenceError> {
    let mut anonymised = 0;
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        diesel::delete(
            lead_contact_points::table.filter(lead_contact_points::lead_id.eq_any(&chunk)),
        )
        .execute(conn)?;
        anonymised += diesel::update(leads::table.filter(leads::id.eq_any(&chunk)))
            .set((
                leads::first_name.eq(None::<String>),
                leads::last_name.eq(None::<String>),
                leads::company.eq(None::<String>),
                leads::job_title.eq(None::<String>),
                leads::phones.eq(DbJson(serde_json::json!([]))),
                leads::emails.eq(DbJson(serde_json::json!([]))),
                leads::description.eq(None::<String>),
                leads::disqualified_reason.eq(None::<String>),
                leads::custom_fields.eq(DbJson(serde_json::json!({}))),
                leads::display_name.eq(placeholder),
                leads::search_text.eq(""),
                leads::version.eq(leads::version + 1),
            ))
            .execute(conn)?;
    }
    Ok(anonymised)
}

/// The leads converted into `customer` (as the person or the organization), oldest
/// first: a customer's history from before it was one.
pub fn converted_into(
    conn: &mut DbConnection,
    customer: Uuid,
) -> Result<Vec<LeadRow>, PersistenceError> {
    let id = DbUuid(customer);
    Ok(leads::table
        .filter(
            leads::converted_customer_id
                .eq(id)
                .or(leads::converted_organization_id.eq(id)),
        )
        .order((leads::created_at, leads::id))
        .select(LeadRow::as_select())
        .load(conn)?)
}

/// The leads among `ids` that exist.
pub fn find_many(conn: &mut DbConnection, ids: &[Uuid]) -> Result<Vec<LeadRow>, PersistenceError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        found.extend(
            leads::table
                .filter(leads::id.eq_any(chunk.iter().copied().map(DbUuid)))
                .select(LeadRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// Whether the lead `id` meets `filter` (an assignment or scoring rule's condition),
/// asked of the database so that a rule means exactly what the same filter means in a
/// search.
pub fn matches(
    conn: &mut DbConnection,
    id: Uuid,
    filter: &domain::filter::ResolvedFilter,
) -> Result<bool, SearchError> {
    let found: i64 = leads::table
        .filter(leads::id.eq(DbUuid(id)))
        .filter(crate::filter::condition::<LeadColumns>(filter)?)
        .count()
        .get_result(conn)
        .map_err(PersistenceError::from)?;
    Ok(found > 0)
}

/// How many open leads (`statuses`) each of `owners` holds; owners with none are
/// absent.
pub fn open_counts(
    conn: &mut DbConnection,
    owners: &[Uuid],
    statuses: &[&str],
) -> Result<std::collections::HashMap<Uuid, i64>, PersistenceError> {
    let ids: Vec<DbUuid> = owners.iter().copied().map(DbUuid).collect();
    Ok(leads::table
        .filter(leads::owner_id.eq_any(ids))
        .filter(leads::status.eq_any(statuses))
        .group_by(leads::owner_id)
        .select((leads::owner_id, diesel::dsl::count_star()))
        .load::<(Option<DbUuid>, i64)>(conn)?
        .into_iter()
        .filter_map(|(owner, count)| owner.map(|owner| (owner.0, count)))
        .collect())
}

/// Column mapping of the leads catalogue.
pub struct LeadColumns;

impl SearchTable for LeadColumns {
    type Table = leads::table;

    fn column(field: &str) -> Option<SearchColumn<leads::table>> {
        use leads as l;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(l::id.nullable())),
            "first_name" => SearchColumn::Text(|| Box::new(l::first_name)),
            "last_name" => SearchColumn::Text(|| Box::new(l::last_name)),
            "company" => SearchColumn::Text(|| Box::new(l::company)),
            "job_title" => SearchColumn::Text(|| Box::new(l::job_title)),
            "province" => SearchColumn::Text(|| Box::new(l::province)),
            "city" => SearchColumn::Text(|| Box::new(l::city)),
            "source" => SearchColumn::Text(|| Box::new(l::source)),
            "campaign" => SearchColumn::Text(|| Box::new(l::campaign)),
            "language" => SearchColumn::Text(|| Box::new(l::language)),
            "product_id" => SearchColumn::Uuid(|| Box::new(l::product_id)),
            "status" => SearchColumn::Text(|| Box::new(l::status.nullable())),
            "display_name" => SearchColumn::Text(|| Box::new(l::display_name.nullable())),
            "owner_id" => SearchColumn::Uuid(|| Box::new(l::owner_id)),
            "team_id" => SearchColumn::Uuid(|| Box::new(l::team_id)),
            "converted_customer_id" => SearchColumn::Uuid(|| Box::new(l::converted_customer_id)),
            "converted_at" => SearchColumn::Timestamp(|| Box::new(l::converted_at)),
            "created_by" => SearchColumn::Uuid(|| Box::new(l::created_by)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(l::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(l::updated_at.nullable())),
            "score_points" => SearchColumn::Integer(|| Box::new(l::score_points.nullable())),
            "propensity" => SearchColumn::Double(|| Box::new(l::propensity)),
            _ => return None,
        })
    }

    fn related_condition(
        field: &str,
        predicate: &Predicate,
    ) -> Option<Result<Condition<leads::table>, FilterError>> {
        if field == "list_id" {
            return Some(list_condition(predicate));
        }
        crate::custom_values::condition(field, predicate, "leads.custom_fields")
    }
}

/// How many leads hold a value for custom field `key`.
pub fn count_with_custom_value(
    conn: &mut DbConnection,
    key: &str,
) -> Result<i64, PersistenceError> {
    crate::custom_values::count_holding(conn, "leads", key)
}

/// `list_id` conditions: whether the lead is in the list(s).
fn list_condition(predicate: &Predicate) -> Result<Condition<leads::table>, FilterError> {
    let ids = |values: &[TypedValue]| -> Result<Vec<DbUuid>, FilterError> {
        values
            .iter()
            .map(|value| match value {
                TypedValue::Uuid(id) => Ok(DbUuid(*id)),
                _ => Err(FilterError::ColumnMismatch("list_id".into())),
            })
            .collect()
    };
    let member = |ids: Vec<DbUuid>, present: bool| -> Condition<leads::table> {
        let membership = diesel::dsl::exists(
            lead_list_members::table
                .filter(lead_list_members::lead_id.eq(leads::id))
                .filter(lead_list_members::list_id.eq_any(ids)),
        );
        if present {
            Box::new(membership.nullable())
        } else {
            Box::new(diesel::dsl::not(membership).nullable())
        }
    };
    Ok(match predicate {
        Predicate::Eq(value) => member(ids(std::slice::from_ref(value))?, true),
        Predicate::In(values) => member(ids(values)?, true),
        Predicate::Neq(value) => member(ids(std::slice::from_ref(value))?, false),
        Predicate::NotIn(values) => member(ids(values)?, false),
        // The catalogue offers only the comparisons above for `list_id`.
        _ => return Err(FilterError::ColumnMismatch("list_id".into())),
    })
}

/// `query` narrowed to the leads `scope` may see: their owner's or team's, as for
/// customers.
fn visible_to<'a, ST: 'a>(
    query: leads::BoxedQuery<'a, MultiBackend, ST>,
    scope: &Scope,
) -> leads::BoxedQuery<'a, MultiBackend, ST> {
    let me = DbUuid(scope.user_id);
    match (scope.visibility, scope.team_id) {
        (Visibility::All, _) => query,
        _ if scope.partner_id.is_some() => query.filter(leads::owner_id.eq(me).or(
            leads::id.eq_any(crate::shared_with!(
                scope.partner_id.unwrap_or_default(),
                domain::partners::SharedKind::Lead
            )),
        )),
        (Visibility::Own, _) | (Visibility::Team, None) => query.filter(leads::owner_id.eq(me)),
        (Visibility::Team, Some(team)) => {
            query.filter(leads::owner_id.eq(me).or(leads::team_id.eq(DbUuid(team))))
        }
    }
}

/// How many leads `scope` may see match `criteria` and every quick-search term (an
/// export's progress).
pub fn count(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    terms: &[String],
    scope: &Scope,
) -> Result<i64, SearchError> {
    let mut query = visible_to(
        leads::table
            .select(diesel::dsl::count_star())
            .into_boxed::<MultiBackend>(),
        scope,
    );
    for term in terms {
        query = query.filter(
            leads::search_text
                .like(format!("%{}%", like_escape(term)))
                .escape('\\'),
        );
    }
    if let Some(filter) = &criteria.filter {
        query = query.filter(crate::filter::condition::<LeadColumns>(filter)?);
    }
    Ok(query.get_result(conn).map_err(PersistenceError::from)?)
}

/// The next `limit` leads `scope` may see that match `criteria` and every quick-search
/// term (each reduced by `domain::persian::search_terms`, looked for in the search text).
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    terms: &[String],
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<LeadRow>, SearchError> {
    let mut query = visible_to(
        leads::table
            .select(LeadRow::as_select())
            .into_boxed::<MultiBackend>(),
        scope,
    );
    for term in terms {
        query = query.filter(
            leads::search_text
                .like(format!("%{}%", like_escape(term)))
                .escape('\\'),
        );
    }
    let query = apply_search::<LeadColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(PersistenceError::from)?)
}
