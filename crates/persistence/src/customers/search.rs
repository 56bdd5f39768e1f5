//! `POST /api/v1/customers/search` in storage: the customers catalogue for the shared
//! filter translation, conditions on related rows (phones, e-mails, tags, groups, custom
//! fields), record visibility, and the Persian-aware quick search.
//!
//! Quick search matches each term of `q` (reduced by `domain::persian::search_terms`)
//! as a substring of `customers.search_text`, which holds the same reduction of the
//! customer's identifying fields. PostgreSQL answers `LIKE '%term%'` from a pg_trgm GIN
//! index; SQLite answers terms of three or more characters from an FTS5 trigram index
//! (see the migration), unless they are so common that checking rows in sort order is
//! faster ([`QuickSearch::plan`]), and shorter ones by scanning.

use chrono::NaiveDate;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Date, Double, Nullable, Text};
use domain::authz::Visibility;
use domain::filter::{Predicate, SearchCriteria, TypedValue};
use domain::partners::SharedKind;
use uuid::Uuid;

use super::CustomerRow;
use crate::db::{DbConnection, MultiBackend};
use crate::filter::{
    apply_search, like_escape, Condition, FilterError, Keyset, SearchColumn, SearchError,
    SearchTable,
};
use crate::schema::customers;
use crate::sql_types::{DbUuid, Uuid as SqlUuid};
use crate::PersistenceError;

/// Prefix of custom-field names in the catalogue: `custom.<key>`.
pub const CUSTOM_FIELD_PREFIX: &str = "custom.";

/// The open spells of segment membership, as a table of `customer_id`s: a customer
/// is a member of a segment now exactly when one of its spells has not ended.
const CURRENT_MEMBERSHIPS: &str =
    "(SELECT customer_id, segment_id FROM segment_memberships WHERE left_at IS NULL) AS current_memberships";

/// Column mapping of the customers catalogue.
pub struct CustomerColumns;

impl SearchTable for CustomerColumns {
    type Table = customers::table;

