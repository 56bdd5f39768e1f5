//! The users' inbox (S-7): what a notification is about and its texts, written in both
//! Persian and English so that each reader gets their language whatever the language of
//! whoever caused it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A task or a record was assigned to the reader by someone else.
    Assignment,
    /// A task of the reader is due soon.
    Reminder,
    Mention,
    /// An open deal of the reader's has had no activity for its pipeline's
    /// `stuck_after_days` (the daily stuck-deals check; once per spell of being stuck).
    StuckDeal,
    /// A follow-up rule's task or reminder.
    FollowUp,
    /// A ticket's SLA target passed unmet, or nobody picked the ticket up and it was
    /// escalated (once per breach).
    SlaBreach,
    /// A customer rated a resolved ticket at or below its policy's threshold.
    LowRating,
}

snake_names!(NotificationKind {
    Assignment => "assignment",
    Reminder => "reminder",
    Mention => "mention",
    StuckDeal => "stuck_deal",
    FollowUp => "follow_up",
    SlaBreach => "sla_breach",
    LowRating => "low_rating",
});

/// The kind of record a notification links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    Task,
    Customer,
    Lead,
    Deal,
    Ticket,
}

snake_names!(LinkType {
    Task => "task",
    Customer => "customer",
    Lead => "lead",
    Deal => "deal",
    Ticket => "ticket",
});

/// The record a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub kind: LinkType,
    pub id: uuid::Uuid,
}

/// A notification's title and body in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub title_en: String,
    pub title_fa: String,
    pub body_en: Option<String>,
    pub body_fa: Option<String>,
}

impl Texts {
    /// The texts of a task assigned to the reader.
    pub fn task_assigned(title: &str) -> Texts {
        Texts {
            title_en: "A task was assigned to you".into(),
            title_fa: "کاری به شما سپرده شد".into(),
            body_en: Some(title.to_string()),
            body_fa: Some(title.to_string()),
        }
    }

    /// The texts of a lead handed to the reader (by a person or an assignment rule).
    pub fn lead_assigned(name: &str) -> Texts {
        Texts {
            title_en: "A lead was assigned to you".into(),
            title_fa: "سرنخی به شما سپرده شد".into(),
            body_en: Some(name.to_string()),
            body_fa: Some(name.to_string()),
        }
    }

    /// The texts of a deal handed to the reader.
    pub fn deal_assigned(title: &str) -> Texts {
        Texts {
            title_en: "A deal was assigned to you".into(),
            title_fa: "معامله‌ای به شما سپرده شد".into(),
            body_en: Some(title.to_string()),
            body_fa: Some(title.to_string()),
        }
    }

    /// The texts of a ticket handed to the reader: `#number subject`.
    pub fn ticket_assigned(number: i64, subject: &str) -> Texts {
        let body = format!("#{number} {subject}");
        Texts {
            title_en: "A ticket was assigned to you".into(),
            title_fa: "درخواستی به شما سپرده شد".into(),
            body_en: Some(body.clone()),
            body_fa: Some(body),
        }
    }

    /// The texts of an internal note of a ticket that mentions the reader.
    pub fn ticket_mention(number: i64, subject: &str) -> Texts {
        let body = format!("#{number} {subject}");
        Texts {
            title_en: "You were mentioned in a ticket".into(),
            title_fa: "در یادداشت یک درخواست از شما نام برده شد".into(),
            body_en: Some(body.clone()),
            body_fa: Some(body),
        }
    }

    /// The texts of a ticket whose SLA `target` (`first_response`, `next_response`,
    /// `resolution`) passed unmet.
    pub fn sla_breached(number: i64, subject: &str, target: &str) -> Texts {
        let (en, fa) = match target {
            "first_response" => ("first response", "پاسخ نخست"),
            "next_response" => ("next response", "پاسخ بعدی"),
            _ => ("resolution", "حل درخواست"),
        };
        let body = format!("#{number} {subject}");
        Texts {
            title_en: format!("SLA breached: {en} overdue"),
            title_fa: format!("تعهد سطح خدمت نقض شد: موعد {fa} گذشت"),
            body_en: Some(body.clone()),
            body_fa: Some(body),
        }
    }

