//! Hand-computed due times on the default Iranian calendar (Asia/Tehran, UTC+03:30;
//! Saturday–Wednesday 08:00–16:00, Thursday 08:00–12:00, Friday closed, the solar
//! holidays), so 08:00 local is 04:30Z.

use chrono::{DateTime, Utc};

use super::*;

fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().expect("valid test instant")
}

fn calendar() -> BusinessCalendar {
    BusinessCalendar::default()
}

fn targets(first: u32, next: u32, resolution: u32, pickup: u32) -> Targets {
    Targets {
        first_response: Some(first),
        next_response: Some(next),
        resolution: Some(resolution),
        pickup: Some(pickup),
    }
}

#[test]
fn resolution_across_friday_and_nowruz() {
    // Wednesday 1404-12-27 (2026-03-18) 15:00: one hour left that day; Thursday has
    // four; Friday and 29 Esfand are closed, 1–4 Farvardin (Saturday to Tuesday) are
    // Nowruz holidays; the remaining three hours run on Wednesday 5 Farvardin from 08:00.
    let clock = SlaClock::start(
        &calendar(),
        targets(30, 60, 480, 15),
        at("2026-03-18T11:30:00Z"),
    );
    assert_eq!(clock.resolution_due_at, Some(at("2026-03-25T07:30:00Z")));
    // 30 minutes fit in Wednesday's last hour.
    assert_eq!(
        clock.first_response_due_at,
        Some(at("2026-03-18T12:00:00Z"))
    );
    assert_eq!(clock.pickup_due_at, Some(at("2026-03-18T11:45:00Z")));
}

#[test]
fn after_hours_on_the_thursday_half_day() {
    // Thursday 2026-11-26 13:00, after the 12:00 close: the clock starts on Saturday.
    let clock = SlaClock::start(
        &calendar(),
        targets(30, 60, 300, 15),
        at("2026-11-26T09:30:00Z"),
    );
    assert_eq!(
        clock.first_response_due_at,
        Some(at("2026-11-28T05:00:00Z"))
    );
    // Saturday 08:00 + 5 h = 13:00.
    assert_eq!(clock.resolution_due_at, Some(at("2026-11-28T09:30:00Z")));
}

#[test]
fn a_pause_pending_the_customer_moves_the_due_times_by_the_working_time_it_took() {
    let calendar = calendar();
    // Saturday 2026-11-28 09:00, resolution in 4 business hours: 13:00.
    let clock = SlaClock::start(
        &calendar,
        targets(600, 60, 240, 15),
        at("2026-11-28T05:30:00Z"),
    )
    .agent_replied(at("2026-11-28T05:40:00Z"));
    assert_eq!(clock.resolution_due_at, Some(at("2026-11-28T09:30:00Z")));
    // Paused at 10:00 with three hours left; resumed Sunday 09:00. The pause took
    // Saturday 10:00–16:00 and Sunday 08:00–09:00: 420 business minutes.
    let paused = clock.pause(at("2026-11-28T06:30:00Z"));
    assert!(paused.breaches(at("2026-11-28T10:00:00Z")).is_empty());
    assert_eq!(paused.check_at(), None);
    let resumed = paused.resume(&calendar, at("2026-11-29T05:30:00Z"));
    assert_eq!(resumed.paused_minutes, 420);
    assert_eq!(resumed.paused_at, None);
    // Sunday 09:00 + 3 h = 12:00.
    assert_eq!(resumed.resolution_due_at, Some(at("2026-11-29T08:30:00Z")));
    // The first response was met before the pause: its due time is history.
    assert_eq!(resumed.first_response_due_at, clock.first_response_due_at);
}

#[test]
fn a_pause_outside_working_hours_moves_nothing() {
    let calendar = calendar();
    let clock = SlaClock::start(
        &calendar,
        targets(600, 60, 240, 15),
        at("2026-11-26T07:00:00Z"),
    );
    // Thursday 10:30 + 4 h: 1.5 h on Thursday, 2.5 h from Saturday 08:00: 10:30.
    assert_eq!(clock.resolution_due_at, Some(at("2026-11-28T07:00:00Z")));
    // Paused Thursday 13:00 (closed), resumed Saturday 07:00 (not yet open).
    let resumed = clock
        .pause(at("2026-11-26T09:30:00Z"))
        .resume(&calendar, at("2026-11-28T03:30:00Z"));
    assert_eq!(resumed.paused_minutes, 0);
    // At the pause 2.5 h of work were left; from Saturday 07:00 they run 08:00–10:30.
    assert_eq!(resumed.resolution_due_at, Some(at("2026-11-28T07:00:00Z")));
}

#[test]
fn breaches_come_once_and_stop_with_the_reply_or_resolution() {
    let calendar = calendar();
    let start = at("2026-11-28T05:30:00Z"); // Saturday 09:00
    let clock = SlaClock::start(&calendar, targets(30, 60, 240, 15), start);
    assert_eq!(
        clock.check_at(),
        Some(at("2026-11-28T05:45:00Z")),
        "the pick-up first"
    );
    assert!(clock.pickup_lapsed(at("2026-11-28T05:45:00Z")));
    let found = clock.breaches(at("2026-11-28T06:00:00Z"));
    assert_eq!(
        found,
        [(SlaTarget::FirstResponse, at("2026-11-28T06:00:00Z"))]
    );
    let clock = clock.breached(SlaTarget::FirstResponse);
    assert!(clock.breaches(at("2026-11-28T06:10:00Z")).is_empty());
    assert!(clock.any_breached());
    // The reply ends the pick-up; a customer message then owes a next response.
    let clock = clock
        .agent_replied(at("2026-11-28T06:10:00Z"))
        .customer_wrote(
            &calendar,
            targets(30, 60, 240, 15),
            at("2026-11-28T07:00:00Z"),
        );
    assert!(!clock.pickup_lapsed(at("2026-11-28T08:00:00Z")));
    assert_eq!(clock.next_response_due_at, Some(at("2026-11-28T08:00:00Z")));
    assert_eq!(clock.check_at(), Some(at("2026-11-28T08:00:00Z")));
    let resolved = clock.resolved(at("2026-11-28T07:30:00Z"));
    assert!(resolved.breaches(at("2026-12-30T00:00:00Z")).is_empty());
    assert_eq!(resolved.check_at(), None);
    // Reopened on Sunday 10:00: resolution owed 4 business hours later.
    let reopened = resolved.reopened(
        &calendar,
        targets(30, 60, 240, 15),
        at("2026-11-29T06:30:00Z"),
    );
    assert_eq!(reopened.resolution_due_at, Some(at("2026-11-29T10:30:00Z")));
}

#[test]
fn a_policy_needs_a_target_and_sane_minutes() {
    let policy: SlaPolicyInput = serde_json::from_value(serde_json::json!({
        "name": " ", "first_response_minutes": 0, "max_reassignments": 50
    }))
    .expect("input");
    let codes: Vec<String> = policy
        .validated()
        .expect_err("violations")
        .into_iter()
        .map(|v| format!("{}:{}", v.field, v.code))
        .collect();
    assert_eq!(
        codes,
        [
            "name:required",
            "first_response_minutes:out_of_range",
            "max_reassignments:out_of_range"
        ]
    );
    let none: SlaPolicyInput =
        serde_json::from_value(serde_json::json!({"name": "x"})).expect("input");
    assert_eq!(
        none.validated().expect_err("violations")[0].code,
        "required"
    );
}
