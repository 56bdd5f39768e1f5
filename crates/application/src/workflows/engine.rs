//! Taking a run's steps. Each step is one transaction that holds the run: the step's
//! own writes, its line in the log and the run's new position commit together, so a
//! step is taken once however often its job is retried or a worker dies mid-way. A
//! step that breaks a rule (a field no longer valid, a customer who was erased) fails
//! the run, its writes undone and the reason logged; a storage failure undoes the whole
//! step for the job to try again.
//!
//! A wait stores when the run resumes and queues the job that resumes it, so a wait
//! survives a restart. Conditions are checked when the run gets to them, against the
//! customer as it is then.

use chrono::{DateTime, TimeDelta, Utc};
use domain::assignment::RecordKind;
use domain::filter::{Predicate, ResolvedFilter, SearchCriteria, TypedValue};
use domain::omnichannel::conversations::NewConversationInput;
use domain::sales::leads::LeadStatus;
use domain::sales::tasks::{SubjectType, TaskInput};
use domain::workflows::{Instruction, Program, RunStatus, Step, WorkflowInput};
use persistence::assignment::AssignmentRow;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::workflows::{RunProgress, RunRow, StepRow};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::RunSubject;
use crate::acting::Acting;
use crate::assignment::engine::{self as assignment, Decision, Subject};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::precondition::Precondition;
use crate::transaction;

/// What taking a step left the run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advanced {
    /// More steps to take now.
    Continue,
    /// Waiting until the instant given; its resume is queued.
    Paused(DateTime<Utc>),
    /// No steps left (completed, skipped, failed or cancelled).
    Finished,
}

pub fn status_of(row: &RunRow) -> AppResult<RunStatus> {
    RunStatus::parse(&row.status)
        .ok_or_else(|| AppError::Internal(format!("run {} has status {:?}", row.id.0, row.status)))
}

/// Whether `subject` (a customer not erased, a lead) meets `condition` now.
pub(crate) fn meets(
    conn: &mut DbConnection,
    condition: &Value,
    subject: RunSubject,
) -> AppResult<bool> {
    let context = domain::filter::ResolveContext::new(
        persistence::now(),
        crate::settings::calendar(conn)?.local(),
    );
    let customer = match subject {
        RunSubject::Customer(customer) => customer,
        RunSubject::Lead(lead) => {
            let filter = super::lead_filter(conn, condition, &context)?;
            return Ok(persistence::leads::matches(conn, lead, &filter)?);
        }
    };
    let filter = crate::segments::live_filter(conn, condition, &context)?;
    let criteria = SearchCriteria {
        filter: Some(ResolvedFilter::And(vec![
            filter,
            ResolvedFilter::Condition {
                field: "id",
                predicate: Predicate::Eq(TypedValue::Uuid(customer)),
            },
        ])),
        sort: Vec::new(),
    };
    let scope = Acting::system(Lang::En).scope();
    Ok(persistence::customers::search::count(conn, &criteria, Vec::new(), &scope)? > 0)
}

/// Why a run not yet begun has nothing to act on, if it has not: its customer was
/// erased or merged away, its lead converted.
fn gone(conn: &mut DbConnection, subject: RunSubject) -> AppResult<Option<&'static str>> {
    Ok(match subject {
        RunSubject::Customer(customer) => {
            let live = persistence::customers::find_row(conn, customer)?;
            (live.erased_at.is_some() || live.merged_into_id.is_some())
                .then_some("the customer was erased or merged")
        }
        RunSubject::Lead(lead) => (persistence::leads::find(conn, lead)?.status
            == LeadStatus::Converted.as_str())
        .then_some("the lead was converted"),
    })
}

/// The program of the version a run keeps, with its definition.
fn program_of(conn: &mut DbConnection, run: &RunRow) -> AppResult<(WorkflowInput, Program)> {
    let version = persistence::workflows::find_version(conn, run.workflow_id.0, run.version)?;
    let input = super::definition_of(&version.definition)?;
    let program = Program::compile(&input.steps);
    Ok((input, program))
}

