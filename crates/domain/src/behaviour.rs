//! Behavioural events (M-4): what a customer did in the business's app, site or device
//! (`page_view`, `app_open`, `meter_reading`, …), sent by API keys of those apps and
//! devices. The rules here: which names and properties an event may have, the optional
//! definition of a name (a property schema and its weight in the engagement score), and
//! the engagement score itself — a time-decayed, weighted count of a customer's events.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::text::TextKind;
use crate::validation::{FieldViolation, Violations};

/// Most events one batch request carries.
pub const MAX_BATCH: usize = 1_000;
/// Most distinct event names a business keeps: each one is a definition, and three
/// fields of the customer search catalogue.
pub const MAX_EVENT_NAMES: i64 = 500;
/// Longest event or property name.
pub const MAX_NAME_CHARS: usize = 64;
/// Most top-level properties of one event.
pub const MAX_PROPERTIES: usize = 50;
/// Largest properties object of one event, as compact JSON.
pub const MAX_PROPERTIES_BYTES: usize = 4_096;
/// Deepest nesting of objects and arrays inside the properties.
pub const MAX_PROPERTY_DEPTH: usize = 4;
/// How far ahead of the server's clock a device's clock may be.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);
/// How far back an event may have happened: a device's buffer or a history import.
pub const MAX_AGE_DAYS: i64 = 3_650;
/// Longest definition description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Largest weight of one event in the engagement score.
pub const MAX_WEIGHT: f64 = 1_000.0;
/// The weight of a name nobody has defined.
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// Whether `name` may name an event or a property: a lower-case ASCII letter, then up to
/// 63 lower-case letters, digits, `_`, `.` or `-` (`page_view`, `cart.item_added`).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= MAX_NAME_CHARS
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
}

fn name_violation(field: impl Into<String>) -> FieldViolation {
    FieldViolation::new(
        field,
        "invalid_format",
        "must be a lower-case letter, then up to 63 lower-case letters, digits, '_', '.' or '-'",
    )
}

/// The JSON type a defined property must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    String,
    /// Any JSON number.
    Number,
    /// A JSON number without a fraction.
    Integer,
    Boolean,
    /// An RFC 3339 instant in a string (`2026-12-04T10:00:00+03:30`).
    Datetime,
    Object,
    Array,
}

snake_names!(PropertyType {
    String => "string",
    Number => "number",
    Integer => "integer",
    Boolean => "boolean",
    Datetime => "datetime",
    Object => "object",
    Array => "array",
});

impl PropertyType {
    /// Whether `value` is of this type.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            PropertyType::String => value.is_string(),
            PropertyType::Number => value.is_number(),
            PropertyType::Integer => value.is_i64() || value.is_u64(),
            PropertyType::Boolean => value.is_boolean(),
            PropertyType::Datetime => value
                .as_str()
                .is_some_and(|text| DateTime::parse_from_rfc3339(text).is_ok()),
            PropertyType::Object => value.is_object(),
            PropertyType::Array => value.is_array(),
        }
    }
}

/// One property of a definition's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertySpec {
    #[serde(rename = "type")]
    pub kind: PropertyType,
    /// Whether every event of the name must carry it.
    #[serde(default)]
    pub required: bool,
}

/// What a definition says of an event name (`PUT /event-definitions/{name}`). A name
/// sent before anyone defined it has a definition without a schema and of weight 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "description": "بازدید از صفحهٔ محصول",
    "weight": 2.5,
    "properties": {
        "product_sku": {"type": "string", "required": true},
        "seconds_on_page": {"type": "integer"}
    },
    "allow_other_properties": true
}))]
pub struct DefinitionInput {
    #[serde(default)]
    pub description: Option<String>,
    /// Weight of one event of this name in the engagement score, 0 to 1,000 (default 1).
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// The schema events of this name are checked against; absent: none.
    #[serde(default)]
    pub properties: Option<BTreeMap<String, PropertySpec>>,
    /// Whether an event may carry properties the schema does not name (default true).
    #[serde(default = "default_true")]
    pub allow_other_properties: bool,
}

