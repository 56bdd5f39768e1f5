//! Customers as spreadsheet columns (D-1 imports, D-3 exports): the column names, how the
//! text of an import row becomes a [`CustomerInput`], and how a stored customer is written
//! back as text, so that an export with these names imports again unchanged.
//!
//! Every scalar field of [`CustomerInput`] is a column of the same name. Contact lists are
//! spread over a few columns:
//!
//! * phones: `phone`, `mobile`, `phone2` … `phone10`, `fax`, gathered in that order, so the
//!   first filled of them is the primary phone. `mobile` and `fax` fix the line type;
//!   the others are inferred from the number;
//! * e-mails: `email`, `email2` … `email10` (`email` is the primary one);
//! * the primary address: `province`, `city`, `address` (the street line), `postal_code`,
//!   `po_box`;
//! * `tag_names`: tag names separated by commas (`,` or the Persian `،`);
//! * `custom.<key>`: the value of custom field `key`.
//!
//! Dates are read as ISO `1990-03-21` or as Jalali `1369/01/01` (Persian digits too); a
//! date with a year before 1700 is taken as Jalali.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use super::custom_fields::{CustomFieldDefinition, CustomFieldKind};
use super::input::{
    AddressInput, CustomerInput, CustomerKind, EducationDegree, EmailInput, Gender, LifecycleStage,
    PhoneInput, PhoneType,
};
use super::validate::MAX_CONTACT_ENTRIES;
use crate::calendar::JalaliDate;
use crate::persian::normalize_digits;
use crate::text::{check_text, TextKind};
use crate::validation::FieldViolation;

/// Prefix of custom-field columns: `custom.<key>`.
pub const CUSTOM_PREFIX: &str = "custom.";

/// Years below this are Jalali: the Jalali calendar is some 621 years behind.
pub const FIRST_GREGORIAN_YEAR: i32 = 1700;

/// A column a customer sheet can have.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SheetField {
    Kind,
    Code,
    Title,
    Gender,
    FirstName,
    LastName,
    OrganizationName,
    Industry,
    Website,
    NationalCode,
    NationalId,
    BirthCertificateNumber,
    BirthDate,
    MarriageDate,
    FoundingDate,
    FieldOfStudy,
    Degree,
    OwnerId,
    TeamId,
    TierId,
    LifecycleStage,
    AcquisitionSource,
    AcquisitionChannel,
    AcquisitionCampaign,
    ReferredByCustomerId,
    ReferredByUserId,
    /// `phone` (1), `phone2`, …: a number whose line type is inferred.
    Phone(u8),
    Mobile,
    Fax,
    /// `email` (1), `email2`, ….
    Email(u8),
    Province,
    City,
    Address,
    PostalCode,
    PoBox,
    TagNames,
    /// `custom.<key>`.
    Custom(String),
}

/// The columns named after a scalar field of [`CustomerInput`], with that name.
const SCALARS: [(&str, SheetField); 26] = [
    ("kind", SheetField::Kind),
    ("code", SheetField::Code),
    ("title", SheetField::Title),
    ("gender", SheetField::Gender),
    ("first_name", SheetField::FirstName),
    ("last_name", SheetField::LastName),
    ("organization_name", SheetField::OrganizationName),
    ("industry", SheetField::Industry),
    ("website", SheetField::Website),
    ("national_code", SheetField::NationalCode),
    ("national_id", SheetField::NationalId),
    (
        "birth_certificate_number",
        SheetField::BirthCertificateNumber,
    ),
    ("birth_date", SheetField::BirthDate),
    ("marriage_date", SheetField::MarriageDate),
    ("founding_date", SheetField::FoundingDate),
    ("field_of_study", SheetField::FieldOfStudy),
    ("degree", SheetField::Degree),
    ("owner_id", SheetField::OwnerId),
    ("team_id", SheetField::TeamId),
    ("tier_id", SheetField::TierId),
    ("lifecycle_stage", SheetField::LifecycleStage),
    ("acquisition_source", SheetField::AcquisitionSource),
    ("acquisition_channel", SheetField::AcquisitionChannel),
    ("acquisition_campaign", SheetField::AcquisitionCampaign),
    ("referred_by_customer_id", SheetField::ReferredByCustomerId),
    ("referred_by_user_id", SheetField::ReferredByUserId),
];

