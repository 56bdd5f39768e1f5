//! Message templates (O-3): the texts a business sends first — a reminder, a
//! pre-invoice notice, a birthday greeting — in Persian and optionally English, filled
//! in per customer.
//!
//! Templates are Jinja text rendered by `minijinja`: `{{ customer.first_name }}`,
//! conditions (`{% if customer.city %}…{% endif %}`), defaults
//! (`{{ customer.code | default("-") }}`) and three filters for Persian text:
//!
//! - `jalali` writes a date (`YYYY-MM-DD`) or a time (RFC 3339, shown in the business
//!   time zone) in the Jalali calendar: `1405/09/13`, or with `jalali("long")`
//!   `13 آذر 1405` (`13 Azar 1405` in English);
//! - `fa_digits` writes every ASCII digit as a Persian one;
//! - `toman` writes an amount in rials as toman with thousands separators:
//!   `12,500 تومان` in Persian text (`12,500 toman` in English).
//!
//! In a Persian template `jalali` and `toman` already write Persian digits. What may be
//! named is fixed ([`VARIABLES`]): a template naming anything else, or an unknown
//! filter, is refused when it is saved, not when it is sent. Rendering has no loader (a
//! template cannot include another or read anything) and a fuel limit, so a loop in a
//! saved template cannot run away.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::JalaliDate;
use crate::omnichannel::accounts::{ChannelKind, MAX_SUBJECT_CHARS};
use crate::persian::persian_digits;
use crate::validation::{FieldViolation, Violations};

/// Longest template name.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest template body: an e-mail's worth of text.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Instructions one rendering may spend: far more than any real template needs, little
/// enough that a runaway loop stops within milliseconds.
const RENDER_FUEL: u64 = 100_000;
/// Longest rendered text: bodies are checked against the channel's own length after.
const MAX_RENDERED_CHARS: usize = 40_000;

/// The variables a template may use. `today` is the business's local date.
pub const VARIABLES: [&str; 13] = [
    "customer.name",
    "customer.first_name",
    "customer.last_name",
    "customer.code",
    "customer.city",
    "customer.province",
    "customer.birth_date",
    "customer.lifecycle_stage",
    "customer.order_count",
    "customer.revenue",
    "customer.last_order_at",
    "agent.name",
    "today",
];

/// The language of a template's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateLanguage {
    Fa,
    En,
}

impl TemplateLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateLanguage::Fa => "fa",
            TemplateLanguage::En => "en",
        }
    }

    pub fn parse(text: &str) -> Option<TemplateLanguage> {
        match text {
            "fa" => Some(TemplateLanguage::Fa),
            "en" => Some(TemplateLanguage::En),
            _ => None,
        }
    }
}