    fn column(field: &str) -> Option<SearchColumn<customers::table>> {
        use customers as c;
        Some(match field {
            "id" => SearchColumn::Uuid(|| Box::new(c::id.nullable())),
            "kind" => SearchColumn::Text(|| Box::new(c::kind.nullable())),
            "code" => SearchColumn::Text(|| Box::new(c::code)),
            "display_name" => SearchColumn::Text(|| Box::new(c::display_name.nullable())),
            "title" => SearchColumn::Text(|| Box::new(c::title)),
            "gender" => SearchColumn::Text(|| Box::new(c::gender)),
            "first_name" => SearchColumn::Text(|| Box::new(c::first_name)),
            "last_name" => SearchColumn::Text(|| Box::new(c::last_name)),
            "organization_name" => SearchColumn::Text(|| Box::new(c::organization_name)),
            "industry" => SearchColumn::Text(|| Box::new(c::industry)),
            "website" => SearchColumn::Text(|| Box::new(c::website)),
            "primary_email" => SearchColumn::Text(|| Box::new(c::primary_email)),
            "primary_phone" => SearchColumn::Text(|| Box::new(c::primary_phone)),
            "province" => SearchColumn::Text(|| Box::new(c::province)),
            "city" => SearchColumn::Text(|| Box::new(c::city)),
            "postal_code" => SearchColumn::Text(|| Box::new(c::postal_code)),
            "national_code" => SearchColumn::Text(|| Box::new(c::national_code)),
            "national_id" => SearchColumn::Text(|| Box::new(c::national_id)),
            "birth_certificate_number" => {
                SearchColumn::Text(|| Box::new(c::birth_certificate_number))
            }
            "birth_date" => SearchColumn::Date(|| Box::new(c::birth_date)),
            "marriage_date" => SearchColumn::Date(|| Box::new(c::marriage_date)),
            "founding_date" => SearchColumn::Date(|| Box::new(c::founding_date)),
            "field_of_study" => SearchColumn::Text(|| Box::new(c::field_of_study)),
            "degree" => SearchColumn::Text(|| Box::new(c::degree)),
            "owner_id" => SearchColumn::Uuid(|| Box::new(c::owner_id)),
            "team_id" => SearchColumn::Uuid(|| Box::new(c::team_id)),
            "tier_id" => SearchColumn::Uuid(|| Box::new(c::tier_id)),
            "lifecycle_stage" => SearchColumn::Text(|| Box::new(c::lifecycle_stage.nullable())),
            "lifecycle_changed_at" => {
                SearchColumn::Timestamp(|| Box::new(c::lifecycle_changed_at.nullable()))
            }
            "acquisition_source" => SearchColumn::Text(|| Box::new(c::acquisition_source)),
            "acquisition_channel" => SearchColumn::Text(|| Box::new(c::acquisition_channel)),
            "acquisition_campaign" => SearchColumn::Text(|| Box::new(c::acquisition_campaign)),
            "referred_by_customer_id" => {
                SearchColumn::Uuid(|| Box::new(c::referred_by_customer_id))
            }
            "referred_by_user_id" => SearchColumn::Uuid(|| Box::new(c::referred_by_user_id)),
            "erased_at" => SearchColumn::Timestamp(|| Box::new(c::erased_at)),
            "created_by" => SearchColumn::Uuid(|| Box::new(c::created_by)),
            "created_at" => SearchColumn::Timestamp(|| Box::new(c::created_at.nullable())),
            "updated_at" => SearchColumn::Timestamp(|| Box::new(c::updated_at.nullable())),
            "order_count" => SearchColumn::Integer(|| Box::new(c::order_count.nullable())),
            "revenue" => SearchColumn::Integer(|| Box::new(c::revenue.nullable())),
            "first_order_at" => SearchColumn::Timestamp(|| Box::new(c::first_order_at)),
            "last_order_at" => SearchColumn::Timestamp(|| Box::new(c::last_order_at)),
            "score.rfm_recency" => SearchColumn::Integer(|| Box::new(c::rfm_recency)),
            "score.rfm_frequency" => SearchColumn::Integer(|| Box::new(c::rfm_frequency)),
            "score.rfm_monetary" => SearchColumn::Integer(|| Box::new(c::rfm_monetary)),
            "score.rfm_segment" => SearchColumn::Text(|| Box::new(c::rfm_segment)),
            "score.rfm_run_id" => SearchColumn::Uuid(|| Box::new(c::rfm_run_id)),
            "score.p_alive" => SearchColumn::Double(|| Box::new(c::p_alive)),
            "score.expected_purchases" => SearchColumn::Double(|| Box::new(c::expected_purchases)),
            "score.expected_spend" => SearchColumn::Integer(|| Box::new(c::expected_spend)),
            "score.clv" => SearchColumn::Integer(|| Box::new(c::clv)),
            "score.clv_run_id" => SearchColumn::Uuid(|| Box::new(c::clv_run_id)),
            "score.cluster" => SearchColumn::Integer(|| Box::new(c::cluster)),
            "score.cluster_run_id" => SearchColumn::Uuid(|| Box::new(c::cluster_run_id)),
            "score.churn_risk" => SearchColumn::Double(|| Box::new(c::churn_risk)),
            "score.churn_run_id" => SearchColumn::Uuid(|| Box::new(c::churn_run_id)),
            _ => return None,
        })
    }

    fn related_condition(
        field: &str,
        predicate: &Predicate,
    ) -> Option<Result<Condition<customers::table>, FilterError>> {
        if let Some(sentiment) = super::sentiment::SentimentMatch::of(field, predicate) {
            return Some(sentiment.map(|m| -> Condition<_> { Box::new(m) }));
        }
        if let Some(events) = super::engagement::EngagementMatch::of(field, predicate) {
            return Some(events.map(|m| -> Condition<_> { Box::new(m) }));
        }
        let (table, column, field_key) = match field {
            "segment_id" => (CURRENT_MEMBERSHIPS, "segment_id", None),
            "phone" => ("customer_phones", "number", None),
            "email" => ("customer_emails", "address", None),
            "tag_id" | "group_id" => ("customer_labels", "label_id", None),
            _ => {
                let key = field.strip_prefix(CUSTOM_FIELD_PREFIX)?;
                ("customer_custom_values", "", Some(key.to_string()))
            }
        };
        Some(
            RelatedMatch::new(field, table, column, field_key, predicate)
                .map(|m| -> Condition<_> { Box::new(m) }),
        )
    }
}

/// A value bound into a [`RelatedMatch`].
#[derive(Debug, Clone)]
enum Bound {
    Text(String),
    Uuid(DbUuid),
    Integer(i64),
    Double(f64),
    Date(NaiveDate),
    Bool(bool),
}

