//! Automatic answers (O-4) outside working hours: a message that arrives when the
//! business is closed (after hours, a weekend such as Friday, a holiday) gets the
//! account's off-hours reply once per closed spell — a spell being named by the instant
//! the business opens again, so a second message the same night gets none, and the
//! first one after the next closing gets one again.

use chrono::{DateTime, Utc};

use crate::business_calendar::BusinessCalendar;

/// When a message at `at` is due an off-hours reply, the opening instant that ends its
/// closed spell (to remember as replied); `None` in working hours, when the spell was
/// answered already (`replied_until`), or when the calendar never opens.
pub fn off_hours_reply_due(
    calendar: &BusinessCalendar,
    at: DateTime<Utc>,
    replied_until: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if calendar.is_business_time(at) {
        return None;
    }
    let opens = calendar.next_working_instant(at)?;
    match replied_until {
        Some(replied) if replied >= opens => None,
        _ => Some(opens),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Tehran wall-clock time as an instant (UTC+03:30).
    fn tehran(day: u32, hour: u32) -> DateTime<Utc> {
        chrono::FixedOffset::east_opt(3 * 3600 + 1800)
            .unwrap()
            .with_ymd_and_hms(2026, 12, day, hour, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn one_reply_per_closed_spell_across_a_friday() {
        let calendar = BusinessCalendar::default();
        // 2026-12-04 is a Friday, the Iranian weekend.
        let friday_morning = tehran(4, 10);
        let opens = off_hours_reply_due(&calendar, friday_morning, None).expect("closed");
        assert!(calendar.is_business_time(opens));
        assert!(opens > friday_morning);
        // The same spell, Friday evening: already answered.
        assert_eq!(
            off_hours_reply_due(&calendar, tehran(4, 20), Some(opens)),
            None
        );
        // Saturday morning in working hours: no automatic reply.
        assert_eq!(
            off_hours_reply_due(&calendar, tehran(5, 10), Some(opens)),
            None
        );
        // Saturday night is a new spell.
        let next = off_hours_reply_due(&calendar, tehran(5, 23), Some(opens)).expect("closed");
        assert!(next > opens);
    }
}
