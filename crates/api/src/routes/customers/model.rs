//! The API shapes of customers.

use chrono::{DateTime, Utc};
use domain::customers::{CustomerInput, NoteKind};
use persistence::consents::{ConsentEventRow, ConsentStateRow};
use persistence::customers::history::{LifecycleTransitionRow, OwnerChangeRow};
use persistence::customers::CustomerRecord;
use persistence::notes::NoteRow;
use persistence::personnel::PersonnelRow;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// A customer: everything writable (see `CustomerInput`) in stored, normalised form,
/// plus what the server maintains.
#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: CustomerInput,
    /// "first last" for persons, the name for organizations.
    pub display_name: String,
    /// The birth, marriage and founding dates on the Jalali calendar (`YYYY/MM/DD`),
    /// for display and for birthdays and anniversaries as Iranian customers keep them.
    pub jalali_dates: JalaliDates,
    pub lifecycle_changed_at: DateTime<Utc>,
    /// Set when the customer was merged into another; such records leave lists and
    /// searches and are kept for undo.
    pub merged_into_id: Option<Uuid>,
    /// Set when the customer's personal data was erased.
    pub erased_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Purchases so far (paid, fulfilled or partly returned orders). The four purchase
    /// facts are kept by the server from the customer's orders and cannot be written.
    pub order_count: i64,
    /// The purchases' totals less refunds, in integer minor units of the business
    /// currency.
    pub revenue: i64,
    /// When the first purchase was placed; null before it.
    pub first_order_at: Option<DateTime<Utc>>,
    /// When the latest purchase was placed; null before the first.
    pub last_order_at: Option<DateTime<Utc>>,
    /// The scores of the current model runs (`/api/v1/analytics/runs`).
    pub scores: Scores,
}

/// A customer's scores from the latest succeeded run of each kind; a kind is null when
/// no such run covered the customer (no purchase before its end, or created since).
/// Searchable as `score.*`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "rfm": {"run_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaab", "recency": 2, "frequency": 4, "monetary": 5, "segment": "at_risk"},
    "clv": {"run_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa", "p_alive": 0.42, "expected_purchases": 0.87,
            "expected_spend": 4500000, "clv": 3620000},
    "cluster": {"run_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaac", "cluster": 2},
    "churn": {"run_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaad", "risk": 0.81,
              "drivers": [{"feature": "recency_days", "contribution": 1.42}]},
    "recommendations": {"run_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaae",
              "products": [{"product_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
                            "confidence": 0.42, "lift": 3.1,
                            "because_of": "0193a4e2-7c1d-7b3e-9f10-cccccccccccc"}]}
}))]
pub struct Scores {
    pub rfm: Option<RfmScore>,
    pub clv: Option<ClvScore>,
    pub cluster: Option<ClusterScore>,
    pub churn: Option<ChurnScore>,
    pub recommendations: Option<Recommendations>,
}

/// The products the current `cross_sell` run recommends: ones the customer has not
/// bought that customers who bought what they did also bought.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendations {
    pub run_id: Uuid,
    /// Best first: `product_id`, the `confidence` and `lift` of the rule from
    /// `because_of` (a product the customer bought) to it.
    #[schema(value_type = Vec<Object>)]
    pub products: serde_json::Value,
}

/// The churn risk of the current `churn` run and what drives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChurnScore {
    pub run_id: Uuid,
    /// Probability of buying nothing in the run's window, 0 to 1.
    pub risk: f64,
    /// Up to three features that raise this customer's risk above an average buyer's,
    /// largest first, with their push on the log-odds.
    #[schema(value_type = Vec<Object>)]
    pub drivers: serde_json::Value,
}

/// The cluster of the current `clusters` run the customer is in; the run's `profiles`
/// describe each cluster.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterScore {
    pub run_id: Uuid,
    /// 0-based index into the run's `profiles`.
    pub cluster: i64,
}

/// RFM quintile scores, 1 (worst fifth) to 5 (best fifth), and the segment they name.
#[derive(Debug, Serialize, ToSchema)]
pub struct RfmScore {
    pub run_id: Uuid,
    /// 5 for the most recent buyers.
    pub recency: i64,
    /// 5 for those with the most purchase days.
    pub frequency: i64,
    /// 5 for the highest net spend.
    pub monetary: i64,
    /// `champions`, `loyal`, `potential_loyalist`, `new`, `promising`, `need_attention`,
    /// `about_to_sleep`, `at_risk`, `cannot_lose`, `hibernating` or `lost`.
    pub segment: String,
}

/// BG/NBD and Gamma-Gamma figures; money in integer minor units of the business
/// currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClvScore {
    pub run_id: Uuid,
    /// Probability that the customer is still active ("alive"), 0 to 1.
    pub p_alive: f64,
    /// Purchases expected over the run's horizon.
    pub expected_purchases: f64,
    /// Expected spend per purchase.
    pub expected_spend: i64,
    /// Discounted value of the purchases expected over the horizon, times the margin.
    pub clv: i64,
}

impl Scores {
    pub fn of(scores: &persistence::scores::CustomerScores) -> Scores {
        Scores {
            rfm: scores.rfm.as_ref().map(|rfm| RfmScore {
                run_id: rfm.run_id,
                recency: rfm.recency,
                frequency: rfm.frequency,
                monetary: rfm.monetary,
                segment: rfm.segment.clone(),
            }),
            clv: scores.clv.map(|clv| ClvScore {
                run_id: clv.run_id,
                p_alive: clv.p_alive,
                expected_purchases: clv.expected_purchases,
                expected_spend: clv.expected_spend,
                clv: clv.clv,
            }),
            cluster: scores.cluster.map(|cluster| ClusterScore {
                run_id: cluster.run_id,
                cluster: cluster.cluster,
            }),
            churn: scores.churn.as_ref().map(|churn| ChurnScore {
                run_id: churn.run_id,
                risk: churn.risk,
                drivers: churn.drivers.clone(),
            }),
            recommendations: scores
                .recommendations
                .as_ref()
                .map(|products| Recommendations {
                    run_id: products.run_id,
                    products: products.products.clone(),
                }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"birth_date": "1364/01/01", "marriage_date": null, "founding_date": null}))]
