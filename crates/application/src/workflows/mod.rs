//! Workflow automation (M-3): the definitions, kept version by version (create, change
//! and delete with `crm:configure`, which reading also needs: a definition is the
//! business's own logic), and their runs. A definition's conditions, tags, users and
//! customer fields are checked when it is saved, each problem named by its path
//! (`steps[2].then[0].tag_id`).
//!
//! Runs are started by [`enrolment`] and taken step by step by [`engine`].

pub mod engine;
pub mod enrolment;

use std::collections::HashSet;

use domain::authz::Permission;
use domain::customers::{CustomFieldEntity, CustomerInput, CustomerKind};
use domain::filter::ResolvedFilter;
use domain::sales::leads::LeadInput;
use domain::validation::FieldViolation;
use domain::workflows::{DueField, Trigger, WorkflowInput, WorkflowSubject};
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::workflows::{RunFilter, RunRow, StepRow, VersionRow, WorkflowRow};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::acting::Acting;
use crate::customers::search::{self as customer_search, CustomerFields};
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, creation_cursor, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// What one run is about: the customer or the lead its workflow's subject names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunSubject {
    Customer(Uuid),
    Lead(Uuid),
}

impl RunSubject {
    /// The subject a stored run names.
    pub fn of(run: &RunRow) -> AppResult<RunSubject> {
        match (run.customer_id, run.lead_id) {
            (Some(customer), None) => Ok(RunSubject::Customer(customer.0)),
            (None, Some(lead)) => Ok(RunSubject::Lead(lead.0)),
            _ => Err(AppError::Internal(format!(
                "run {} names no single subject",
                run.id.0
            ))),
        }
    }

    /// A subject of `kind` with id `id`.
    pub fn new(kind: WorkflowSubject, id: Uuid) -> RunSubject {
        match kind {
            WorkflowSubject::Customer => RunSubject::Customer(id),
            WorkflowSubject::Lead => RunSubject::Lead(id),
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            RunSubject::Customer(id) | RunSubject::Lead(id) => id,
        }
    }

    pub fn kind(self) -> WorkflowSubject {
        match self {
            RunSubject::Customer(_) => WorkflowSubject::Customer,
            RunSubject::Lead(_) => WorkflowSubject::Lead,
        }
    }
}

/// `condition` resolved against the lead search fields now.
pub(crate) fn lead_filter(
    conn: &mut DbConnection,
    condition: &Value,
    context: &domain::filter::ResolveContext,
) -> AppResult<ResolvedFilter> {
    let catalogue = crate::sales::leads::catalogue(conn)?;
    crate::search::resolve_condition(condition, &catalogue, context).map_err(AppError::Invalid)
}

/// The stored definition of a workflow's version.
pub fn definition_of(definition: &DbJson) -> AppResult<WorkflowInput> {
    serde_json::from_value(definition.0.clone())
        .map_err(|err| AppError::Internal(format!("stored workflow definition: {err}")))
}

/// The document a merge patch of a workflow applies to.
pub fn workflow_input(row: &WorkflowRow) -> AppResult<WorkflowInput> {
    let mut input = definition_of(&row.definition)?;
    input.name = row.name.clone();
    input.description = row.description.clone();
    input.active = row.active;
    Ok(input)
}

/// The definition stored for a version: the trigger, condition and steps (the name,
/// description and switch live on the workflow).
fn stored_definition(input: &WorkflowInput) -> AppResult<DbJson> {
    serde_json::to_value(input)
        .map(DbJson)
        .map_err(|err| AppError::Internal(format!("workflow definition to JSON: {err}")))
}

/// `input` checked: its own rules and everything it refers to, every problem at once.
fn checked(conn: &mut DbConnection, input: WorkflowInput) -> AppResult<WorkflowInput> {
    let mut violations = match input.clone().validated() {
        Ok(_) => Vec::new(),
        Err(violations) => violations,
    };
    violations.extend(reference_violations(conn, &input)?);
    if violations.is_empty() {
        input.validated().map_err(AppError::Invalid)
    } else {
        Err(AppError::Invalid(violations))
    }
}

