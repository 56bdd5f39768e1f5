//! Customer segments (M-1): the definitions — create and change with `records:write`
//! (a business library like canned answers and lead lists), delete with
//! `crm:configure`, read with `records:read` — and the preview of a condition. A
//! dynamic segment's condition is checked against the customer search catalogue when
//! saved (a bad field is a 422 naming its path under `condition`) and stored as
//! written. The membership itself lives in [`membership`].

pub mod membership;

use domain::authz::Permission;
use domain::filter::{Predicate, ResolveContext, ResolvedFilter};
use domain::segments::{SegmentInput, SegmentKind};
use persistence::audit;
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use persistence::segments::SegmentRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acting::Acting;
use crate::customers::search::{self as customer_search, CustomerSearch};
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, creation_cursor, Cursor};
use crate::precondition::Precondition;
use crate::search::{Search, SearchRequest};
use crate::transaction;

/// Members a preview shows at most (its count covers them all).
pub const MAX_PREVIEW_MEMBERS: i64 = 50;

/// The document a merge patch of a segment applies to.
pub fn segment_input(row: &SegmentRow) -> AppResult<SegmentInput> {
    Ok(SegmentInput {
        name: row.name.clone(),
        description: row.description.clone(),
        kind: kind_of(row)?,
        condition: row.condition.as_ref().map(|condition| condition.0.clone()),
        active: row.active,
        refresh_interval_minutes: row.refresh_interval_minutes,
    })
}

/// The stored kind of `row`.
pub fn kind_of(row: &SegmentRow) -> AppResult<SegmentKind> {
    SegmentKind::parse(&row.kind).ok_or_else(|| {
        AppError::Internal(format!(
            "segment {} has unknown kind {:?}",
            row.id.0, row.kind
        ))
    })
}

/// The filter tree a refresh and a preview run: `condition` resolved against the
/// customer catalogue (custom fields included) in `context`, its problems named under
/// `condition`, and narrowed to customers who were not erased (an erased customer's
/// memberships are gone, and it must not come back).
pub(crate) fn live_filter(
    conn: &mut DbConnection,
    condition: &Value,
    context: &ResolveContext,
) -> AppResult<ResolvedFilter> {
    let fields = customer_search::CustomerFields::load(conn)?;
    let filter = customer_search::resolve_condition(condition, &fields, context)
        .map_err(AppError::Invalid)?;
    Ok(not_erased(filter))
}

fn not_erased(filter: ResolvedFilter) -> ResolvedFilter {
    ResolvedFilter::And(vec![
        filter,
        ResolvedFilter::Condition {
            field: "erased_at",
            predicate: Predicate::IsNull(true),
        },
    ])
}

fn context(conn: &mut DbConnection) -> AppResult<ResolveContext> {
    Ok(ResolveContext::new(
        persistence::now(),
        crate::settings::calendar(conn)?.local(),
    ))
}

/// `input` checked: its own rules and, for a dynamic segment, its condition against
/// the catalogue; every problem reported at once.
fn checked(conn: &mut DbConnection, input: SegmentInput) -> AppResult<SegmentInput> {
    let context = context(conn)?;
    let condition = match (&input.kind, &input.condition) {
        (SegmentKind::Dynamic, Some(condition)) if !condition.is_null() => {
            live_filter(conn, condition, &context).err()
        }
        _ => None,
    };
    match (input.validated(), condition) {
        (Ok(input), None) => Ok(input),
        (Err(mut violations), Some(AppError::Invalid(more))) => {
            violations.extend(more);
            Err(AppError::Invalid(violations))
        }
        (Err(violations), _) => Err(AppError::Invalid(violations)),
        (Ok(_), Some(err)) => Err(err),
    }
}

pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: SegmentInput,
) -> AppResult<SegmentRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = checked(conn, input)?;
    let now = DbTime(persistence::now());
    let row = SegmentRow {
        id: DbUuid(Uuid::now_v7()),
        name: input.name,
        description: input.description,
        kind: input.kind.as_str().to_string(),
        condition: input.condition.map(DbJson),
        active: input.active,
        refresh_interval_minutes: input.refresh_interval_minutes,
        member_count: 0,
        refreshed_at: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    transaction(conn, |conn| {
        persistence::segments::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "segment.create",
            "segment",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        membership::schedule_refreshes(conn, &row, true)?;
        Ok(())
    })?;
    Ok(row)
}

pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<SegmentRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::segments::find(conn, id)?)
}

/// Segments in creation order: `fetch` after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<SegmentRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::segments::list(
        conn,
        created_after(cursor)?,
        limit,
    )?)
}

pub fn cursor_after(row: &SegmentRow) -> Cursor {
    creation_cursor(row.created_at.0, row.id.0)
}

/// Changes a segment (`records:write`): `edit` turns its current document into the
/// new one. The kind is fixed; a changed condition (or a segment made active again) is
/// recomputed at once.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&SegmentInput) -> AppResult<SegmentInput>,
) -> AppResult<SegmentRow> {
    acting.require(Permission::RecordsWrite)?;
    let current = persistence::segments::find(conn, id)?;
    precondition.check(id, current.version)?;
    let before = segment_input(&current)?;
    let after = edit(&before)?;
    if after.kind != before.kind {
        return Err(AppError::field(
            "kind",
            "immutable",
            "a segment's kind cannot change; create another segment",
        ));
    }
    let after = checked(conn, after)?;
    transaction(conn, |conn| {
        let current = persistence::segments::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        let mut row = current.clone();
        row.name = after.name;
        row.description = after.description;
        row.condition = after.condition.map(DbJson);
        row.active = after.active;
        row.refresh_interval_minutes = after.refresh_interval_minutes;
        let row = persistence::segments::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "segment.update",
            "segment",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        let recompute = row.condition != current.condition || (row.active && !current.active);
        membership::schedule_refreshes(conn, &row, recompute)?;
        Ok(row)
    })
}

/// Deletes a segment with its membership history (`crm:configure`). The events it
/// caused stay in the outbox: they happened.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::segments::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::segments::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "segment.delete",
            "segment",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// A condition to try before saving it.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "condition": {"and": [
        {"field": "order_count", "op": "gte", "value": 3},
        {"field": "last_order_at", "op": "gte", "value": {"relative": "last_n_days", "n": 90}}
    ]},
    "limit": 20
}))]
pub struct PreviewRequest {
    /// A filter tree over the customer search fields, as a dynamic segment's.
    #[schema(value_type = Object)]
    pub condition: Value,
    /// Members to show, 1 to 50 (default 20).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

/// What a condition finds now among the customers the caller may see.
pub struct Preview {
    pub count: i64,
    /// The first members by id, at most the requested number.
    pub members: Vec<CustomerRecord>,
}

/// The customers a condition finds now, as a refresh would store them, among those the
/// caller may see (`records:read`).
pub fn preview(
    conn: &mut DbConnection,
    acting: &Acting,
    request: PreviewRequest,
) -> AppResult<Preview> {
    acting.require(Permission::RecordsRead)?;
    let limit = request.limit.unwrap_or(20);
    if !(1..=MAX_PREVIEW_MEMBERS).contains(&limit) {
        return Err(AppError::field(
            "limit",
            "out_of_range",
            format!("must be 1 to {MAX_PREVIEW_MEMBERS}"),
        ));
    }
    let context = context(conn)?;
    let filter = live_filter(conn, &request.condition, &context)?;
    let fields = customer_search::CustomerFields::load(conn)?;
    // The search's own checks pass: the filter is resolved already and replaced below.
    let mut search: Search<CustomerSearch> = customer_search::resolve(
        SearchRequest {
            sort: Some(json!([{"field": "id", "direction": "asc"}])),
            limit: Some(limit),
            ..SearchRequest::default()
        },
        &fields,
        &context,
    )?;
    search.criteria.filter = Some(filter);
    let scope = acting.scope();
    let count = persistence::customers::search::count(conn, &search.criteria, Vec::new(), &scope)?;
    let mut members = customer_search::fetch(conn, &search, &scope)?;
    members.truncate(limit as usize);
    Ok(Preview { count, members })
}
