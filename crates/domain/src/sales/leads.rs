//! Leads (S-1): people or companies who showed interest and may become customers. A
//! lead moves `new` → `contacted` → `qualified`, may be `disqualified` (with a reason)
//! and reopened, and ends `converted` — only by conversion, which turns it into a
//! customer (a person, an organization, or both with the person listed as personnel).
//!
//! Contact details are checked and normalised exactly as a customer's (E.164 phones,
//! lower-cased e-mails, one primary entry), so that conversion and duplicate checks
//! compare like with like.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::{normalize_emails, normalize_phones, snake_names, EmailInput, PhoneInput};
use crate::filter::{FieldKind, FieldSpec};
use crate::persian::search_key;
use crate::validation::{FieldViolation, Violations};

/// Where a lead stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    #[default]
    New,
    Contacted,
    Qualified,
    /// Not worth pursuing, with a reason; may be reopened.
    Disqualified,
    /// Turned into a customer; set only by conversion, and final.
    Converted,
}

snake_names!(LeadStatus {
    New => "new",
    Contacted => "contacted",
    Qualified => "qualified",
    Disqualified => "disqualified",
    Converted => "converted",
});

impl LeadStatus {
    /// The statuses of a lead still being worked: what counts towards an owner's load.
    pub const OPEN: [LeadStatus; 3] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
    ];
}

/// The fields a lead search, an assignment rule or a scoring rule may name. Sortable
/// fields have an index ending in (…, id).
pub const CATALOGUE: &[FieldSpec] = &[
    FieldSpec::new("id", FieldKind::Uuid).sortable(),
    FieldSpec::new("first_name", FieldKind::Text).nullable(),
    FieldSpec::new("last_name", FieldKind::Text).nullable(),
    FieldSpec::new("company", FieldKind::Text).nullable(),
    FieldSpec::new("job_title", FieldKind::Text).nullable(),
    FieldSpec::new("province", FieldKind::Text).nullable(),
    FieldSpec::new("city", FieldKind::Text).nullable(),
    FieldSpec::new("source", FieldKind::Text).nullable(),
    FieldSpec::new("campaign", FieldKind::Text).nullable(),
    FieldSpec::new("language", FieldKind::Text).nullable(),
    FieldSpec::new("product_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("status", FieldKind::Enum(LeadStatus::NAMES)),
    FieldSpec::new("display_name", FieldKind::Text).sortable(),
    FieldSpec::new("owner_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("converted_customer_id", FieldKind::Uuid).nullable(),
    // Membership of static lead lists: eq, in, neq, not_in.
    FieldSpec::new("list_id", FieldKind::Uuid),
    FieldSpec::new("converted_at", FieldKind::Timestamp).nullable(),
    FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
    FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
    FieldSpec::new("updated_at", FieldKind::Timestamp).sortable(),
    // Lead scoring: the rules' points and the latest propensity run's probability.
    FieldSpec::new("score_points", FieldKind::Integer).sortable(),
    FieldSpec::new("propensity", FieldKind::Number)
        .nullable()
        .sortable(),
];

const MAX_NAME_CHARS: usize = 100;
const MAX_TEXT_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 500;
const MAX_DESCRIPTION_CHARS: usize = 5_000;

/// Everything a client may write on a lead.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate,
)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "first_name": "سارا",
    "last_name": "احمدی",
    "company": "بازرگانی آوا",
    "job_title": "مدیر خرید",
    "phones": [{"number": "0912 345 6789"}],
    "emails": [{"address": "sara@ava.example.ir"}],
    "province": "اصفهان",
    "city": "اصفهان",
    "source": "exhibition",
    "campaign": "iran-expo-1405",
    "language": "fa",
    "status": "new"
}))]
pub struct LeadInput {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// The company the lead works for or is.
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    /// As a customer's: any common Iranian form or `+`/`00` foreign numbers; stored in
    /// E.164.
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    #[serde(default)]
    pub emails: Vec<EmailInput>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// Where the lead came from (exhibition, website, referral, …).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    /// The language the lead speaks, as an ISO 639 code (`fa`, `en`, `ar`, …), for
    /// assignment to someone who speaks it.
    #[serde(default)]
    pub language: Option<String>,
    /// The product the lead asked about, for assignment to its specialists.
    #[serde(default)]
    pub product_id: Option<Uuid>,
    #[serde(default)]
    pub status: LeadStatus,
    /// Why the lead was disqualified; required then, refused otherwise.
    #[serde(default)]
    pub disqualified_reason: Option<String>,
    /// Defaults to the caller.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Defaults to the owner's team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub description: Option<String>,
    /// Values of the lead custom fields (`/custom-fields` with `entity: lead`) by key,
    /// checked against their definitions; `null` removes a value.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

impl LeadInput {
    /// Checks and normalises the input; every problem is named by its field. A status of
    /// `converted` is refused: only conversion sets it.
    pub fn validated(mut self) -> Result<LeadInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        for (field, value, max) in [
            ("first_name", &mut self.first_name, MAX_NAME_CHARS),
            ("last_name", &mut self.last_name, MAX_NAME_CHARS),
            ("company", &mut self.company, MAX_TEXT_CHARS),
            ("job_title", &mut self.job_title, MAX_NAME_CHARS),
            ("province", &mut self.province, MAX_NAME_CHARS),
            ("city", &mut self.city, MAX_NAME_CHARS),
            ("source", &mut self.source, MAX_NAME_CHARS),
            ("campaign", &mut self.campaign, MAX_TEXT_CHARS),
        ] {
            v.tidy_line(field, value, max);
        }
        v.tidy_text(
            "disqualified_reason",
            &mut self.disqualified_reason,
            MAX_REASON_CHARS,
        );
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if let Some(language) = &mut self.language {
            *language = language.trim().to_ascii_lowercase();
            let letters = language.len();
            if !(2..=3).contains(&letters) || !language.bytes().all(|b| b.is_ascii_lowercase()) {
                v.push(
                    "language",
                    "invalid_format",
                    "must be an ISO 639 language code such as fa or en",
                );
            }
        }
        normalize_phones(&mut self.phones, &mut v);
        normalize_emails(&mut self.emails, &mut v);
        let named = [&self.first_name, &self.last_name, &self.company]
            .iter()
            .any(|text| text.is_some());
        if !named && self.phones.is_empty() && self.emails.is_empty() {
            v.push(
                "last_name",
                "required",
                "a lead needs a name, a company, a phone or an e-mail",
            );
        }
        match (self.status, &self.disqualified_reason) {
            (LeadStatus::Converted, _) => v.push(
                "status",
                "set_by_conversion",
                "a lead becomes converted only by POST /leads/{id}/convert",
            ),
            (LeadStatus::Disqualified, None) => v.push(
                "disqualified_reason",
                "required",
                "a disqualified lead needs a reason",
            ),
            (LeadStatus::Disqualified, Some(_)) | (_, None) => {}
            (_, Some(_)) => v.push(
                "disqualified_reason",
                "only_when_disqualified",
                "only a disqualified lead has a reason",
            ),
        }
        v.into_result().map(|()| self)
    }