fn reference_violations(
    conn: &mut DbConnection,
    input: &WorkflowInput,
) -> AppResult<Vec<FieldViolation>> {
    let references = input.references();
    let mut violations = Vec::new();
    if let Trigger::Schedule { cron } = &input.trigger {
        let zone = crate::settings::calendar(conn)?.local().time_zone;
        if let Err(violation) =
            domain::cron::CronPattern::parse("trigger.cron", cron, persistence::now(), zone)
        {
            violations.push(violation);
        }
    }
    if let Trigger::DateDue { field, .. } = &input.trigger {
        if let Some(DueField::Custom(key)) = DueField::parse(field) {
            let dated = persistence::custom_fields::all(conn, CustomFieldEntity::Customer)?
                .into_iter()
                .any(|definition| definition.field_key == key && definition.kind == "date");
            if !dated {
                violations.push(FieldViolation::new(
                    "trigger.field",
                    "not_found",
                    "no custom field of kind date has this key",
                ));
            }
        }
    }
    if !references.conditions.is_empty() {
        let context = domain::filter::ResolveContext::new(
            persistence::now(),
            crate::settings::calendar(conn)?.local(),
        );
        let customer_fields = match input.subject {
            WorkflowSubject::Customer => Some(CustomerFields::load(conn)?),
            WorkflowSubject::Lead => None,
        };
        let lead_fields = match input.subject {
            WorkflowSubject::Lead => crate::sales::leads::catalogue(conn)?,
            WorkflowSubject::Customer => Vec::new(),
        };
        for (path, condition) in &references.conditions {
            let resolved = match &customer_fields {
                Some(fields) => customer_search::resolve_condition(condition, fields, &context),
                None => crate::search::resolve_condition(condition, &lead_fields, &context),
            };
            if let Err(found) = resolved {
                violations.extend(found.into_iter().map(|v| {
                    // The search names problems under `condition`; here they sit at
                    // the condition's own path.
                    let field = match v.field.strip_prefix("condition") {
                        Some(rest) => format!("{path}{rest}"),
                        None => format!("{path}.{}", v.field),
                    };
                    FieldViolation { field, ..v }
                }));
            }
        }
    }
    for (path, tag) in &references.tags {
        match persistence::labels::find(conn, persistence::labels::TAG, *tag) {
            Ok(_) => {}
            Err(persistence::PersistenceError::NotFound) => {
                violations.push(FieldViolation::new(
                    path.clone(),
                    "not_found",
                    "no such tag",
                ));
            }
            Err(err) => return Err(err.into()),
        }
    }
    for (path, user) in &references.users {
        match persistence::users::find(conn, *user) {
            Ok(row) if row.is_active => {}
            Ok(_) | Err(persistence::PersistenceError::NotFound) => {
                violations.push(FieldViolation::new(
                    path.clone(),
                    "not_found",
                    "no such active user",
                ));
            }
            Err(err) => return Err(err.into()),
        }
    }
    for (path, account) in &references.channel_accounts {
        match persistence::channel_accounts::find(conn, *account) {
            Ok(_) => {}
            Err(persistence::PersistenceError::NotFound) => violations.push(FieldViolation::new(
                path.clone(),
                "not_found",
                "no such channel account",
            )),
            Err(err) => return Err(err.into()),
        }
    }
    for (path, subscription) in &references.webhook_subscriptions {
        match persistence::webhooks::find(conn, *subscription) {
            Ok(found) => {
                if !domain::webhooks::SubscriptionInput::wants(
                    &found.event_types(),
                    crate::webhooks::WORKFLOW_WEBHOOK,
                ) {
                    violations.push(FieldViolation::new(
                        path.clone(),
                        "not_subscribed",
                        "the subscription must list workflow.webhook (or *) to be called",
                    ));
                }
            }
            Err(persistence::PersistenceError::NotFound) => violations.push(FieldViolation::new(
                path.clone(),
                "not_found",
                "no such webhook subscription",
            )),
            Err(err) => return Err(err.into()),
        }
    }
    for (path, template) in &references.templates {
        match persistence::message_templates::find(conn, *template) {
            Ok(_) => {}
            Err(persistence::PersistenceError::NotFound) => violations.push(FieldViolation::new(
                path.clone(),
                "not_found",
                "no such message template",
            )),
            Err(err) => return Err(err.into()),
        }
    }
    if !references.fields.is_empty() {
        let writable = writable_fields(input.subject);
        let definitions = match input.subject {
            WorkflowSubject::Customer => crate::customers::definitions(conn)?,
            WorkflowSubject::Lead => crate::sales::leads::definitions(conn)?,
        };
        let custom: HashSet<String> = definitions
            .into_iter()
            .map(|definition| definition.key)
            .collect();
        for (path, field) in &references.fields {
            let known = match field.split_once('.') {
                Some(("custom_fields", key)) => custom.contains(key),
                Some(_) => false,
                None => writable.contains(*field),
            };
            if !known {
                violations.push(FieldViolation::new(
                    path.clone(),
                    "unknown_field",
                    match input.subject {
                        WorkflowSubject::Customer => "not a customer field a workflow may set (`kind` is fixed; custom fields are `custom_fields.<key>`)",
                        WorkflowSubject::Lead => "not a lead field a workflow may set (custom fields are `custom_fields.<key>`)",
                    },
                ));
            }
        }
    }
    Ok(violations)
}