pub struct JalaliDates {
    pub birth_date: Option<String>,
    pub marriage_date: Option<String>,
    pub founding_date: Option<String>,
}

fn jalali(date: Option<chrono::NaiveDate>) -> Option<String> {
    date.map(|date| domain::calendar::JalaliDate::from_gregorian(date).to_string())
}

impl Customer {
    pub fn from_record(record: &CustomerRecord) -> ApiResult<Customer> {
        let row = &record.row;
        Ok(Customer {
            id: row.id.0,
            fields: record
                .to_input()
                .map_err(|err| ApiError::Internal(err.to_string()))?,
            display_name: row.display_name.clone(),
            jalali_dates: JalaliDates {
                birth_date: jalali(row.birth_date),
                marriage_date: jalali(row.marriage_date),
                founding_date: jalali(row.founding_date),
            },
            lifecycle_changed_at: row.lifecycle_changed_at.0,
            merged_into_id: row.merged_into_id.map(|id| id.0),
            erased_at: row.erased_at.map(|at| at.0),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            order_count: row.order_count,
            revenue: row.revenue,
            first_order_at: row.first_order_at.map(|at| at.0),
            last_order_at: row.last_order_at.map(|at| at.0),
            scores: Scores::of(&record.scores()),
        })
    }
}

/// A note on a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Note {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: NoteKind,
    pub body: String,
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Note {
    pub fn from_row(row: &NoteRow) -> ApiResult<Note> {
        Ok(Note {
            id: row.id.0,
            customer_id: row.customer_id.0,
            kind: NoteKind::parse(&row.kind)
                .ok_or_else(|| ApiError::Internal(format!("stored note kind {:?}", row.kind)))?,
            body: row.body.clone(),
            author_id: row.author_id.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

/// A person listed at an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Personnel {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub person_id: Uuid,
    /// Role or responsibility, e.g. "مدیر خرید".
    pub role: Option<String>,
    /// Organizational unit, e.g. "واحد بازرگانی".
    pub unit: Option<String>,
    pub is_primary_contact: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&PersonnelRow> for Personnel {
    fn from(row: &PersonnelRow) -> Self {
        Personnel {
            id: row.id.0,
            organization_id: row.customer_id.0,
            person_id: row.person_id.0,
            role: row.role.clone(),
            unit: row.unit.clone(),
            is_primary_contact: row.is_primary_contact,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

/// One grant or withdrawal in a customer's consent ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentEvent {
    pub id: Uuid,
    pub channel: String,
    pub purpose: String,
    pub granted: bool,
    pub source: String,
    pub evidence: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

impl From<&ConsentEventRow> for ConsentEvent {
    fn from(row: &ConsentEventRow) -> Self {
        ConsentEvent {
            id: row.id.0,
            channel: row.channel.clone(),
            purpose: row.purpose.clone(),
            granted: row.granted,
            source: row.source.clone(),
            evidence: row.evidence.clone(),
            recorded_by: row.recorded_by.map(|id| id.0),
            recorded_at: row.recorded_at.0,
        }
    }
}

/// The current answer for one channel and purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentState {
    pub channel: String,
    pub purpose: String,
    pub granted: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<&ConsentStateRow> for ConsentState {
    fn from(row: &ConsentStateRow) -> Self {
        ConsentState {
            channel: row.channel.clone(),
            purpose: row.purpose.clone(),
            granted: row.granted,
            updated_at: row.updated_at.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consents {
    /// Current state per channel and purpose; absent means never asked (no consent).
    pub current: Vec<ConsentState>,
    /// Every grant and withdrawal, oldest first.
    pub ledger: Vec<ConsentEvent>,
}

impl Consents {
    pub fn from_rows(consents: &application::customers::privacy::Consents) -> Consents {
        Consents {
            current: consents.current.iter().map(ConsentState::from).collect(),
            ledger: consents.ledger.iter().map(ConsentEvent::from).collect(),
        }
    }
}

/// One move between lifecycle stages.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleTransition {
    pub from_stage: Option<String>,
    pub to_stage: String,
    /// `created`, `manual`, `import`, `merge`, or the automation rule that moved it.
    pub reason: String,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerChange {
    pub from_owner_id: Option<Uuid>,
    pub to_owner_id: Option<Uuid>,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

impl From<&LifecycleTransitionRow> for LifecycleTransition {
    fn from(row: &LifecycleTransitionRow) -> Self {
        LifecycleTransition {
            from_stage: row.from_stage.clone(),
            to_stage: row.to_stage.clone(),
            reason: row.reason.clone(),
            changed_by: row.changed_by.map(|id| id.0),
            changed_at: row.changed_at.0,
        }
    }
}

impl From<&OwnerChangeRow> for OwnerChange {
    fn from(row: &OwnerChangeRow) -> Self {
        OwnerChange {
            from_owner_id: row.from_owner_id.map(|id| id.0),
            to_owner_id: row.to_owner_id.map(|id| id.0),
            changed_by: row.changed_by.map(|id| id.0),
            changed_at: row.changed_at.0,
        }
    }
}
