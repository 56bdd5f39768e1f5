//! Automatic follow-ups (S-7): the rules (`crm:configure`) and what they do, inside the
//! transaction of the change that triggers them.
//!
//! - **A deal enters a stage** ([`deal_entered_stage`], from `sales::deals` on creation
//!   and on every stage change): each active rule on that stage makes a task for the
//!   deal's owner, due after the rule's business delay.
//! - **A lead is assigned** ([`lead_owner_set`], from `sales::leads` wherever a lead's
//!   owner is set or changed, whoever sets it): each active rule queues a durable check
//!   (`follow_ups.lead_check`) after its business delay. The check does nothing if the
//!   lead was contacted or handed to someone else meanwhile; otherwise it reminds the
//!   owner and, with `escalate_after`, queues a second check that tells the managers of
//!   the owner's team. Contact in time thus cancels nothing visible: the check finds the
//!   lead contacted and stops.

use chrono::{DateTime, Utc};
use domain::authz::{Permission, Role};
use domain::notifications::{Link, LinkType, NotificationKind, Texts};
use domain::sales::follow_ups::{
    add_business_delay, DelayUnit, FollowUpRuleInput, FollowUpTrigger,
};
use domain::sales::leads::LeadStatus;
use domain::sales::tasks::{Subject, SubjectType, TaskKind};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::deals::DealRow;
use persistence::follow_up_rules::FollowUpRuleRow;
use persistence::jobs::NewJob;
use persistence::leads::LeadRow;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::users::UserQuery;
use persistence::PersistenceError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::tasks::{create_follow_up, FollowUpTask};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::notifications::notify;
use crate::precondition::Precondition;
use crate::transaction;

/// The job kind of a lead's not-contacted check.
pub const LEAD_CHECK: &str = "follow_ups.lead_check";

/// A stored rule as the input that would write it again (the merge-patch document).
pub fn input_of(row: &FollowUpRuleRow) -> AppResult<FollowUpRuleInput> {
    let corrupt =
        |what: &str| AppError::Internal(format!("stored follow-up rule {}: {what}", row.id.0));
    Ok(FollowUpRuleInput {
        name: row.name.clone(),
        trigger: FollowUpTrigger::parse(&row.trigger_kind).ok_or_else(|| corrupt("trigger"))?,
        active: row.active,
        stage_id: row.stage_id.map(|id| id.0),
        task_kind: match &row.task_kind {
            Some(kind) => Some(TaskKind::parse(kind).ok_or_else(|| corrupt("task kind"))?),
            None => None,
        },
        task_title: row.task_title.clone(),
        delay: u32::try_from(row.delay).map_err(|_| corrupt("delay"))?,
        delay_unit: DelayUnit::parse(&row.delay_unit).ok_or_else(|| corrupt("delay unit"))?,
        escalate_after: row
            .escalate_after
            .map(|amount| u32::try_from(amount).map_err(|_| corrupt("escalate_after")))
            .transpose()?,
    })
}

/// Checks a validated input against the database (the stage exists) and writes it
/// over `row`.
fn write_input(
    conn: &mut DbConnection,
    mut row: FollowUpRuleRow,
    input: FollowUpRuleInput,
) -> AppResult<FollowUpRuleRow> {
    let input = input.validated().map_err(AppError::Invalid)?;
    if let Some(stage) = input.stage_id {
        match persistence::pipelines::find_stage(conn, stage) {
            Ok(_) => {}
            Err(PersistenceError::NotFound) => {
                return Err(AppError::field(
                    "stage_id",
                    "not_found",
                    "is not a pipeline stage",
                ))
            }
            Err(other) => return Err(other.into()),
        }
    }
    // Amounts were checked to be 1..=MAX_DELAY, which fits.
    let amount = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    row.name = input.name;
    row.trigger_kind = input.trigger.as_str().to_string();
    row.active = input.active;
    row.stage_id = input.stage_id.map(DbUuid);
    row.task_kind = match input.trigger {
        FollowUpTrigger::DealStageEntered => Some(
            input
                .task_kind
                .unwrap_or(TaskKind::FollowUp)
                .as_str()
                .to_string(),
        ),
        FollowUpTrigger::LeadAssigned => None,
    };
    row.task_title = input.task_title;
    row.delay = amount(input.delay);
    row.delay_unit = input.delay_unit.as_str().to_string();
    row.escalate_after = input.escalate_after.map(amount);
    Ok(row)
}