/// The fields a step may set: every member of a customer's document but its kind, or
/// of a lead's.
fn writable_fields(subject: WorkflowSubject) -> HashSet<String> {
    match subject {
        WorkflowSubject::Customer => {
            serde_json::to_value(CustomerInput::empty(CustomerKind::Person))
        }
        WorkflowSubject::Lead => serde_json::to_value(LeadInput::default()),
    }
    .ok()
    .and_then(|document| {
        document
            .as_object()
            .map(|members| members.keys().cloned().collect::<HashSet<_>>())
    })
    .map(|mut keys| {
        keys.remove("kind");
        keys.remove("custom_fields");
        keys
    })
    .unwrap_or_default()
}

fn audit_snapshot(row: &WorkflowRow) -> Value {
    json!({
        "name": row.name,
        "description": row.description,
        "active": row.active,
        "version": row.version,
        "definition": row.definition.0,
    })
}

/// Creates a workflow (`crm:configure`), version 1. Audited as `workflow.create`.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: WorkflowInput,
) -> AppResult<WorkflowRow> {
    acting.require(Permission::CrmConfigure)?;
    let input = checked(conn, input)?;
    let now = DbTime(persistence::now());
    let definition = stored_definition(&input)?;
    let row = WorkflowRow {
        id: DbUuid(Uuid::now_v7()),
        name: input.name.clone(),
        description: input.description.clone(),
        trigger_kind: input.trigger.kind().to_string(),
        trigger_key: input.trigger.key().to_string(),
        definition: definition.clone(),
        active: input.active,
        version: 1,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
    };
    let version = VersionRow {
        workflow_id: row.id,
        version: 1,
        definition,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
    };
    transaction(conn, |conn| {
        persistence::workflows::insert(conn, &row, &version)?;
        enrolment::queue_schedule(conn, &row, persistence::now())?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "workflow.create",
            "workflow",
            row.id.0,
            &json!({}),
            &audit_snapshot(&row),
        )?;
        Ok(())
    })?;
    Ok(row)
}

pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<WorkflowRow> {
    acting.require(Permission::CrmConfigure)?;
    Ok(persistence::workflows::find(conn, id)?)
}

/// Workflows in creation order: `fetch` after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<WorkflowRow>> {
    acting.require(Permission::CrmConfigure)?;
    Ok(persistence::workflows::list(
        conn,
        created_after(cursor)?,
        limit,
    )?)
}

pub fn cursor_after(row: &WorkflowRow) -> Cursor {
    creation_cursor(row.created_at.0, row.id.0)
}