impl Bound {
    /// The value, and for custom fields the typed column it is compared with.
    fn of(value: &TypedValue) -> (Bound, &'static str) {
        match value {
            TypedValue::Text(text) => (Bound::Text(text.clone()), "text_value"),
            TypedValue::Uuid(id) => (Bound::Uuid(DbUuid(*id)), "text_value"),
            TypedValue::Integer(number) => (Bound::Integer(*number), "int_value"),
            // No custom field holds decimals; a number compares with the whole values.
            TypedValue::Number(number) => (Bound::Double(number.get()), "int_value"),
            TypedValue::Bool(flag) => (Bound::Bool(*flag), "bool_value"),
            TypedValue::Date(date) => (Bound::Date(*date), "date_value"),
            TypedValue::Timestamp(at) => (Bound::Date(at.date_naive()), "date_value"),
        }
    }

    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        match self {
            Bound::Text(text) => out.push_bind_param::<Text, _>(text),
            Bound::Uuid(id) => out.push_bind_param::<SqlUuid, _>(id),
            Bound::Integer(number) => out.push_bind_param::<BigInt, _>(number),
            Bound::Double(number) => out.push_bind_param::<Double, _>(number),
            Bound::Date(date) => out.push_bind_param::<Date, _>(date),
            Bound::Bool(flag) => out.push_bind_param::<Bool, _>(flag),
        }
    }
}

#[derive(Debug, Clone)]
enum Test {
    /// Any row of the related table (for the custom field: any value) exists.
    Exists,
    Compare(&'static str, Bound),
    AnyOf(Vec<Bound>),
    Like(String),
}

/// `customers.id [NOT] IN (SELECT customer_id FROM <table> WHERE [field_key = ? AND]
/// <column> <test>)`: a condition on rows related to the customer.
#[derive(Debug, Clone)]
pub struct RelatedMatch {
    negated: bool,
    table: &'static str,
    column: &'static str,
    field_key: Option<String>,
    test: Test,
}

impl RelatedMatch {
    fn new(
        field: &str,
        table: &'static str,
        column: &'static str,
        field_key: Option<String>,
        predicate: &Predicate,
    ) -> Result<RelatedMatch, FilterError> {
        let normalise = |value: &TypedValue| -> TypedValue { normalise_related(field, value) };
        let mut column = column;
        let mut typed_column = |value: &TypedValue| {
            let (bound, custom_column) = Bound::of(&normalise(value));
            if field_key.is_some() {
                column = custom_column;
            }
            bound
        };
        let (negated, test) = match predicate {
            Predicate::Eq(v) => (false, Test::Compare("=", typed_column(v))),
            Predicate::Neq(v) => (true, Test::Compare("=", typed_column(v))),
            Predicate::Lt(v) => (false, Test::Compare("<", typed_column(v))),
            Predicate::Lte(v) => (false, Test::Compare("<=", typed_column(v))),
            Predicate::Gt(v) => (false, Test::Compare(">", typed_column(v))),
            Predicate::Gte(v) => (false, Test::Compare(">=", typed_column(v))),
            Predicate::In(vs) => (
                false,
                Test::AnyOf(vs.iter().map(&mut typed_column).collect()),
            ),
            Predicate::NotIn(vs) => (
                true,
                Test::AnyOf(vs.iter().map(&mut typed_column).collect()),
            ),
            Predicate::Contains(needle) => {
                let needle = related_needle(field, needle);
                if field_key.is_some() {
                    column = "text_value";
                }
                (false, Test::Like(format!("%{}%", like_escape(&needle))))
            }
            Predicate::StartsWith(prefix) => {
                let prefix = related_needle(field, prefix);
                if field_key.is_some() {
                    column = "text_value";
                }
                (false, Test::Like(format!("{}%", like_escape(&prefix))))
            }
            Predicate::IsNull(is_null) => (*is_null, Test::Exists),
        };
        if matches!(&test, Test::AnyOf(values) if values.is_empty()) {
            return Err(FilterError::ColumnMismatch(field.to_string()));
        }
        Ok(RelatedMatch {
            negated,
            table,
            column,
            field_key,
            test,
        })
    }
}

/// Phones compare in E.164 and e-mails in lower case, as they are stored.
fn normalise_related(field: &str, value: &TypedValue) -> TypedValue {
    match (field, value) {
        ("phone", TypedValue::Text(text)) => domain::iran::normalize_phone(text)
            .map(|phone| TypedValue::Text(phone.e164))
            .unwrap_or_else(|_| value.clone()),
        ("email", TypedValue::Text(text)) => TypedValue::Text(text.trim().to_lowercase()),
        _ => value.clone(),
    }
}

/// A phone fragment as people type it (`0912…`, `00…`, Persian digits) in the stored
/// E.164 spelling; other text lower-cased.
fn related_needle(field: &str, needle: &str) -> String {
    let text = domain::persian::normalize_digits(needle.trim());
    if field != "phone" {
        return text.to_lowercase();
    }
    if let Some(rest) = text.strip_prefix("00") {
        format!("+{rest}")
    } else if let Some(rest) = text.strip_prefix('0') {
        format!("+98{rest}")
    } else {
        text
    }
}

impl Expression for RelatedMatch {
    type SqlType = Nullable<Bool>;
}

impl AppearsOnTable<customers::table> for RelatedMatch {}
impl SelectableExpression<customers::table> for RelatedMatch {}

impl ValidGrouping<()> for RelatedMatch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for RelatedMatch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for RelatedMatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        // The negation is an anti-join (`NOT EXISTS`, correlated on the customer), which
        // PostgreSQL plans as one; `NOT IN` over a subquery it cannot, and at scale
        // rereads the subquery per customer once it outgrows `work_mem`.
        out.push_sql(if self.negated {
            "NOT EXISTS (SELECT 1 FROM "
        } else {
            "customers.id IN (SELECT customer_id FROM "
        });
        out.push_sql(self.table);
        let mut first = true;
        if self.negated {
            out.push_sql(" WHERE customer_id = customers.id");
            first = false;
        }
        let mut clause = |out: &mut AstPass<'_, 'b, MultiBackend>| {
            out.push_sql(if first { " WHERE " } else { " AND " });
            first = false;
        };
        if let Some(key) = &self.field_key {
            clause(&mut out);
            out.push_sql("field_key = ");
            out.push_bind_param::<Text, _>(key)?;
        }
        match &self.test {
            Test::Exists => {}
            Test::Compare(op, value) => {
                clause(&mut out);
                out.push_sql(self.column);
                out.push_sql(" ");
                out.push_sql(op);
                out.push_sql(" ");
                value.walk(&mut out)?;
            }
            Test::AnyOf(values) => {
                clause(&mut out);
                out.push_sql(self.column);
                out.push_sql(" IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(", ");
                    }
                    value.walk(&mut out)?;
                }
                out.push_sql(")");
            }
            Test::Like(pattern) => {
                clause(&mut out);
                out.push_sql("lower(");
                out.push_sql(self.column);
                out.push_sql(") LIKE ");
                out.push_bind_param::<Text, _>(pattern)?;
                out.push_sql(" ESCAPE '\\'");
            }
        }
        out.push_sql(")");
        Ok(())
    }
}