/// Creates a rule (`crm:configure`).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: FollowUpRuleInput,
) -> AppResult<FollowUpRuleRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let now = DbTime(persistence::now());
        let blank = FollowUpRuleRow {
            id: DbUuid(Uuid::now_v7()),
            name: String::new(),
            trigger_kind: String::new(),
            active: true,
            stage_id: None,
            task_kind: None,
            task_title: None,
            delay: 1,
            delay_unit: String::new(),
            escalate_after: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let row = write_input(conn, blank, input)?;
        persistence::follow_up_rules::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "follow_up_rule.create",
            "follow_up_rule",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// A rule (`crm:configure`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<FollowUpRuleRow> {
    acting.require(Permission::CrmConfigure)?;
    Ok(persistence::follow_up_rules::find(conn, id)?)
}

/// Rules in creation order (`crm:configure`), `limit + 1` of them after `after`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> AppResult<Vec<FollowUpRuleRow>> {
    acting.require(Permission::CrmConfigure)?;
    Ok(persistence::follow_up_rules::list(conn, after, limit)?)
}

/// Changes a rule (`crm:configure`) to what `edit` makes of its document. What the
/// rule queued before keeps its course; the change applies to what happens next.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&FollowUpRuleInput) -> AppResult<FollowUpRuleInput>,
) -> AppResult<FollowUpRuleRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::follow_up_rules::find(conn, id)?;
        precondition.check(id, current.version)?;
        let after = edit(&input_of(&current)?)?;
        let row = write_input(conn, current.clone(), after)?;
        let row = persistence::follow_up_rules::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "follow_up_rule.update",
            "follow_up_rule",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a rule (`crm:configure`); its queued checks find it gone and stop.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::follow_up_rules::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::follow_up_rules::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "follow_up_rule.delete",
            "follow_up_rule",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// The instant `amount` of the rule's business time after `from`; `None` when the
/// calendar has no working time left (the rule then does nothing).
fn after_delay(
    conn: &mut DbConnection,
    rule: &FollowUpRuleRow,
    from: DateTime<Utc>,
    amount: i32,
) -> AppResult<Option<DateTime<Utc>>> {
    let calendar = crate::settings::calendar(conn)?;
    let unit = DelayUnit::parse(&rule.delay_unit)
        .ok_or_else(|| AppError::Internal(format!("stored delay unit {}", rule.delay_unit)))?;
    let amount =
        u32::try_from(amount).map_err(|_| AppError::Internal(format!("stored delay {amount}")))?;
    Ok(add_business_delay(&calendar, from, amount, unit))
}

/// Runs the rules on the stage a deal just entered (its creation or a stage change), in
/// the deal's transaction: a task for the deal's owner per rule.
pub fn deal_entered_stage(
    conn: &mut DbConnection,
    acting: &Acting,
    deal: &DealRow,
) -> AppResult<()> {
    let rules = persistence::follow_up_rules::active(
        conn,
        FollowUpTrigger::DealStageEntered.as_str(),
        Some(deal.stage_id.0),
    )?;
    let now = persistence::now();
    for rule in rules {
        let Some(due_at) = after_delay(conn, &rule, now, rule.delay)? else {
            continue;
        };
        let kind = rule
            .task_kind
            .as_deref()
            .and_then(TaskKind::parse)
            .unwrap_or(TaskKind::FollowUp);
        create_follow_up(
            conn,
            acting,
            FollowUpTask {
                kind,
                title: rule.task_title.clone().unwrap_or_else(|| rule.name.clone()),
                subject: Subject {
                    kind: SubjectType::Deal,
                    id: deal.id.0,
                },
                assignee_id: deal.owner_id.map(|id| id.0),
                team_id: deal.team_id.map(|id| id.0),
                due_at,
            },
        )?;
    }
    Ok(())
}

/// Who a lead check tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStep {
    /// The lead's owner.
    Owner,
    /// The managers of the owner's team.
    Team,
}

/// What a lead check carries: the rule, the lead and the owner it was assigned to, and
/// when the check was due (the escalation counts from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadCheckPayload {
    pub rule_id: Uuid,
    pub lead_id: Uuid,
    pub owner_id: Uuid,
    pub step: CheckStep,
    pub at: DateTime<Utc>,
}