/// A template as clients write it (also the merge-patch target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "یادآوری پیش‌فاکتور",
    "channel": "sms",
    "body_fa": "{{ customer.first_name | default(customer.name) }} عزیز، پیش‌فاکتور شما تا {{ today | jalali(\"long\") }} معتبر است. مجموع خریدهای شما: {{ customer.revenue | toman }}",
    "body_en": "Dear {{ customer.name }}, your pre-invoice is valid until {{ today | jalali(\"long\") }}.",
    "active": true
}))]
pub struct MessageTemplateInput {
    /// Unique among templates.
    pub name: String,
    /// Only accounts of this kind send it; any account when absent.
    #[serde(default)]
    pub channel: Option<ChannelKind>,
    /// An e-mail's subject in Persian (required when `channel` is `email`).
    #[serde(default)]
    pub subject_fa: Option<String>,
    #[serde(default)]
    pub subject_en: Option<String>,
    /// The Persian text: Jinja with the variables and filters described above.
    pub body_fa: String,
    /// The English text; an English send of a template without one is refused.
    #[serde(default)]
    pub body_en: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

impl MessageTemplateInput {
    /// The template in stored form: names and subjects on one line, texts trimmed,
    /// every text a template that uses only [`VARIABLES`] and known filters.
    pub fn validated(mut self) -> Result<MessageTemplateInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_line("subject_fa", &mut self.subject_fa, MAX_SUBJECT_CHARS);
        v.tidy_line("subject_en", &mut self.subject_en, MAX_SUBJECT_CHARS);
        let mut body = Some(std::mem::take(&mut self.body_fa));
        v.tidy_text("body_fa", &mut body, MAX_BODY_CHARS);
        match body {
            Some(body) => self.body_fa = body,
            None => v.push("body_fa", "required", "a template needs a Persian text"),
        }
        v.tidy_text("body_en", &mut self.body_en, MAX_BODY_CHARS);
        match self.channel {
            Some(ChannelKind::Email) if self.subject_fa.is_none() => v.push(
                "subject_fa",
                "required",
                "an e-mail template needs a subject",
            ),
            Some(ChannelKind::Email) | None => {}
            Some(_) => {
                for (field, subject) in [
                    ("subject_fa", &self.subject_fa),
                    ("subject_en", &self.subject_en),
                ] {
                    if subject.is_some() {
                        v.push(field, "not_allowed", "only an e-mail has a subject");
                    }
                }
            }
        }
        if self.subject_en.is_some() && self.body_en.is_none() {
            v.push(
                "body_en",
                "required",
                "an English subject needs an English text",
            );
        }
        if v.is_empty() {
            let texts = [
                (
                    "subject_fa",
                    self.subject_fa.as_deref(),
                    TemplateLanguage::Fa,
                ),
                (
                    "subject_en",
                    self.subject_en.as_deref(),
                    TemplateLanguage::En,
                ),
                ("body_fa", Some(self.body_fa.as_str()), TemplateLanguage::Fa),
                ("body_en", self.body_en.as_deref(), TemplateLanguage::En),
            ];
            for (field, text, language) in texts {
                if let Some(text) = text {
                    if let Err(error) = check_source(text, language) {
                        v.0.push(error.at(field));
                    }
                }
            }
        }
        v.into_result().map(|()| self)
    }

    /// The subject and body in `language`, `None` when the template has no text in it.
    pub fn text(&self, language: TemplateLanguage) -> Option<(Option<&str>, &str)> {
        match language {
            TemplateLanguage::Fa => Some((self.subject_fa.as_deref(), self.body_fa.as_str())),
            TemplateLanguage::En => self
                .body_en
                .as_deref()
                .map(|body| (self.subject_en.as_deref(), body)),
        }
    }
}

/// Whom to fill a template in for, to see it as it would be sent.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "0193a4e2-7c1d-7b3e-9f10-666666666666", "language": "fa"}))]
pub struct TemplatePreviewInput {
    pub customer_id: uuid::Uuid,
    /// `fa` (the default) or `en`.
    #[serde(default)]
    pub language: Option<TemplateLanguage>,
}

/// Why a template text is refused or could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// Not Jinja: an unclosed tag, a stray `}}`, a `{% include %}` …
    Syntax(String),
    /// A name not among [`VARIABLES`].
    UnknownVariable(String),
    /// A filter or function that does not exist, a wrong argument, too much work.
    Render(String),
}

impl TemplateError {
    /// The violation on `field`.
    pub fn at(&self, field: &str) -> FieldViolation {
        match self {
            TemplateError::Syntax(message) => {
                FieldViolation::new(field, "invalid_template", message.clone())
            }
            TemplateError::UnknownVariable(name) => FieldViolation::new(
                field,
                "unknown_variable",
                format!(
                    "`{name}` is not a variable; the variables are {}",
                    VARIABLES.join(", ")
                ),
            ),
            TemplateError::Render(message) => {
                FieldViolation::new(field, "invalid_template", message.clone())
            }
        }
    }
}

/// A customer's facts a template may show. What is absent is left out, so that a
/// template sees it undefined: it renders empty and `default(…)` replaces it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TemplateCustomer {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    pub lifecycle_stage: String,
    pub order_count: i64,
    /// Rials (minor units of IRR) for `toman`, else minor units of the business currency.
    pub revenue: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_order_at: Option<DateTime<Utc>>,
}