/// The quick-search condition: every term is a substring of the customer's search text.
#[derive(Debug, Clone)]
pub struct QuickSearch {
    /// SQLite FTS5 expression for the terms its trigram index answers.
    fts_match: Option<String>,
    /// `LIKE` patterns for the other terms.
    like_patterns: Vec<String>,
}

/// Shortest term the SQLite trigram index can answer.
const TRIGRAM: usize = 3;

/// Matches at which SQLite stops reading the trigram index and checks rows in sort
/// order instead (see [`QuickSearch::plan`]).
const FREQUENT_MATCHES: i64 = 2_000;

impl QuickSearch {
    /// How to answer `terms`. PostgreSQL's planner chooses between its trigram index and
    /// walking the sort order itself. SQLite's does not: an `IN` over the FTS5 index
    /// reads every match before sorting, which is fast for a rare term and slow for a
    /// common one (a surname of 2 % of a million customers: 20,000 matches, ~100 ms),
    /// while checking rows in sort order is the reverse. So on SQLite the index is first
    /// asked for at most [`FREQUENT_MATCHES`] matches: fewer means a rare term, answered
    /// from the index; that many means every fiftieth-or-so row matches, and walking the
    /// sort order with `LIKE` finds a page after a few thousand rows.
    pub fn plan(
        conn: &mut DbConnection,
        terms: Vec<String>,
    ) -> Result<QuickSearch, PersistenceError> {
        let (indexed, mut scanned): (Vec<String>, Vec<String>) = match conn {
            DbConnection::Sqlite(_) => terms
                .into_iter()
                .partition(|term| term.chars().count() >= TRIGRAM),
            DbConnection::Postgres(_) => (Vec::new(), terms),
        };
        // Terms are search keys (letters and digits only), so quoting them as FTS5
        // phrases needs no escaping.
        let mut fts_match = (!indexed.is_empty()).then(|| {
            indexed
                .iter()
                .map(|term| format!("\"{term}\""))
                .collect::<Vec<_>>()
                .join(" AND ")
        });
        if let Some(expression) = &fts_match {
            if fts_matches_at_least(conn, expression, FREQUENT_MATCHES)? {
                fts_match = None;
                scanned.extend(indexed);
            }
        }
        Ok(QuickSearch {
            fts_match,
            like_patterns: scanned
                .iter()
                .map(|term| format!("%{}%", like_escape(term)))
                .collect(),
        })
    }
}

