//! SLA (V-2, V-3): a policy's targets for a ticket — first response, next response,
//! resolution, and the pick-up time after which an unanswered ticket goes to another
//! agent — counted in business minutes of the business calendar, and the clock that
//! keeps a ticket's due times.
//!
//! The clock stops while the ticket waits for the customer: at the pause it keeps the
//! instant, and at the resume every running due time moves on by the business minutes
//! the pause took, so a pause over a weekend moves nothing and a pause in working hours
//! moves the deadline by exactly as much working time. Everything here is a pure
//! function of the calendar and instants, so the hand-computed cases are tested here
//! and the application only stores the result.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::business_calendar::BusinessCalendar;
use crate::customers::snake_names;
use crate::service::surveys::{check_threshold, CsatAction};
use crate::validation::{FieldViolation, Violations};

/// The targets an SLA clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    /// The first agent reply after the ticket came in.
    FirstResponse,
    /// An agent reply after each customer message that followed one.
    NextResponse,
    /// The ticket resolved (or closed).
    Resolution,
}

snake_names!(SlaTarget {
    FirstResponse => "first_response",
    NextResponse => "next_response",
    Resolution => "resolution",
});

/// A year of minutes: no target is longer.
const MAX_TARGET_MINUTES: u32 = 525_600;
const MAX_NAME_CHARS: usize = 100;
const MAX_POSITION: i32 = 1_000_000;
/// Hops before a ticket nobody picks up goes to the team's managers instead.
const MAX_REASSIGNMENTS: u32 = 20;
/// Policies are matched against every ticket created or changed.
pub const MAX_POLICIES: usize = 200;

/// An SLA policy as a client writes it. The first active policy (by `position`) whose
/// condition — a filter tree over the ticket search catalogue, e.g. on `priority`,
/// `category_id`, `channel` or `customer_tier_id` — a ticket meets is its policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "فوری",
    "position": 10,
    "condition": {"field": "priority", "op": "eq", "value": "urgent"},
    "first_response_minutes": 30,
    "next_response_minutes": 60,
    "resolution_minutes": 480,
    "pickup_minutes": 15,
    "max_reassignments": 2,
    "active": true,
    "csat_threshold": 2,
    "csat_action": "reopen"
}))]
pub struct SlaPolicyInput {
    pub name: String,
    /// Lower first.
    #[serde(default)]
    pub position: i32,
    /// Absent: every ticket.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    /// Business minutes to the first agent reply.
    #[serde(default)]
    pub first_response_minutes: Option<u32>,
    /// Business minutes to an agent reply after a customer message.
    #[serde(default)]
    pub next_response_minutes: Option<u32>,
    /// Business minutes to resolution, not counting time pending the customer.
    #[serde(default)]
    pub resolution_minutes: Option<u32>,
    /// Business minutes an assigned agent has to give the first reply before the
    /// ticket goes to another available agent (V-3). Absent: no re-assignment.
    #[serde(default)]
    pub pickup_minutes: Option<u32>,
    /// Re-assignments before the ticket is escalated to its team's managers instead.
    #[serde(default = "default_reassignments")]
    pub max_reassignments: u32,
    /// On a resolution breach, raise the ticket's priority one step.
    #[serde(default)]
    pub raise_priority_on_breach: bool,
    #[serde(default = "default_active")]
    pub active: bool,
    /// A satisfaction rating at or below this (1–5) calls for `csat_action`; absent:
    /// no rating does.
    #[serde(default)]
    pub csat_threshold: Option<i32>,
    /// What a low rating does: reopen the ticket, or tell the team's managers.
    #[serde(default)]
    pub csat_action: CsatAction,
}

fn default_reassignments() -> u32 {
    2
}

fn default_active() -> bool {
    true
}