/// The other fixed column names.
const CONTACTS: [(&str, SheetField); 10] = [
    ("phone", SheetField::Phone(1)),
    ("mobile", SheetField::Mobile),
    ("fax", SheetField::Fax),
    ("email", SheetField::Email(1)),
    ("province", SheetField::Province),
    ("city", SheetField::City),
    ("address", SheetField::Address),
    ("postal_code", SheetField::PostalCode),
    ("po_box", SheetField::PoBox),
    ("tag_names", SheetField::TagNames),
];

impl SheetField {
    /// The field a column name stands for. `custom.<key>` is accepted for any well-formed
    /// key; whether the field is defined is checked with the customer.
    pub fn parse(name: &str) -> Option<SheetField> {
        if let Some(key) = name.strip_prefix(CUSTOM_PREFIX) {
            return super::is_valid_key(key).then(|| SheetField::Custom(key.to_string()));
        }
        if let Some((_, field)) = SCALARS.iter().chain(&CONTACTS).find(|(n, _)| *n == name) {
            return Some(field.clone());
        }
        let numbered = |prefix: &str| -> Option<u8> {
            let n: u8 = name.strip_prefix(prefix)?.parse().ok()?;
            (2..=MAX_CONTACT_ENTRIES as u8).contains(&n).then_some(n)
        };
        numbered("phone")
            .map(SheetField::Phone)
            .or_else(|| numbered("email").map(SheetField::Email))
    }

    /// The column name.
    pub fn name(&self) -> Cow<'static, str> {
        match self {
            SheetField::Phone(n) if *n > 1 => Cow::Owned(format!("phone{n}")),
            SheetField::Email(n) if *n > 1 => Cow::Owned(format!("email{n}")),
            SheetField::Custom(key) => Cow::Owned(format!("{CUSTOM_PREFIX}{key}")),
            fixed => Cow::Borrowed(
                SCALARS
                    .iter()
                    .chain(&CONTACTS)
                    .find(|(_, field)| field == fixed)
                    .map_or("", |(name, _)| name),
            ),
        }
    }

    /// Whether the column holds a date.
    pub fn is_date(&self) -> bool {
        matches!(
            self,
            SheetField::BirthDate | SheetField::MarriageDate | SheetField::FoundingDate
        )
    }

    /// Where phone and e-mail columns go in their list; the first is primary.
    fn contact_rank(&self) -> Option<u8> {
        match self {
            SheetField::Phone(1) => Some(0),
            SheetField::Mobile => Some(1),
            SheetField::Phone(n) => Some(*n),
            SheetField::Fax => Some(u8::MAX),
            _ => None,
        }
    }
}

/// The columns of an export when none are asked for: everything an import reads back,
/// with one extra phone and e-mail.
pub fn default_fields() -> Vec<SheetField> {
    use SheetField::*;
    vec![
        Kind,
        Code,
        Title,
        Gender,
        FirstName,
        LastName,
        OrganizationName,
        Industry,
        Phone(1),
        Mobile,
        Phone(2),
        Fax,
        Email(1),
        Email(2),
        Website,
        Province,
        City,
        Address,
        PostalCode,
        PoBox,
        NationalCode,
        NationalId,
        BirthCertificateNumber,
        BirthDate,
        MarriageDate,
        FoundingDate,
        FieldOfStudy,
        Degree,
        LifecycleStage,
        AcquisitionSource,
        AcquisitionChannel,
        AcquisitionCampaign,
        TagNames,
        OwnerId,
    ]
}

/// A date as people write it: ISO `YYYY-MM-DD` (also with `/`, and with a time part as
/// spreadsheets export date-times), or Jalali `YYYY/MM/DD` when the year is before 1700;
/// Persian and Arabic digits are accepted.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = normalize_digits(text.trim());
    let date = text.split(['T', ' ']).next()?;
    let mut parts = date.split(['-', '/']);
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let month: u8 = month.parse().ok()?;
    let day: u8 = day.parse().ok()?;
    if year < FIRST_GREGORIAN_YEAR {
        JalaliDate::new(year, month, day)
            .ok()
            .map(JalaliDate::to_gregorian)
    } else {
        NaiveDate::from_ymd_opt(year, month.into(), day.into())
    }
}