fn default_weight() -> f64 {
    DEFAULT_WEIGHT
}

fn default_true() -> bool {
    true
}

impl Default for DefinitionInput {
    fn default() -> Self {
        DefinitionInput {
            description: None,
            weight: DEFAULT_WEIGHT,
            properties: None,
            allow_other_properties: true,
        }
    }
}

impl DefinitionInput {
    /// The definition in stored form, or every rule it breaks.
    pub fn validated(mut self) -> Result<DefinitionInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if !(self.weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&self.weight)) {
            v.push(
                "weight",
                "out_of_range",
                format!("must be between 0 and {MAX_WEIGHT}"),
            );
        }
        if let Some(properties) = &self.properties {
            if properties.len() > MAX_PROPERTIES {
                v.push(
                    "properties",
                    "too_many",
                    format!("a schema names at most {MAX_PROPERTIES} properties"),
                );
            }
            for name in properties.keys().filter(|name| !is_valid_name(name)) {
                v.0.push(name_violation(format!("properties.{name}")));
            }
        }
        v.into_result().map(|()| self)
    }

    /// The schema events of the name are checked against, when it has one.
    pub fn schema(&self) -> Option<Schema<'_>> {
        self.properties.as_ref().map(|properties| Schema {
            properties,
            allow_other_properties: self.allow_other_properties,
        })
    }
}

/// A definition's schema, as events are checked against it.
#[derive(Debug, Clone, Copy)]
pub struct Schema<'a> {
    pub properties: &'a BTreeMap<String, PropertySpec>,
    pub allow_other_properties: bool,
}

impl Schema<'_> {
    /// Reports under `field` (`events[3].properties`) each property the schema wants and
    /// misses, has of the wrong type, or does not know when it allows no others.
    pub fn check(&self, field: &str, properties: &Map<String, Value>, v: &mut Violations) {
        for (name, spec) in self.properties {
            match properties.get(name) {
                None | Some(Value::Null) if spec.required => v.push(
                    format!("{field}.{name}"),
                    "required",
                    "is required by the event's definition",
                ),
                None | Some(Value::Null) => {}
                Some(value) if !spec.kind.admits(value) => v.push(
                    format!("{field}.{name}"),
                    "invalid_type",
                    format!("must be of type {}", spec.kind.as_str()),
                ),
                Some(_) => {}
            }
        }
        if !self.allow_other_properties {
            for name in properties.keys() {
                if !self.properties.contains_key(name) {
                    v.push(
                        format!("{field}.{name}"),
                        "unknown_property",
                        "is not in the event's definition, which allows no others",
                    );
                }
            }
        }
    }
}

/// Who an event is about: exactly one of the customer's id, an e-mail address or phone
/// number of theirs, or the business's customer code (the id the sending app knows
/// them by).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRef {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub email: Option<String>,
    /// Any spelling people type (`0912…`, `+98…`, Persian digits); matched in E.164.
    #[serde(default)]
    pub phone: Option<String>,
    /// The business's customer code.
    #[serde(default)]
    pub code: Option<String>,
}

/// The key a [`CustomerRef`] names a customer by, as it was sent (the application
/// normalises e-mails, phones and codes as customers store them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerIdentity {
    Id(Uuid),
    Email(String),
    Phone(String),
    Code(String),
}

