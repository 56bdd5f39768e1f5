//! Creating, changing and deleting one customer at a time, as callers do: defaults, the
//! assignment rule, every field rule, the duplicate check and the caller's precondition,
//! each in its own transaction (a batch runs one per item).

use chrono::NaiveDate;
use domain::customers::{CustomFieldDefinition, CustomerInput, DUPLICATE_THRESHOLD};
use persistence::audit::{self, NewAuditEvent};
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use uuid::Uuid;

use super::{
    apply_defaults, check, check_assignment, definitions, duplicates, visible, Author,
    HeldReferences,
};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;

/// Checks and stores one new customer: defaults, the assignment rule, every field rule
/// and, unless `confirmed`, the duplicate check (409 `likely_duplicate` with the
/// candidates the caller may know of). Runs inside the caller's transaction, with the
/// custom-field definitions the caller read (a batch reads them once).
pub fn create_checked(
    conn: &mut DbConnection,
    acting: &Acting,
    today: NaiveDate,
    definitions: &[CustomFieldDefinition],
    mut input: CustomerInput,
    confirmed: bool,
) -> AppResult<CustomerRecord> {
    apply_defaults(conn, &mut input, acting)?;
    check_assignment(conn, acting, &input)?;
    let checked = check(
        conn,
        input,
        HeldReferences::default(),
        Author::Caller(acting),
        today,
        definitions,
    )?;
    if !confirmed {
        let evidence = duplicates::evidence_of_input(&checked.input);
        let likely: Vec<_> = duplicates::candidates(conn, &evidence, None, acting)?
            .into_iter()
            .filter(|c| c.score >= DUPLICATE_THRESHOLD)
            .collect();
        if !likely.is_empty() {
            let candidates =
                serde_json::to_value(likely).map_err(|err| AppError::Internal(err.to_string()))?;
            return Err(AppError::LikelyDuplicate(candidates));
        }
    }
    super::create(conn, acting, &checked, "created")
}

/// Creates one customer in its own transaction (see [`create_checked`]).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    today: NaiveDate,
    input: CustomerInput,
    confirmed: bool,
) -> AppResult<CustomerRecord> {
    crate::transaction(conn, |conn| {
        let definitions = definitions(conn)?;
        create_checked(conn, acting, today, &definitions, input, confirmed)
    })
}

/// Changes a customer visible to the caller: `edit` turns its current document into
/// the new one, which is checked like a new customer's (references it already held need
/// only exist). Lifecycle and owner changes are recorded.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    today: NaiveDate,
    edit: impl FnOnce(&CustomerInput) -> AppResult<CustomerInput>,
) -> AppResult<CustomerRecord> {
    crate::transaction(conn, |conn| {
        let current = visible(conn, acting, id)?;
        precondition.check(id, current.row.version)?;
        if current.row.erased_at.is_some() || current.row.merged_into_id.is_some() {
            return Err(AppError::Conflict(
                "the customer was erased or merged and can no longer change".into(),
            ));
        }
        let before = current.to_input()?;
        let after = edit(&before)?;
        if after.owner_id != before.owner_id || after.team_id != before.team_id {
            check_assignment(conn, acting, &after)?;
        }
        let definitions = definitions(conn)?;
        let checked = check(
            conn,
            after,
            HeldReferences::of(&current.row),
            Author::Caller(acting),
            today,
            &definitions,
        )?;
        super::update(conn, acting, &current, &checked, "customer.update")
    })
}

/// Deletes a customer visible to the caller and everything attached to it. For people
/// who asked to be forgotten erasure is the right tool: it keeps the aggregates.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    crate::transaction(conn, |conn| {
        let current = visible(conn, acting, id)?;
        precondition.check(id, current.row.version)?;
        if persistence::orders::customer_has_orders(conn, id)? {
            return Err(AppError::Conflict(
                "the customer has orders, which keep the business's sales history; erase the customer instead".into(),
            ));
        }
        if persistence::deals::customer_has_deals(conn, id)? {
            return Err(AppError::Conflict(
                "the customer has deals, which keep the business's sales history; erase the customer instead".into(),
            ));
        }
        if persistence::tickets::customer_has_tickets(conn, id)? {
            return Err(AppError::Conflict(
                "the customer has tickets, which keep the service history; erase the customer instead".into(),
            ));
        }
        persistence::customers::delete(conn, id)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            NewAuditEvent {
                action: "customer.delete",
                resource_type: "customer",
                resource_id: Some(id.to_string()),
                changes: None,
            },
        )?;
        crate::events::publish(
            conn,
            acting,
            &[super::customer_event(
                "customer.deleted",
                id,
                None,
                persistence::now(),
            )],
        )?;
        Ok(())
    })
}