/// How dates are written in an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateStyle {
    /// ISO `YYYY-MM-DD`.
    #[default]
    Gregorian,
    /// Jalali `YYYY/MM/DD`, which imports read back.
    Jalali,
}

impl DateStyle {
    pub fn format(self, date: NaiveDate) -> String {
        match self {
            DateStyle::Gregorian => date.to_string(),
            DateStyle::Jalali => JalaliDate::from_gregorian(date).to_string(),
        }
    }
}

/// One cell of an import row that is mapped to a field: its text and its column.
#[derive(Debug, Clone, Copy)]
pub struct SheetCell<'a> {
    pub field: &'a SheetField,
    pub text: &'a str,
    /// 0-based index of the column the text came from.
    pub column: usize,
}

/// An import row applied to a customer.
#[derive(Debug, Clone)]
pub struct MappedRow {
    pub input: CustomerInput,
    /// Tag names of the `tag_names` column, for the caller to resolve to ids.
    pub tag_names: Vec<String>,
    /// Cells that could not be read (a date that is no date, an unknown gender, …),
    /// with the column of each. The field was left as it was.
    pub problems: Vec<(FieldViolation, usize)>,
    origins: Vec<(String, usize)>,
}

impl MappedRow {
    /// The column the value at `path` (a violation's field, e.g. `phones[1].number`) came
    /// from, if it came from this row.
    pub fn column_of(&self, path: &str) -> Option<usize> {
        self.origins
            .iter()
            .filter(|(origin, _)| {
                path.strip_prefix(origin.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .max_by_key(|(origin, _)| origin.len())
            .map(|(_, column)| *column)
    }
}

/// Splits the cells of a row into those that may be read and a violation (with its
/// column) for each whose text breaks the rule all text input obeys (no NUL or other
/// control character, see [`crate::text`]). A refused cell is left out entirely, so no
/// rule, lookup or report downstream ever sees its text.
pub fn refuse_forbidden_cells(
    cells: Vec<SheetCell<'_>>,
) -> (Vec<SheetCell<'_>>, Vec<(FieldViolation, usize)>) {
    let mut refused = Vec::new();
    let kept = cells
        .into_iter()
        .filter(|cell| match check_text(cell.text, TextKind::MultiLine) {
            Some(violation) => {
                refused.push((violation.at(cell.field.name()), cell.column));
                false
            }
            None => true,
        })
        .collect();
    (kept, refused)
}

/// Applies the non-empty `cells` of a row to `base`: [`CustomerInput::empty`] for a new
/// customer, the stored input for an existing one. Scalars are replaced; phones and
/// e-mails not already on the customer are added after the existing ones; address
/// columns fill the primary address (a new one if there is none); custom-field values are
/// set (dates of date fields converted to ISO). Nothing is validated beyond reading the
/// text: the result goes through `validate_customer` like any other write.
pub fn apply_row(
    base: CustomerInput,
    cells: &[SheetCell<'_>],
    definitions: &[CustomFieldDefinition],
) -> MappedRow {
    let mut row = MappedRow {
        input: base,
        tag_names: Vec::new(),
        problems: Vec::new(),
        origins: Vec::new(),
    };
    let cells: Vec<SheetCell<'_>> = cells
        .iter()
        .map(|cell| SheetCell {
            text: cell.text.trim(),
            ..*cell
        })
        .filter(|cell| !cell.text.is_empty())
        .collect();
    let mut phones: Vec<&SheetCell<'_>> = cells
        .iter()
        .filter(|cell| cell.field.contact_rank().is_some())
        .collect();
    phones.sort_by_key(|cell| cell.field.contact_rank());
    for cell in phones {
        add_phone(&mut row, cell);
    }
    let mut emails: Vec<&SheetCell<'_>> = cells
        .iter()
        .filter(|cell| matches!(cell.field, SheetField::Email(_)))
        .collect();
    emails.sort_by_key(|cell| match cell.field {
        SheetField::Email(n) => *n,
        _ => 0,
    });
    for cell in emails {
        add_email(&mut row, cell);
    }
    for cell in &cells {
        apply_cell(&mut row, cell, definitions);
    }
    row
}

/// A phone number compared by its E.164 form when it has one.
fn phone_key(number: &str) -> String {
    crate::iran::normalize_phone(number).map_or_else(|_| number.trim().to_string(), |p| p.e164)
}

fn add_phone(row: &mut MappedRow, cell: &SheetCell<'_>) {
    let key = phone_key(cell.text);
    if row
        .input
        .phones
        .iter()
        .any(|phone| phone_key(&phone.number) == key)
    {
        return;
    }
    let phone_type = match cell.field {
        SheetField::Mobile => Some(PhoneType::Mobile),
        SheetField::Fax => Some(PhoneType::Fax),
        _ => None,
    };
    row.origins
        .push((format!("phones[{}]", row.input.phones.len()), cell.column));
    row.input.phones.push(PhoneInput {
        number: cell.text.to_string(),
        phone_type,
        label: None,
        primary: false,
    });
}

fn add_email(row: &mut MappedRow, cell: &SheetCell<'_>) {
    let address = cell.text.to_lowercase();
    if row
        .input
        .emails
        .iter()
        .any(|email| email.address == address)
    {
        return;
    }
    row.origins
        .push((format!("emails[{}]", row.input.emails.len()), cell.column));
    row.input.emails.push(EmailInput {
        address: cell.text.to_string(),
        label: None,
        primary: false,
    });
}

/// The primary address (created when missing) and its index.
fn primary_address(input: &mut CustomerInput) -> (usize, &mut AddressInput) {
    let index = match input.addresses.iter().position(|a| a.primary) {
        Some(index) => index,
        None if !input.addresses.is_empty() => 0,
        None => {
            input.addresses.push(AddressInput {
                label: None,
                province: None,
                city: None,
                line: None,
                postal_code: None,
                po_box: None,
                primary: true,
            });
            0
        }
    };
    (index, &mut input.addresses[index])
}

/// The problem of a cell that cannot be read as its field.
fn unreadable(field: &str, what: &str) -> FieldViolation {
    FieldViolation::new(field, "invalid_value", format!("must be {what}"))
}

fn apply_cell(row: &mut MappedRow, cell: &SheetCell<'_>, definitions: &[CustomFieldDefinition]) {
    let text = cell.text;
    let (origin, result) = match cell.field {
        // Added to their lists before the other cells.
        SheetField::Phone(_) | SheetField::Mobile | SheetField::Fax | SheetField::Email(_) => {
            return
        }
        SheetField::Province
        | SheetField::City
        | SheetField::Address
        | SheetField::PostalCode
        | SheetField::PoBox => {
            let (index, address) = primary_address(&mut row.input);
            let (part, slot) = match cell.field {
                SheetField::Province => ("province", &mut address.province),
                SheetField::City => ("city", &mut address.city),
                SheetField::Address => ("line", &mut address.line),
                SheetField::PostalCode => ("postal_code", &mut address.postal_code),
                _ => ("po_box", &mut address.po_box),
            };
            *slot = Some(text.to_string());
            (format!("addresses[{index}].{part}"), Ok(()))
        }
        SheetField::TagNames => {
            row.tag_names.extend(
                text.split([',', '،'])
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_string),
            );
            ("tag_ids".to_string(), Ok(()))
        }
        SheetField::Custom(key) => {
            let field = format!("custom_fields.{key}");
            let is_date = definitions
                .iter()
                .any(|d| &d.key == key && d.kind == CustomFieldKind::Date);
            let value = if is_date {
                date_cell(&field, text).map(|date| Value::String(date.to_string()))
            } else {
                Ok(Value::String(text.to_string()))
            };
            let result = value.map(|value| {
                row.input.custom_fields.insert(key.clone(), value);
            });
            (field, result)
        }
        scalar => {
            let name = scalar.name().into_owned();
            let result = apply_scalar(&mut row.input, scalar, &name, text);
            (name, result)
        }
    };
    match result {
        Ok(()) => row.origins.push((origin, cell.column)),
        Err(problem) => row.problems.push((problem, cell.column)),
    }
}

/// Sets the scalar field `field` (column `name`) from `text`.
fn apply_scalar(
    input: &mut CustomerInput,
    field: &SheetField,
    name: &str,
    text: &str,
) -> Result<(), FieldViolation> {
    let owned = Some(text.to_string());
    let slot = match field {
        SheetField::Code => &mut input.code,
        SheetField::Title => &mut input.title,
        SheetField::FirstName => &mut input.first_name,
        SheetField::LastName => &mut input.last_name,
        SheetField::OrganizationName => &mut input.organization_name,
        SheetField::Industry => &mut input.industry,
        SheetField::Website => &mut input.website,
        SheetField::NationalCode => &mut input.national_code,
        SheetField::NationalId => &mut input.national_id,
        SheetField::BirthCertificateNumber => &mut input.birth_certificate_number,
        SheetField::FieldOfStudy => &mut input.field_of_study,
        SheetField::AcquisitionSource => &mut input.acquisition_source,
        SheetField::AcquisitionChannel => &mut input.acquisition_channel,
        SheetField::AcquisitionCampaign => &mut input.acquisition_campaign,
        SheetField::Kind => {
            input.kind =
                parse_kind(text).ok_or_else(|| unreadable(name, "person or organization"))?;
            return Ok(());
        }
        SheetField::Gender => {
            input.gender =
                Some(parse_gender(text).ok_or_else(|| unreadable(name, "female, male or other"))?);
            return Ok(());
        }
        SheetField::Degree => {
            input.degree = Some(
                snake(text, EducationDegree::parse)
                    .ok_or_else(|| unreadable(name, &one_of(EducationDegree::NAMES)))?,
            );
            return Ok(());
        }
        SheetField::LifecycleStage => {
            input.lifecycle_stage = snake(text, LifecycleStage::parse)
                .ok_or_else(|| unreadable(name, &one_of(LifecycleStage::NAMES)))?;
            return Ok(());
        }
        SheetField::BirthDate | SheetField::MarriageDate | SheetField::FoundingDate => {
            let date = Some(date_cell(name, text)?);
            match field {
                SheetField::BirthDate => input.birth_date = date,
                SheetField::MarriageDate => input.marriage_date = date,
                _ => input.founding_date = date,
            }
            return Ok(());
        }
        SheetField::OwnerId
        | SheetField::TeamId
        | SheetField::TierId
        | SheetField::ReferredByCustomerId
        | SheetField::ReferredByUserId => {
            let id = Some(id_cell(name, text)?);
            match field {
                SheetField::OwnerId => input.owner_id = id,
                SheetField::TeamId => input.team_id = id,
                SheetField::TierId => input.tier_id = id,
                SheetField::ReferredByCustomerId => input.referred_by_customer_id = id,
                _ => input.referred_by_user_id = id,
            }
            return Ok(());
        }
        // Not scalars; `apply_cell` handles them.
        SheetField::Phone(_)
        | SheetField::Mobile
        | SheetField::Fax
        | SheetField::Email(_)
        | SheetField::Province
        | SheetField::City
        | SheetField::Address
        | SheetField::PostalCode
        | SheetField::PoBox
        | SheetField::TagNames
        | SheetField::Custom(_) => return Ok(()),
    };
    *slot = owned;
    Ok(())
}

fn one_of(names: &[&str]) -> String {
    format!("one of {}", names.join(", "))
}

/// An enum name as people type it: any case, spaces or hyphens for underscores.
fn snake<T>(text: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    parse(&text.trim().to_lowercase().replace([' ', '-'], "_"))
}

/// `person`/`organization`, or their usual Persian names.
fn parse_kind(text: &str) -> Option<CustomerKind> {
    snake(text, CustomerKind::parse).or(match text.trim() {
        "حقیقی" | "شخص" | "فرد" => Some(CustomerKind::Person),
        "حقوقی" | "سازمان" | "شرکت" => Some(CustomerKind::Organization),
        _ => None,
    })
}

/// `female`/`male`/`other`, or their usual Persian names.
fn parse_gender(text: &str) -> Option<Gender> {
    snake(text, Gender::parse).or(match text.trim() {
        "زن" | "خانم" => Some(Gender::Female),
        "مرد" | "آقا" => Some(Gender::Male),
        "سایر" => Some(Gender::Other),
        _ => None,
    })
}

fn date_cell(field: &str, text: &str) -> Result<NaiveDate, FieldViolation> {
    parse_date(text).ok_or_else(|| {
        FieldViolation::new(
            field,
            "invalid_date",
            "must be a date as YYYY-MM-DD or Jalali YYYY/MM/DD",
        )
    })
}

fn id_cell(field: &str, text: &str) -> Result<Uuid, FieldViolation> {
    Uuid::parse_str(text.trim()).map_err(|_| unreadable(field, "an id (UUID)"))
}

/// A value of an exported cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetValue {
    Text(String),
    Integer(i64),
    Bool(bool),
}

/// Which stored phone goes in which column, so that an import of the export rebuilds the
/// same phones with the same types and primary: the first fax in `fax` (the only column
/// that keeps that type), the primary phone in `phone`, the first other mobile in
/// `mobile`, the rest in `phone2`, `phone3`, … in their stored order (their types are
/// inferred again from the numbers). A primary fax beside other phones loses its
/// primacy, as an import puts `fax` last.
fn phone_columns(phones: &[PhoneInput]) -> HashMap<SheetField, &str> {
    let mut placed: HashMap<SheetField, &str> = HashMap::new();
    let mut left: Vec<&PhoneInput> = phones.iter().collect();
    let mut take = |field: SheetField, pick: &dyn Fn(&PhoneInput) -> bool| {
        if let Some(index) = left.iter().position(|phone| pick(phone)) {
            placed.insert(field, left.remove(index).number.as_str());
        }
    };
    take(SheetField::Fax, &|phone| {
        phone.phone_type == Some(PhoneType::Fax)
    });
    take(SheetField::Phone(1), &|phone| phone.primary);
    take(SheetField::Mobile, &|phone| {
        phone.phone_type == Some(PhoneType::Mobile)
    });
    for (n, phone) in (2..).zip(left) {
        placed.insert(SheetField::Phone(n), phone.number.as_str());
    }
    placed
}

/// The exported value of `field` for the stored customer `input`, `None` when empty.
/// Tag names are the caller's (they are not part of the input); `definitions` say how
/// custom values are typed.
pub fn cell_value(
    input: &CustomerInput,
    field: &SheetField,
    dates: DateStyle,
    definitions: &[CustomFieldDefinition],
) -> Option<SheetValue> {
    let text = |value: &Option<String>| value.clone().map(SheetValue::Text);
    let date = |value: Option<NaiveDate>| value.map(|d| SheetValue::Text(dates.format(d)));
    let id = |value: Option<Uuid>| value.map(|id| SheetValue::Text(id.to_string()));
    let primary_address = || {
        input
            .addresses
            .iter()
            .find(|a| a.primary)
            .or(input.addresses.first())
    };
    match field {
        SheetField::Kind => Some(SheetValue::Text(input.kind.as_str().to_string())),
        SheetField::Code => text(&input.code),
        SheetField::Title => text(&input.title),
        SheetField::Gender => input.gender.map(|g| SheetValue::Text(g.as_str().into())),
        SheetField::FirstName => text(&input.first_name),
        SheetField::LastName => text(&input.last_name),
        SheetField::OrganizationName => text(&input.organization_name),
        SheetField::Industry => text(&input.industry),
        SheetField::Website => text(&input.website),
        SheetField::NationalCode => text(&input.national_code),
        SheetField::NationalId => text(&input.national_id),
        SheetField::BirthCertificateNumber => text(&input.birth_certificate_number),
        SheetField::BirthDate => date(input.birth_date),
        SheetField::MarriageDate => date(input.marriage_date),
        SheetField::FoundingDate => date(input.founding_date),
        SheetField::FieldOfStudy => text(&input.field_of_study),
        SheetField::Degree => input.degree.map(|d| SheetValue::Text(d.as_str().into())),
        SheetField::OwnerId => id(input.owner_id),
        SheetField::TeamId => id(input.team_id),
        SheetField::TierId => id(input.tier_id),
        SheetField::LifecycleStage => {
            Some(SheetValue::Text(input.lifecycle_stage.as_str().to_string()))
        }
        SheetField::AcquisitionSource => text(&input.acquisition_source),
        SheetField::AcquisitionChannel => text(&input.acquisition_channel),
        SheetField::AcquisitionCampaign => text(&input.acquisition_campaign),
        SheetField::ReferredByCustomerId => id(input.referred_by_customer_id),
        SheetField::ReferredByUserId => id(input.referred_by_user_id),
        SheetField::Phone(_) | SheetField::Mobile | SheetField::Fax => phone_columns(&input.phones)
            .get(field)
            .map(|number| SheetValue::Text((*number).to_string())),
        SheetField::Email(n) => {
            let mut emails: Vec<&EmailInput> = input.emails.iter().collect();
            emails.sort_by_key(|email| !email.primary);
            emails
                .get(usize::from(*n).saturating_sub(1))
                .map(|email| SheetValue::Text(email.address.clone()))
        }
        SheetField::Province => primary_address().and_then(|a| text(&a.province)),
        SheetField::City => primary_address().and_then(|a| text(&a.city)),
        SheetField::Address => primary_address().and_then(|a| text(&a.line)),
        SheetField::PostalCode => primary_address().and_then(|a| text(&a.postal_code)),
        SheetField::PoBox => primary_address().and_then(|a| text(&a.po_box)),
        SheetField::TagNames => None,
        SheetField::Custom(key) => {
            let value = input.custom_fields.get(key)?;
            let kind = definitions.iter().find(|d| &d.key == key).map(|d| d.kind);
            match (value, kind) {
                (Value::String(iso), Some(CustomFieldKind::Date)) => {
                    Some(SheetValue::Text(match parse_date(iso) {
                        Some(d) => dates.format(d),
                        None => iso.clone(),
                    }))
                }
                (Value::String(text), _) => Some(SheetValue::Text(text.clone())),
                (Value::Bool(flag), _) => Some(SheetValue::Bool(*flag)),
                (Value::Number(number), _) => number
                    .as_i64()
                    .map(SheetValue::Integer)
                    .or_else(|| Some(SheetValue::Text(number.to_string()))),
                (Value::Null, _) => None,
                (other, _) => Some(SheetValue::Text(other.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell<'a>(field: &'a SheetField, text: &'a str, column: usize) -> SheetCell<'a> {
        SheetCell {
            field,
            text,
            column,
        }
    }

    #[test]
    fn cells_with_control_characters_are_refused_on_their_field_and_column() {
        let first = SheetField::parse("first_name").unwrap();
        let branch = SheetField::Custom("branch".into());
        let mobile = SheetField::parse("mobile").unwrap();
        let cells = vec![
            cell(&first, "Ali\0", 0),
            cell(&branch, "Tehran\nNorth", 2),
            cell(&mobile, "0912\u{7}", 3),
        ];
        let (kept, refused) = refuse_forbidden_cells(cells);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].column, 2);
        let refused: Vec<_> = refused
            .iter()
            .map(|(v, column)| (v.field.as_str(), v.code.as_str(), *column))
            .collect();
        assert_eq!(
            refused,
            [
                ("first_name", "nul_character", 0),
                ("mobile", "control_character", 3)
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for field in default_fields()
            .into_iter()
            .chain([SheetField::Phone(10), SheetField::Custom("branch".into())])
        {
            assert_eq!(
                SheetField::parse(&field.name()),
                Some(field.clone()),
                "{field:?}"
            );
        }
        assert_eq!(SheetField::parse("phone1"), None);
        assert_eq!(SheetField::parse("phone11"), None);
        assert_eq!(SheetField::parse("custom.Bad"), None);
        assert_eq!(SheetField::parse("display_name"), None);
    }

    #[test]
    fn dates_are_iso_or_jalali_in_any_digits() {
        let nowruz = NaiveDate::from_ymd_opt(2024, 3, 20);
        assert_eq!(parse_date("2024-03-20"), nowruz);
        assert_eq!(parse_date("2024/03/20"), nowruz);
        assert_eq!(parse_date("2024-03-20T00:00:00"), nowruz);
        assert_eq!(parse_date("1403/01/01"), nowruz);
        assert_eq!(parse_date("۱۴۰۳/۰۱/۰۱"), nowruz);
        assert_eq!(parse_date("1403-1-1"), nowruz);
        for bad in [
            "",
            "2024-02-30",
            "1403/13/01",
            "20/03/2024x",
            "1403/01/01/01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        let date = NaiveDate::from_ymd_opt(1990, 3, 21).unwrap();
        assert_eq!(parse_date(&DateStyle::Jalali.format(date)), Some(date));
    }

    #[test]
    fn a_row_fills_a_new_customer_and_names_its_columns() {
        let fields = [
            SheetField::FirstName,
            SheetField::Mobile,
            SheetField::Phone(1),
            SheetField::BirthDate,
            SheetField::Gender,
            SheetField::PostalCode,
            SheetField::TagNames,
        ];
        let texts = [
            "علی",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "021 8800 1122",
            "1369/01/01",
            "x",
            "1966936541",
            "vip، gold ,",
        ];
        let cells: Vec<SheetCell<'_>> = fields
            .iter()
            .zip(texts)
            .enumerate()
            .map(|(column, (field, text))| cell(field, text, column))
            .collect();
        let row = apply_row(CustomerInput::empty(CustomerKind::Person), &cells, &[]);
        assert_eq!(row.input.first_name.as_deref(), Some("علی"));
        // `phone` comes before `mobile` whatever the column order.
        assert_eq!(row.input.phones[0].number, "021 8800 1122");
        assert_eq!(row.input.phones[1].phone_type, Some(PhoneType::Mobile));
        assert_eq!(row.input.birth_date, NaiveDate::from_ymd_opt(1990, 3, 21));
        assert_eq!(row.tag_names, vec!["vip", "gold"]);
        assert_eq!(row.problems.len(), 1);
        assert_eq!(row.problems[0].0.field, "gender");
        assert_eq!(row.problems[0].1, 4);
        assert_eq!(row.column_of("phones[1].number"), Some(1));
        assert_eq!(row.column_of("phones[0].type"), Some(2));
        assert_eq!(row.column_of("addresses[0].postal_code"), Some(5));
        assert_eq!(row.column_of("first_name"), Some(0));
        assert_eq!(row.column_of("first_names"), None);
        assert_eq!(row.column_of("last_name"), None);
    }

    #[test]
    fn a_row_on_an_existing_customer_adds_contacts_it_lacks() {
        let mut base = CustomerInput::empty(CustomerKind::Person);
        base.phones.push(PhoneInput {
            number: "+989121234567".into(),
            phone_type: Some(PhoneType::Mobile),
            label: None,
            primary: true,
        });
        let (mobile, phone2) = (SheetField::Mobile, SheetField::Phone(2));
        let cells = [
            cell(&mobile, "09121234567", 0),
            cell(&phone2, "02188001122", 1),
        ];
        let row = apply_row(base, &cells, &[]);
        assert_eq!(row.input.phones.len(), 2);
        assert_eq!(row.column_of("phones[1].number"), Some(1));
        assert_eq!(row.column_of("phones[0].number"), None);
    }

    #[test]
    fn exported_contacts_import_back_in_the_same_order() {
        let mut input = CustomerInput::empty(CustomerKind::Person);
        for (number, phone_type, primary) in [
            ("+982188001122", PhoneType::Landline, false),
            ("+989121234567", PhoneType::Mobile, true),
            ("+982188001133", PhoneType::Fax, false),
            ("+989350000000", PhoneType::Mobile, false),
        ] {
            input.phones.push(PhoneInput {
                number: number.into(),
                phone_type: Some(phone_type),
                label: None,
                primary,
            });
        }
        let fields = [
            SheetField::Phone(1),
            SheetField::Mobile,
            SheetField::Phone(2),
            SheetField::Phone(3),
            SheetField::Fax,
        ];
        let texts: Vec<String> = fields
            .iter()
            .map(
                |field| match cell_value(&input, field, DateStyle::Gregorian, &[]) {
                    Some(SheetValue::Text(text)) => text,
                    _ => String::new(),
                },
            )
            .collect();
        assert_eq!(texts[0], "+989121234567", "the primary phone leads");
        let cells: Vec<SheetCell<'_>> = fields
            .iter()
            .zip(&texts)
            .enumerate()
            .map(|(column, (field, text))| cell(field, text, column))
            .collect();
        let row = apply_row(CustomerInput::empty(CustomerKind::Person), &cells, &[]);
        let numbers: Vec<&str> = row.input.phones.iter().map(|p| p.number.as_str()).collect();
        assert_eq!(numbers[0], "+989121234567");
        assert_eq!(numbers.len(), 4);
        assert_eq!(numbers[3], "+982188001133");
    }
}