impl SlaPolicyInput {
    /// Checks the policy's own fields (the condition is checked against the catalogue
    /// by the application).
    pub fn validated(mut self) -> Result<SlaPolicyInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut name = Some(std::mem::take(&mut self.name));
        v.tidy_line("name", &mut name, MAX_NAME_CHARS);
        match name {
            Some(name) => self.name = name,
            None => v.push("name", "required", "a policy needs a name"),
        }
        if !(0..=MAX_POSITION).contains(&self.position) {
            v.push(
                "position",
                "out_of_range",
                format!("must be between 0 and {MAX_POSITION}"),
            );
        }
        for (field, minutes) in [
            ("first_response_minutes", self.first_response_minutes),
            ("next_response_minutes", self.next_response_minutes),
            ("resolution_minutes", self.resolution_minutes),
            ("pickup_minutes", self.pickup_minutes),
        ] {
            if minutes.is_some_and(|m| m == 0 || m > MAX_TARGET_MINUTES) {
                v.push(
                    field,
                    "out_of_range",
                    format!("must be between 1 and {MAX_TARGET_MINUTES} business minutes"),
                );
            }
        }
        if self.first_response_minutes.is_none()
            && self.next_response_minutes.is_none()
            && self.resolution_minutes.is_none()
            && self.pickup_minutes.is_none()
        {
            v.push(
                "first_response_minutes",
                "required",
                "a policy needs at least one target",
            );
        }
        check_threshold(&mut v, "csat_threshold", self.csat_threshold);
        if self.max_reassignments > MAX_REASSIGNMENTS {
            v.push(
                "max_reassignments",
                "out_of_range",
                format!("must be between 0 and {MAX_REASSIGNMENTS}"),
            );
        }
        v.into_result().map(|()| self)
    }

    pub fn targets(&self) -> Targets {
        Targets {
            first_response: self.first_response_minutes,
            next_response: self.next_response_minutes,
            resolution: self.resolution_minutes,
            pickup: self.pickup_minutes,
        }
    }
}

/// A policy's targets in business minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    pub first_response: Option<u32>,
    pub next_response: Option<u32>,
    pub resolution: Option<u32>,
    pub pickup: Option<u32>,
}