fn log_row(
    run: &RunRow,
    position: i32,
    path: &str,
    kind: &str,
    outcome: &str,
    detail: Option<Value>,
) -> StepRow {
    StepRow {
        id: DbUuid(Uuid::now_v7()),
        run_id: run.id,
        position,
        path: path.to_string(),
        kind: kind.to_string(),
        outcome: outcome.to_string(),
        detail: detail.map(DbJson),
        at: DbTime(persistence::now()),
    }
}

fn finish(
    conn: &mut DbConnection,
    run: &RunRow,
    status: RunStatus,
    position: i32,
    reason: Option<&str>,
) -> AppResult<Advanced> {
    persistence::workflows::advance(
        conn,
        run.id.0,
        RunProgress {
            status: status.as_str(),
            position,
            resume_at: None,
            reason,
            finished: true,
        },
    )?;
    Ok(Advanced::Finished)
}

/// Whether `err` is a rule the step broke (which fails the run) rather than a failure
/// of storage (which a retry may mend).
fn broke_a_rule(err: &AppError) -> bool {
    !matches!(
        err,
        AppError::Storage(_)
            | AppError::Internal(_)
            | AppError::Unavailable(_)
            | AppError::ConcurrentUpdate(_)
    )
}

fn failure_detail(err: &AppError) -> Value {
    match err {
        AppError::Invalid(violations) => json!({
            "code": err.code(),
            "violations": violations
                .iter()
                .map(|v| json!({"field": v.field, "code": v.code, "message": v.message}))
                .collect::<Vec<_>>(),
        }),
        other => json!({"code": other.code(), "message": other.to_string()}),
    }
}