/// What a template is filled in with.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateValues {
    pub customer: TemplateCustomer,
    /// The agent who sends, when one does.
    pub agent_name: Option<String>,
    /// The business's time zone: `today`, and the zone `jalali` shows times in.
    pub time_zone: Tz,
    pub now: DateTime<Utc>,
}

impl TemplateValues {
    /// Stand-in values for checking a template when it is saved.
    fn sample() -> TemplateValues {
        TemplateValues {
            customer: TemplateCustomer {
                name: "سارا کریمی".into(),
                first_name: Some("سارا".into()),
                last_name: Some("کریمی".into()),
                code: Some("C-1001".into()),
                city: Some("تهران".into()),
                province: Some("تهران".into()),
                birth_date: NaiveDate::from_ymd_opt(1990, 3, 21),
                lifecycle_stage: "customer".into(),
                order_count: 3,
                revenue: 12_500_000,
                last_order_at: DateTime::from_timestamp(1_764_000_000, 0),
            },
            agent_name: Some("مریم احمدی".into()),
            time_zone: chrono_tz::Asia::Tehran,
            now: DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
        }
    }
}

/// Checks that `source` is a template of the language that names only [`VARIABLES`]
/// and renders with sample values.
pub fn check_source(source: &str, language: TemplateLanguage) -> Result<(), TemplateError> {
    let env = environment(chrono_tz::Asia::Tehran, language);
    let template = env
        .template_from_str(source)
        .map_err(|error| TemplateError::Syntax(describe(&error)))?;
    let named: BTreeSet<String> = template.undeclared_variables(true).into_iter().collect();
    // Built-in functions (`range`, `dict`, `namespace`) are names too.
    let functions: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    if let Some(unknown) = named.iter().find(|name| {
        !VARIABLES.contains(&name.as_str())
            && !is_prefix_of_variable(name)
            && !functions.contains(name.split('.').next().unwrap_or(name))
    }) {
        return Err(TemplateError::UnknownVariable(unknown.clone()));
    }
    render(source, language, &TemplateValues::sample()).map(|_| ())
}

/// Whether `name` is a whole object of [`VARIABLES`] (`customer`), which a template may
/// test (`{% if customer %}`) but which shows nothing useful by itself.
fn is_prefix_of_variable(name: &str) -> bool {
    VARIABLES.iter().any(|variable| {
        variable
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Fills in `source` with `values`: the text sent. Absent values are empty.
pub fn render(
    source: &str,
    language: TemplateLanguage,
    values: &TemplateValues,
) -> Result<String, TemplateError> {
    let env = environment(values.time_zone, language);
    let template = env
        .template_from_str(source)
        .map_err(|error| TemplateError::Syntax(describe(&error)))?;
    let today = values.now.with_timezone(&values.time_zone).date_naive();
    let context = minijinja::context! {
        customer => Value::from_serialize(&values.customer),
        agent => match &values.agent_name {
            Some(name) => minijinja::context! { name => name },
            None => minijinja::context! {},
        },
        today => today.to_string(),
        language => language.as_str(),
    };
    let text = template
        .render(context)
        .map_err(|error| TemplateError::Render(describe(&error)))?;
    if text.chars().count() > MAX_RENDERED_CHARS {
        return Err(TemplateError::Render(format!(
            "the filled-in text is longer than {MAX_RENDERED_CHARS} characters"
        )));
    }
    Ok(text.trim().to_string())
}

/// The environment templates render in: no loader, the fuel limit, the Persian filters.
fn environment(time_zone: Tz, language: TemplateLanguage) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(RENDER_FUEL));
    // Texts are messages, not HTML: nothing is escaped.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(false);
    let persian = language == TemplateLanguage::Fa;
    env.add_filter(
        "jalali",
        move |value: Value, style: Option<String>| -> Result<String, Error> {
            let long = match style.as_deref() {
                None | Some("short") => false,
                Some("long") => true,
                Some(other) => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("jalali takes \"short\" or \"long\", not \"{other}\""),
                    ))
                }
            };
            if value.is_undefined() || value.is_none() {
                return Ok(String::new());
            }
            let text = value.to_string();
            let date = match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
                Ok(date) => date,
                Err(_) => DateTime::parse_from_rfc3339(&text)
                    .map(|at| at.with_timezone(&time_zone).date_naive())
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("jalali needs a date such as 2026-12-04, not \"{text}\""),
                        )
                    })?,
            };
            Ok(jalali_text(JalaliDate::from_gregorian(date), long, persian))
        },
    );
    env.add_filter("fa_digits", |value: Value| -> String {
        if value.is_undefined() || value.is_none() {
            return String::new();
        }
        persian_digits(&value.to_string())
    });
    env.add_filter("toman", move |value: Value| -> Result<String, Error> {
        if value.is_undefined() || value.is_none() {
            return Ok(String::new());
        }
        let rials = i64::try_from(value.clone()).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("toman needs a whole amount in rials, not {value}"),
            )
        })?;
        Ok(toman_text(rials, persian))
    });
    env
}

