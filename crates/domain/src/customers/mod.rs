//! Customers (C-1..C-9): persons and organizations, their contact points, ownership,
//! lifecycle, acquisition and custom fields, with the rules that turn what a client
//! sends into the normalised form that is stored and searched.

mod custom_fields;
mod duplicates;
mod input;
mod keys;
mod merge;
pub mod sheet;
mod validate;

pub use custom_fields::{
    is_valid_key, validate_custom_fields, CustomFieldDefinition, CustomFieldEntity,
    CustomFieldKind, CustomValue, MAX_CUSTOM_FIELD_KEY_CHARS,
};
pub use duplicates::{
    duplicate_score, scan_keys, score_of, DuplicateEvidence, DuplicateReason, DUPLICATE_THRESHOLD,
};
pub use input::{
    AddressInput, CustomerInput, CustomerKind, EducationDegree, EmailInput, Gender, LifecycleStage,
    PhoneInput, PhoneType,
};
pub use keys::{display_name, name_key_of, search_text};
pub use merge::{merge_documents, unmerged_document, CHOOSABLE_FIELDS, CUSTOM_FIELD_CHOICE_PREFIX};
pub(crate) use validate::{normalize_emails, normalize_phones};
pub use validate::{validate_customer, MAX_CONTACT_ENTRIES};

/// Kinds of note (C-5). `communication_preference` and `psychological` notes record how
/// the customer wants to be approached; they stay with the customer when the owner
/// changes, like every note.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    General,
    CommunicationPreference,
    Psychological,
    Call,
    Meeting,
}

/// Channels a consent can be given for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    Email,
    Sms,
    Phone,
    Messenger,
    Post,
}

/// Purposes a consent can be given for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    Marketing,
    Service,
    Surveys,
    Profiling,
    ThirdPartySharing,
}

macro_rules! snake_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),+ }
            }

            pub fn parse(value: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|item| item.as_str() == value)
            }
        }
    };
}
pub(crate) use snake_names;

snake_names!(NoteKind {
    General => "general",
    CommunicationPreference => "communication_preference",
    Psychological => "psychological",
    Call => "call",
    Meeting => "meeting",
});

snake_names!(ConsentChannel {
    Email => "email",
    Sms => "sms",
    Phone => "phone",
    Messenger => "messenger",
    Post => "post",
});

snake_names!(ConsentPurpose {
    Marketing => "marketing",
    Service => "service",
    Surveys => "surveys",
    Profiling => "profiling",
    ThirdPartySharing => "third_party_sharing",
});

#[cfg(test)]
mod tests;
