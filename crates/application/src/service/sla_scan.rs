//! The SLA scan (V-2, V-3): the tickets whose check time has come, each in its own
//! transaction under its row lock. A target whose due time passed unmet is recorded as
//! a breach once (the breach's unique key, so a second scan or a second process finds
//! it recorded), its owner and the team's managers are told, and a resolution breach
//! raises the priority where the policy says so. A ticket nobody answered within the
//! pick-up time goes to another available agent through the assignment engine — never
//! back to an agent who held it — and after the policy's number of hops, or when
//! nobody is available, to the team's managers instead. Every hop is recorded with
//! its reason.
//!
//! A pass reads only tickets whose `sla_check_at` has come, so its cost follows what
//! is due, not how many tickets are open.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use domain::assignment::{RecordKind, Strategy};
use domain::authz::Role;
use domain::notifications::{NotificationKind, Texts};
use domain::service::sla::{SlaClock, SlaTarget};
use domain::service::tickets::TicketPriority;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sla_policies::SlaPolicyRow;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::tickets::{BreachRow, TicketRow};
use persistence::users::UserQuery;
use uuid::Uuid;

use super::sla_policies;
use super::tickets::{clock_of, link, set_clock};
use crate::acting::Acting;
use crate::assignment::engine::{self, Decision, Subject};
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::transaction;

/// Tickets read per query of a pass.
const BATCH: i64 = 200;
/// Managers told of one breach or escalation.
const MANAGERS: i64 = 50;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    /// Tickets looked at.
    pub checked: usize,
    /// Breaches recorded.
    pub breaches: usize,
    /// Tickets handed to another agent.
    pub reassigned: usize,
    /// Tickets sent to the team's managers.
    pub escalated: usize,
}

/// One pass at the instant `now`: every ticket whose check time has come by `now`.
pub fn scan(conn: &mut DbConnection, now: DateTime<Utc>) -> AppResult<ScanOutcome> {
    let mut outcome = ScanOutcome::default();
    // Each ticket's check time moves past `now` (or away) when it is handled, so the
    // next query reads the next ones; a ticket seen twice means it could not move and
    // would loop, so the pass ends there.
    let mut seen = BTreeSet::new();
    loop {
        let due = persistence::tickets::due_for_check(conn, now, BATCH)?;
        let fresh: Vec<Uuid> = due.into_iter().filter(|id| seen.insert(*id)).collect();
        if fresh.is_empty() {
            return Ok(outcome);
        }
        for id in fresh {
            transaction(conn, |conn| check_ticket(conn, id, now, &mut outcome))?;
        }
    }
}

