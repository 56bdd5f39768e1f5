//! Marketing campaigns (M-2, A-4): a message sent to the members of a segment through a
//! channel account, what was spent on it, and what it brought.
//!
//! A campaign is known to orders and customers by its `code` (`orders.campaign`,
//! `customers.acquisition_campaign`), so a campaign with no message of its own — an
//! advertisement, a fair — is measured the same way. Its `channel` is the marketing
//! channel its costs and the customers it acquired are counted under for the
//! acquisition cost (CAC) per channel.
//!
//! The links of a campaign's message are tracked: each recipient's copy names their own
//! token and the link's position instead of the address ([`links_in`],
//! [`track_links`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::omnichannel::templates::TemplateLanguage;
use crate::validation::{FieldViolation, Violations};

const MAX_NAME_CHARS: usize = 100;
/// As long as an order's `campaign` may be, which names it.
const MAX_CODE_CHARS: usize = 100;
const MAX_CHANNEL_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1_000;
const MAX_NOTE_CHARS: usize = 500;

/// Days after a recipient got the message in which their purchase counts for the
/// campaign, unless the campaign says otherwise.
pub const DEFAULT_ATTRIBUTION_WINDOW_DAYS: i32 = 30;
/// The attribution windows a campaign may have.
pub const ATTRIBUTION_WINDOW_DAYS: std::ops::RangeInclusive<i32> = 1..=365;
/// Largest budget, cost entry or sum of a campaign's cost entries (minor units: 10^14
/// rials): beyond any real campaign, and the costs of ninety thousand campaigns at
/// that ceiling still sum within 64 bits.
pub const MAX_AMOUNT: i64 = 100_000_000_000_000;
/// Links of a message that are tracked; more are left as written.
pub const MAX_TRACKED_LINKS: usize = 20;

/// Where a campaign stands. A draft changes freely; a scheduled one waits for its
/// time; sending goes through the segment's members; sent is done. A cancelled
/// campaign sends nothing more; a failed one stopped because its channel account or
/// template was deleted or deactivated after the launch. A campaign without a message
/// stays a draft and is measured all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Sending,
    Sent,
    Cancelled,
    Failed,
}

snake_names!(CampaignStatus {
    Draft => "draft",
    Scheduled => "scheduled",
    Sending => "sending",
    Sent => "sent",
    Cancelled => "cancelled",
    Failed => "failed",
});

impl CampaignStatus {
    /// Whether the audience and the message may still change: nothing went out yet.
    pub fn editable(self) -> bool {
        self == CampaignStatus::Draft
    }

    /// Whether it may be cancelled: it has not finished.
    pub fn cancellable(self) -> bool {
        matches!(
            self,
            CampaignStatus::Draft | CampaignStatus::Scheduled | CampaignStatus::Sending
        )
    }
}

/// The figure a campaign's goal is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalMetric {
    Reach,
    Delivered,
    Opened,
    Clicked,
    Replies,
    Conversions,
    /// Revenue in minor units of the business currency.
    Revenue,
}

snake_names!(GoalMetric {
    Reach => "reach",
    Delivered => "delivered",
    Opened => "opened",
    Clicked => "clicked",
    Replies => "replies",
    Conversions => "conversions",
    Revenue => "revenue",
});

/// What a campaign aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignGoal {
    pub metric: GoalMetric,
    /// The figure hoped for (at least 1).
    #[schema(minimum = 1)]
    pub target: i64,
}

/// The message a campaign sends: a message template filled in for each recipient, or
/// a text. Links in it are tracked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignMessage {
    /// The channel account it goes out on (`GET /channel-accounts`).
    pub channel_account_id: Uuid,
    #[serde(default)]
    pub template_id: Option<Uuid>,
    /// The template's language (Persian by default).
    #[serde(default)]
    pub language: Option<TemplateLanguage>,
    /// An e-mail's subject (a template's own otherwise).
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// A campaign as a client writes it; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "جشنواره یلدا ۱۴۰۵",
    "code": "yalda-1405",
    "description": "تخفیف ۲۰٪ برای مشتریان وفادار",
    "channel": "sms",
    "segment_id": null,
    "message": {
        "channel_account_id": "0193a4e2-7c1d-7b3e-9f10-888888888888",
        "body": "یلدا مبارک! ۲۰٪ تخفیف تا آخر آذر: https://shop.example.ir/yalda"
    },
    "scheduled_at": "2026-12-20T06:30:00Z",
    "budget": 50_000_000,
    "goal": {"metric": "conversions", "target": 200},
    "attribution_window_days": 14
}))]
pub struct CampaignInput {
    pub name: String,
    /// How orders (`campaign`) and customers (`acquisition_campaign`) name the
    /// campaign; unique, fixed once it is launched.
    pub code: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The marketing channel its costs and acquisitions count under, e.g. `sms`,
    /// `email`, `instagram_ads` (as customers' `acquisition_channel` names it).
    pub channel: String,
    /// Whom the message goes to: the segment's members when it is sent.
    #[serde(default)]
    pub segment_id: Option<Uuid>,
    #[serde(default)]
    pub message: Option<CampaignMessage>,
    /// When it goes out once launched (now when null or past).
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// What may be spent, in minor units of the business currency.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub budget: Option<i64>,
    #[serde(default)]
    pub goal: Option<CampaignGoal>,
    /// Days after a recipient got the message in which their purchase counts as the
    /// campaign's conversion (1 to 365; 30 by default).
    #[serde(default = "window_default")]
    #[schema(minimum = 1, maximum = 365)]
    pub attribution_window_days: i32,
}

