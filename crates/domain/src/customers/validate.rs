//! Normalisation and validation of [`CustomerInput`] (C-1, L-1, L-2): every problem is
//! reported at once with its field path, and what passes comes back in stored form
//! (E.164 phones, lower-cased e-mails, checked codes, trimmed text, one primary entry
//! per contact list).

use chrono::NaiveDate;

use super::input::{CustomerInput, CustomerKind, EmailInput, PhoneInput, PhoneType};
use crate::iran::{self, PhoneKind};
use crate::persian::normalize_digits;
use crate::text::TextKind;
use crate::validation::{normalize_email, FieldViolation, Violations};

/// Most phones, e-mails or addresses one customer can have.
pub const MAX_CONTACT_ENTRIES: usize = 10;

const MAX_NAME_CHARS: usize = 100;
const MAX_TEXT_CHARS: usize = 200;
const MAX_ADDRESS_CHARS: usize = 500;
const MAX_CODE_CHARS: usize = 64;
const MAX_LABEL_CHARS: usize = 50;
const MAX_BIRTH_CERTIFICATE_DIGITS: usize = 10;

/// The earliest date accepted for births, marriages and foundings.
fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1850, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Checks and normalises `input` as of `today` (dates in the future are rejected).
pub fn validate_customer(
    mut input: CustomerInput,
    today: NaiveDate,
) -> Result<CustomerInput, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let texts: [(&str, &mut Option<String>, usize); 14] = [
        ("code", &mut input.code, MAX_CODE_CHARS),
        ("title", &mut input.title, MAX_NAME_CHARS),
        ("first_name", &mut input.first_name, MAX_NAME_CHARS),
        ("last_name", &mut input.last_name, MAX_NAME_CHARS),
        (
            "organization_name",
            &mut input.organization_name,
            MAX_TEXT_CHARS,
        ),
        ("industry", &mut input.industry, MAX_TEXT_CHARS),
        ("website", &mut input.website, MAX_TEXT_CHARS),
        (
            "birth_certificate_number",
            &mut input.birth_certificate_number,
            MAX_CODE_CHARS,
        ),
        ("field_of_study", &mut input.field_of_study, MAX_TEXT_CHARS),
        (
            "acquisition_source",
            &mut input.acquisition_source,
            MAX_NAME_CHARS,
        ),
        (
            "acquisition_channel",
            &mut input.acquisition_channel,
            MAX_NAME_CHARS,
        ),
        (
            "acquisition_campaign",
            &mut input.acquisition_campaign,
            MAX_TEXT_CHARS,
        ),
        ("national_code", &mut input.national_code, MAX_CODE_CHARS),
        ("national_id", &mut input.national_id, MAX_CODE_CHARS),
    ];
    for (field, value, max) in texts {
        v.tidy_line(field, value, max);
    }
    check_kind_fields(&input, &mut v);
    if let Some(code) = input.code.as_mut() {
        *code = normalize_digits(code);
    }
    if let Some(raw) = input.national_code.take() {
        match iran::validate_national_code(&raw) {
            Ok(code) => input.national_code = Some(code),
            Err(err) => {
                v.0.push(err.violation("national_code"));
                input.national_code = Some(raw);
            }
        }
    }
    if let Some(raw) = input.national_id.take() {
        match iran::validate_legal_entity_id(&raw) {
            Ok(id) => input.national_id = Some(id),
            Err(err) => {
                v.0.push(err.violation("national_id"));
                input.national_id = Some(raw);
            }
        }
    }
    if let Some(number) = input.birth_certificate_number.as_mut() {
        *number = normalize_digits(number);
        if !number.chars().all(|c| c.is_ascii_digit())
            || number.len() > MAX_BIRTH_CERTIFICATE_DIGITS
        {
            v.push(
                "birth_certificate_number",
                "invalid_format",
                format!("must be at most {MAX_BIRTH_CERTIFICATE_DIGITS} digits"),
            );
        }
    }
    if let Some(website) = input.website.take() {
        match normalize_website(&website) {
            Some(url) => input.website = Some(url),
            None => {
                v.push(
                    "website",
                    "invalid_format",
                    "must be a web address such as example.ir or https://example.ir",
                );
                input.website = Some(website);
            }
        }
    }
    check_dates(&input, today, &mut v);
    normalize_phones(&mut input.phones, &mut v);
    normalize_emails(&mut input.emails, &mut v);
    normalize_addresses(&mut input, &mut v);
    dedup_ids("tag_ids", &mut input.tag_ids, &mut v);
    dedup_ids("group_ids", &mut input.group_ids, &mut v);
    v.into_result().map(|()| input)
}

