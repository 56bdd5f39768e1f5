//! The writable content of a customer: what `POST /customers` takes, what a JSON Merge
//! Patch applies to, and what an import row is mapped onto.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::snake_names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    Person,
    Organization,
}

snake_names!(CustomerKind {
    Person => "person",
    Organization => "organization",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Other,
}

snake_names!(Gender {
    Female => "female",
    Male => "male",
    Other => "other",
});

/// Highest completed education (C-1 "degree").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EducationDegree {
    BelowDiploma,
    Diploma,
    Associate,
    Bachelor,
    Master,
    Doctorate,
}

snake_names!(EducationDegree {
    BelowDiploma => "below_diploma",
    Diploma => "diploma",
    Associate => "associate",
    Bachelor => "bachelor",
    Master => "master",
    Doctorate => "doctorate",
});

/// Lifecycle stages (C-8), in the order a customer usually passes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    #[default]
    Awareness,
    Consideration,
    Purchase,
    Retention,
    Advocacy,
    Churned,
}

snake_names!(LifecycleStage {
    Awareness => "awareness",
    Consideration => "consideration",
    Purchase => "purchase",
    Retention => "retention",
    Advocacy => "advocacy",
    Churned => "churned",
});

/// What a phone line is used for; `fax` must be said, mobile and landline are inferred
/// from the number when omitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneType {
    Mobile,
    Landline,
    Fax,
    Other,
}

snake_names!(PhoneType {
    Mobile => "mobile",
    Landline => "landline",
    Fax => "fax",
    Other => "other",
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number": "+989121234567", "type": "mobile", "label": "personal", "primary": true}))]
pub struct PhoneInput {
    /// Iranian numbers in any common form (`0912 123 4567`, `۰۹۱۲۱۲۳۴۵۶۷`, `021-88001122`)
    /// or foreign numbers with `+`/`00`; stored and returned in E.164.
    pub number: String,
    /// Inferred from the number when omitted (mobile or landline).
    #[serde(default, rename = "type")]
    pub phone_type: Option<PhoneType>,
    #[serde(default)]
    pub label: Option<String>,
    /// Exactly one entry is primary; the first one when none is marked.
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": "ali.karimi@example.ir", "label": "work", "primary": true}))]
pub struct EmailInput {
    /// Stored lower-cased.
    pub address: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "office", "province": "تهران", "city": "تهران", "line": "خیابان ولیعصر، پلاک ۱۲", "postal_code": "1966936541", "primary": true}))]
pub struct AddressInput {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// Street address.
    #[serde(default)]
    pub line: Option<String>,
    /// Ten digits (Iranian postal code).
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub po_box: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

/// Everything a client may write on a customer. Fields that do not apply to the kind
/// (e.g. `national_id` on a person, `first_name` on an organization) are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "person",
    "code": "C-10042",
    "title": "دکتر",
    "gender": "male",
    "first_name": "علی",
    "last_name": "کریمی",
    "phones": [{"number": "0912 123 4567", "primary": true}],
    "emails": [{"address": "ali.karimi@example.ir"}],
    "addresses": [{"province": "تهران", "city": "تهران", "line": "خیابان ولیعصر", "postal_code": "1966936541"}],
    "national_code": "0076229645",
    "birth_date": "1985-03-21",
    "lifecycle_stage": "consideration",
    "acquisition_source": "exhibition",
    "custom_fields": {"favourite_branch": "ونک"}
}))]
pub struct CustomerInput {
    pub kind: CustomerKind,
    /// The business's own customer code; unique when present.
    #[serde(default)]
    pub code: Option<String>,
    /// Honorific or professional title, e.g. "دکتر", "مهندس", "Dr.".
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// Organizations only: registered name.
    #[serde(default)]
    pub organization_name: Option<String>,
    /// Organizations only: industry or field of activity.
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    #[serde(default)]
    pub emails: Vec<EmailInput>,
    #[serde(default)]
    pub addresses: Vec<AddressInput>,
    /// Persons only: ten-digit Iranian national code (کد ملی), checksum verified.
    #[serde(default)]
    pub national_code: Option<String>,
    /// Organizations only: eleven-digit legal-entity national id (شناسه ملی), checksum verified.
    #[serde(default)]
    pub national_id: Option<String>,
    /// Persons only: birth certificate number (شماره شناسنامه).
    #[serde(default)]
    pub birth_certificate_number: Option<String>,
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    #[serde(default)]
    pub marriage_date: Option<NaiveDate>,
    /// Organizations only.
    #[serde(default)]
    pub founding_date: Option<NaiveDate>,
    #[serde(default)]
    pub field_of_study: Option<String>,
    #[serde(default)]
    pub degree: Option<EducationDegree>,
    /// The responsible employee; defaults to the creating user.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Defaults to the owner's team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub tier_id: Option<Uuid>,
    #[serde(default)]
    pub lifecycle_stage: LifecycleStage,
    /// How the customer heard of the business (C-3), e.g. `exhibition`, `instagram`.
    #[serde(default)]
    pub acquisition_source: Option<String>,
    #[serde(default)]
    pub acquisition_channel: Option<String>,
    #[serde(default)]
    pub acquisition_campaign: Option<String>,
    /// The referring agent or organization, itself a customer.
    #[serde(default)]
    pub referred_by_customer_id: Option<Uuid>,
    /// The referring employee or agent with a user account.
    #[serde(default)]
    pub referred_by_user_id: Option<Uuid>,
    #[serde(default)]
    pub tag_ids: Vec<Uuid>,
    #[serde(default)]
    pub group_ids: Vec<Uuid>,
    /// Values of the custom fields an admin defined, by field key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
}

impl CustomerInput {
    /// An empty record of `kind`, the base that import rows are mapped onto.
    pub fn empty(kind: CustomerKind) -> CustomerInput {
        CustomerInput {
            kind,
            code: None,
            title: None,
            gender: None,
            first_name: None,
            last_name: None,
            organization_name: None,
            industry: None,
            website: None,
            phones: Vec::new(),
            emails: Vec::new(),
            addresses: Vec::new(),
            national_code: None,
            national_id: None,
            birth_certificate_number: None,
            birth_date: None,
            marriage_date: None,
            founding_date: None,
            field_of_study: None,
            degree: None,
            owner_id: None,
            team_id: None,
            tier_id: None,
            lifecycle_stage: LifecycleStage::default(),
            acquisition_source: None,
            acquisition_channel: None,
            acquisition_campaign: None,
            referred_by_customer_id: None,
            referred_by_user_id: None,
            tag_ids: Vec::new(),
            group_ids: Vec::new(),
            custom_fields: Map::new(),
        }
    }
}