/// Takes run `id`'s next step (or checks its condition, for a run not yet begun).
pub fn advance(conn: &mut DbConnection, id: Uuid) -> AppResult<Advanced> {
    transaction(conn, |conn| {
        let run = persistence::workflows::find_run_for_update(conn, id)?;
        let status = status_of(&run)?;
        if !status.is_open() {
            return Ok(Advanced::Finished);
        }
        let now = persistence::now();
        if let (RunStatus::Waiting, Some(resume_at)) = (status, run.resume_at) {
            if resume_at.0 > now {
                // An early job; the resume is queued for its time.
                return Ok(Advanced::Paused(resume_at.0));
            }
        }
        let subject = RunSubject::of(&run)?;
        let (input, program) = program_of(conn, &run)?;
        if status == RunStatus::Pending {
            if let Some(reason) = gone(conn, subject)? {
                return finish(conn, &run, RunStatus::Skipped, 0, Some(reason));
            }
            if let Some(condition) = &input.condition {
                let met = meets(conn, condition, subject)?;
                persistence::workflows::log_steps(
                    conn,
                    &[log_row(
                        &run,
                        0,
                        "condition",
                        "condition",
                        if met { "met" } else { "not_met" },
                        None,
                    )],
                )?;
                if !met {
                    return finish(
                        conn,
                        &run,
                        RunStatus::Skipped,
                        0,
                        Some(match subject {
                            RunSubject::Customer(_) => "the customer does not meet the condition",
                            RunSubject::Lead(_) => "the lead does not meet the condition",
                        }),
                    );
                }
            }
        }
        let position = run.position;
        let Some((path, instruction)) = usize::try_from(position)
            .ok()
            .and_then(|at| program.instructions.get(at))
        else {
            return finish(conn, &run, RunStatus::Completed, position, None);
        };
        let next = match instruction {
            Instruction::Jump(to) => i32::try_from(*to).unwrap_or(i32::MAX),
            Instruction::Branch {
                condition,
                otherwise,
            } => {
                let met = meets(conn, condition, subject)?;
                persistence::workflows::log_steps(
                    conn,
                    &[log_row(
                        &run,
                        position,
                        path,
                        "branch",
                        if met { "then" } else { "else" },
                        None,
                    )],
                )?;
                if met {
                    position + 1
                } else {
                    i32::try_from(*otherwise).unwrap_or(i32::MAX)
                }
            }
            Instruction::Step(Step::Wait {
                minutes,
                business_minutes,
                local_time,
            }) => {
                let calendar = crate::settings::calendar(conn)?;
                let Some(until) = domain::workflows::wait_until(
                    now,
                    *minutes,
                    *business_minutes,
                    *local_time,
                    &calendar,
                ) else {
                    persistence::workflows::log_steps(
                        conn,
                        &[log_row(
                            &run,
                            position,
                            path,
                            "wait",
                            "failed",
                            Some(
                                json!({"message": "the business calendar has no working time ahead"}),
                            ),
                        )],
                    )?;
                    return finish(
                        conn,
                        &run,
                        RunStatus::Failed,
                        position,
                        Some("the business calendar has no working time ahead"),
                    );
                };
                persistence::workflows::log_steps(
                    conn,
                    &[log_row(
                        &run,
                        position,
                        path,
                        "wait",
                        "waiting",
                        Some(json!({"until": until})),
                    )],
                )?;
                persistence::workflows::advance(
                    conn,
                    id,
                    RunProgress {
                        status: RunStatus::Waiting.as_str(),
                        position: position + 1,
                        resume_at: Some(until),
                        reason: None,
                        finished: false,
                    },
                )?;
                super::enrolment::queue_resume(conn, id, until, position + 1)?;
                return Ok(Advanced::Paused(until));
            }
            Instruction::Step(step) => {
                let acting = Acting::workflow(run.workflow_id.0, id, run.depth, Lang::En);
                // A savepoint: a step that breaks a rule leaves nothing behind.
                let ids = (run.workflow_id.0, id);
                let acted = transaction(conn, |conn| match subject {
                    RunSubject::Customer(customer) => act(conn, &acting, ids, customer, step, now),
                    RunSubject::Lead(lead) => act_on_lead(conn, &acting, ids, lead, step, now),
                });
                match acted {
                    Ok(detail) => {
                        persistence::workflows::log_steps(
                            conn,
                            &[log_row(
                                &run,
                                position,
                                path,
                                step.kind(),
                                "done",
                                Some(detail),
                            )],
                        )?;
                        position + 1
                    }
                    Err(err) if broke_a_rule(&err) => {
                        persistence::workflows::log_steps(
                            conn,
                            &[log_row(
                                &run,
                                position,
                                path,
                                step.kind(),
                                "failed",
                                Some(failure_detail(&err)),
                            )],
                        )?;
                        let reason = format!("{path} failed: {}", err.code());
                        return finish(conn, &run, RunStatus::Failed, position, Some(&reason));
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        if usize::try_from(next).is_ok_and(|next| next >= program.len()) {
            return finish(conn, &run, RunStatus::Completed, next, None);
        }
        persistence::workflows::advance(
            conn,
            id,
            RunProgress {
                status: RunStatus::Running.as_str(),
                position: next,
                resume_at: None,
                reason: None,
                finished: false,
            },
        )?;
        Ok(Advanced::Continue)
    })
}

/// Does what an acting step says to `customer`; answers what it did, for the log.
fn act(
    conn: &mut DbConnection,
    acting: &Acting,
    (workflow, run): (Uuid, Uuid),
    customer: Uuid,
    step: &Step,
    now: DateTime<Utc>,
) -> AppResult<Value> {
    match step {
        Step::Tag { tag_id } | Step::Untag { tag_id } => {
            let adding = matches!(step, Step::Tag { .. });
            let tag = *tag_id;
            crate::customers::records::update(
                conn,
                acting,
                customer,
                &Precondition::None,
                now.date_naive(),
                |current| {
                    let mut next = current.clone();
                    next.tag_ids.retain(|id| *id != tag);
                    if adding {
                        next.tag_ids.push(tag);
                    }
                    Ok(next)
                },
            )?;
            Ok(json!({"tag_id": tag}))
        }
        Step::UpdateField { field, value } => {
            crate::customers::records::update(
                conn,
                acting,
                customer,
                &Precondition::None,
                now.date_naive(),
                |current| with_member(current, field, value),
            )?;
            Ok(json!({"field": field}))
        }
        Step::AddLoyaltyPoints {
            points,
            reason,
            expires_in_days,
        } => {
            let input = domain::loyalty::EarnInput {
                points: *points,
                reason: reason.clone(),
                expires_at: expires_in_days.map(|days| now + TimeDelta::days(days)),
            };
            let (entry, _) = crate::loyalty::earn(conn, acting, customer, input)?;
            Ok(json!({"points": points, "entry_id": entry.id.0}))
        }
        Step::CreateTask {
            title,
            assignee_id,
            due_in_hours,
        } => {
            let owner = persistence::customers::find_row(conn, customer)?
                .owner_id
                .map(|id| id.0);
            create_task(
                conn,
                acting,
                (SubjectType::Customer, customer),
                owner,
                (title, *assignee_id, *due_in_hours),
                now,
            )
        }
        Step::SendMessage {
            channel_account_id,
            template_id,
            language,
            subject,
            body,
        } => {
            let (conversation, message) = crate::omnichannel::outbound::start(
                conn,
                acting,
                NewConversationInput {
                    channel_account_id: *channel_account_id,
                    customer_id: customer,
                    to: None,
                    subject: subject.clone(),
                    body: body.clone(),
                    template_id: *template_id,
                    language: *language,
                },
            )?;
            Ok(json!({"conversation_id": conversation.id.0, "message_id": message.id.0}))
        }
        Step::CallWebhook {
            subscription_id,
            data,
        } => {
            let delivery = crate::webhooks::call_from_workflow(
                conn,
                *subscription_id,
                workflow,
                run,
                ("customer", customer),
                data.as_ref(),
            )?;
            Ok(json!({"subscription_id": subscription_id, "delivery_id": delivery}))
        }
        Step::Assign => {
            let record = persistence::customers::find_row(conn, customer)?;
            let subject = Subject {
                kind: RecordKind::Customer,
                id: customer,
                city: record.city.as_deref(),
                province: record.province.as_deref(),
                excluded: &[],
            };
            let Some(decision) = assignment::decide(conn, &subject)? else {
                return Ok(json!({
                    "assigned": false,
                    "reason": "no customer assignment rule placed the customer with an available user",
                }));
            };
            crate::customers::records::update(
                conn,
                acting,
                customer,
                &Precondition::None,
                now.date_naive(),
                |current| {
                    let mut input = current.clone();
                    input.owner_id = Some(decision.user_id);
                    if decision.team_id.is_some() {
                        input.team_id = decision.team_id;
                    }
                    Ok(input)
                },
            )?;
            let row = assignment::record(conn, acting, RecordKind::Customer, customer, &decision)?;
            Ok(assigned(&row, &decision))
        }
        Step::Wait { .. } | Step::Branch { .. } => Err(not_an_action(step)),
    }
}

fn not_an_action(step: &Step) -> AppError {
    AppError::Internal(format!("a {} step is not an action", step.kind()))
}

/// The log line of an assignment made.
fn assigned(row: &AssignmentRow, decision: &Decision) -> Value {
    json!({
        "assigned": true,
        "assignment_id": row.id.0,
        "user_id": decision.user_id,
        "team_id": decision.team_id,
        "rule_id": decision.rule_id,
        "method": decision.method.as_str(),
        "reason": decision.reason,
    })
}

/// A `create_task` step's task about `subject`: for `assignee_id`, else the subject's
/// `owner`, due `due_in_hours` after `now`.
fn create_task(
    conn: &mut DbConnection,
    acting: &Acting,
    (subject_type, subject): (SubjectType, Uuid),
    owner: Option<Uuid>,
    (title, assignee_id, due_in_hours): (&str, Option<Uuid>, Option<i64>),
    now: DateTime<Utc>,
) -> AppResult<Value> {
    let assignee = assignee_id.or(owner).ok_or_else(|| {
        AppError::field(
            "assignee_id",
            "required",
            format!(
                "the {} has no owner to give the task to",
                subject_type.as_str()
            ),
        )
    })?;
    let input = TaskInput {
        kind: Default::default(),
        title: title.to_string(),
        description: None,
        subject_type: Some(subject_type),
        subject_id: Some(subject),
        assignee_id: Some(assignee),
        team_id: None,
        due_at: due_in_hours.map(|hours| (now + TimeDelta::hours(hours)).to_rfc3339()),
        priority: Default::default(),
        reminders: Vec::new(),
        status: Default::default(),
        outcome: None,
    };
    let task = crate::sales::tasks::create(conn, acting, input)?;
    Ok(json!({"task_id": task.id.0, "assignee_id": assignee}))
}

/// Does what an acting step says to lead `lead`; answers what it did, for the log.
/// The steps a lead does not take are refused when the workflow is saved.
fn act_on_lead(
    conn: &mut DbConnection,
    acting: &Acting,
    (workflow, run): (Uuid, Uuid),
    lead: Uuid,
    step: &Step,
    now: DateTime<Utc>,
) -> AppResult<Value> {
    match step {
        Step::UpdateField { field, value } => {
            crate::sales::leads::update(conn, acting, lead, &Precondition::None, |current| {
                with_member(current, field, value)
            })?;
            Ok(json!({"field": field}))
        }
        Step::CreateTask {
            title,
            assignee_id,
            due_in_hours,
        } => {
            let owner = persistence::leads::find(conn, lead)?
                .owner_id
                .map(|id| id.0);
            create_task(
                conn,
                acting,
                (SubjectType::Lead, lead),
                owner,
                (title, *assignee_id, *due_in_hours),
                now,
            )
        }
        Step::Assign => {
            let current = persistence::leads::find_for_update(conn, lead)?;
            if current.status == LeadStatus::Converted.as_str() {
                return Err(AppError::Conflict(
                    "the lead was converted and keeps its owner".into(),
                ));
            }
            let subject = Subject {
                kind: RecordKind::Lead,
                id: lead,
                city: current.city.as_deref(),
                province: current.province.as_deref(),
                excluded: &[],
            };
            let Some(decision) = assignment::decide(conn, &subject)? else {
                return Ok(json!({
                    "assigned": false,
                    "reason": "no lead assignment rule placed the lead with an available user",
                }));
            };
            let (_, row) =
                crate::sales::lead_assignment::hand_over(conn, acting, &current, &decision)?;
            Ok(assigned(&row, &decision))
        }
        Step::CallWebhook {
            subscription_id,
            data,
        } => {
            let delivery = crate::webhooks::call_from_workflow(
                conn,
                *subscription_id,
                workflow,
                run,
                ("lead", lead),
                data.as_ref(),
            )?;
            Ok(json!({"subscription_id": subscription_id, "delivery_id": delivery}))
        }
        Step::Tag { .. }
        | Step::Untag { .. }
        | Step::AddLoyaltyPoints { .. }
        | Step::SendMessage { .. } => Err(AppError::field(
            "kind",
            "not_for_subject",
            format!("a {} step acts on customers, not leads", step.kind()),
        )),
        Step::Wait { .. } | Step::Branch { .. } => Err(not_an_action(step)),
    }
}

/// `document` (a customer's or lead's input) with `field` set to `value` as a merge
/// patch would set it; a value the field cannot hold breaks the step's rule.
fn with_member<T: Serialize + DeserializeOwned>(
    document: &T,
    field: &str,
    value: &Value,
) -> AppResult<T> {
    let mut json = serde_json::to_value(document)
        .map_err(|err| AppError::Internal(format!("record to JSON: {err}")))?;
    set_member(&mut json, field, value.clone());
    serde_json::from_value(json).map_err(|err| {
        AppError::field(
            field,
            "invalid_value",
            format!("the value does not fit the field: {err}"),
        )
    })
}

/// Sets `path` (`city`, `custom_fields.branch`) in a record's document as a merge
/// patch would: null removes the member.
fn set_member(document: &mut Value, path: &str, value: Value) {
    let mut target = document;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !target.is_object() {
            *target = json!({});
        }
        let Some(object) = target.as_object_mut() else {
            return;
        };
        if parts.peek().is_none() {
            if value.is_null() {
                object.remove(part);
            } else {
                object.insert(part.to_string(), value);
            }
            return;
        }
        target = object.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

/// A step as a dry run would take it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlannedStep {
    /// Where the step is in the definition, e.g. `steps[1].then[0]`.
    pub path: String,
    pub kind: String,
    /// `would_do`, `would_wait`, `then`, `else`, `not_met` (the condition).
    pub outcome: String,
    /// What it would do or until when it would wait.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

/// What a run of workflow `id` would do to `customer` now, changing nothing
/// (`crm:configure`, and the customer or lead visible): the condition and every branch
/// are checked against the subject as it is now (a step's own change is not seen by the
/// branches after it), waits are measured from now. The subject must be of the kind
/// the workflow is about.
pub fn dry_run(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    subject: RunSubject,
) -> AppResult<Vec<PlannedStep>> {
    acting.require(domain::authz::Permission::CrmConfigure)?;
    let row = persistence::workflows::find(conn, id)?;
    match subject {
        RunSubject::Customer(customer) => {
            crate::customers::visible(conn, acting, customer)?;
        }
        RunSubject::Lead(lead) => {
            crate::sales::leads::visible(conn, acting, lead)?;
        }
    }
    let input = super::definition_of(&row.definition)?;
    if input.subject != subject.kind() {
        return Err(AppError::field(
            format!("{}_id", subject.kind().as_str()),
            "not_for_subject",
            format!("the workflow is about {}s", input.subject.as_str()),
        ));
    }
    let program = Program::compile(&input.steps);
    let mut plan = Vec::new();
    if let Some(condition) = &input.condition {
        let met = meets(conn, condition, subject)?;
        plan.push(PlannedStep {
            path: "condition".into(),
            kind: "condition".into(),
            outcome: if met { "met" } else { "not_met" }.into(),
            detail: None,
        });
        if !met {
            return Ok(plan);
        }
    }
    let calendar = crate::settings::calendar(conn)?;
    let mut clock = persistence::now();
    let mut at = 0;
    while let Some((path, instruction)) = program.instructions.get(at) {
        at = match instruction {
            Instruction::Jump(to) => *to,
            Instruction::Branch {
                condition,
                otherwise,
            } => {
                let met = meets(conn, condition, subject)?;
                plan.push(PlannedStep {
                    path: path.clone(),
                    kind: "branch".into(),
                    outcome: if met { "then" } else { "else" }.into(),
                    detail: None,
                });
                if met {
                    at + 1
                } else {
                    *otherwise
                }
            }
            Instruction::Step(Step::Wait {
                minutes,
                business_minutes,
                local_time,
            }) => {
                let until = domain::workflows::wait_until(
                    clock,
                    *minutes,
                    *business_minutes,
                    *local_time,
                    &calendar,
                );
                plan.push(PlannedStep {
                    path: path.clone(),
                    kind: "wait".into(),
                    outcome: "would_wait".into(),
                    detail: Some(json!({"until": until})),
                });
                match until {
                    Some(until) => clock = until,
                    None => break,
                }
                at + 1
            }
            Instruction::Step(step) => {
                plan.push(PlannedStep {
                    path: path.clone(),
                    kind: step.kind().into(),
                    outcome: "would_do".into(),
                    detail: Some(serde_json::to_value(step).unwrap_or(Value::Null)),
                });
                at + 1
            }
        };
    }
    Ok(plan)
}