fn check_kind_fields(input: &CustomerInput, v: &mut Violations) {
    let present = |field: &str| -> bool {
        match field {
            "title" => input.title.is_some(),
            "gender" => input.gender.is_some(),
            "first_name" => input.first_name.is_some(),
            "last_name" => input.last_name.is_some(),
            "organization_name" => input.organization_name.is_some(),
            "industry" => input.industry.is_some(),
            "national_code" => input.national_code.is_some(),
            "national_id" => input.national_id.is_some(),
            "birth_certificate_number" => input.birth_certificate_number.is_some(),
            "birth_date" => input.birth_date.is_some(),
            "marriage_date" => input.marriage_date.is_some(),
            "founding_date" => input.founding_date.is_some(),
            "field_of_study" => input.field_of_study.is_some(),
            "degree" => input.degree.is_some(),
            _ => false,
        }
    };
    let (kind_name, foreign): (&str, &[&str]) = match input.kind {
        CustomerKind::Person => (
            "person",
            &[
                "organization_name",
                "industry",
                "national_id",
                "founding_date",
            ],
        ),
        CustomerKind::Organization => (
            "organization",
            &[
                "title",
                "gender",
                "first_name",
                "last_name",
                "national_code",
                "birth_certificate_number",
                "birth_date",
                "marriage_date",
                "field_of_study",
                "degree",
            ],
        ),
    };
    for field in foreign.iter().filter(|field| present(field)) {
        v.push(
            *field,
            "not_allowed_for_kind",
            format!("does not apply to a customer of kind {kind_name}"),
        );
    }
    match input.kind {
        CustomerKind::Person if input.first_name.is_none() && input.last_name.is_none() => {
            v.push(
                "last_name",
                "required",
                "a person needs a first or last name",
            );
        }
        CustomerKind::Organization if input.organization_name.is_none() => {
            v.push(
                "organization_name",
                "required",
                "an organization needs a name",
            );
        }
        _ => {}
    }
}

fn check_dates(input: &CustomerInput, today: NaiveDate, v: &mut Violations) {
    for (field, date) in [
        ("birth_date", input.birth_date),
        ("marriage_date", input.marriage_date),
        ("founding_date", input.founding_date),
    ] {
        if let Some(date) = date {
            if date > today {
                v.push(field, "in_future", "must not be in the future");
            } else if date < earliest_date() {
                v.push(field, "too_early", "must be after 1850-01-01");
            }
        }
    }
    if let (Some(birth), Some(marriage)) = (input.birth_date, input.marriage_date) {
        if marriage < birth {
            v.push(
                "marriage_date",
                "before_birth",
                "must not be before birth_date",
            );
        }
    }
}

/// Web addresses are stored with a scheme; a bare host gets `https://`.
fn normalize_website(raw: &str) -> Option<String> {
    let lower = raw.to_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let rest = with_scheme.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    let valid_host = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'));
    (valid_host && !with_scheme.chars().any(char::is_whitespace)).then_some(with_scheme)
}

fn check_label(field: String, label: &mut Option<String>, v: &mut Violations) {
    v.tidy_line(&field, label, MAX_LABEL_CHARS);
}

/// Makes exactly one entry primary: the first marked one (more than one marked is an
/// error), or the first entry when none is.
fn settle_primary(
    field: &str,
    flags: impl Iterator<Item = bool>,
    v: &mut Violations,
) -> Option<usize> {
    let marked: Vec<usize> = flags
        .enumerate()
        .filter_map(|(i, primary)| primary.then_some(i))
        .collect();
    if marked.len() > 1 {
        v.push(
            field,
            "multiple_primary",
            "at most one entry may be primary",
        );
    }
    marked.first().copied()
}

fn too_many(field: &str, len: usize, v: &mut Violations) {
    if len > MAX_CONTACT_ENTRIES {
        v.push(
            field,
            "too_many",
            format!("at most {MAX_CONTACT_ENTRIES} entries"),
        );
    }
}