/// Every version of a workflow, oldest first (`crm:configure`).
pub fn versions(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Vec<VersionRow>> {
    acting.require(Permission::CrmConfigure)?;
    persistence::workflows::find(conn, id)?;
    Ok(persistence::workflows::versions(conn, id)?)
}

/// Changes a workflow (`crm:configure`): `edit` turns its current document into the new
/// one. Every change is a new version; runs under way keep theirs. Audited as
/// `workflow.update`.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&WorkflowInput) -> AppResult<WorkflowInput>,
) -> AppResult<WorkflowRow> {
    acting.require(Permission::CrmConfigure)?;
    let current = persistence::workflows::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = checked(conn, edit(&workflow_input(&current)?)?)?;
    transaction(conn, |conn| {
        let current = persistence::workflows::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        let now = DbTime(persistence::now());
        let definition = stored_definition(&after)?;
        let row = WorkflowRow {
            name: after.name.clone(),
            description: after.description.clone(),
            trigger_kind: after.trigger.kind().to_string(),
            trigger_key: after.trigger.key().to_string(),
            definition: definition.clone(),
            active: after.active,
            version: current.version + 1,
            updated_at: now,
            ..current.clone()
        };
        let version = VersionRow {
            workflow_id: row.id,
            version: row.version,
            definition,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
        };
        persistence::workflows::update(conn, &row, Some(&version))?;
        // The new version's occurrence; one queued for the old version does nothing.
        enrolment::queue_schedule(conn, &row, persistence::now())?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "workflow.update",
            "workflow",
            id,
            &audit_snapshot(&current),
            &audit_snapshot(&row),
        )?;
        Ok(row)
    })
}

/// Deletes a workflow with its versions and runs (`crm:configure`); runs under way
/// stop. Audited as `workflow.delete`.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::workflows::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::workflows::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "workflow.delete",
            "workflow",
            id,
            &audit_snapshot(&current),
            &json!({}),
        )?;
        Ok(())
    })
}

/// Runs, newest last: of a workflow, of a customer, in a status (`crm:configure`).
pub fn runs(
    conn: &mut DbConnection,
    acting: &Acting,
    filter: RunFilter<'_>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<RunRow>> {
    acting.require(Permission::CrmConfigure)?;
    // A filter, like the others: an unknown workflow has no runs.
    Ok(persistence::workflows::runs(
        conn,
        filter,
        created_after(cursor)?,
        limit,
    )?)
}

pub fn run_cursor(row: &RunRow) -> Cursor {
    creation_cursor(row.started_at.0, row.id.0)
}

/// A run with its step log (`crm:configure`).
pub fn run(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
) -> AppResult<(RunRow, Vec<StepRow>)> {
    acting.require(Permission::CrmConfigure)?;
    let row = persistence::workflows::find_run(conn, id)?;
    let steps = persistence::workflows::steps_of(conn, id)?;
    Ok((row, steps))
}

/// Stops a run that has steps left (`crm:configure`): it takes no further step; a
/// step under way finishes first. Audited as `workflow.run_cancel`.
pub fn cancel_run(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<RunRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let row = persistence::workflows::find_run_for_update(conn, id)?;
        if !engine::status_of(&row)?.is_open() {
            return Err(AppError::Conflict(format!(
                "the run is {} and has no steps left to cancel",
                row.status
            )));
        }
        persistence::workflows::advance(
            conn,
            id,
            persistence::workflows::RunProgress {
                status: domain::workflows::RunStatus::Cancelled.as_str(),
                position: row.position,
                resume_at: None,
                reason: Some("cancelled"),
                finished: true,
            },
        )?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "workflow.run_cancel",
                resource_type: "workflow_run",
                resource_id: Some(id.to_string()),
                changes: None,
            },
        )?;
        Ok(persistence::workflows::find_run(conn, id)?)
    })
}

/// The trigger of the workflow's current version.
pub fn trigger_of(row: &WorkflowRow) -> AppResult<Trigger> {
    Ok(definition_of(&row.definition)?.trigger)
}
