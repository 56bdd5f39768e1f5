//! The customers catalogue of the search convention: every stored field, related
//! phones/e-mails/tags/groups, `custom.<key>` for each custom field, the engagement
//! score and `event.<name>.count|first_at|last_at` for each event name; sorting by the
//! indexed fields; the Persian-aware quick search.

use domain::customers::{CustomerKind, EducationDegree, Gender, LifecycleStage};
use domain::filter::{FieldKind, FieldSpec, ResolveContext, ResolvedFilter, TypedValue};
use domain::validation::FieldViolation;
use persistence::customers::engagement::{ENGAGEMENT_FIELD, EVENT_FACTS, EVENT_FIELD_PREFIX};
use persistence::customers::search::{self as customer_search, CustomerColumns, Scope};
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use uuid::Uuid;

use crate::error::AppResult;
use crate::search::{custom_field_specs, interned, Search, SearchRequest, Searchable};

/// The customers catalogue of the search convention.
pub struct CustomerSearch;

impl Searchable for CustomerSearch {
    type Columns = CustomerColumns;
    // Whole records, so that a page converts them without looking them up again.
    type Row = CustomerRecord;

    // Sortable fields are the columns with an index that ends in (…, id); a nullable
    // one sorts its nulls first (see `persistence::filter`), and its PostgreSQL index is
    // `(column NULLS FIRST, id)`.
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("kind", FieldKind::Enum(CustomerKind::NAMES)),
        FieldSpec::new("code", FieldKind::Text).nullable(),
        FieldSpec::new("display_name", FieldKind::Text).sortable(),
        FieldSpec::new("title", FieldKind::Text).nullable(),
        FieldSpec::new("gender", FieldKind::Enum(Gender::NAMES)).nullable(),
        FieldSpec::new("first_name", FieldKind::Text).nullable(),
        FieldSpec::new("last_name", FieldKind::Text).nullable(),
        FieldSpec::new("organization_name", FieldKind::Text).nullable(),
        FieldSpec::new("industry", FieldKind::Text).nullable(),
        FieldSpec::new("website", FieldKind::Text).nullable(),
        FieldSpec::new("primary_email", FieldKind::Text).nullable(),
        FieldSpec::new("primary_phone", FieldKind::Text).nullable(),
        FieldSpec::new("phone", FieldKind::Text).nullable(),
        FieldSpec::new("email", FieldKind::Text).nullable(),
        FieldSpec::new("province", FieldKind::Text).nullable(),
        FieldSpec::new("city", FieldKind::Text).nullable(),
        FieldSpec::new("postal_code", FieldKind::Text).nullable(),
        FieldSpec::new("national_code", FieldKind::Text).nullable(),
        FieldSpec::new("national_id", FieldKind::Text).nullable(),
        FieldSpec::new("birth_certificate_number", FieldKind::Text).nullable(),
        FieldSpec::new("birth_date", FieldKind::Date).nullable(),
        FieldSpec::new("marriage_date", FieldKind::Date).nullable(),
        FieldSpec::new("founding_date", FieldKind::Date).nullable(),
        FieldSpec::new("field_of_study", FieldKind::Text).nullable(),
        FieldSpec::new("degree", FieldKind::Enum(EducationDegree::NAMES)).nullable(),
        FieldSpec::new("owner_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("tier_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("tag_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("group_id", FieldKind::Uuid).nullable(),
        // The segments the customer is a member of now.
        FieldSpec::new("segment_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("lifecycle_stage", FieldKind::Enum(LifecycleStage::NAMES)),
        FieldSpec::new("lifecycle_changed_at", FieldKind::Timestamp),
        FieldSpec::new("acquisition_source", FieldKind::Text).nullable(),
        FieldSpec::new("acquisition_channel", FieldKind::Text).nullable(),
        FieldSpec::new("acquisition_campaign", FieldKind::Text).nullable(),
        FieldSpec::new("referred_by_customer_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("referred_by_user_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("erased_at", FieldKind::Timestamp).nullable(),
        FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("updated_at", FieldKind::Timestamp).sortable(),
        // Purchase facts, kept by every order write, return and merge.
        FieldSpec::new("order_count", FieldKind::Integer).sortable(),
        FieldSpec::new("revenue", FieldKind::Integer).sortable(),
        FieldSpec::new("first_order_at", FieldKind::Timestamp)
            .nullable()
            .sortable(),
        FieldSpec::new("last_order_at", FieldKind::Timestamp)
            .nullable()
            .sortable(),
        // Scores of the current model runs; null for a customer no run has scored.
        FieldSpec::new("score.rfm_recency", FieldKind::Integer).nullable(),
        FieldSpec::new("score.rfm_frequency", FieldKind::Integer).nullable(),
        FieldSpec::new("score.rfm_monetary", FieldKind::Integer).nullable(),
        FieldSpec::new(
            "score.rfm_segment",
            FieldKind::Enum(domain::model_runs::RFM_SEGMENTS),
        )
        .nullable()
        .sortable(),
        FieldSpec::new("score.rfm_run_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("score.p_alive", FieldKind::Number).nullable(),
        FieldSpec::new("score.expected_purchases", FieldKind::Number).nullable(),
        FieldSpec::new("score.expected_spend", FieldKind::Integer).nullable(),
        FieldSpec::new("score.clv", FieldKind::Integer)
            .nullable()
            .sortable(),
        FieldSpec::new("score.clv_run_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("score.cluster", FieldKind::Integer).nullable(),
        FieldSpec::new("score.cluster_run_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("score.churn_risk", FieldKind::Number).nullable(),
        // The mean sentiment of the customer's texts of the last 90 days (inbound
        // messages and feedback) and its label; null for a customer without any.
        FieldSpec::new(
            "sentiment",
            FieldKind::Enum(domain::sentiment::SentimentLabel::NAMES),
        )
        .nullable(),
        FieldSpec::new("sentiment_score", FieldKind::Number).nullable(),
        // The time-decayed, weighted count of the customer's behavioural events now; 0
        // for a customer without any.
        FieldSpec::new(ENGAGEMENT_FIELD, FieldKind::Number),
        FieldSpec::new("score.churn_run_id", FieldKind::Uuid).nullable(),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &[];
    const OWN_QUICK_SEARCH: bool = true;

    fn sort_value(record: &CustomerRecord, field: &str) -> Option<TypedValue> {
        let row = &record.row;
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "display_name" => TypedValue::Text(row.display_name.clone()),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            "updated_at" => TypedValue::Timestamp(row.updated_at.0),
            "order_count" => TypedValue::Integer(row.order_count),
            "revenue" => TypedValue::Integer(row.revenue),
            // `None` for a customer without purchases: the cursor's null.
            "first_order_at" => TypedValue::Timestamp(row.first_order_at?.0),
            "last_order_at" => TypedValue::Timestamp(row.last_order_at?.0),
            "score.rfm_segment" => TypedValue::Text(row.rfm_segment.clone()?),
            "score.clv" => TypedValue::Integer(row.clv?),
            _ => return None,
        })
    }

    fn id(record: &CustomerRecord) -> Uuid {
        record.row.id.0
    }
}

/// The fields of the customers catalogue the business made: its custom fields and the
/// event names its apps and devices sent or it defined.
#[derive(Debug, Clone, Default)]
pub struct CustomerFields {
    pub custom: Vec<domain::customers::CustomFieldDefinition>,
    pub event_names: Vec<String>,
}

impl CustomerFields {
    pub fn load(conn: &mut DbConnection) -> AppResult<CustomerFields> {
        Ok(CustomerFields {
            custom: crate::customers::definitions(conn)?,
            event_names: persistence::behavioural_events::all_names(conn)?,
        })
    }

    /// The static catalogue plus one `custom.<key>` entry per custom field and three
    /// `event.<name>.…` entries per event name.
    fn catalogue(&self) -> Vec<FieldSpec> {
        let mut catalogue = CustomerSearch::CATALOGUE.to_vec();
        catalogue.extend(custom_field_specs(&self.custom));
        for name in &self.event_names {
            for fact in EVENT_FACTS {
                let field = interned(format!("{EVENT_FIELD_PREFIX}{name}.{fact}"));
                catalogue.push(match fact {
                    "count" => FieldSpec::new(field, FieldKind::Integer),
                    _ => FieldSpec::new(field, FieldKind::Timestamp).nullable(),
                });
            }
        }
        catalogue
    }
}

/// Checks a search body against the catalogue, the business's fields included;
/// relative dates resolve in `context`.
pub fn resolve(
    request: SearchRequest,
    fields: &CustomerFields,
    context: &ResolveContext,
) -> AppResult<Search<CustomerSearch>> {
    Search::<CustomerSearch>::resolve_with(request, context, &fields.catalogue())
}

/// The customer search catalogue with the business's custom fields and event names (a
/// share rule's condition is resolved against it).
pub fn catalogue(conn: &mut DbConnection) -> AppResult<Vec<FieldSpec>> {
    Ok(CustomerFields::load(conn)?.catalogue())
}

/// A rule's condition (a segment's) checked against the catalogue, the business's
/// fields included, each problem named under `condition`; relative dates resolve in
/// `context`.
pub fn resolve_condition(
    condition: &serde_json::Value,
    fields: &CustomerFields,
    context: &ResolveContext,
) -> Result<ResolvedFilter, Vec<FieldViolation>> {
    crate::search::resolve_condition(condition, &fields.catalogue(), context)
}

/// The next `search.fetch_limit()` customers of `search` that `scope` may see, whole.
pub fn fetch(
    conn: &mut DbConnection,
    search: &Search<CustomerSearch>,
    scope: &Scope,
) -> AppResult<Vec<CustomerRecord>> {
    let rows = customer_search::search(
        conn,
        &search.criteria,
        terms(search),
        scope,
        search.after.as_ref(),
        search.fetch_limit(),
    )?;
    Ok(persistence::customers::load_many(conn, rows)?)
}

/// The quick-search terms of a resolved search.
pub fn terms(search: &Search<CustomerSearch>) -> Vec<String> {
    search
        .q
        .as_deref()
        .map(domain::persian::search_terms)
        .unwrap_or_default()
}