/// Normalises a contact list's phones to E.164, inferring or checking each type, and
/// settles which one is primary.
pub(crate) fn normalize_phones(phones: &mut [PhoneInput], v: &mut Violations) {
    too_many("phones", phones.len(), v);
    let mut seen = Vec::new();
    for (i, phone) in phones.iter_mut().enumerate() {
        let field = format!("phones[{i}].number");
        check_label(format!("phones[{i}].label"), &mut phone.label, v);
        if !v.check_text(&field, &phone.number, TextKind::SingleLine) {
            continue;
        }
        match iran::normalize_phone(&phone.number) {
            Ok(normal) => {
                let inferred = match normal.kind {
                    PhoneKind::Mobile => PhoneType::Mobile,
                    PhoneKind::Landline => PhoneType::Landline,
                    PhoneKind::Foreign => PhoneType::Other,
                };
                match phone.phone_type {
                    None => phone.phone_type = Some(inferred),
                    Some(PhoneType::Mobile) if normal.kind == PhoneKind::Landline => v.push(
                        format!("phones[{i}].type"),
                        "type_mismatch",
                        "the number is an Iranian landline, not a mobile",
                    ),
                    Some(PhoneType::Landline) if normal.kind == PhoneKind::Mobile => v.push(
                        format!("phones[{i}].type"),
                        "type_mismatch",
                        "the number is an Iranian mobile, not a landline",
                    ),
                    Some(_) => {}
                }
                if seen.contains(&normal.e164) {
                    v.push(field, "duplicate", "the same number is listed twice");
                }
                seen.push(normal.e164.clone());
                phone.number = normal.e164;
            }
            Err(err) => v.0.push(err.violation(field)),
        }
    }
    let primary = settle_primary("phones", phones.iter().map(|p| p.primary), v);
    for (i, phone) in phones.iter_mut().enumerate() {
        phone.primary = i == primary.unwrap_or(0);
    }
}

/// Lower-cases and checks a contact list's e-mail addresses and settles which one is
/// primary.
pub(crate) fn normalize_emails(emails: &mut [EmailInput], v: &mut Violations) {
    too_many("emails", emails.len(), v);
    let mut seen = Vec::new();
    for (i, email) in emails.iter_mut().enumerate() {
        check_label(format!("emails[{i}].label"), &mut email.label, v);
        if !v.check_text(
            format!("emails[{i}].address"),
            &email.address,
            TextKind::SingleLine,
        ) {
            continue;
        }
        match normalize_email(&email.address) {
            Some(address) => {
                if seen.contains(&address) {
                    v.push(
                        format!("emails[{i}].address"),
                        "duplicate",
                        "the same address is listed twice",
                    );
                }
                seen.push(address.clone());
                email.address = address;
            }
            None => v.push(
                format!("emails[{i}].address"),
                "invalid_format",
                "must be an e-mail address such as name@example.ir",
            ),
        }
    }
    let primary = settle_primary("emails", emails.iter().map(|e| e.primary), v);
    for (i, email) in emails.iter_mut().enumerate() {
        email.primary = i == primary.unwrap_or(0);
    }
}

fn normalize_addresses(input: &mut CustomerInput, v: &mut Violations) {
    too_many("addresses", input.addresses.len(), v);
    for (i, address) in input.addresses.iter_mut().enumerate() {
        check_label(format!("addresses[{i}].label"), &mut address.label, v);
        v.tidy_line(
            &format!("addresses[{i}].province"),
            &mut address.province,
            MAX_NAME_CHARS,
        );
        v.tidy_line(
            &format!("addresses[{i}].city"),
            &mut address.city,
            MAX_NAME_CHARS,
        );
        v.tidy_line(
            &format!("addresses[{i}].line"),
            &mut address.line,
            MAX_ADDRESS_CHARS,
        );
        v.tidy_line(
            &format!("addresses[{i}].po_box"),
            &mut address.po_box,
            MAX_CODE_CHARS,
        );
        v.tidy_line(
            &format!("addresses[{i}].postal_code"),
            &mut address.postal_code,
            MAX_CODE_CHARS,
        );
        if let Some(raw) = address.postal_code.take() {
            match iran::validate_postal_code(&raw) {
                Ok(code) => address.postal_code = Some(code),
                Err(err) => {
                    v.0.push(err.violation(format!("addresses[{i}].postal_code")));
                    address.postal_code = Some(raw);
                }
            }
        }
        if let Some(po_box) = address.po_box.as_mut() {
            *po_box = normalize_digits(po_box);
        }
        if address.province.is_none()
            && address.city.is_none()
            && address.line.is_none()
            && address.postal_code.is_none()
            && address.po_box.is_none()
        {
            v.push(
                format!("addresses[{i}]"),
                "empty",
                "an address needs at least one of province, city, line, postal_code, po_box",
            );
        }
    }
    let primary = settle_primary("addresses", input.addresses.iter().map(|a| a.primary), v);
    for (i, address) in input.addresses.iter_mut().enumerate() {
        address.primary = i == primary.unwrap_or(0);
    }
}

fn dedup_ids(field: &str, ids: &mut Vec<uuid::Uuid>, v: &mut Violations) {
    let before = ids.len();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    if before > 100 {
        v.push(field, "too_many", "at most 100 entries");
    }
}
