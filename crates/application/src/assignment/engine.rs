//! The assignment engine: the first active rule (in order) whose condition a record
//! meets and whose target has an available user decides who owns the record. Every
//! assignment — by a rule, by hand or by default — is recorded with its rule, method
//! and reason.
//!
//! Fairness under concurrent creates: choosing within a team locks the team's rotation
//! for the kind until the transaction ends (PostgreSQL: an advisory lock; SQLite:
//! writers are serialised), reads the cursor and the members' loads, and moves the
//! cursor; so two records created at once go to two different members in turn.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::assignment::{
    choose, territory_for, Candidate, Method, PlaceMatch, RecordKind, Strategy, Target, Unavailable,
};
use domain::filter::{Predicate, ResolveContext, ResolvedFilter, SearchCriteria, TypedValue};
use domain::sales::leads::LeadStatus;
use domain::service::tickets::TicketStatus;
use persistence::assignment::{AssignmentRow, RuleRow};
use persistence::db::DbConnection;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use super::rules::{input_of, resolve};
use super::territories::places_of;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// A record to assign, with the facts territories are matched on.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub kind: RecordKind,
    pub id: Uuid,
    pub city: Option<&'a str>,
    pub province: Option<&'a str>,
    /// Users the record must not go to: a ticket re-assigned because its agent let the
    /// pick-up time lapse never goes back to them.
    pub excluded: &'a [Uuid],
}

/// Who a record goes to, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub user_id: Uuid,
    /// The team the record is filed under: the rule's or territory's team, else the
    /// user's own.
    pub team_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    pub method: Method,
    pub reason: String,
}

/// Open records of `kind` each of `users` holds (users with none are absent).
pub fn open_items(
    conn: &mut DbConnection,
    kind: RecordKind,
    users: &[Uuid],
) -> AppResult<HashMap<Uuid, i64>> {
    Ok(match kind {
        RecordKind::Lead => {
            let open: Vec<&str> = LeadStatus::OPEN.iter().map(|s| s.as_str()).collect();
            persistence::leads::open_counts(conn, users, &open)?
        }
        RecordKind::Ticket => {
            let open: Vec<&str> = TicketStatus::OPEN.iter().map(|s| s.as_str()).collect();
            persistence::tickets::open_counts(conn, users, &open)?
        }
        RecordKind::Customer => persistence::customers::owned_counts(conn, users)?,
    })
}

/// Whether the record meets a stored condition, resolved now.
fn meets(
    conn: &mut DbConnection,
    subject: &Subject<'_>,
    rule: &RuleRow,
    context: &ResolveContext,
) -> AppResult<bool> {
    let Some(condition) = &rule.condition else {
        return Ok(true);
    };
    // A condition checked when saved can stop fitting only if the catalogue loses a
    // field; such a rule is passed over (and logged) rather than failing every create.
    let resolved = match resolve(conn, subject.kind, &condition.0, context)? {
        Ok(resolved) => resolved,
        Err(problems) => {
            tracing::warn!(
                rule = %rule.id.0,
                problems = problems.len(),
                "assignment rule no longer fits its catalogue; passed over"
            );
            return Ok(false);
        }
    };
    match subject.kind {
        RecordKind::Lead => Ok(persistence::leads::matches(conn, subject.id, &resolved)?),
        RecordKind::Ticket => Ok(persistence::tickets::matches(conn, subject.id, &resolved)?),
        RecordKind::Customer => {
            let criteria = SearchCriteria {
                filter: Some(ResolvedFilter::And(vec![
                    resolved,
                    ResolvedFilter::Condition {
                        field: "id",
                        predicate: Predicate::Eq(TypedValue::Uuid(subject.id)),
                    },
                ])),
                sort: Vec::new(),
            };
            let everyone = Acting::system(crate::i18n::Lang::En).scope();
            Ok(persistence::customers::search::count(conn, &criteria, Vec::new(), &everyone)? > 0)
        }
    }
}