    /// "first last", else the company, else the first e-mail or phone.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return name;
        }
        self.company
            .clone()
            .or_else(|| self.emails.first().map(|e| e.address.clone()))
            .or_else(|| self.phones.first().map(|p| p.number.clone()))
            .unwrap_or_default()
    }

    /// The text quick search (`q`) looks in, reduced as customers' is (see
    /// `customers::search_text`): names, company, phones in E.164 and national form,
    /// e-mails, city and province.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |text: &str| {
            let key = search_key(text);
            if !key.is_empty() && !parts.contains(&key) {
                parts.push(key);
            }
        };
        push(&self.display_name());
        for text in [&self.company, &self.job_title, &self.city, &self.province]
            .into_iter()
            .flatten()
        {
            push(text);
        }
        for phone in &self.phones {
            push(&phone.number);
            if let Some(national) = phone.number.strip_prefix("+98") {
                push(&format!("0{national}"));
            }
        }
        for email in &self.emails {
            push(&email.address);
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<LeadInput, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect()
    }

    #[test]
    fn contacts_are_normalised_like_a_customers() {
        let lead: LeadInput = serde_json::from_value(serde_json::json!({
            "first_name": "  علی  ",
            "phones": [{"number": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}],
            "emails": [{"address": "Ali@Example.IR"}]
        }))
        .expect("input");
        let lead = lead.validated().expect("valid");
        assert_eq!(lead.first_name.as_deref(), Some("علی"));
        assert_eq!(lead.phones[0].number, "+989121234567");
        assert!(lead.phones[0].primary);
        assert_eq!(lead.emails[0].address, "ali@example.ir");
        let text = lead.search_text();
        assert!(text.contains("09121234567"), "{text}");
        assert_eq!(lead.display_name(), "علی");
    }

    #[test]
    fn every_broken_rule_is_named() {
        assert_eq!(
            fields(LeadInput::default().validated()),
            ["last_name:required"]
        );
        let broken: LeadInput = serde_json::from_value(serde_json::json!({
            "company": "x\u{0}y",
            "phones": [{"number": "12"}],
            "emails": [{"address": "not-an-address"}],
            "status": "converted"
        }))
        .expect("input");
        assert_eq!(
            fields(broken.validated()),
            [
                "company:nul_character",
                "phones[0].number:not_iranian",
                "emails[0].address:invalid_format",
                "status:set_by_conversion",
            ]
        );
        let disqualified = LeadInput {
            company: Some("آوا".into()),
            status: LeadStatus::Disqualified,
            ..LeadInput::default()
        };
        assert_eq!(
            fields(disqualified.validated()),
            ["disqualified_reason:required"]
        );
        let reason_without_cause = LeadInput {
            company: Some("آوا".into()),
            disqualified_reason: Some("بودجه ندارد".into()),
            ..LeadInput::default()
        };
        assert_eq!(
            fields(reason_without_cause.validated()),
            ["disqualified_reason:only_when_disqualified"]
        );
    }
}