/// Queues `payload`'s check once (its occurrence key names everything in it).
fn queue_check(conn: &mut DbConnection, payload: &LeadCheckPayload) -> AppResult<()> {
    let key = format!(
        "{LEAD_CHECK}:{}:{}:{}:{}:{:?}",
        payload.lead_id,
        payload.rule_id,
        payload.owner_id,
        payload.at.timestamp_micros(),
        payload.step
    );
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: LEAD_CHECK,
            payload: serde_json::to_value(payload)
                .map_err(|err| AppError::Internal(err.to_string()))?,
            run_at: payload.at,
            max_attempts: 5,
            created_by: None,
        },
        &key,
    )?;
    Ok(())
}

/// A lead's owner was set or changed (by anyone: a user, an import, the assignment
/// engine): queues each active `lead_assigned` rule's check, in the lead's transaction.
pub fn lead_owner_set(conn: &mut DbConnection, lead: &LeadRow) -> AppResult<()> {
    let Some(owner) = lead.owner_id else {
        return Ok(());
    };
    let now = persistence::now();
    for rule in
        persistence::follow_up_rules::active(conn, FollowUpTrigger::LeadAssigned.as_str(), None)?
    {
        if let Some(at) = after_delay(conn, &rule, now, rule.delay)? {
            queue_check(
                conn,
                &LeadCheckPayload {
                    rule_id: rule.id.0,
                    lead_id: lead.id.0,
                    owner_id: owner.0,
                    step: CheckStep::Owner,
                    at,
                },
            )?;
        }
    }
    Ok(())
}

/// Runs a lead check as its job does when it comes (module documentation). Answers
/// what happened, for the job's result.
pub fn check_lead(conn: &mut DbConnection, payload: &LeadCheckPayload) -> AppResult<Value> {
    transaction(conn, |conn| {
        let lead = match persistence::leads::find(conn, payload.lead_id) {
            Ok(lead) => lead,
            Err(PersistenceError::NotFound) => {
                return Ok(json!({"skipped": "the lead was deleted"}))
            }
            Err(other) => return Err(other.into()),
        };
        if lead.owner_id.map(|id| id.0) != Some(payload.owner_id) {
            return Ok(json!({"skipped": "the lead has another owner"}));
        }
        if lead.status != LeadStatus::New.as_str() {
            return Ok(json!({"skipped": "the lead was contacted"}));
        }
        let rule = match persistence::follow_up_rules::find(conn, payload.rule_id) {
            Ok(rule) if rule.active => rule,
            Ok(_) | Err(PersistenceError::NotFound) => {
                return Ok(json!({"skipped": "the rule was deleted or deactivated"}))
            }
            Err(other) => return Err(other.into()),
        };
        let link = Link {
            kind: LinkType::Lead,
            id: lead.id.0,
        };
        let key = |user: Uuid| {
            format!(
                "{LEAD_CHECK}:{}:{}:{}:{user}",
                lead.id.0,
                rule.id.0,
                payload.at.timestamp_micros()
            )
        };
        match payload.step {
            CheckStep::Owner => {
                notify(
                    conn,
                    payload.owner_id,
                    NotificationKind::FollowUp,
                    Texts::lead_not_contacted(&lead.display_name, false),
                    Some(link),
                    Some(key(payload.owner_id)),
                )?;
                if let Some(escalate) = rule.escalate_after {
                    if let Some(at) = after_delay(conn, &rule, payload.at, escalate)? {
                        queue_check(
                            conn,
                            &LeadCheckPayload {
                                step: CheckStep::Team,
                                at,
                                ..payload.clone()
                            },
                        )?;
                    }
                }
                Ok(json!({"notified": [payload.owner_id]}))
            }
            CheckStep::Team => {
                let team = persistence::users::teams_of(conn, &[payload.owner_id])?
                    .get(&payload.owner_id)
                    .copied()
                    .flatten();
                let Some(team) = team else {
                    return Ok(json!({"skipped": "the owner has no team"}));
                };
                let managers = persistence::users::list(
                    conn,
                    &UserQuery {
                        role: Some(Role::Manager.as_str().to_string()),
                        team_id: Some(team),
                        is_active: Some(true),
                        after: None,
                        limit: 100,
                    },
                )?;
                let mut notified = Vec::new();
                for manager in managers.iter().filter(|user| user.id.0 != payload.owner_id) {
                    notify(
                        conn,
                        manager.id.0,
                        NotificationKind::FollowUp,
                        Texts::lead_not_contacted(&lead.display_name, true),
                        Some(link),
                        Some(key(manager.id.0)),
                    )?;
                    notified.push(manager.id.0);
                }
                Ok(json!({"notified": notified}))
            }
        }
    })
}