impl CustomerRef {
    /// The one key given, or why there is not exactly one.
    pub fn identity(&self, field: &str) -> Result<CustomerIdentity, FieldViolation> {
        let mut keys = Vec::with_capacity(1);
        if let Some(id) = self.id {
            keys.push(CustomerIdentity::Id(id));
        }
        let mut text = |value: &Option<String>, make: fn(String) -> CustomerIdentity| {
            if let Some(value) = value {
                keys.push(make(value.trim().to_string()));
            }
        };
        text(&self.email, CustomerIdentity::Email);
        text(&self.phone, CustomerIdentity::Phone);
        text(&self.code, CustomerIdentity::Code);
        match keys.len() {
            1 => {
                let key = keys.remove(0);
                match &key {
                    CustomerIdentity::Email(value)
                    | CustomerIdentity::Phone(value)
                    | CustomerIdentity::Code(value) => {
                        if let Some(violation) =
                            crate::text::check_text(value, TextKind::SingleLine)
                        {
                            return Err(violation.at(field));
                        }
                        if value.is_empty() || value.chars().count() > 254 {
                            return Err(FieldViolation::new(
                                field,
                                "invalid_value",
                                "must be 1 to 254 characters",
                            ));
                        }
                    }
                    CustomerIdentity::Id(_) => {}
                }
                Ok(key)
            }
            0 => Err(FieldViolation::new(
                field,
                "required",
                "name the customer by one of id, email, phone or code",
            )),
            _ => Err(FieldViolation::new(
                field,
                "exclusive",
                "name the customer by only one of id, email, phone or code",
            )),
        }
    }
}

/// One event as an app or device sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "0193a6d2-7c1e-7b61-9a4e-5f3c2d1b0a99",
    "name": "page_view",
    "customer": {"id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"},
    "properties": {"path": "/products/tea", "product_sku": "TEA-01"},
    "occurred_at": "2026-12-04T09:30:00+03:30"
}))]
pub struct EventInput {
    /// The sender's id of the event (a UUID): an event sent again with the same id is
    /// stored once. Absent: the server makes one, and a resend is a second event.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// The event's name, e.g. `page_view`.
    pub name: String,
    pub customer: CustomerRef,
    /// Anything the sender knows of the event; checked against the name's definition
    /// when it has a schema.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// When it happened (default: when received); at most 5 minutes ahead and ten years
    /// back.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// An event that keeps every rule not needing the database, ready to be matched to its
/// customer and checked against its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEvent {
    pub id: Uuid,
    pub name: String,
    pub identity: CustomerIdentity,
    pub properties: Map<String, Value>,
    pub occurred_at: DateTime<Utc>,
}

impl EventInput {
    /// The event checked at `now`, each problem reported under `field` (`events[3]`, or
    /// `""` for a single event).
    pub fn checked(
        self,
        field: &str,
        now: DateTime<Utc>,
        v: &mut Violations,
    ) -> Option<CheckedEvent> {
        let at = |name: &str| {
            if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            }
        };
        let before = v.0.len();
        if !is_valid_name(&self.name) {
            v.0.push(name_violation(at("name")));
        }
        let identity = self
            .customer
            .identity(&at("customer"))
            .map_err(|violation| v.0.push(violation))
            .ok();
        check_properties(&at("properties"), &self.properties, v);
        let occurred_at = self.occurred_at.unwrap_or(now);
        if occurred_at > now + MAX_CLOCK_SKEW {
            v.push(
                at("occurred_at"),
                "in_future",
                "must not be more than 5 minutes ahead of the server's clock",
            );
        } else if occurred_at < now - TimeDelta::days(MAX_AGE_DAYS) {
            v.push(
                at("occurred_at"),
                "too_old",
                format!("must be within the last {MAX_AGE_DAYS} days"),
            );
        }
        (v.0.len() == before).then(|| CheckedEvent {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            name: self.name,
            identity: identity.expect("no violation means an identity"),
            properties: self.properties,
            occurred_at,
        })
    }
}

/// The shape rules of any properties object: how many, their names, size and depth.
fn check_properties(field: &str, properties: &Map<String, Value>, v: &mut Violations) {
    if properties.len() > MAX_PROPERTIES {
        v.push(
            field,
            "too_many",
            format!("an event carries at most {MAX_PROPERTIES} properties"),
        );
        return;
    }
    for name in properties.keys() {
        if !is_valid_name(name) {
            v.0.push(name_violation(format!("{field}.{name}")));
        }
    }
    for (name, value) in properties {
        // The properties object is the first level.
        if 1 + depth(value) > MAX_PROPERTY_DEPTH {
            v.push(
                format!("{field}.{name}"),
                "too_deep",
                format!("nests objects and arrays at most {MAX_PROPERTY_DEPTH} deep"),
            );
        }
    }
    let bytes = serde_json::to_vec(properties).map_or(usize::MAX, |json| json.len());
    if bytes > MAX_PROPERTIES_BYTES {
        v.push(
            field,
            "too_large",
            format!("must be at most {MAX_PROPERTIES_BYTES} bytes as JSON"),
        );
    }
}