fn window_default() -> i32 {
    DEFAULT_ATTRIBUTION_WINDOW_DAYS
}

impl CampaignInput {
    /// Checks every rule that needs no database, reporting all problems at once.
    pub fn validated(mut self) -> Result<CampaignInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.required_line("code", &mut self.code, MAX_CODE_CHARS);
        v.required_line("channel", &mut self.channel, MAX_CHANNEL_CHARS);
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if let Some(message) = &mut self.message {
            v.tidy_line("message.subject", &mut message.subject, 200);
            v.tidy_text("message.body", &mut message.body, 4_000);
            match (&message.body, message.template_id) {
                (Some(_), Some(_)) => v.push(
                    "message.template_id",
                    "conflicting",
                    "give either a body or a template, not both",
                ),
                (None, None) => v.push(
                    "message.body",
                    "required",
                    "a message needs a body or a template",
                ),
                _ => {}
            }
        }
        if self
            .budget
            .is_some_and(|budget| !(0..=MAX_AMOUNT).contains(&budget))
        {
            v.push(
                "budget",
                "out_of_range",
                format!("must be 0 to {MAX_AMOUNT}"),
            );
        }
        if let Some(goal) = self.goal {
            if !(1..=MAX_AMOUNT).contains(&goal.target) {
                v.push(
                    "goal.target",
                    "out_of_range",
                    format!("must be 1 to {MAX_AMOUNT}"),
                );
            }
        }
        if !ATTRIBUTION_WINDOW_DAYS.contains(&self.attribution_window_days) {
            v.push(
                "attribution_window_days",
                "out_of_range",
                format!(
                    "must be {} to {}",
                    ATTRIBUTION_WINDOW_DAYS.start(),
                    ATTRIBUTION_WINDOW_DAYS.end()
                ),
            );
        }
        v.into_result().map(|()| self)
    }

    /// The fields a launched campaign refuses to change, each named with its rule:
    /// its audience was reached with this message, and orders name it by its code.
    pub fn frozen_changes(&self, after: &CampaignInput) -> Vec<FieldViolation> {
        let frozen = |field: &str| {
            FieldViolation::new(
                field,
                "immutable",
                "fixed once the campaign is launched; create another campaign",
            )
        };
        let mut violations = Vec::new();
        if after.code != self.code {
            violations.push(frozen("code"));
        }
        if after.channel != self.channel {
            violations.push(frozen("channel"));
        }
        if after.segment_id != self.segment_id {
            violations.push(frozen("segment_id"));
        }
        if after.message != self.message {
            violations.push(frozen("message"));
        }
        if after.scheduled_at != self.scheduled_at {
            violations.push(frozen("scheduled_at"));
        }
        violations
    }
}

/// One amount spent on a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": 12_000_000, "incurred_on": "2026-12-18", "note": "پیامک انبوه"}))]
pub struct CostInput {
    /// Minor units of the business currency (more than 0).
    #[schema(minimum = 1)]
    pub amount: i64,
    /// The day it was spent (a Gregorian date).
    pub incurred_on: NaiveDate,
    #[serde(default)]
    pub note: Option<String>,
}

impl CostInput {
    pub fn validated(mut self) -> Result<CostInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if !(1..=MAX_AMOUNT).contains(&self.amount) {
            v.push(
                "amount",
                "out_of_range",
                format!("must be 1 to {MAX_AMOUNT}"),
            );
        }
        if let Err(violation) = crate::reports::check_report_day("incurred_on", self.incurred_on) {
            v.0.push(violation);
        }
        v.tidy_text("note", &mut self.note, MAX_NOTE_CHARS);
        v.into_result().map(|()| self)
    }
}