/// The error's message without the template's source dump.
fn describe(error: &Error) -> String {
    match error.line() {
        Some(line) => format!(
            "{} (line {line})",
            error.detail().unwrap_or(&error.kind().to_string())
        ),
        None => error
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| error.kind().to_string()),
    }
}

const MONTHS_FA: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
];
const MONTHS_EN: [&str; 12] = [
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
];

/// `1405/09/13` or `13 آذر 1405`, in Persian digits for Persian text.
fn jalali_text(date: JalaliDate, long: bool, persian: bool) -> String {
    let text = if long {
        let months = if persian { &MONTHS_FA } else { &MONTHS_EN };
        let month = months[usize::from(date.month().clamp(1, 12) - 1)];
        format!("{} {month} {}", date.day(), date.year())
    } else {
        date.to_string()
    };
    if persian {
        persian_digits(&text)
    } else {
        text
    }
}

/// Rials as toman: a tenth, grouped by three (`٬` between Persian digits), with a
/// tenth of a toman only when there is one.
fn toman_text(rials: i64, persian: bool) -> String {
    let separator = if persian { '٬' } else { ',' };
    let grouped = crate::commerce::money::grouped_amount(
        rials / 10,
        crate::commerce::money::Currency::IRR,
        separator,
    );
    let tenth = (rials % 10).abs();
    let sign = if rials < 0 && rials / 10 == 0 {
        "-"
    } else {
        ""
    };
    let amount = if tenth == 0 {
        format!("{sign}{grouped}")
    } else {
        let point = if persian { '٫' } else { '.' };
        format!("{sign}{grouped}{point}{tenth}")
    };
    if persian {
        format!("{} تومان", persian_digits(&amount))
    } else {
        format!("{amount} toman")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            customer: TemplateCustomer {
                name: "سارا کریمی".into(),
                first_name: Some("سارا".into()),
                revenue: 1_250_005,
                birth_date: NaiveDate::from_ymd_opt(2026, 12, 4),
                last_order_at: DateTime::parse_from_rfc3339("2026-03-20T21:00:00Z")
                    .ok()
                    .map(|at| at.with_timezone(&Utc)),
                lifecycle_stage: "customer".into(),
                ..TemplateCustomer::default()
            },
            agent_name: None,
            time_zone: chrono_tz::Asia::Tehran,
            now: DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    fn fa(source: &str) -> String {
        render(source, TemplateLanguage::Fa, &values()).unwrap()
    }

    #[test]
    fn jalali_dates_in_both_languages() {
        assert_eq!(fa("{{ customer.birth_date | jalali }}"), "۱۴۰۵/۰۹/۱۳");
        assert_eq!(fa("{{ today | jalali('long') }}"), "۱۳ آذر ۱۴۰۵");
        let en = render(
            "{{ customer.birth_date | jalali(\"long\") }}",
            TemplateLanguage::En,
            &values(),
        )
        .unwrap();
        assert_eq!(en, "13 Azar 1405");
        // 21:00 UTC on 20 March is 00:30 on the 21st in Tehran: Nowruz, 1 Farvardin.
        assert_eq!(fa("{{ customer.last_order_at | jalali }}"), "۱۴۰۵/۰۱/۰۱");
        assert_eq!(fa("{{ customer.code | jalali }}"), "");
    }

    #[test]
    fn toman_and_persian_digits() {
        assert_eq!(fa("{{ customer.revenue | toman }}"), "۱۲۵٬۰۰۰٫۵ تومان");
        assert_eq!(
            render(
                "{{ customer.revenue | toman }}",
                TemplateLanguage::En,
                &values()
            )
            .unwrap(),
            "125,000.5 toman"
        );
        assert_eq!(fa("سفارش {{ 1405 | fa_digits }}"), "سفارش ۱۴۰۵");
        assert_eq!(fa("{{ -250 | toman }}"), "-۲۵ تومان");
    }

    #[test]
    fn absent_values_render_empty_and_defaults_apply() {
        assert_eq!(
            fa("{{ customer.first_name }} {{ customer.last_name }}|{{ customer.code | default('-') }}"),
            "سارا |-"
        );
        assert_eq!(
            fa("{% if customer.city %}{{ customer.city }}{% else %}بی‌شهر{% endif %}"),
            "بی‌شهر"
        );
        // Texts are not HTML.
        assert_eq!(fa("{{ '<b>&' }}"), "<b>&");
    }

    #[test]
    fn saving_refuses_what_sending_could_not_do() {
        let fa = TemplateLanguage::Fa;
        assert!(check_source("سلام {{ customer.name }}", fa).is_ok());
        assert!(check_source("{% if customer %}سلام{% endif %}", fa).is_ok());
        assert_eq!(
            check_source("{{ customer.phone }}", fa),
            Err(TemplateError::UnknownVariable("customer.phone".into()))
        );
        assert_eq!(
            check_source("{{ secret }}", fa),
            Err(TemplateError::UnknownVariable("secret".into()))
        );
        assert!(matches!(
            check_source("{{ customer.name ", fa),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            check_source("{% include 'other' %}", fa),
            Err(TemplateError::Render(_))
        ));
        assert!(matches!(
            check_source("{{ customer.name | shout }}", fa),
            Err(TemplateError::Syntax(_)) | Err(TemplateError::Render(_))
        ));
        assert!(matches!(
            check_source("{{ today | jalali('wide') }}", fa),
            Err(TemplateError::Render(_))
        ));
        // A loop that would run away stops on its fuel.
        assert!(matches!(
            check_source(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                fa
            ),
            Err(TemplateError::Render(_))
        ));
    }

    #[test]
    fn inputs_are_checked_per_field() {
        let input = MessageTemplateInput {
            name: "  یادآوری  ".into(),
            channel: Some(ChannelKind::Sms),
            subject_fa: Some("موضوع".into()),
            subject_en: None,
            body_fa: "{{ customer.nam }}".into(),
            body_en: Some(" Hello {{ customer.name }} ".into()),
            active: true,
        };
        let violations = input.clone().validated().unwrap_err();
        assert_eq!(violations[0].field, "subject_fa");
        assert_eq!(violations[0].code, "not_allowed");
        let violations = MessageTemplateInput {
            subject_fa: None,
            ..input.clone()
        }
        .validated()
        .unwrap_err();
        assert_eq!(
            (violations[0].field.as_str(), violations[0].code.as_str()),
            ("body_fa", "unknown_variable")
        );
        let ok = MessageTemplateInput {
            subject_fa: None,
            body_fa: "سلام {{customer.name}}".into(),
            ..input.clone()
        }
        .validated()
        .unwrap();
        assert_eq!(ok.name, "یادآوری");
        assert_eq!(ok.body_en.as_deref(), Some("Hello {{ customer.name }}"));
        let email = MessageTemplateInput {
            channel: Some(ChannelKind::Email),
            subject_fa: None,
            body_fa: "سلام".into(),
            ..input
        };
        assert_eq!(email.validated().unwrap_err()[0].field, "subject_fa");
    }
}