    /// The texts of a ticket nobody picked up after its re-assignments, sent to the
    /// team's managers.
    pub fn ticket_escalated(number: i64, subject: &str, hops: i64) -> Texts {
        let body = format!("#{number} {subject}");
        Texts {
            title_en: format!("Ticket not picked up after {hops} re-assignments"),
            title_fa: format!("درخواست پس از {hops} بار واگذاری دوباره پاسخ نگرفت"),
            body_en: Some(body.clone()),
            body_fa: Some(body),
        }
    }

    /// The texts of a low satisfaction rating, sent to the team's managers.
    pub fn low_rating(number: i64, subject: &str, rating: i32) -> Texts {
        let body = format!("#{number} {subject}");
        Texts {
            title_en: format!("A customer rated a resolved ticket {rating} of 5"),
            title_fa: format!("مشتری به درخواست حل‌شده امتیاز {rating} از ۵ داد"),
            body_en: Some(body.clone()),
            body_fa: Some(body),
        }
    }

    /// The texts of a task a follow-up rule made for the reader.
    pub fn follow_up_task(title: &str) -> Texts {
        Texts {
            title_en: "A follow-up task was created for you".into(),
            title_fa: "کار پیگیری برای شما ساخته شد".into(),
            body_en: Some(title.to_string()),
            body_fa: Some(title.to_string()),
        }
    }

    /// The texts telling a lead's owner (or, `escalated`, the owner's managers) that
    /// the lead `name` is still not contacted.
    pub fn lead_not_contacted(name: &str, escalated: bool) -> Texts {
        let (title_en, title_fa) = if escalated {
            (
                "A lead of your team is still not contacted",
                "با سرنخی از تیم شما هنوز تماس گرفته نشده است",
            )
        } else {
            (
                "Your lead is still not contacted",
                "با سرنخ شما هنوز تماس گرفته نشده است",
            )
        };
        Texts {
            title_en: title_en.into(),
            title_fa: title_fa.into(),
            body_en: Some(name.to_string()),
            body_fa: Some(name.to_string()),
        }
    }

    /// The texts telling a deal's owner that the deal `title` has had no activity for
    /// `days` days.
    pub fn deal_stuck(title: &str, days: i64) -> Texts {
        Texts {
            title_en: "Your deal is stuck".into(),
            title_fa: "معاملهٔ شما متوقف مانده است".into(),
            body_en: Some(format!("{title}: no activity for {days} day(s)")),
            body_fa: Some(format!("{title}: {days} روز بدون فعالیت")),
        }
    }

    /// The texts of a reminder `minutes` before a task is due.
    pub fn task_reminder(title: &str, minutes: i64) -> Texts {
        let (en, fa) = match minutes {
            0 => ("now".to_string(), "اکنون".to_string()),
            m if m % 1440 == 0 => (
                format!("in {} day(s)", m / 1440),
                format!("{} روز دیگر", m / 1440),
            ),
            m if m % 60 == 0 => (
                format!("in {} hour(s)", m / 60),
                format!("{} ساعت دیگر", m / 60),
            ),
            m => (format!("in {m} minute(s)"), format!("{m} دقیقه دیگر")),
        };
        Texts {
            title_en: format!("Task due {en}"),
            title_fa: format!("موعد کار: {fa}"),
            body_en: Some(title.to_string()),
            body_fa: Some(title.to_string()),
        }
    }

    /// The title in `fa` (Persian) or else English, and the body likewise.
    pub fn pick(&self, persian: bool) -> (&str, Option<&str>) {
        if persian {
            (&self.title_fa, self.body_fa.as_deref())
        } else {
            (&self.title_en, self.body_en.as_deref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_say_how_far_ahead_in_both_languages() {
        let texts = Texts::task_reminder("تماس با آوا", 1440);
        assert_eq!(texts.pick(false).0, "Task due in 1 day(s)");
        assert_eq!(texts.pick(true).0, "موعد کار: 1 روز دیگر");
        assert_eq!(
            Texts::task_reminder("x", 90).title_en,
            "Task due in 90 minute(s)"
        );
        assert_eq!(
            Texts::task_reminder("x", 120).title_en,
            "Task due in 2 hour(s)"
        );
        assert_eq!(texts.pick(true).1, Some("تماس با آوا"));
    }
}