/// Whether the SQLite trigram index holds at least `matches` matches of `expression`;
/// reads no further than that.
fn fts_matches_at_least(
    conn: &mut DbConnection,
    expression: &str,
    matches: i64,
) -> Result<bool, PersistenceError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = BigInt)]
        found: i64,
    }
    let found: Found = diesel::sql_query(
        "SELECT count(*) AS found FROM \
         (SELECT rowid FROM customer_search WHERE customer_search MATCH ? LIMIT ?)",
    )
    .bind::<Text, _>(expression)
    .bind::<BigInt, _>(matches)
    .get_result(conn)?;
    Ok(found.found >= matches)
}

impl Expression for QuickSearch {
    type SqlType = Nullable<Bool>;
}

impl AppearsOnTable<customers::table> for QuickSearch {}
impl SelectableExpression<customers::table> for QuickSearch {}

impl ValidGrouping<()> for QuickSearch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for QuickSearch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for QuickSearch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("(1 = 1");
        if let Some(expression) = &self.fts_match {
            out.push_sql(
                " AND customers.id IN (SELECT customer_id FROM customer_search_docs WHERE rowid IN \
                 (SELECT rowid FROM customer_search WHERE customer_search MATCH ",
            );
            out.push_bind_param::<Text, _>(expression)?;
            out.push_sql("))");
        }
        for pattern in &self.like_patterns {
            out.push_sql(" AND customers.search_text LIKE ");
            out.push_bind_param::<Text, _>(pattern)?;
            out.push_sql(" ESCAPE '\\'");
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A boxed query `$query` narrowed by its column `$customer_id` to the customers
/// `$scope` may see: the rule as a subquery (concrete types, which every backend of the
/// multi-connection can write), which the planner turns into a semi-join on the owner
/// and team indexes. For the records seen through their customer: orders, feedback,
/// survey invitations.
#[macro_export]
macro_rules! seen_through_customer {
    ($query:expr, $customer_id:expr, $scope:expr) => {{
        use diesel::prelude::*;
        use $crate::schema::customers;
        let scope: &$crate::customers::search::Scope = $scope;
        let me = $crate::sql_types::DbUuid(scope.user_id);
        match (scope.visibility, scope.team_id) {
            (domain::authz::Visibility::All, _) => $query,
            _ if scope.partner_id.is_some() => {
                let partner = scope.partner_id.unwrap_or_default();
                let visible =
                    customers::table
                        .select(customers::id)
                        .filter(customers::owner_id.eq(me).or(customers::id.eq_any(
                            $crate::shared_with!(partner, domain::partners::SharedKind::Customer),
                        )));
                $query.filter($customer_id.eq_any(visible))
            }
            (domain::authz::Visibility::Own, _) | (domain::authz::Visibility::Team, None) => {
                let visible = customers::table
                    .select(customers::id)
                    .filter(customers::owner_id.eq(me));
                $query.filter($customer_id.eq_any(visible))
            }
            (domain::authz::Visibility::Team, Some(team)) => {
                let visible = customers::table.select(customers::id).filter(
                    customers::owner_id
                        .eq(me)
                        .or(customers::team_id.eq($crate::sql_types::DbUuid(team))),
                );
                $query.filter($customer_id.eq_any(visible))
            }
        }
    }};
}

/// Which customers a principal may see, as a condition on owner and team. A
/// partner's user has `own` visibility and sees besides what is shared with its
/// partner (`crate::partners`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub visibility: Visibility,
    pub user_id: Uuid,
    pub team_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
}