/// The availability of `users` for `kind` at `pickup`. Their open items are counted
/// only where they matter — for every user when the choice is by `load`, otherwise for
/// those with a capacity — because the count reads every open record of the user, and
/// round robin does it under the team's lock, so it would bound how fast a team takes
/// new records; the others' `open_items` stay 0.
fn candidates(
    conn: &mut DbConnection,
    kind: RecordKind,
    users: &[Uuid],
    pickup: DateTime<Utc>,
    load: bool,
) -> AppResult<Vec<Candidate>> {
    let capacities = persistence::assignment::capacities(conn, kind.as_str(), users)?;
    let counted: Vec<Uuid> = users
        .iter()
        .copied()
        .filter(|user| load || capacities.contains_key(user))
        .collect();
    let open = if counted.is_empty() {
        HashMap::new()
    } else {
        open_items(conn, kind, &counted)?
    };
    let away = persistence::assignment::away_at(conn, users, pickup)?;
    Ok(users
        .iter()
        .map(|user| Candidate {
            user_id: *user,
            open_items: open.get(user).copied().unwrap_or(0),
            capacity: capacities.get(user).copied(),
            away: away.contains(user),
        })
        .collect())
}

/// "2 away, 1 at capacity" for the members passed over, or nothing.
fn passed_over(candidates: &[Candidate]) -> String {
    let count = |why| {
        candidates
            .iter()
            .filter(|c| c.unavailable() == Some(why))
            .count()
    };
    let (away, full) = (count(Unavailable::Away), count(Unavailable::AtCapacity));
    let mut parts = Vec::new();
    if away > 0 {
        parts.push(format!("{away} away"));
    }
    if full > 0 {
        parts.push(format!("{full} at capacity"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (passed over: {})", parts.join(", "))
    }
}

/// A member of `team` (but the `excluded`) by `strategy`, the rotation moved on; `None`
/// when nobody in the team is available.
pub fn in_team(
    conn: &mut DbConnection,
    kind: RecordKind,
    team: Uuid,
    strategy: Strategy,
    pickup: DateTime<Utc>,
    excluded: &[Uuid],
) -> AppResult<Option<(Uuid, String)>> {
    persistence::assignment::lock_rotation(conn, kind.as_str(), team)?;
    let mut members = persistence::assignment::active_members(conn, team)?;
    members.retain(|member| !excluded.contains(member));
    if members.is_empty() {
        return Ok(None);
    }
    let candidates = candidates(
        conn,
        kind,
        &members,
        pickup,
        strategy == Strategy::LeastLoad,
    )?;
    let last = persistence::assignment::cursor(conn, kind.as_str(), team)?;
    let Some(user) = choose(strategy, &candidates, last) else {
        return Ok(None);
    };
    persistence::assignment::advance(conn, kind.as_str(), team, user)?;
    let how = match strategy {
        Strategy::RoundRobin => "round robin".to_string(),
        Strategy::LeastLoad => {
            let load = candidates
                .iter()
                .find(|c| c.user_id == user)
                .map_or(0, |c| c.open_items);
            format!("least load ({load} open)")
        }
    };
    Ok(Some((
        user,
        format!(
            "{how} among {} members{}",
            members.len(),
            passed_over(&candidates)
        ),
    )))
}

/// Runs the rules of the subject's kind. `None` when no rule applies or none finds an
/// available user. Availability is judged when the record can first be picked up: now
/// in working hours, else at the next opening of the business calendar.
pub fn decide(conn: &mut DbConnection, subject: &Subject<'_>) -> AppResult<Option<Decision>> {
    let rules = persistence::assignment::rules(conn, subject.kind.as_str(), true)?;
    if rules.is_empty() {
        return Ok(None);
    }
    let now = persistence::now();
    let calendar = crate::settings::calendar(conn)?;
    let pickup = calendar.next_working_instant(now).unwrap_or(now);
    let context = ResolveContext::new(now, calendar.local());
    let mut territories = None;
    for rule in &rules {
        if !meets(conn, subject, rule, &context)? {
            continue;
        }
        let label = format!("rule {:?}", rule.name);
        let decision = match input_of(rule)?.target {
            Target::User { user_id } => {
                if subject.excluded.contains(&user_id)
                    || !persistence::users::is_active_user(conn, user_id)?
                {
                    continue;
                }
                let candidate = candidates(conn, subject.kind, &[user_id], pickup, false)?;
                if candidate[0].unavailable().is_some() {
                    continue;
                }
                let team = persistence::users::teams_of(conn, &[user_id])?
                    .get(&user_id)
                    .copied()
                    .flatten();
                Decision {
                    user_id,
                    team_id: team,
                    rule_id: Some(rule.id.0),
                    method: Method::User,
                    reason: format!("{label}: its user"),
                }
            }
            Target::Team { team_id, strategy } => {
                let Some((user_id, how)) = in_team(
                    conn,
                    subject.kind,
                    team_id,
                    strategy,
                    pickup,
                    subject.excluded,
                )?
                else {
                    continue;
                };
                Decision {
                    user_id,
                    team_id: Some(team_id),
                    rule_id: Some(rule.id.0),
                    method: strategy.into(),
                    reason: format!("{label}: {how} of its team"),
                }
            }
            Target::Territory => {
                if territories.is_none() {
                    territories = Some(persistence::assignment::territories(conn)?);
                }
                let rows = territories.as_deref().unwrap_or_default();
                let places = rows.iter().map(places_of).collect::<AppResult<Vec<_>>>()?;
                let Some((found, by)) = territory_for(&places, subject.city, subject.province)
                else {
                    continue;
                };
                let Some(row) = rows.iter().find(|row| row.id.0 == found.id) else {
                    continue;
                };
                let strategy = Strategy::parse(&row.strategy).ok_or_else(|| {
                    AppError::Internal(format!("stored strategy {}", row.strategy))
                })?;
                let Some((user_id, how)) = in_team(
                    conn,
                    subject.kind,
                    row.team_id.0,
                    strategy,
                    pickup,
                    subject.excluded,
                )?
                else {
                    continue;
                };
                let place = match by {
                    PlaceMatch::City => "city",
                    PlaceMatch::Province => "province",
                };
                Decision {
                    user_id,
                    team_id: Some(row.team_id.0),
                    rule_id: Some(rule.id.0),
                    method: strategy.into(),
                    reason: format!("{label}: territory {:?} by {place}, {how}", row.name),
                }
            }
        };
        return Ok(Some(decision));
    }
    Ok(None)
}

/// Records that `subject` went to `user_id` (in `team_id`) by `method`.
pub fn record(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: RecordKind,
    record: Uuid,
    decision: &Decision,
) -> AppResult<AssignmentRow> {
    let row = AssignmentRow {
        id: DbUuid(Uuid::now_v7()),
        record_kind: kind.as_str().to_string(),
        record_id: DbUuid(record),
        user_id: Some(DbUuid(decision.user_id)),
        team_id: decision.team_id.map(DbUuid),
        rule_id: decision.rule_id.map(DbUuid),
        method: decision.method.as_str().to_string(),
        reason: decision.reason.clone(),
        assigned_by: acting.user_id.map(DbUuid),
        assigned_at: DbTime(persistence::now()),
    };
    persistence::assignment::record(conn, &row)?;
    Ok(row)
}

/// A decision made by a person (or the creator's defaults), for the history.
pub fn by_hand(user_id: Uuid, team_id: Option<Uuid>, method: Method, reason: &str) -> Decision {
    Decision {
        user_id,
        team_id,
        rule_id: None,
        method,
        reason: reason.to_string(),
    }
}