/// What became of one member of the campaign's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientOutcome {
    /// A message was recorded for them (its own status tells whether it was delivered).
    Sent,
    /// They have not given consent to marketing on the channel.
    NoConsent,
    /// They have no address on the channel.
    NoAddress,
    /// Their copy broke the channel's rules (too long once filled in, say).
    Unsendable,
}

snake_names!(RecipientOutcome {
    Sent => "sent",
    NoConsent => "no_consent",
    NoAddress => "no_address",
    Unsendable => "unsendable",
});

/// Whether a marketing message may go to a customer given their consent to marketing
/// on the channel: only after they said yes (`Some(true)`). Unlike a reply, never
/// asked is no consent.
pub fn may_market(marketing_consent: Option<bool>) -> bool {
    marketing_consent == Some(true)
}

/// Where each `http` or `https` link of `text` is, as byte ranges in order. A link
/// ends at white space, a quote or an angle bracket; punctuation that ends a sentence
/// after it is not part of it.
fn link_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("http") {
        let start = from + found;
        let candidate = &text[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(candidate.len());
        let link = candidate[..end].trim_end_matches(|c: char| {
            matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')' | '،' | '؛' | '؟')
        });
        let scheme = link.starts_with("https://") || link.starts_with("http://");
        if scheme && link.len() > "https://".len() {
            spans.push(start..start + link.len());
        }
        from = start + end.max(4);
    }
    spans
}

/// The `http` and `https` links in `text` worth tracking, each once, in the order they
/// first appear, at most [`MAX_TRACKED_LINKS`]: a link with a template variable in it
/// (`{{`, `{%`) differs from recipient to recipient and is left as written.
pub fn links_in(text: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for span in link_spans(text) {
        let link = &text[span];
        if link.contains("{{") || link.contains("{%") || links.iter().any(|known| known == link) {
            continue;
        }
        if links.len() == MAX_TRACKED_LINKS {
            break;
        }
        links.push(link.to_string());
    }
    links
}

