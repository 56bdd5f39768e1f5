//! Customer segments (M-1): named sets of customers, either dynamic — everyone meeting a
//! condition in the filter tree of the customer search, recomputed periodically — or
//! static, whose members are added and removed by hand.
//!
//! A dynamic segment's condition is checked against the customer search catalogue by
//! the application (which knows the custom fields and the business calendar) and
//! stored as written, so relative dates ("ordered in the last 30 days") resolve
//! whenever the membership is computed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{FieldViolation, Violations};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// Most customers one request adds to or removes from a static segment.
pub const MAX_MEMBERS_PER_REQUEST: usize = 1_000;

/// How often a dynamic segment is recomputed unless it says otherwise: hourly.
pub const DEFAULT_REFRESH_MINUTES: i64 = 60;

/// The shortest and longest periods between refreshes: five minutes to a week.
pub const REFRESH_MINUTES: std::ops::RangeInclusive<i64> = 5..=10_080;

/// How a segment's members are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Everyone meeting the condition, recomputed by the refresh.
    Dynamic,
    /// Whoever was added by hand.
    Static,
}

impl SegmentKind {
    pub const NAMES: &'static [&'static str] = &["dynamic", "static"];

    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Dynamic => "dynamic",
            SegmentKind::Static => "static",
        }
    }

    pub fn parse(text: &str) -> Option<SegmentKind> {
        match text {
            "dynamic" => Some(SegmentKind::Dynamic),
            "static" => Some(SegmentKind::Static),
            _ => None,
        }
    }
}

/// A segment as a client writes it; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "خریداران وفادار تهران",
    "description": "بیش از سه سفارش در تهران",
    "kind": "dynamic",
    "condition": {"and": [
        {"field": "order_count", "op": "gte", "value": 3},
        {"field": "province", "op": "eq", "value": "تهران"}
    ]},
    "active": true,
    "refresh_interval_minutes": 60
}))]
pub struct SegmentInput {
    /// Unique among segments.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `dynamic` or `static`; fixed once the segment exists.
    pub kind: SegmentKind,
    /// For a dynamic segment (and only for one): a filter tree over the customer search
    /// fields (as in `POST /customers/search`), e.g. `{"field": "tag_id", "op": "eq",
    /// "value": "…"}`. Relative dates resolve whenever the membership is computed.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    /// An inactive dynamic segment is no longer refreshed periodically.
    #[serde(default = "active_default")]
    pub active: bool,
    /// Minutes between periodic refreshes of a dynamic segment (5 to 10,080; 60 by
    /// default).
    #[serde(default = "refresh_default")]
    #[schema(minimum = 5, maximum = 10080)]
    pub refresh_interval_minutes: i64,
}

fn active_default() -> bool {
    true
}

fn refresh_default() -> i64 {
    DEFAULT_REFRESH_MINUTES
}

impl SegmentInput {
    /// Checks everything but the condition's fields, which the caller checks against
    /// the catalogue: the name, description and interval, and that a dynamic segment
    /// has a condition and a static one none.
    pub fn validated(mut self) -> Result<SegmentInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        match (self.kind, &self.condition) {
            (SegmentKind::Dynamic, None | Some(serde_json::Value::Null)) => v.push(
                "condition",
                "required",
                "a dynamic segment needs a condition",
            ),
            (SegmentKind::Static, Some(condition)) if !condition.is_null() => v.push(
                "condition",
                "not_allowed",
                "a static segment has no condition; its members are added by hand",
            ),
            _ => {}
        }
        if self
            .condition
            .as_ref()
            .is_some_and(serde_json::Value::is_null)
        {
            self.condition = None;
        }
        if !REFRESH_MINUTES.contains(&self.refresh_interval_minutes) {
            v.push(
                "refresh_interval_minutes",
                "out_of_range",
                format!(
                    "must be {} to {}",
                    REFRESH_MINUTES.start(),
                    REFRESH_MINUTES.end()
                ),
            );
        }
        v.into_result().map(|()| self)
    }
}

/// Where a membership change came from, as events and audit entries tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipCause {
    /// A dynamic segment's refresh found the customer meeting (or no longer meeting)
    /// the condition.
    Refresh,
    /// Added or removed by hand (static segments).
    Manual,
    /// The customer was merged into another, who took its place.
    Merge,
}

impl MembershipCause {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipCause::Refresh => "refresh",
            MembershipCause::Manual => "manual",
            MembershipCause::Merge => "merge",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(kind: SegmentKind, condition: Option<serde_json::Value>) -> SegmentInput {
        SegmentInput {
            name: "  وفادار  ".into(),
            description: None,
            kind,
            condition,
            active: true,
            refresh_interval_minutes: DEFAULT_REFRESH_MINUTES,
        }
    }

    fn fields(result: Result<SegmentInput, Vec<FieldViolation>>) -> Vec<(String, String)> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|violation| (violation.field, violation.code))
            .collect()
    }

    #[test]
    fn a_dynamic_segment_needs_a_condition_and_a_static_one_has_none() {
        let condition = json!({"field": "order_count", "op": "gte", "value": 3});
        let ok = input(SegmentKind::Dynamic, Some(condition.clone()))
            .validated()
            .expect("valid");
        assert_eq!(ok.name, "وفادار");
        assert!(input(SegmentKind::Static, None).validated().is_ok());
        assert!(input(SegmentKind::Static, Some(json!(null)))
            .validated()
            .is_ok_and(|input| input.condition.is_none()));
        assert_eq!(
            fields(input(SegmentKind::Dynamic, None).validated()),
            [("condition".to_string(), "required".to_string())]
        );
        assert_eq!(
            fields(input(SegmentKind::Static, Some(condition)).validated()),
            [("condition".to_string(), "not_allowed".to_string())]
        );
    }

    #[test]
    fn the_refresh_interval_is_bounded() {
        for minutes in [0, 4, 10_081] {
            let mut segment = input(SegmentKind::Static, None);
            segment.refresh_interval_minutes = minutes;
            assert_eq!(
                fields(segment.validated()),
                [(
                    "refresh_interval_minutes".to_string(),
                    "out_of_range".to_string()
                )]
            );
        }
    }

    #[test]
    fn kinds_read_back() {
        for name in SegmentKind::NAMES {
            assert_eq!(
                SegmentKind::parse(name).map(SegmentKind::as_str),
                Some(*name)
            );
        }
        assert_eq!(SegmentKind::parse("smart"), None);
    }
}
