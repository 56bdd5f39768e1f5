//! The attribution report's rules: which attribution model a caller asks for,
//! how far before a conversion a touch counts, and how touches without a channel of
//! their own are named. The credit itself is `analytics::attribution`'s; which rows are
//! touches is `persistence::attribution`'s query, written with the names here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{FieldViolation, Violations};

/// How a conversion's credit is shared among the touches before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributionModel {
    /// All to the first touch in the window.
    FirstTouch,
    /// All to the last touch before the conversion.
    LastTouch,
    /// Equal shares.
    Linear,
    /// Shares proportional to 2^(−age / half-life), the age measured back from the
    /// conversion.
    TimeDecay,
    /// 40 % to the first and 40 % to the last touch, 20 % shared by those between (one
    /// touch: all of it; two: half each).
    PositionBased,
}

/// Days before a conversion a touch counts, unless asked otherwise.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;
/// Most days a window may reach back.
pub const MAX_WINDOW_DAYS: i64 = 365;
/// The time-decay half-life in days, unless asked otherwise.
pub const DEFAULT_HALF_LIFE_DAYS: i64 = 7;
/// Longest half-life in days.
pub const MAX_HALF_LIFE_DAYS: i64 = 365;

/// The channel of a behavioural event that names none (`utm_source` or `channel`
/// among its properties): events come from the business's site and apps.
pub const EVENT_CHANNEL: &str = "web";
/// The channel of an order's own campaign touch when neither a campaign of that code
/// nor the order names one.
pub const UNKNOWN_CHANNEL: &str = "unknown";
/// The outcome of a campaign recipient the campaign's message was sent to; other
/// outcomes (passed over for want of consent, no address) are not touches.
pub const CAMPAIGN_SENT: &str = "sent";

/// The window and half-life an attribution report runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionParams {
    pub model: AttributionModel,
    pub window_days: i64,
    /// With `TimeDecay` only.
    pub half_life_days: Option<i64>,
}

impl AttributionParams {
    /// The parameters a caller gave, with the defaults for those left out: `window_days`
    /// from 1 to [`MAX_WINDOW_DAYS`]; `half_life_days` from 1 to [`MAX_HALF_LIFE_DAYS`],
    /// and only for the time-decay model (another model would silently ignore it).
    pub fn new(
        model: AttributionModel,
        window_days: Option<i64>,
        half_life_days: Option<i64>,
    ) -> Result<AttributionParams, Vec<FieldViolation>> {
        let mut violations = Violations::default();
        let window_days = window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
        if !(1..=MAX_WINDOW_DAYS).contains(&window_days) {
            violations.push(
                "window_days",
                "out_of_range",
                format!("must be from 1 to {MAX_WINDOW_DAYS}"),
            );
        }
        let half_life_days = match (model, half_life_days) {
            (AttributionModel::TimeDecay, given) => {
                let days = given.unwrap_or(DEFAULT_HALF_LIFE_DAYS);
                if !(1..=MAX_HALF_LIFE_DAYS).contains(&days) {
                    violations.push(
                        "half_life_days",
                        "out_of_range",
                        format!("must be from 1 to {MAX_HALF_LIFE_DAYS}"),
                    );
                }
                Some(days)
            }
            (_, Some(_)) => {
                violations.push(
                    "half_life_days",
                    "time_decay_only",
                    "applies only to `model=time_decay`",
                );
                None
            }
            (_, None) => None,
        };
        violations.into_result()?;
        Ok(AttributionParams {
            model,
            window_days,
            half_life_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(result: Result<AttributionParams, Vec<FieldViolation>>) -> Vec<(String, String)> {
        result
            .expect_err("refused")
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect()
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let linear = AttributionParams::new(AttributionModel::Linear, None, None).unwrap();
        assert_eq!((linear.window_days, linear.half_life_days), (30, None));
        let decay = AttributionParams::new(AttributionModel::TimeDecay, Some(365), None).unwrap();
        assert_eq!((decay.window_days, decay.half_life_days), (365, Some(7)));
    }

    #[test]
    fn windows_and_half_lives_out_of_range_or_out_of_place_are_refused() {
        let code = |field: &str, code: &str| vec![(field.to_string(), code.to_string())];
        for days in [0, -1, 366] {
            assert_eq!(
                codes(AttributionParams::new(
                    AttributionModel::FirstTouch,
                    Some(days),
                    None
                )),
                code("window_days", "out_of_range")
            );
            assert_eq!(
                codes(AttributionParams::new(
                    AttributionModel::TimeDecay,
                    None,
                    Some(days)
                )),
                code("half_life_days", "out_of_range")
            );
        }
        assert_eq!(
            codes(AttributionParams::new(
                AttributionModel::PositionBased,
                Some(0),
                Some(7)
            )),
            [
                ("window_days".to_string(), "out_of_range".to_string()),
                ("half_life_days".to_string(), "time_decay_only".to_string())
            ]
        );
    }
}
