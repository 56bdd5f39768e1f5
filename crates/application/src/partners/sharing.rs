//! What is shared with a partner: records one by one (read or write, optionally
//! until a given instant) and share rules, whose matches are kept as shares — brought up
//! to date by the `share_rules.refresh` job when a rule changes or on request, and for
//! one record whenever it is created or changed through the API. Sharing is decided by
//! those who configure the CRM (`crm:configure`) and audited.
//!
//! A partner's user sees the records it owns and those shared with its partner: lists
//! and searches add the share subquery (`persistence::record_shares`), a lookup by id
//! asks `super::access::admit`.

use domain::authz::Permission;
use domain::filter::{ResolveContext, ResolvedFilter};
use domain::partners::{ShareAccess, ShareInput, SharedKind};
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::partners::ShareRuleRow;
use persistence::record_shares::ShareRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// The job that brings a share rule's matches up to date.
pub const SHARE_RULE_REFRESH: &str = "share_rules.refresh";
/// Records a refresh reads per step.
const REFRESH_BATCH: i64 = 1000;
const REFRESH_MAX_ATTEMPTS: i32 = 3;

/// Whether record `id` of `kind` exists (merged customers included).
fn record_exists(conn: &mut DbConnection, kind: SharedKind, id: Uuid) -> AppResult<bool> {
    let found = match kind {
        SharedKind::Customer => persistence::customers::find_row(conn, id).map(|_| ()),
        SharedKind::Lead => persistence::leads::find(conn, id).map(|_| ()),
        SharedKind::Deal => persistence::deals::find_row(conn, id).map(|_| ()),
        SharedKind::Ticket => persistence::tickets::find(conn, id).map(|_| ()),
    };
    match found {
        Ok(()) => Ok(true),
        Err(PersistenceError::NotFound) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Shares one record with partner `partner` (`crm:configure`), audited as
/// `record_share.create`.
pub fn share(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    input: ShareInput,
) -> AppResult<ShareRow> {
    acting.require(Permission::CrmConfigure)?;
    let now = persistence::now();
    input.check(now).map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        persistence::partners::find(conn, partner)?;
        if !record_exists(conn, input.record_kind, input.record_id)? {
            return Err(AppError::field(
                "record_id",
                "not_found",
                format!("no {} has this id", input.record_kind.as_str()),
            ));
        }
        let row = ShareRow {
            id: DbUuid(Uuid::now_v7()),
            partner_id: DbUuid(partner),
            record_kind: input.record_kind.as_str().to_string(),
            record_id: DbUuid(input.record_id),
            access: input.access.as_str().to_string(),
            expires_at: input.expires_at.map(DbTime),
            rule_id: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(now),
        };
        persistence::record_shares::insert_share(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "record_share.create",
            "record_share",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// One page of what is shared with `partner` (`crm:configure`, or one of the
/// partner's users), explicitly and by rule, of `kind` when given.
pub fn shares(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    kind: Option<SharedKind>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<ShareRow>> {
    if !acting.can(Permission::CrmConfigure) && acting.partner_id != Some(partner) {
        return Err(AppError::NotFound);
    }
    persistence::partners::find(conn, partner)?;
    Ok(persistence::record_shares::shares(
        conn,
        partner,
        kind,
        created_after(cursor)?,
        limit,
    )?)
}

/// Withdraws an explicit share (`crm:configure`), audited as `record_share.delete`.
/// A share kept by a rule goes with the rule (or when the record stops matching it).
pub fn unshare(conn: &mut DbConnection, acting: &Acting, partner: Uuid, id: Uuid) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let row = persistence::record_shares::find_share(conn, partner, id)?;
        persistence::record_shares::delete_share(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "record_share.delete",
            "record_share",
            id,
            &row.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// A share rule as a caller writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRuleInput {
    pub record_kind: SharedKind,
    /// A filter tree over the kind's searchable fields (as in its search).
    pub condition: serde_json::Value,
    pub access: ShareAccess,
}

/// The stored rule as the input that would write it again.
pub fn rule_input_of(row: &ShareRuleRow) -> AppResult<ShareRuleInput> {
    let corrupt = || AppError::Internal(format!("stored share rule {}", row.id.0));
    Ok(ShareRuleInput {
        record_kind: SharedKind::parse(&row.record_kind).ok_or_else(corrupt)?,
        condition: row.condition.0.clone(),
        access: ShareAccess::parse(&row.access).ok_or_else(corrupt)?,
    })
}

/// `condition` checked against the catalogue of `kind` and resolved now.
fn resolve(
    conn: &mut DbConnection,
    kind: SharedKind,
    condition: &serde_json::Value,
) -> AppResult<Result<ResolvedFilter, Vec<FieldViolation>>> {
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    Ok(match kind {
        SharedKind::Customer => {
            let fields = crate::customers::search::CustomerFields::load(conn)?;
            crate::customers::search::resolve_condition(condition, &fields, &context)
        }
        SharedKind::Lead => {
            let catalogue = crate::sales::leads::catalogue(conn)?;
            crate::search::resolve_condition(condition, &catalogue, &context)
        }
        SharedKind::Deal => crate::search::resolve_condition(
            condition,
            <crate::sales::deals::DealSearch as crate::search::Searchable>::CATALOGUE,
            &context,
        ),
        SharedKind::Ticket => {
            let catalogue = crate::service::ticket_catalogue::catalogue(conn)?;
            crate::search::resolve_condition(condition, &catalogue, &context)
        }
    })
}

fn check_rule(conn: &mut DbConnection, input: &ShareRuleInput) -> AppResult<()> {
    if !input.condition.is_object() {
        return Err(AppError::field(
            "condition",
            "invalid_type",
            "must be a filter tree (an object)",
        ));
    }
    resolve(conn, input.record_kind, &input.condition)?
        .map(|_| ())
        .map_err(AppError::Invalid)
}

/// Queues a refresh of `rule` once per version of it.
fn schedule_refresh(conn: &mut DbConnection, rule: &ShareRuleRow) -> AppResult<()> {
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: SHARE_RULE_REFRESH,
            payload: json!({"rule_id": rule.id.0}),
            run_at: persistence::now(),
            max_attempts: REFRESH_MAX_ATTEMPTS,
            created_by: None,
        },
        &format!(
            "{SHARE_RULE_REFRESH}:{}:version:{}",
            rule.id.0, rule.version
        ),
    )?;
    Ok(())
}

/// Creates a share rule of `partner` (`crm:configure`), audited as
/// `share_rule.create`; its matches are shared by a job queued at once.
pub fn create_rule(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    input: ShareRuleInput,
) -> AppResult<ShareRuleRow> {
    acting.require(Permission::CrmConfigure)?;
    check_rule(conn, &input)?;
    transaction(conn, |conn| {
        persistence::partners::find(conn, partner)?;
        let now = DbTime(persistence::now());
        let row = ShareRuleRow {
            id: DbUuid(Uuid::now_v7()),
            partner_id: DbUuid(partner),
            record_kind: input.record_kind.as_str().to_string(),
            condition: DbJson(input.condition),
            access: input.access.as_str().to_string(),
            refreshed_at: None,
            matched: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::partners::insert_rule(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "share_rule.create",
            "share_rule",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        schedule_refresh(conn, &row)?;
        Ok(row)
    })
}

/// The share rules of `partner` (`crm:configure`).
pub fn rules(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
) -> AppResult<Vec<ShareRuleRow>> {
    acting.require(Permission::CrmConfigure)?;
    persistence::partners::find(conn, partner)?;
    Ok(persistence::partners::rules(conn, partner)?)
}

/// A share rule of `partner` (`crm:configure`).
pub fn rule(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    id: Uuid,
) -> AppResult<ShareRuleRow> {
    acting.require(Permission::CrmConfigure)?;
    Ok(persistence::partners::find_rule(conn, Some(partner), id)?)
}

/// Changes a share rule (`crm:configure`) with `edit`, audited as `share_rule.update`;
/// the kind stays. Its shares take the new access at once and follow the new
/// condition when the queued refresh has run.
pub fn update_rule(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&ShareRuleInput) -> AppResult<ShareRuleInput>,
) -> AppResult<ShareRuleRow> {
    acting.require(Permission::CrmConfigure)?;
    let current = persistence::partners::find_rule(conn, Some(partner), id)?;
    precondition.check(id, current.version)?;
    let before = rule_input_of(&current)?;
    let after = edit(&before)?;
    if after.record_kind != before.record_kind {
        return Err(AppError::field(
            "record_kind",
            "immutable",
            "a rule's kind does not change; create another rule",
        ));
    }
    check_rule(conn, &after)?;
    transaction(conn, |conn| {
        let mut row = current.clone();
        row.condition = DbJson(after.condition);
        row.access = after.access.as_str().to_string();
        let row = persistence::partners::update_rule(conn, &row)?;
        persistence::partners::set_rule_access(conn, id, after.access)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "share_rule.update",
            "share_rule",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        schedule_refresh(conn, &row)?;
        Ok(row)
    })
}

/// Deletes a share rule and the shares it keeps (`crm:configure`), audited as
/// `share_rule.delete`.
pub fn delete_rule(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::partners::find_rule(conn, Some(partner), id)?;
        precondition.check(id, current.version)?;
        persistence::partners::delete_rule(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "share_rule.delete",
            "share_rule",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// Queues a refresh of a share rule now (`crm:configure`), e.g. after an import
/// brought in records it should match; answers the job.
pub fn refresh_now(
    conn: &mut DbConnection,
    acting: &Acting,
    partner: Uuid,
    id: Uuid,
) -> AppResult<persistence::jobs::Job> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        persistence::partners::find_rule(conn, Some(partner), id)?;
        crate::jobs::queue::enqueue(
            conn,
            acting,
            SHARE_RULE_REFRESH,
            json!({"rule_id": id}),
            REFRESH_MAX_ATTEMPTS,
        )
    })
}

/// What a refresh changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Refreshed {
    pub matched: i64,
    pub added: i64,
    pub removed: i64,
}

/// Brings the shares of rule `id` up to date with its condition, a batch per
/// transaction: the records that match and are not shared yet are shared, the shared
/// ones that no longer match are withdrawn. A rule deleted since refreshes nothing.
pub fn refresh(
    conn: &mut DbConnection,
    id: Uuid,
    should_stop: &dyn Fn() -> bool,
) -> AppResult<Option<Refreshed>> {
    let rule = match persistence::partners::find_rule(conn, None, id) {
        Ok(rule) => rule,
        Err(PersistenceError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let input = rule_input_of(&rule)?;
    let filter = resolve(conn, input.record_kind, &input.condition)?.map_err(AppError::Invalid)?;
    let mut outcome = Refreshed::default();
    // Matches not yet shared.
    let mut after = None;
    loop {
        if should_stop() {
            return Err(AppError::Conflict("the worker is stopping".into()));
        }
        let page = persistence::partners::matching(
            conn,
            input.record_kind,
            &filter,
            after,
            REFRESH_BATCH,
        )?;
        let Some(last) = page.last().copied() else {
            break;
        };
        after = Some(last);
        outcome.matched += page.len() as i64;
        transaction(conn, |conn| {
            let shared = persistence::partners::rule_shares_among(conn, id, &page)?;
            let new: Vec<Uuid> = page.into_iter().filter(|r| !shared.contains(r)).collect();
            persistence::partners::add_rule_shares(conn, &rule, &new)?;
            outcome.added += new.len() as i64;
            Ok(())
        })?;
    }
    // Shares whose records no longer match (or are gone).
    let mut after = None;
    loop {
        let page = persistence::partners::rule_shares(conn, id, after, REFRESH_BATCH)?;
        let Some(last) = page.last().copied() else {
            break;
        };
        after = Some(last);
        transaction(conn, |conn| {
            let still =
                persistence::partners::matching_among(conn, input.record_kind, &filter, &page)?;
            let gone: Vec<Uuid> = page.into_iter().filter(|r| !still.contains(r)).collect();
            persistence::partners::remove_rule_shares(conn, id, &gone)?;
            outcome.removed += gone.len() as i64;
            Ok(())
        })?;
    }
    persistence::partners::rule_refreshed(conn, id, outcome.matched)?;
    Ok(Some(outcome))
}