impl Scope {
    /// The rule as a condition on `customers`, `None` for whoever sees everyone.
    pub(crate) fn condition(
        &self,
    ) -> Option<Box<dyn BoxableExpression<customers::table, MultiBackend, SqlType = Bool>>> {
        let me = DbUuid(self.user_id);
        match (self.visibility, self.team_id) {
            (Visibility::All, _) => None,
            _ if self.partner_id.is_some() => Some(Box::new(
                customers::owner_id
                    .eq(me)
                    .or(customers::id.eq_any(crate::shared_with!(
                        self.partner_id.unwrap_or_default(),
                        SharedKind::Customer
                    )))
                    .assume_not_null(),
            )),
            (Visibility::Own, _) | (Visibility::Team, None) => {
                Some(Box::new(customers::owner_id.eq(me).assume_not_null()))
            }
            (Visibility::Team, Some(team)) => Some(Box::new(
                customers::owner_id
                    .eq(me)
                    .or(customers::team_id.eq(DbUuid(team)))
                    .assume_not_null(),
            )),
        }
    }

    /// The single-record form of the same rule, shares aside: a partner's user may
    /// see more (`crate::partners::access` says which).
    pub fn can_see(&self, row: &CustomerRow) -> bool {
        domain::authz::can_see(
            self.visibility,
            self.user_id,
            self.team_id,
            row.owner_id.map(|id| id.0),
            row.team_id.map(|id| id.0),
        )
    }
}

/// At most `limit` visible, unmerged customers matching `criteria` and quick-search
/// `terms`, after `after`, in the requested order.
pub fn search(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    terms: Vec<String>,
    scope: &Scope,
    after: Option<&Keyset>,
    limit: i64,
) -> Result<Vec<CustomerRow>, SearchError> {
    let query = customers::table
        .select(CustomerRow::as_select())
        .into_boxed::<MultiBackend>();
    let query = visible(query, quick_search(conn, terms)?, scope);
    let query = apply_search::<CustomerColumns, _>(query, criteria, after)?;
    Ok(query
        .limit(limit)
        .load(conn)
        .map_err(crate::PersistenceError::from)?)
}

/// The rows among `ids` the scope may see (bulk operations by id).
pub fn visible_rows(
    conn: &mut DbConnection,
    ids: &[Uuid],
    scope: &Scope,
) -> Result<Vec<CustomerRow>, crate::PersistenceError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let mut query = customers::table
            .select(CustomerRow::as_select())
            .filter(customers::id.eq_any(chunk))
            .filter(customers::merged_into_id.is_null())
            .into_boxed::<MultiBackend>();
        if let Some(condition) = scope.condition() {
            query = query.filter(condition);
        }
        rows.extend(query.load(conn)?);
    }
    Ok(rows)
}

/// Which of `ids` are customers the scope may see, merged ones included (as a lookup
/// by id finds them), e.g. to check references a caller gives.
pub fn visible_ids(
    conn: &mut DbConnection,
    ids: &[Uuid],
    scope: &Scope,
) -> Result<Vec<Uuid>, crate::PersistenceError> {
    let mut visible = Vec::new();
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let mut query = customers::table
            .select(customers::id)
            .filter(customers::id.eq_any(chunk))
            .into_boxed::<MultiBackend>();
        if let Some(condition) = scope.condition() {
            query = query.filter(condition);
        }
        visible.extend(query.load::<DbUuid>(conn)?.into_iter().map(|id| id.0));
    }
    Ok(visible)
}

/// How many customers [`search`] finds in all (its filter, without order or paging),
/// e.g. to report an export's progress.
pub fn count(
    conn: &mut DbConnection,
    criteria: &SearchCriteria,
    terms: Vec<String>,
    scope: &Scope,
) -> Result<i64, SearchError> {
    let query = customers::table
        .select(diesel::dsl::count_star())
        .into_boxed::<MultiBackend>();
    let mut query = visible(query, quick_search(conn, terms)?, scope);
    if let Some(filter) = &criteria.filter {
        query = query.filter(crate::filter::condition::<CustomerColumns>(filter)?);
    }
    Ok(query
        .get_result(conn)
        .map_err(crate::PersistenceError::from)?)
}

fn quick_search(
    conn: &mut DbConnection,
    terms: Vec<String>,
) -> Result<Option<QuickSearch>, PersistenceError> {
    if terms.is_empty() {
        return Ok(None);
    }
    QuickSearch::plan(conn, terms).map(Some)
}

/// `query` narrowed to the unmerged customers `scope` may see that match `quick`.
fn visible<'a, ST>(
    query: customers::BoxedQuery<'a, MultiBackend, ST>,
    quick: Option<QuickSearch>,
    scope: &Scope,
) -> customers::BoxedQuery<'a, MultiBackend, ST> {
    let mut query = query.filter(customers::merged_into_id.is_null());
    if let Some(condition) = scope.condition() {
        query = query.filter(condition);
    }
    if let Some(quick) = quick {
        query = query.filter(quick);
    }
    query
}