/// Levels of objects and arrays in `value`: 0 for a scalar.
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The engagement score: each event counts its name's weight, halved every
/// [`engagement::HALF_LIFE_DAYS`] days since it happened.
pub mod engagement {
    use super::*;

    /// Days after which an event counts half.
    pub const HALF_LIFE_DAYS: f64 = 30.0;

    /// The instant masses are measured from.
    fn epoch() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid instant")
    }

    /// Half-lives from the epoch to `at`.
    fn half_lives(at: DateTime<Utc>) -> f64 {
        (at - epoch()).num_seconds() as f64 / (HALF_LIFE_DAYS * 86_400.0)
    }

    /// An event's mass: its count at the epoch's scale, `2^(half-lives from the epoch
    /// to when it happened)`. The score at any instant is the weighted sum of the
    /// masses scaled by [`scale`], so a stored sum of masses never needs updating as
    /// time passes. (`f64` holds the masses of events up to the year 2100.)
    pub fn mass(occurred_at: DateTime<Utc>) -> f64 {
        half_lives(occurred_at).exp2()
    }

    /// What turns a weighted sum of masses into the score at `now`.
    pub fn scale(now: DateTime<Utc>) -> f64 {
        (-half_lives(now)).exp2()
    }

    /// The score at `now` of events whose weighted masses sum to `weighted_mass`.
    pub fn score(weighted_mass: f64, now: DateTime<Utc>) -> f64 {
        weighted_mass * scale(now)
    }

    /// The weighted mass a score of `score` at `now` stands for: what a search compares
    /// stored sums with.
    pub fn mass_of_score(score: f64, now: DateTime<Utc>) -> f64 {
        score / scale(now)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::engagement::{mass, mass_of_score, score, HALF_LIFE_DAYS};
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn names_are_lower_case_identifiers() {
        for good in ["page_view", "cart.item_added", "a", "sensor-7.reading"] {
            assert!(is_valid_name(good), "{good}");
        }
        let long = "a".repeat(65);
        for bad in ["", "Page", "1st", "_x", "page view", "صفحه", long.as_str()] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn an_event_counts_half_after_one_half_life_and_a_quarter_after_two() {
        let happened = at("2026-12-01T00:00:00Z");
        let now = happened + TimeDelta::days(HALF_LIFE_DAYS as i64);
        assert!((score(mass(happened), happened) - 1.0).abs() < 1e-12);
        assert!((score(mass(happened), now) - 0.5).abs() < 1e-12);
        let later = now + TimeDelta::days(HALF_LIFE_DAYS as i64);
        assert!((score(2.0 * mass(happened), later) - 0.5).abs() < 1e-12);
        // An event before the epoch decays the same way.
        let old = at("2015-06-01T00:00:00Z");
        let then = old + TimeDelta::days(15);
        assert!((score(mass(old), then) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((mass_of_score(0.5, now) - mass(happened)).abs() / mass(happened) < 1e-12);
    }

    #[test]
    fn a_customer_is_named_by_exactly_one_key() {
        let both = CustomerRef {
            email: Some("a@b.ir".into()),
            code: Some("C-1".into()),
            ..CustomerRef::default()
        };
        assert_eq!(both.identity("customer").unwrap_err().code, "exclusive");
        assert_eq!(
            CustomerRef::default()
                .identity("customer")
                .unwrap_err()
                .code,
            "required"
        );
        let nul = CustomerRef {
            code: Some("C\u{0}1".into()),
            ..CustomerRef::default()
        };
        assert_eq!(nul.identity("customer").unwrap_err().code, "nul_character");
        let phone = CustomerRef {
            phone: Some(" 09121234567 ".into()),
            ..CustomerRef::default()
        };
        assert_eq!(
            phone.identity("customer").unwrap(),
            CustomerIdentity::Phone("09121234567".into())
        );
    }

    fn event(properties: Value, occurred_at: Option<&str>) -> EventInput {
        EventInput {
            id: None,
            name: "page_view".into(),
            customer: CustomerRef {
                code: Some("C-1".into()),
                ..CustomerRef::default()
            },
            properties: properties.as_object().unwrap().clone(),
            occurred_at: occurred_at.map(at),
        }
    }

    #[test]
    fn an_event_is_checked_for_shape_and_time() {
        let now = at("2026-12-04T12:00:00Z");
        let mut v = Violations::default();
        let checked = event(json!({"path": "/"}), None)
            .checked("events[0]", now, &mut v)
            .unwrap();
        assert_eq!(checked.occurred_at, now);
        assert!(v.is_empty());

        let deep = json!({"a": {"b": {"c": {"d": {"e": 1}}}}});
        let cases = [
            (event(deep, None), "events[0].properties.a", "too_deep"),
            (
                event(json!({"Bad Name": 1}), None),
                "events[0].properties.Bad Name",
                "invalid_format",
            ),
            (
                event(json!({"blob": "x".repeat(5_000)}), None),
                "events[0].properties",
                "too_large",
            ),
            (
                event(json!({}), Some("2026-12-04T12:06:00Z")),
                "events[0].occurred_at",
                "in_future",
            ),
            (
                event(json!({}), Some("2016-11-01T00:00:00Z")),
                "events[0].occurred_at",
                "too_old",
            ),
        ];
        for (input, field, code) in cases {
            let mut v = Violations::default();
            assert!(input.checked("events[0]", now, &mut v).is_none());
            assert!(
                v.0.iter().any(|x| x.field == field && x.code == code),
                "{field} {code}: {:?}",
                v.0
            );
        }
    }

    #[test]
    fn a_schema_checks_required_types_and_unknown_properties() {
        let definition = DefinitionInput {
            properties: Some(BTreeMap::from([
                (
                    "sku".to_string(),
                    PropertySpec {
                        kind: PropertyType::String,
                        required: true,
                    },
                ),
                (
                    "seconds".to_string(),
                    PropertySpec {
                        kind: PropertyType::Integer,
                        required: false,
                    },
                ),
                (
                    "at".to_string(),
                    PropertySpec {
                        kind: PropertyType::Datetime,
                        required: false,
                    },
                ),
            ])),
            allow_other_properties: false,
            ..DefinitionInput::default()
        };
        let schema = definition.schema().unwrap();
        let check = |properties: Value| {
            let mut v = Violations::default();
            schema.check("properties", properties.as_object().unwrap(), &mut v);
            v.0.into_iter()
                .map(|x| (x.field, x.code))
                .collect::<Vec<_>>()
        };
        assert!(
            check(json!({"sku": "A", "seconds": 3, "at": "2026-12-04T10:00:00+03:30"})).is_empty()
        );
        assert_eq!(
            check(json!({"seconds": 2.5, "at": "yesterday", "colour": "red"})),
            vec![
                ("properties.at".to_string(), "invalid_type".to_string()),
                ("properties.seconds".to_string(), "invalid_type".to_string()),
                ("properties.sku".to_string(), "required".to_string()),
                (
                    "properties.colour".to_string(),
                    "unknown_property".to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_definition_keeps_its_weight_in_range() {
        let bad = DefinitionInput {
            weight: 1_000.5,
            ..DefinitionInput::default()
        };
        assert_eq!(bad.validated().unwrap_err()[0].field, "weight");
        let nan = DefinitionInput {
            weight: f64::NAN,
            ..DefinitionInput::default()
        };
        assert!(nan.validated().is_err());
        assert!(DefinitionInput::default().validated().is_ok());
    }
}