fn check_ticket(
    conn: &mut DbConnection,
    id: Uuid,
    now: DateTime<Utc>,
    outcome: &mut ScanOutcome,
) -> AppResult<()> {
    let mut row = match persistence::tickets::find_for_update(conn, id) {
        Ok(row) => row,
        Err(persistence::PersistenceError::NotFound) => return Ok(()),
        Err(other) => return Err(other.into()),
    };
    // Another pass may have handled it since it was listed.
    if row.sla_check_at.is_none_or(|at| at.0 > now) {
        return Ok(());
    }
    outcome.checked += 1;
    let policy = match row.sla_policy_id {
        Some(policy) => match persistence::sla_policies::find(conn, policy.0) {
            Ok(policy) => Some(policy),
            Err(persistence::PersistenceError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let before = row.clone();
    let mut clock = clock_of(&row);
    for (target, due) in clock.breaches(now) {
        clock = clock.breached(target);
        let recorded = persistence::tickets::record_breach(
            conn,
            &BreachRow {
                id: DbUuid(Uuid::now_v7()),
                ticket_id: row.id,
                target: target.as_str().to_string(),
                due_at: DbTime(due),
                breached_at: DbTime(now),
                owner_id: row.owner_id,
                team_id: row.team_id,
            },
        )?;
        if !recorded {
            continue;
        }
        outcome.breaches += 1;
        if target == SlaTarget::Resolution
            && policy.as_ref().is_some_and(|p| p.raise_priority_on_breach)
        {
            row.priority = raised(&row.priority).as_str().to_string();
        }
        crate::events::publish(
            conn,
            &Acting::system(Lang::En),
            &[persistence::events::NewEvent::new(
                "ticket.sla_breached",
                "ticket",
                row.id.0,
                serde_json::json!({
                    "ticket_id": row.id.0,
                    "number": row.number,
                    "customer_id": row.customer_id.0,
                    "target": target.as_str(),
                    "due_at": due,
                    "owner_id": row.owner_id.map(|id| id.0),
                    "team_id": row.team_id.map(|id| id.0),
                }),
                now,
            )],
        )?;
        tell_breach(conn, &row, target, due)?;
    }
    if clock.pickup_lapsed(now) {
        clock = pick_up_lapsed(conn, &mut row, clock, policy.as_ref(), now, outcome)?;
    }
    set_clock(&mut row, clock);
    let row = persistence::tickets::update(conn, &row)?;
    audit::record_change(
        conn,
        &Acting::system(Lang::En).audit_actor(),
        "ticket.sla_check",
        "ticket",
        id,
        &before.audit_snapshot(),
        &row.audit_snapshot(),
    )?;
    Ok(())
}

/// One step more urgent (urgent stays urgent).
fn raised(priority: &str) -> TicketPriority {
    match TicketPriority::parse(priority).unwrap_or_default() {
        TicketPriority::Low => TicketPriority::Normal,
        TicketPriority::Normal => TicketPriority::High,
        TicketPriority::High | TicketPriority::Urgent => TicketPriority::Urgent,
    }
}

/// The active managers of `team`.
pub(crate) fn managers(conn: &mut DbConnection, team: Option<DbUuid>) -> AppResult<Vec<Uuid>> {
    let Some(team) = team else {
        return Ok(Vec::new());
    };
    Ok(persistence::users::list(
        conn,
        &UserQuery {
            role: Some(Role::Manager.as_str().to_string()),
            team_id: Some(team.0),
            is_active: Some(true),
            after: None,
            limit: MANAGERS,
        },
    )?
    .into_iter()
    .map(|user| user.id.0)
    .collect())
}

/// Tells the ticket's owner and its team's managers of a breach, once each.
fn tell_breach(
    conn: &mut DbConnection,
    row: &TicketRow,
    target: SlaTarget,
    due: DateTime<Utc>,
) -> AppResult<()> {
    let mut readers: Vec<Uuid> = row.owner_id.map(|id| id.0).into_iter().collect();
    for manager in managers(conn, row.team_id)? {
        if !readers.contains(&manager) {
            readers.push(manager);
        }
    }
    for reader in readers {
        crate::notifications::notify(
            conn,
            reader,
            NotificationKind::SlaBreach,
            Texts::sla_breached(row.number, &row.subject, target.as_str()),
            Some(link(row)),
            Some(format!(
                "sla-breach:{}:{}:{}:{reader}",
                row.id.0,
                target.as_str(),
                due.timestamp()
            )),
        )?;
    }
    Ok(())
}

/// The agent holding the ticket let the pick-up time lapse: it goes to another
/// available agent (its pick-up time counted again), or — after the policy's hops, or
/// with nobody available — to the team's managers.
fn pick_up_lapsed(
    conn: &mut DbConnection,
    row: &mut TicketRow,
    clock: SlaClock,
    policy: Option<&SlaPolicyRow>,
    now: DateTime<Utc>,
    outcome: &mut ScanOutcome,
) -> AppResult<SlaClock> {
    let pickup = policy.and_then(|p| sla_policies::targets_of(p).pickup);
    let hops_allowed = policy.map_or(0, |p| i64::from(p.max_reassignments));
    let lapsed_by = row.owner_id.map(|id| id.0);
    let decision = match pickup {
        Some(_) if row.reassignments < hops_allowed => another_agent(conn, row)?,
        _ => None,
    };
    let calendar = crate::settings::calendar(conn)?;
    let Some(decision) = decision else {
        escalate(conn, row, now)?;
        outcome.escalated += 1;
        return Ok(SlaClock {
            pickup_due_at: None,
            ..clock
        });
    };
    let minutes = pickup.unwrap_or_default();
    let reason = format!(
        "re-assigned: no first response within {minutes} business minutes{}; {}",
        lapsed_by.map_or(String::new(), |user| format!(" by {user}")),
        decision.reason
    );
    let decision = Decision { reason, ..decision };
    engine::record(
        conn,
        &Acting::system(Lang::En),
        RecordKind::Ticket,
        row.id.0,
        &decision,
    )?;
    row.owner_id = Some(DbUuid(decision.user_id));
    row.team_id = decision.team_id.map(DbUuid).or(row.team_id);
    row.reassignments += 1;
    outcome.reassigned += 1;
    // The new agent is told as anyone a ticket is handed to.
    super::tickets::owner_set(conn, &Acting::system(Lang::En), row)?;
    Ok(SlaClock {
        pickup_due_at: calendar.add_business_minutes(now, minutes),
        ..clock
    })
}

/// Another available agent for the ticket: the assignment rules for tickets, else the
/// least loaded member of its team, never anyone who held it before.
fn another_agent(conn: &mut DbConnection, row: &TicketRow) -> AppResult<Option<Decision>> {
    let mut held: Vec<Uuid> = persistence::assignment::history(
        conn,
        RecordKind::Ticket.as_str(),
        row.id.0,
        None,
        i64::from(u16::MAX),
    )?
    .into_iter()
    .filter_map(|assignment| assignment.user_id.map(|id| id.0))
    .collect();
    held.extend(row.owner_id.map(|id| id.0));
    held.sort();
    held.dedup();
    let subject = Subject {
        kind: RecordKind::Ticket,
        id: row.id.0,
        city: None,
        province: None,
        excluded: &held,
    };
    if let Some(decision) = engine::decide(conn, &subject)? {
        return Ok(Some(decision));
    }
    let Some(team) = row.team_id else {
        return Ok(None);
    };
    let now = persistence::now();
    let calendar = crate::settings::calendar(conn)?;
    let pickup = calendar.next_working_instant(now).unwrap_or(now);
    Ok(engine::in_team(
        conn,
        RecordKind::Ticket,
        team.0,
        Strategy::LeastLoad,
        pickup,
        &held,
    )?
    .map(|(user_id, how)| Decision {
        user_id,
        team_id: Some(team.0),
        rule_id: None,
        method: Strategy::LeastLoad.into(),
        reason: format!("{how} of the ticket's team"),
    }))
}

/// Sends the ticket to its team's managers: told once, the escalation kept on the
/// ticket.
fn escalate(conn: &mut DbConnection, row: &mut TicketRow, now: DateTime<Utc>) -> AppResult<()> {
    if row.escalated_at.is_some() {
        return Ok(());
    }
    row.escalated_at = Some(DbTime(now));
    for manager in managers(conn, row.team_id)? {
        crate::notifications::notify(
            conn,
            manager,
            NotificationKind::SlaBreach,
            Texts::ticket_escalated(row.number, &row.subject, row.reassignments),
            Some(link(row)),
            Some(format!("ticket-escalated:{}:{manager}", row.id.0)),
        )?;
    }
    Ok(())
}
