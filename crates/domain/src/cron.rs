//! Cron patterns of recurring work (scheduled model runs): five fields (minute, hour,
//! day of month, month, day of week, as in crontab), evaluated on the business's wall
//! clock. Parsing and the calendar search are `croner`'s; this module adds the rules a
//! schedule must follow.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::validation::FieldViolation;

/// Longest pattern accepted.
pub const MAX_PATTERN_LENGTH: usize = 100;

/// Shortest time between two occurrences: every run reads the whole purchase history.
pub const MIN_INTERVAL: Duration = Duration::hours(1);

/// Occurrences looked at to find the shortest interval of a pattern: a day's worth of
/// hourly ones, and at least two of any pattern that occurs at all.
const INTERVAL_SAMPLE: usize = 48;

/// A checked cron pattern.
#[derive(Debug, Clone)]
pub struct CronPattern {
    text: String,
    cron: Cron,
}

impl CronPattern {
    /// Parses `text` for the field `field`; `now` and `zone` check that it occurs, and
    /// not more often than [`MIN_INTERVAL`].
    pub fn parse(
        field: &str,
        text: &str,
        now: DateTime<Utc>,
        zone: Tz,
    ) -> Result<CronPattern, FieldViolation> {
        let text = text.trim();
        if text.len() > MAX_PATTERN_LENGTH || text.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                field,
                "invalid_cron",
                format!("must be a cron pattern of at most {MAX_PATTERN_LENGTH} characters"),
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(text)
            .map_err(|err| {
                FieldViolation::new(
                    field,
                    "invalid_cron",
                    format!(
                        "must be a cron pattern of five fields (minute hour day-of-month \
                         month day-of-week): {err}"
                    ),
                )
            })?;
        let pattern = CronPattern {
            text: text.to_string(),
            cron,
        };
        let mut at = now;
        let mut occurrences = Vec::with_capacity(INTERVAL_SAMPLE);
        while occurrences.len() < INTERVAL_SAMPLE {
            match pattern.next_after(at, zone) {
                Some(next) => {
                    occurrences.push(next);
                    at = next;
                }
                None => break,
            }
        }
        if occurrences.is_empty() {
            return Err(FieldViolation::new(
                field,
                "never_occurs",
                "names no time that will come (such as 30 February)",
            ));
        }
        if occurrences
            .windows(2)
            .any(|pair| pair[1] - pair[0] < MIN_INTERVAL)
        {
            return Err(FieldViolation::new(
                field,
                "too_frequent",
                "must not occur more than once an hour",
            ));
        }
        Ok(pattern)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first occurrence after `after` on the wall clock of `zone`. A time the clocks
    /// skip is not an occurrence; `None` when none comes within croner's search limit.
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&zone), false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TEHRAN: Tz = chrono_tz::Asia::Tehran;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap()
    }

    #[test]
    fn occurrences_follow_the_business_wall_clock() {
        // 02:00 in Tehran is 22:30 UTC the day before.
        let pattern = CronPattern::parse("cron", "0 2 * * *", now(), TEHRAN).unwrap();
        assert_eq!(
            pattern.next_after(now(), TEHRAN),
            Some(Utc.with_ymd_and_hms(2026, 12, 3, 22, 30, 0).unwrap())
        );
        // Saturdays (6) at 03:15: 5 December 2026 is a Saturday.
        let weekly = CronPattern::parse("cron", "15 3 * * 6", now(), TEHRAN).unwrap();
        assert_eq!(
            weekly.next_after(now(), TEHRAN),
            Some(Utc.with_ymd_and_hms(2026, 12, 4, 23, 45, 0).unwrap())
        );
        assert_eq!(weekly.as_str(), "15 3 * * 6");
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        let code = |text: &str| {
            CronPattern::parse("cron", text, now(), TEHRAN)
                .unwrap_err()
                .code
        };
        assert_eq!(code("every day"), "invalid_cron");
        assert_eq!(code("0 0 2 * * *"), "invalid_cron");
        assert_eq!(code("0 25 * * *"), "invalid_cron");
        assert_eq!(code("0 2 * *\u{0} *"), "invalid_cron");
        assert_eq!(code(&"1,".repeat(60)), "invalid_cron");
        assert_eq!(code("*/5 * * * *"), "too_frequent");
        assert_eq!(code("0 0 30 2 *"), "never_occurs");
    }
}