/// A ticket's SLA clock: its due times, which of them were breached, and whether it
/// is paused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaClock {
    pub first_response_due_at: Option<DateTime<Utc>>,
    pub next_response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// When the assigned agent's time to pick the ticket up ends.
    pub pickup_due_at: Option<DateTime<Utc>>,
    pub first_response_breached: bool,
    pub next_response_breached: bool,
    pub resolution_breached: bool,
    /// Set while the ticket waits for the customer.
    pub paused_at: Option<DateTime<Utc>>,
    /// Business minutes the clock has stood still in all.
    pub paused_minutes: i64,
    /// Targets met: the first agent reply and the resolution.
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl SlaClock {
    /// The clock of a ticket that came in at `at` under `targets`.
    pub fn start(calendar: &BusinessCalendar, targets: Targets, at: DateTime<Utc>) -> SlaClock {
        let due = |minutes: Option<u32>| minutes.and_then(|m| calendar.add_business_minutes(at, m));
        SlaClock {
            first_response_due_at: due(targets.first_response),
            resolution_due_at: due(targets.resolution),
            pickup_due_at: due(targets.pickup),
            ..SlaClock::default()
        }
    }

    /// The clock under other targets (the ticket's policy changed): the due times
    /// counted again from `created_at`, moved on by the business minutes already paused;
    /// what was met or breached stays.
    pub fn retarget(
        self,
        calendar: &BusinessCalendar,
        targets: Targets,
        created_at: DateTime<Utc>,
    ) -> SlaClock {
        let paused = u32::try_from(self.paused_minutes.max(0)).unwrap_or(u32::MAX);
        let due = |minutes: Option<u32>| {
            minutes
                .and_then(|m| calendar.add_business_minutes(created_at, m.saturating_add(paused)))
        };
        SlaClock {
            first_response_due_at: due(targets.first_response),
            resolution_due_at: due(targets.resolution),
            pickup_due_at: if self.first_responded_at.is_none() {
                self.pickup_due_at.or_else(|| due(targets.pickup))
            } else {
                None
            },
            next_response_due_at: if targets.next_response.is_some() {
                self.next_response_due_at
            } else {
                None
            },
            ..self
        }
    }

    /// An agent replied at `at`: the first response is met if it was not yet, and no
    /// next response is owed.
    pub fn agent_replied(self, at: DateTime<Utc>) -> SlaClock {
        SlaClock {
            first_responded_at: self.first_responded_at.or(Some(at)),
            pickup_due_at: None,
            next_response_due_at: None,
            next_response_breached: false,
            ..self
        }
    }

    /// The customer wrote at `at`: once the first response was given, a next response
    /// is owed (unless one already is).
    pub fn customer_wrote(
        self,
        calendar: &BusinessCalendar,
        targets: Targets,
        at: DateTime<Utc>,
    ) -> SlaClock {
        if self.first_responded_at.is_none() || self.next_response_due_at.is_some() {
            return self;
        }
        SlaClock {
            next_response_due_at: targets
                .next_response
                .and_then(|m| calendar.add_business_minutes(at, m)),
            next_response_breached: false,
            ..self
        }
    }

    /// The clock stops at `at` (the ticket waits for the customer).
    pub fn pause(self, at: DateTime<Utc>) -> SlaClock {
        SlaClock {
            paused_at: self.paused_at.or(Some(at)),
            ..self
        }
    }

    /// The clock runs again at `at`: every due time still ahead of the pause moves on
    /// by the business minutes the pause took.
    pub fn resume(self, calendar: &BusinessCalendar, at: DateTime<Utc>) -> SlaClock {
        let Some(paused_at) = self.paused_at else {
            return self;
        };
        let paused = calendar.business_minutes_between(paused_at, at).max(0);
        let shift = |due: Option<DateTime<Utc>>| {
            due.map(|due| {
                if due <= paused_at {
                    return due;
                }
                let remaining = calendar.business_minutes_between(paused_at, due).max(0);
                u32::try_from(remaining)
                    .ok()
                    .and_then(|remaining| calendar.add_business_minutes(at, remaining))
                    .unwrap_or(due)
            })
        };
        SlaClock {
            first_response_due_at: if self.first_responded_at.is_none() {
                shift(self.first_response_due_at)
            } else {
                self.first_response_due_at
            },
            next_response_due_at: shift(self.next_response_due_at),
            resolution_due_at: if self.resolved_at.is_none() {
                shift(self.resolution_due_at)
            } else {
                self.resolution_due_at
            },
            pickup_due_at: shift(self.pickup_due_at),
            paused_at: None,
            paused_minutes: self.paused_minutes + paused,
            ..self
        }
    }

    /// Resolved (or closed) at `at`: the resolution is met, nothing more is owed.
    pub fn resolved(self, at: DateTime<Utc>) -> SlaClock {
        SlaClock {
            resolved_at: self.resolved_at.or(Some(at)),
            next_response_due_at: None,
            pickup_due_at: None,
            paused_at: None,
            ..self
        }
    }

    /// Came back at `at`: the resolution is owed again, counted from now.
    pub fn reopened(
        self,
        calendar: &BusinessCalendar,
        targets: Targets,
        at: DateTime<Utc>,
    ) -> SlaClock {
        SlaClock {
            resolved_at: None,
            resolution_due_at: targets
                .resolution
                .and_then(|m| calendar.add_business_minutes(at, m)),
            resolution_breached: false,
            ..self
        }
    }

    /// The targets still running and not breached whose due time has come by `now`.
    pub fn breaches(&self, now: DateTime<Utc>) -> Vec<(SlaTarget, DateTime<Utc>)> {
        if self.paused_at.is_some() || self.resolved_at.is_some() {
            return Vec::new();
        }
        let mut found = Vec::new();
        let mut check = |target, due: Option<DateTime<Utc>>, running: bool, breached: bool| {
            if let Some(due) = due.filter(|due| running && !breached && *due <= now) {
                found.push((target, due));
            }
        };
        check(
            SlaTarget::FirstResponse,
            self.first_response_due_at,
            self.first_responded_at.is_none(),
            self.first_response_breached,
        );
        check(
            SlaTarget::NextResponse,
            self.next_response_due_at,
            true,
            self.next_response_breached,
        );
        check(
            SlaTarget::Resolution,
            self.resolution_due_at,
            true,
            self.resolution_breached,
        );
        found
    }

    /// The clock with `target` marked breached.
    pub fn breached(self, target: SlaTarget) -> SlaClock {
        match target {
            SlaTarget::FirstResponse => SlaClock {
                first_response_breached: true,
                ..self
            },
            SlaTarget::NextResponse => SlaClock {
                next_response_breached: true,
                ..self
            },
            SlaTarget::Resolution => SlaClock {
                resolution_breached: true,
                ..self
            },
        }
    }

    /// Whether the agent's pick-up time has run out by `now` without a reply.
    pub fn pickup_lapsed(&self, now: DateTime<Utc>) -> bool {
        self.paused_at.is_none()
            && self.resolved_at.is_none()
            && self.first_responded_at.is_none()
            && self.pickup_due_at.is_some_and(|due| due <= now)
    }

    /// When the scan must next look at the ticket: the earliest due time of a running,
    /// unbreached target or of the pick-up; `None` when nothing can come due (paused,
    /// resolved, or every target met or breached). The scan reads only tickets whose
    /// check time has come, so its cost follows the breaches, not the open tickets.
    pub fn check_at(&self) -> Option<DateTime<Utc>> {
        if self.paused_at.is_some() || self.resolved_at.is_some() {
            return None;
        }
        let far = DateTime::<Utc>::MAX_UTC;
        let mut pending: Vec<DateTime<Utc>> =
            self.breaches(far).into_iter().map(|(_, due)| due).collect();
        if self.first_responded_at.is_none() {
            pending.extend(self.pickup_due_at);
        }
        pending.into_iter().min()
    }

    /// Whether any target was breached.
    pub fn any_breached(&self) -> bool {
        self.first_response_breached || self.next_response_breached || self.resolution_breached
    }
}

#[cfg(test)]
mod tests;