/// `text` with every link that is exactly `links[i]` replaced by `tracked(i)`; other
/// links, even ones that start with a tracked one, stay as written.
pub fn track_links(text: &str, links: &[String], tracked: impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for span in link_spans(text) {
        if let Some(i) = links.iter().position(|link| *link == text[span.clone()]) {
            out.push_str(&text[copied..span.start]);
            out.push_str(&tracked(i));
            copied = span.end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A campaign e-mail's text as an HTML part: the text escaped and kept as written
/// (lines and direction), its links clickable, and the recipient's open pixel at
/// `pixel_url` after it.
pub fn html_with_pixel(text: &str, pixel_url: &str) -> String {
    let escape = |raw: &str| {
        raw.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut body = String::with_capacity(text.len() * 2);
    let mut copied = 0;
    for span in link_spans(text) {
        let link = escape(&text[span.clone()]);
        body.push_str(&escape(&text[copied..span.start]));
        body.push_str(&format!("<a href=\"{link}\">{link}</a>"));
        copied = span.end;
    }
    body.push_str(&escape(&text[copied..]));
    format!(
        "<!doctype html><html><body><div dir=\"auto\" style=\"white-space:pre-wrap\">{body}</div>\
         <img src=\"{}\" width=\"1\" height=\"1\" alt=\"\"></body></html>",
        escape(pixel_url)
    )
}

/// `numerator / denominator` rounded to the nearest whole (halves away from zero);
/// `None` when the denominator is 0.
pub fn per(numerator: i64, denominator: i64) -> Option<i64> {
    (denominator != 0).then(|| (numerator as f64 / denominator as f64).round() as i64)
}

/// The return on what was spent: `(revenue − cost) / cost`; `None` without cost.
pub fn roi(revenue: i64, cost: i64) -> Option<f64> {
    (cost > 0).then(|| (revenue - cost) as f64 / cost as f64)
}

/// How much of the goal was reached, as a fraction (1 = reached; may exceed 1).
pub fn achievement(actual: i64, target: i64) -> Option<f64> {
    (target > 0).then(|| actual as f64 / target as f64)
}

/// Months until a customer's gross margin pays back what acquiring them cost: the
/// acquisition cost over the mean gross margin per customer per month; `None` when
/// customers earn no margin (it never pays back) or nothing was spent.
pub fn payback_months(acquisition_cost: i64, monthly_margin_per_customer: f64) -> Option<f64> {
    (acquisition_cost > 0 && monthly_margin_per_customer > 0.0)
        .then(|| acquisition_cost as f64 / monthly_margin_per_customer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CampaignInput {
        serde_json::from_value(serde_json::json!({
            "name": " یلدا ",
            "code": "yalda-1405",
            "channel": "sms",
        }))
        .unwrap()
    }

    #[test]
    fn a_minimal_campaign_is_tidied_and_gets_the_default_window() {
        let input = input().validated().unwrap();
        assert_eq!(input.name, "یلدا");
        assert_eq!(input.attribution_window_days, 30);
    }

    #[test]
    fn every_broken_rule_is_named() {
        let mut bad = input();
        bad.code = " ".into();
        bad.budget = Some(-1);
        bad.goal = Some(CampaignGoal {
            metric: GoalMetric::Revenue,
            target: 0,
        });
        bad.attribution_window_days = 0;
        bad.message = Some(CampaignMessage {
            channel_account_id: Uuid::nil(),
            template_id: None,
            language: None,
            subject: None,
            body: None,
        });
        let fields: Vec<String> = bad
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "code",
                "message.body",
                "budget",
                "goal.target",
                "attribution_window_days"
            ]
        );
    }

    #[test]
    fn a_launched_campaign_keeps_its_code_audience_and_message() {
        let before = input();
        let mut after = input();
        after.name = "other".into();
        after.budget = Some(5);
        assert!(before.frozen_changes(&after).is_empty());
        after.code = "other".into();
        after.segment_id = Some(Uuid::nil());
        let fields: Vec<String> = before
            .frozen_changes(&after)
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["code", "segment_id"]);
    }

    #[test]
    fn links_are_found_once_without_trailing_punctuation() {
        let text = "ببینید https://shop.example.ir/yalda، یا http://a.ir/x?y=1. \
                    دوباره https://shop.example.ir/yalda و https://shop.example.ir/yalda/more";
        assert_eq!(
            links_in(text),
            [
                "https://shop.example.ir/yalda",
                "http://a.ir/x?y=1",
                "https://shop.example.ir/yalda/more"
            ]
        );
        assert!(links_in("http https:// httpx").is_empty());
    }

    #[test]
    fn tracked_links_replace_exactly_the_links_named() {
        let text = "a https://s.ir/y b https://s.ir/y/more c https://s.ir/y.";
        let links = vec!["https://s.ir/y".to_string()];
        let tracked = track_links(text, &links, |i| format!("https://t.ir/{i}"));
        assert_eq!(
            tracked,
            "a https://t.ir/0 b https://s.ir/y/more c https://t.ir/0."
        );
    }

    #[test]
    fn links_with_template_variables_are_not_tracked() {
        let text = "https://s.ir/c/{{ customer.code }}x https://s.ir/{%if%} https://s.ir/ok";
        assert_eq!(links_in(text), ["https://s.ir/ok"]);
    }

    #[test]
    fn links_past_the_cap_are_left_as_written() {
        let text: String = (0..25).map(|i| format!("https://s.ir/{i} ")).collect();
        assert_eq!(links_in(&text).len(), MAX_TRACKED_LINKS);
    }

    #[test]
    fn the_html_part_escapes_the_text_links_it_and_ends_with_the_pixel() {
        let html = html_with_pixel(
            "<b>۲۰٪</b> & more: https://s.ir/a?x=1&y=2.",
            "https://crm.ir/api/v1/campaign-opens/t",
        );
        assert!(
            html.contains("&lt;b&gt;۲۰٪&lt;/b&gt; &amp; more: "),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://s.ir/a?x=1&amp;y=2\">https://s.ir/a?x=1&amp;y=2</a>."),
            "{html}"
        );
        assert!(html.contains("<img src=\"https://crm.ir/api/v1/campaign-opens/t\""));
    }

    #[test]
    fn costs_are_checked() {
        let cost = |amount: i64, day: &str| CostInput {
            amount,
            incurred_on: day.parse().unwrap(),
            note: None,
        };
        assert!(cost(5, "2026-12-01").validated().is_ok());
        let fields: Vec<String> = cost(0, "2300-01-01")
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["amount", "incurred_on"]);
    }

    #[test]
    fn marketing_needs_a_yes() {
        assert!(may_market(Some(true)));
        assert!(!may_market(None));
        assert!(!may_market(Some(false)));
    }

    #[test]
    fn figures() {
        assert_eq!(per(1_000, 3), Some(333));
        assert_eq!(per(5, 0), None);
        assert_eq!(roi(150, 100), Some(0.5));
        assert_eq!(roi(150, 0), None);
        assert_eq!(achievement(50, 200), Some(0.25));
        assert_eq!(payback_months(1_200, 100.0), Some(12.0));
        assert_eq!(payback_months(1_200, 0.0), None);
    }
}
