//! The API shapes of customers.

use chrono::{DateTime, Utc};
use domain::customers::CustomerInput;
use persistence::customers::CustomerRecord;
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
        })
    }
}
