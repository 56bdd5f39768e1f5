//! Deals: creating them (priced from their lines as orders are), reading and searching
//! them within the caller's visibility (by the deal's owner and team), changing them
//! (a stage change closes, reopens and records the move in the same transaction) and
//! deleting them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::commerce::orders::LineAmounts;
use domain::commerce::Currency;
use domain::customers::{CustomFieldDefinition, CustomFieldEntity};
use domain::filter::{FieldKind, FieldSpec, Predicate, ResolvedFilter, TypedValue};
use domain::notifications::{Link, LinkType, Texts};
use domain::partners::{ShareAccess, SharedKind};
use domain::sales::deals::{
    closed_at_after, deal_amount, is_stuck, lost_reason_at, stuck_cutoff, time_in_stages,
    DealInput, DealLineInput, StageEvent,
};
use domain::sales::pipelines::StageKind;
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::deals::{DealColumns, DealLineRow, DealRecord, DealRow, StageChangeRow};
use persistence::pipelines::{PipelineRecord, StageRow};
use persistence::products::ProductRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::PersistenceError;
use uuid::Uuid;

use crate::acting::Acting;
use crate::administration::custom_fields;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::search::{custom_field_specs, Search, SearchRequest, Searchable};
use crate::transaction;

/// The outbox events about deals a workflow or webhook may follow, beside
/// `deal.stage_changed`; each names the deal's customer.
pub const DEAL_CREATED: &str = "deal.created";
pub const DEAL_UPDATED: &str = "deal.updated";

/// The deals catalogue of the search convention; `q` finds the title with Persian
/// letters and digits normalised.
#[derive(Debug)]
pub struct DealSearch;

impl Searchable for DealSearch {
    type Columns = DealColumns;
    // Whole deals, so that a page converts them without looking them up again.
    type Row = DealDetails;

    // Sortable fields have an index ending in (…, id).
    const CATALOGUE: &'static [FieldSpec] = &[
        FieldSpec::new("id", FieldKind::Uuid).sortable(),
        FieldSpec::new("title", FieldKind::Text),
        FieldSpec::new("customer_id", FieldKind::Uuid),
        FieldSpec::new("owner_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("pipeline_id", FieldKind::Uuid),
        FieldSpec::new("stage_id", FieldKind::Uuid),
        FieldSpec::new("status", FieldKind::Enum(StageKind::NAMES)),
        FieldSpec::new("stuck", FieldKind::Bool),
        FieldSpec::new("amount", FieldKind::Integer).sortable(),
        FieldSpec::new("currency", FieldKind::Text),
        FieldSpec::new("expected_close_date", FieldKind::Date)
            .nullable()
            .sortable(),
        FieldSpec::new("source", FieldKind::Text).nullable(),
        FieldSpec::new("campaign", FieldKind::Text).nullable(),
        FieldSpec::new("lead_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("lost_reason_id", FieldKind::Uuid).nullable(),
        FieldSpec::new("closed_at", FieldKind::Timestamp)
            .nullable()
            .sortable(),
        FieldSpec::new("last_activity_at", FieldKind::Timestamp),
        FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
        FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
        FieldSpec::new("updated_at", FieldKind::Timestamp),
    ];

    const QUICK_SEARCH: &'static [&'static str] = &["search_text"];

    fn sort_value(details: &DealDetails, field: &str) -> Option<TypedValue> {
        let row = &details.record.row;
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "amount" => TypedValue::Integer(row.amount),
            "expected_close_date" => TypedValue::Date(row.expected_close_date?),
            "closed_at" => TypedValue::Timestamp(row.closed_at?.0),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            _ => return None,
        })
    }

    fn id(details: &DealDetails) -> Uuid {
        details.record.row.id.0
    }
}

/// Checks a deal search body against the catalogue and `custom.<key>` for each deal
/// custom field of `definitions`; `q` is compared in its Persian-normalised form, as
/// titles are stored in the search text.
pub fn resolve_search(
    mut request: SearchRequest,
    definitions: &[CustomFieldDefinition],
    context: &domain::filter::ResolveContext,
) -> AppResult<Search<DealSearch>> {
    request.q = request.q.map(|q| {
        let key = domain::persian::search_key(&q);
        // Text that normalises to nothing is still checked (and refused) as sent.
        if key.is_empty() {
            q
        } else {
            key
        }
    });
    let mut catalogue = DealSearch::CATALOGUE.to_vec();
    catalogue.extend(custom_field_specs(definitions));
    Search::resolve_with(request, context, &catalogue)
}

/// The deal custom fields, which deal writes are checked against and deal searches may
/// name.
pub fn definitions(conn: &mut DbConnection) -> AppResult<Vec<CustomFieldDefinition>> {
    custom_fields::definitions(conn, CustomFieldEntity::Deal)
}

/// `input` checked by the deal's own rules and its custom values by the deal custom
/// fields, every broken rule reported together.
fn validated(conn: &mut DbConnection, input: DealInput) -> AppResult<DealInput> {
    let definitions = definitions(conn)?;
    let values = custom_fields::checked_values(&input.custom_fields, &definitions);
    custom_fields::with_checked_values(input.validated(), values, |input, custom_fields| {
        DealInput {
            custom_fields,
            ..input
        }
    })
    .map_err(AppError::Invalid)
}

/// A deal as the API shows it: the record, its stage, whether it is stuck and how long
/// it spent at each stage.
#[derive(Debug, Clone, PartialEq)]
pub struct DealDetails {
    pub record: DealRecord,
    pub stage: StageRow,
    pub stuck: bool,
    /// Seconds at each stage, in the order first entered; the current stage up to now.
    pub time_in_stages: Vec<(Uuid, i64)>,
}

/// The details of `records`, with every pipeline read once (they are few).
pub fn details(conn: &mut DbConnection, records: Vec<DealRecord>) -> AppResult<Vec<DealDetails>> {
    let pipelines: HashMap<Uuid, PipelineRecord> = persistence::pipelines::all(conn)?
        .into_iter()
        .map(|pipeline| (pipeline.row.id.0, pipeline))
        .collect();
    let now = persistence::now();
    records
        .into_iter()
        .map(|record| {
            let pipeline = pipelines.get(&record.row.pipeline_id.0).ok_or_else(|| {
                AppError::Internal(format!("deal {} has no pipeline", record.row.id.0))
            })?;
            let stage = pipeline
                .stages
                .iter()
                .find(|stage| stage.id == record.row.stage_id)
                .cloned()
                .ok_or_else(|| {
                    AppError::Internal(format!("deal {} has no stage", record.row.id.0))
                })?;
            let stuck = is_stuck(
                record.row.status()?,
                record.row.last_activity_at.0,
                pipeline.row.stuck_after_days,
                now,
            );
            let entries: Vec<(Uuid, DateTime<Utc>)> = record
                .history
                .iter()
                .map(|change| (change.to_stage_id.0, change.changed_at.0))
                .collect();
            Ok(DealDetails {
                time_in_stages: time_in_stages(&entries, now),
                stuck,
                stage,
                record,
            })
        })
        .collect()
}

/// The deal `id` if the caller may see it (by its owner and team); any other is not
/// found.
pub(crate) fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<DealRecord> {
    reach(conn, acting, id, ShareAccess::Write)
}

/// The deals search catalogue, for the share rules over deals.
fn deal_catalogue(_: &mut DbConnection) -> AppResult<Vec<FieldSpec>> {
    Ok(DealSearch::CATALOGUE.to_vec())
}

/// The deal `id` if the caller may see it (a partner's share of either access will
/// do); any other is not found.
pub(crate) fn readable(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
) -> AppResult<DealRecord> {
    reach(conn, acting, id, ShareAccess::Read)
}

fn reach(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    need: ShareAccess,
) -> AppResult<DealRecord> {
    let record = persistence::deals::find(conn, id)?;
    let row = &record.row;
    let scope = acting.scope();
    let owned = domain::authz::can_see(
        scope.visibility,
        scope.user_id,
        scope.team_id,
        row.owner_id.map(|id| id.0),
        row.team_id.map(|id| id.0),
    );
    crate::partners::access::admit(conn, acting, SharedKind::Deal, id, owned, need)?;
    Ok(record)
}

/// A deal (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<DealDetails> {
    acting.require(Permission::RecordsRead)?;
    let record = readable(conn, acting, id)?;
    Ok(details(conn, vec![record])?.remove(0))
}

/// One entry of a deal's stage history with the kinds of its stages.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub change: StageChangeRow,
    pub event: StageEvent,
}

/// A deal's stage history, oldest first (`records:read`).
pub fn history(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Vec<HistoryEntry>> {
    acting.require(Permission::RecordsRead)?;
    let record = readable(conn, acting, id)?;
    // A deal may have moved between pipelines: every stage it entered is looked up.
    let kinds: HashMap<DbUuid, StageKind> = persistence::pipelines::all(conn)?
        .into_iter()
        .flat_map(|pipeline| pipeline.stages)
        .map(|stage| Ok((stage.id, stage.kind()?)))
        .collect::<AppResult<_>>()?;
    let kind_of = |stage: DbUuid| {
        kinds
            .get(&stage)
            .copied()
            .ok_or_else(|| AppError::Internal(format!("stage {} is missing", stage.0)))
    };
    record
        .history
        .into_iter()
        .map(|change| {
            let from = change.from_stage_id.map(kind_of).transpose()?;
            let event = StageEvent::of(from, kind_of(change.to_stage_id)?);
            Ok(HistoryEntry { change, event })
        })
        .collect()
}

/// The filter `filter` with every `stuck` condition spelled as what it means at `now`:
/// open, and last changed at or before the cutoff of the deal's pipeline (one branch per
/// pipeline, as the stuck setting is the pipeline's). Comparisons of indexed columns
/// with bound instants, the same SQL on both backends.
fn spell_stuck(
    filter: ResolvedFilter,
    pipelines: &[(Uuid, i32)],
    now: DateTime<Utc>,
) -> ResolvedFilter {
    let condition = |field: &'static str, predicate| ResolvedFilter::Condition { field, predicate };
    match filter {
        ResolvedFilter::And(nodes) => ResolvedFilter::And(
            nodes
                .into_iter()
                .map(|node| spell_stuck(node, pipelines, now))
                .collect(),
        ),
        ResolvedFilter::Or(nodes) => ResolvedFilter::Or(
            nodes
                .into_iter()
                .map(|node| spell_stuck(node, pipelines, now))
                .collect(),
        ),
        ResolvedFilter::Condition {
            field: "stuck",
            predicate,
        } => {
            let stuck = match predicate {
                Predicate::Eq(TypedValue::Bool(flag)) => flag,
                Predicate::Neq(TypedValue::Bool(flag)) => !flag,
                // The catalogue offers `stuck` only `eq` and `neq` with a boolean.
                other => {
                    return ResolvedFilter::Condition {
                        field: "stuck",
                        predicate: other,
                    }
                }
            };
            let open = || TypedValue::Text(StageKind::Open.as_str().to_string());
            let branch = |(pipeline, days): &(Uuid, i32)| {
                let cutoff = TypedValue::Timestamp(stuck_cutoff(now, *days));
                let pipeline = TypedValue::Uuid(*pipeline);
                if stuck {
                    ResolvedFilter::And(vec![
                        condition("pipeline_id", Predicate::Eq(pipeline)),
                        condition("last_activity_at", Predicate::Lte(cutoff)),
                    ])
                } else {
                    ResolvedFilter::Or(vec![
                        condition("pipeline_id", Predicate::Neq(pipeline)),
                        condition("last_activity_at", Predicate::Gt(cutoff)),
                    ])
                }
            };
            // `id` is never null: the condition that holds for no deal, or for all.
            let none_or_all = condition("id", Predicate::IsNull(stuck));
            let branches: Vec<ResolvedFilter> = pipelines.iter().map(branch).collect();
            if stuck {
                let any = if branches.is_empty() {
                    none_or_all
                } else {
                    ResolvedFilter::Or(branches)
                };
                ResolvedFilter::And(vec![condition("status", Predicate::Eq(open())), any])
            } else {
                let every = if branches.is_empty() {
                    none_or_all
                } else {
                    ResolvedFilter::And(branches)
                };
                ResolvedFilter::Or(vec![condition("status", Predicate::Neq(open())), every])
            }
        }
        other => other,
    }
}

/// The next page of a deal search (`records:read`) over the deals the caller may see.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<DealSearch>,
) -> AppResult<Vec<DealDetails>> {
    acting.require(Permission::RecordsRead)?;
    let mut criteria = search.criteria.clone();
    if let Some(filter) = criteria.filter.take() {
        let pipelines: Vec<(Uuid, i32)> = persistence::pipelines::all(conn)?
            .iter()
            .map(|pipeline| (pipeline.row.id.0, pipeline.row.stuck_after_days))
            .collect();
        criteria.filter = Some(spell_stuck(filter, &pipelines, persistence::now()));
    }
    let rows = persistence::deals::search(
        conn,
        &criteria,
        &acting.scope(),
        search.after.as_ref(),
        search.fetch_limit(),
    )?;
    let records = persistence::deals::with_details(conn, rows)?;
    details(conn, records)
}

/// The newest open deals of `customer` that the caller may see, at most `limit` (the
/// 360 view's section), read on the customer's deal index.
pub fn open_of_customer(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    limit: usize,
) -> AppResult<Vec<DealDetails>> {
    let context = domain::filter::ResolveContext::new(
        persistence::now(),
        crate::settings::calendar(conn)?.local(),
    );
    let request = SearchRequest {
        filter: Some(serde_json::json!({"and": [
            {"field": "customer_id", "op": "eq", "value": customer},
            {"field": "status", "op": "eq", "value": StageKind::Open.as_str()}
        ]})),
        sort: Some(serde_json::json!([{"field": "created_at", "direction": "desc"}])),
        q: None,
        limit: Some(limit as i64),
        cursor: None,
    };
    let mut found = search(conn, acting, &resolve_search(request, &[], &context)?)?;
    found.truncate(limit);
    Ok(found)
}

/// The document a merge patch of a deal applies to. A deal with lines carries no
/// `amount`: the server computes it, so a patch of the lines alone is priced anew and an
/// `amount` sent with them is checked against them.
pub fn deal_input(record: &DealRecord) -> AppResult<DealInput> {
    let row = &record.row;
    Ok(DealInput {
        title: row.title.clone(),
        customer_id: row.customer_id.0,
        contact_ids: record.contact_ids.clone(),
        owner_id: row.owner_id.map(|id| id.0),
        team_id: row.team_id.map(|id| id.0),
        pipeline_id: Some(row.pipeline_id.0),
        stage_id: Some(row.stage_id.0),
        amount: record.lines.is_empty().then_some(row.amount),
        currency: Some(crate::commerce::catalogue::stored_currency(&row.currency)?),
        lines: record
            .lines
            .iter()
            .map(|line| DealLineInput {
                product_id: line.product_id.0,
                quantity: line.quantity,
                unit_price: Some(line.unit_price),
                discount: line.discount,
            })
            .collect(),
        expected_close_date: row.expected_close_date,
        source: row.source.clone(),
        campaign: row.campaign.clone(),
        lead_id: row.lead_id.map(|id| id.0),
        lost_reason_id: row.lost_reason_id.map(|id| id.0),
        description: row.description.clone(),
        custom_fields: match &row.custom_fields.0 {
            serde_json::Value::Object(values) => values.clone(),
            other => {
                return Err(AppError::Internal(format!(
                    "stored deal custom fields {other}"
                )))
            }
        },
    })
}

/// A deal's input checked against the database: where it is in which pipeline, its
/// amount and lines priced, its lost reason as it is kept.
struct Checked {
    input: DealInput,
    stage: StageRow,
    kind: StageKind,
    currency: Currency,
    amount: i64,
    lines: Vec<(LineAmounts, i64)>,
    lost_reason_id: Option<Uuid>,
}

/// The pipeline and stage `input` names (defaults: the stage's pipeline, the default
/// pipeline, the pipeline's first open stage), with the pipeline's row shared-locked so
/// that its stages stay while the deal is written.
fn placement(conn: &mut DbConnection, input: &DealInput) -> AppResult<StageRow> {
    let not_found =
        |field: &str, what: &str| AppError::field(field, "not_found", format!("is not a {what}"));
    let stage = match input.stage_id {
        Some(stage) => Some(persistence::pipelines::find_stage(conn, stage).map_err(
            |err| match err {
                PersistenceError::NotFound => not_found("stage_id", "pipeline stage"),
                other => other.into(),
            },
        )?),
        None => None,
    };
    let pipeline = match (input.pipeline_id, &stage) {
        (Some(pipeline), _) => pipeline,
        (None, Some(stage)) => stage.pipeline_id.0,
        (None, None) => persistence::pipelines::find_default(conn)?
            .map(|pipeline| pipeline.row.id.0)
            .ok_or_else(|| {
                AppError::field(
                    "pipeline_id",
                    "required",
                    "no pipeline is the default; name one",
                )
            })?,
    };
    persistence::pipelines::lock(conn, pipeline, false)?;
    let pipeline = persistence::pipelines::find(conn, pipeline).map_err(|err| match err {
        PersistenceError::NotFound => not_found("pipeline_id", "pipeline"),
        other => other.into(),
    })?;
    match stage {
        Some(stage) => pipeline
            .stages
            .into_iter()
            .find(|row| row.id == stage.id)
            .ok_or_else(|| {
                AppError::field(
                    "stage_id",
                    "not_in_pipeline",
                    "is not a stage of the deal's pipeline",
                )
            }),
        None => pipeline
            .stages
            .into_iter()
            .find(|row| row.kind == StageKind::Open.as_str())
            .ok_or_else(|| AppError::Internal("a pipeline without open stages".into())),
    }
}

/// Checks `input` (already validated) for a new deal (`current` none) or a change of
/// `current`: the customer, contacts, owner, team, lost reason and products it names,
/// the stage and the amount. References `current` holds already stay acceptable.
fn check(
    conn: &mut DbConnection,
    acting: &Acting,
    mut input: DealInput,
    current: Option<&DealRecord>,
    business_currency: Currency,
) -> AppResult<Checked> {
    let mut v = Violations::default();
    let held = current.map(|record| &record.row);
    if held.is_none_or(|row| row.customer_id.0 != input.customer_id) {
        crate::commerce::orders::check_customer(conn, acting, input.customer_id, &mut v)?;
    }
    check_contacts(conn, &input, &mut v)?;
    check_people(conn, acting, &input, held, &mut v)?;
    let assignments = crate::customers::assignment_violations(
        conn,
        acting,
        &[(input.owner_id, input.team_id)],
        "deals",
    )?;
    if held.is_none_or(|row| {
        row.owner_id.map(|id| id.0) != input.owner_id || row.team_id.map(|id| id.0) != input.team_id
    }) {
        v.0.extend(assignments.into_iter().flat_map(|found| found.0));
    }
    let stage = placement(conn, &input)?;
    let kind = stage.kind()?;
    let previous_reason = held.and_then(|row| row.lost_reason_id.map(|id| id.0));
    let lost_reason_id = match lost_reason_at(kind, input.lost_reason_id, previous_reason) {
        Ok(reason) => reason,
        Err(violation) => {
            v.0.push(violation);
            None
        }
    };
    if let Some(reason) = lost_reason_id.filter(|reason| Some(*reason) != previous_reason) {
        match persistence::pipelines::find_reason(conn, reason) {
            Ok(row) if row.active => {}
            Ok(_) => v.push(
                "lost_reason_id",
                "inactive",
                "the reason is no longer offered",
            ),
            Err(PersistenceError::NotFound) => {
                v.push("lost_reason_id", "not_found", "is not a lost reason")
            }
            Err(other) => return Err(other.into()),
        }
    }
    let currency = *input.currency.get_or_insert(business_currency);
    let held_lines: &[DealLineRow] = current.map_or(&[], |record| &record.lines);
    let amounts = price_lines(conn, &input.lines, held_lines, currency, &mut v)?;
    v.into_result().map_err(AppError::Invalid)?;
    let (amount, totals) = deal_amount(input.amount, &amounts).map_err(AppError::Invalid)?;
    Ok(Checked {
        lines: amounts.into_iter().zip(totals).collect(),
        input,
        stage,
        kind,
        currency,
        amount,
        lost_reason_id,
    })
}

/// Contacts must be persons listed as personnel of the deal's customer.
fn check_contacts(conn: &mut DbConnection, input: &DealInput, v: &mut Violations) -> AppResult<()> {
    if input.contact_ids.is_empty() {
        return Ok(());
    }
    let personnel: Vec<Uuid> = persistence::personnel::of_organization(conn, input.customer_id)?
        .iter()
        .map(|link| link.person_id.0)
        .collect();
    for (index, contact) in input.contact_ids.iter().enumerate() {
        if !personnel.contains(contact) {
            v.push(
                format!("contact_ids[{index}]"),
                "not_personnel",
                "is not a person listed as personnel of the customer",
            );
        }
    }
    Ok(())
}

/// The owner must be a user the caller may look up (or the one the deal has), the team
/// a team.
fn check_people(
    conn: &mut DbConnection,
    acting: &Acting,
    input: &DealInput,
    held: Option<&DealRow>,
    v: &mut Violations,
) -> AppResult<()> {
    if let Some(owner) = input.owner_id {
        let known = persistence::users::teams_of(conn, &[owner])?.contains_key(&owner);
        let held_owner = held.and_then(|row| row.owner_id).map(|id| id.0);
        let hidden =
            !acting.reads_users() && Some(owner) != acting.user_id && Some(owner) != held_owner;
        if !known || hidden {
            v.push("owner_id", "not_found", "no user with this id");
        }
    }
    if let Some(team) = input.team_id {
        if persistence::teams::existing_ids(conn, &[team])?.is_empty() {
            v.push("team_id", "not_found", "no team with this id");
        }
    }
    Ok(())
}

/// The lines' figures once their products are known: each must be a product in the
/// deal's currency, active unless the deal has it already; the unit price defaults to
/// the product's.
fn price_lines(
    conn: &mut DbConnection,
    lines: &[DealLineInput],
    held: &[DealLineRow],
    currency: Currency,
    v: &mut Violations,
) -> AppResult<Vec<LineAmounts>> {
    let mut ids: Vec<Uuid> = lines.iter().map(|line| line.product_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let products: HashMap<Uuid, ProductRow> = persistence::products::find_many(conn, &ids)?
        .into_iter()
        .map(|row| (row.id.0, row))
        .collect();
    let mut amounts = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let field = format!("lines[{index}].product_id");
        let on_deal = held.iter().any(|row| row.product_id.0 == line.product_id);
        match products.get(&line.product_id) {
            None => v.push(field, "not_found", "is not a product"),
            Some(product) if !product.active && !on_deal => {
                v.push(field, "inactive", "the product is no longer sold")
            }
            Some(product) if product.currency != currency.code() => v.push(
                field,
                "currency_mismatch",
                format!(
                    "the product is priced in {}, the deal in {currency}",
                    product.currency
                ),
            ),
            Some(product) => amounts.push(LineAmounts {
                quantity: line.quantity,
                unit_price: line.unit_price.unwrap_or(product.unit_price),
                discount: line.discount,
            }),
        }
    }
    Ok(amounts)
}

/// Owner (the acting user) and team (the owner's) of a new deal that names none.
fn apply_defaults(
    conn: &mut DbConnection,
    acting: &Acting,
    input: &mut DealInput,
) -> AppResult<()> {
    if input.owner_id.is_none() {
        input.owner_id = acting.user_id;
    }
    if input.team_id.is_none() {
        if let Some(owner) = input.owner_id {
            input.team_id = persistence::users::teams_of(conn, &[owner])?
                .get(&owner)
                .copied()
                .flatten();
        }
    }
    Ok(())
}

/// What a deal's row keeps through changes: its id, creation and version, and when it
/// closed (decided by the stage change).
struct Bookkeeping {
    id: DbUuid,
    closed_at: Option<DateTime<Utc>>,
    created_by: Option<DbUuid>,
    created_at: DbTime,
    version: i64,
}

/// `checked` as the deal's stored row and details, changed at `now`.
fn record_of(checked: Checked, kept: Bookkeeping, now: DateTime<Utc>) -> DealRecord {
    let Checked {
        input,
        stage,
        kind,
        currency,
        amount,
        lines,
        lost_reason_id,
    } = checked;
    let id = kept.id;
    let row = DealRow {
        id,
        search_text: domain::persian::search_key(&input.title),
        title: input.title,
        customer_id: DbUuid(input.customer_id),
        owner_id: input.owner_id.map(DbUuid),
        team_id: input.team_id.map(DbUuid),
        pipeline_id: stage.pipeline_id,
        stage_id: stage.id,
        status: kind.as_str().to_string(),
        amount,
        currency: currency.code().to_string(),
        expected_close_date: input.expected_close_date,
        source: input.source,
        campaign: input.campaign,
        lead_id: input.lead_id.map(DbUuid),
        lost_reason_id: lost_reason_id.map(DbUuid),
        description: input.description,
        custom_fields: DbJson(serde_json::Value::Object(input.custom_fields)),
        closed_at: kept.closed_at.map(DbTime),
        last_activity_at: DbTime(now),
        created_by: kept.created_by,
        created_at: kept.created_at,
        updated_at: DbTime(now),
        version: kept.version,
    };
    let lines = input
        .lines
        .iter()
        .zip(lines)
        .enumerate()
        .map(|(position, (line, (amounts, total)))| DealLineRow {
            id: DbUuid(Uuid::now_v7()),
            deal_id: id,
            position: position as i32,
            product_id: DbUuid(line.product_id),
            quantity: amounts.quantity,
            unit_price: amounts.unit_price,
            discount: amounts.discount,
            total,
        })
        .collect();
    DealRecord {
        row,
        lines,
        contact_ids: input.contact_ids,
        history: Vec::new(),
    }
}

/// The history entry of a deal entering `to` from `from` at `now`.
fn stage_change(
    acting: &Acting,
    deal: DbUuid,
    from: Option<DbUuid>,
    to: DbUuid,
    now: DateTime<Utc>,
) -> StageChangeRow {
    StageChangeRow {
        id: DbUuid(Uuid::now_v7()),
        deal_id: deal,
        from_stage_id: from,
        to_stage_id: to,
        changed_at: DbTime(now),
        changed_by: acting.user_id.map(DbUuid),
    }
}

/// Tells the deal's owner that the caller gave it to them (unless the caller is the
/// owner).
fn notify_owner(conn: &mut DbConnection, acting: &Acting, row: &DealRow) -> AppResult<()> {
    crate::notifications::notify_assigned(
        conn,
        acting,
        row.owner_id.map(|id| id.0),
        Texts::deal_assigned(&row.title),
        Link {
            kind: LinkType::Deal,
            id: row.id.0,
        },
    )
}

/// Creates a deal (`records:write`) with a customer the caller may see; an owner other
/// than the caller is notified.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: DealInput,
    business_currency: Currency,
) -> AppResult<DealDetails> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let mut input = validated(conn, input)?;
        apply_defaults(conn, acting, &mut input)?;
        let checked = check(conn, acting, input, None, business_currency)?;
        let now = persistence::now();
        let id = DbUuid(Uuid::now_v7());
        let kept = Bookkeeping {
            id,
            closed_at: closed_at_after(None, checked.kind, None, now),
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(now),
            version: 1,
        };
        let mut record = record_of(checked, kept, now);
        record
            .history
            .push(stage_change(acting, id, None, record.row.stage_id, now));
        persistence::deals::insert(conn, &record)?;
        crate::partners::access::after_create(
            conn,
            acting,
            SharedKind::Deal,
            record.row.id.0,
            deal_catalogue,
        )?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "deal.create",
            "deal",
            id.0,
            &serde_json::json!({}),
            &record.audit_snapshot(),
        )?;
        crate::events::publish(
            conn,
            acting,
            &[persistence::events::NewEvent::new(
                DEAL_CREATED,
                "deal",
                id.0,
                serde_json::json!({
                    "deal_id": id.0,
                    "customer_id": record.row.customer_id.0,
                    "pipeline_id": record.row.pipeline_id.0,
                    "stage_id": record.row.stage_id.0,
                    "status": record.row.status,
                }),
                now,
            )],
        )?;
        notify_owner(conn, acting, &record.row)?;
        super::follow_ups::deal_entered_stage(conn, acting, &record.row)?;
        Ok(details(conn, vec![record])?.remove(0))
    })
}

/// Changes a deal (`records:write`) the caller may see to what `edit` makes of it. A
/// new stage is recorded in the stage history; entering `won` or `lost` closes the
/// deal, returning to an open stage reopens it. Any change counts as activity, so the
/// deal is no longer stuck. A new owner other than the caller is notified; entering a stage runs its
/// follow-up rules.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    business_currency: Currency,
    edit: impl FnOnce(&DealInput) -> AppResult<DealInput>,
) -> AppResult<DealDetails> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        persistence::deals::lock(conn, id)?;
        let current = visible(conn, acting, id)?;
        precondition.check(id, current.row.version)?;
        let after = validated(conn, edit(&deal_input(&current)?)?)?;
        let checked = check(conn, acting, after, Some(&current), business_currency)?;
        let now = persistence::now();
        let from = current.row.status()?;
        let moved = checked.stage.id != current.row.stage_id;
        let kept = Bookkeeping {
            id: current.row.id,
            closed_at: closed_at_after(
                Some(from),
                checked.kind,
                current.row.closed_at.map(|at| at.0),
                now,
            ),
            created_by: current.row.created_by,
            created_at: current.row.created_at,
            version: current.row.version,
        };
        let record = record_of(checked, kept, now);
        let change = moved.then(|| {
            stage_change(
                acting,
                record.row.id,
                Some(current.row.stage_id),
                record.row.stage_id,
                now,
            )
        });
        let updated = persistence::deals::update(conn, &record, change.as_ref())?;
        crate::partners::access::apply_rules(conn, SharedKind::Deal, &[id], deal_catalogue)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "deal.update",
            "deal",
            id,
            &current.audit_snapshot(),
            &updated.audit_snapshot(),
        )?;
        let changed = domain::audit::changed_field_names(
            &current.audit_snapshot(),
            &updated.audit_snapshot(),
        );
        if !changed.is_empty() {
            crate::events::publish(
                conn,
                acting,
                &[persistence::events::NewEvent::new(
                    DEAL_UPDATED,
                    "deal",
                    id,
                    serde_json::json!({
                        "deal_id": id,
                        "customer_id": updated.row.customer_id.0,
                        "changed": changed,
                    }),
                    now,
                )],
            )?;
        }
        if updated.row.owner_id != current.row.owner_id {
            notify_owner(conn, acting, &updated.row)?;
        }
        if moved {
            crate::events::publish(
                conn,
                acting,
                &[persistence::events::NewEvent::new(
                    "deal.stage_changed",
                    "deal",
                    id,
                    serde_json::json!({
                        "deal_id": id,
                        "customer_id": updated.row.customer_id.0,
                        "pipeline_id": updated.row.pipeline_id.0,
                        "from_stage_id": current.row.stage_id.0,
                        "to_stage_id": updated.row.stage_id.0,
                        "status": updated.row.status,
                    }),
                    now,
                )],
            )?;
            super::follow_ups::deal_entered_stage(conn, acting, &updated.row)?;
        }
        Ok(details(conn, vec![updated])?.remove(0))
    })
}

/// Deletes a deal the caller may see (`records:delete`), with its lines, contacts and
/// history; the audit log keeps what it was.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::RecordsDelete)?;
    transaction(conn, |conn| {
        persistence::deals::lock(conn, id)?;
        let current = visible(conn, acting, id)?;
        precondition.check(id, current.row.version)?;
        if persistence::quotes::deal_has_quotes(conn, id)? {
            return Err(AppError::Conflict(
                "the deal has quotes, which stay as the record of what was offered".into(),
            ));
        }
        persistence::deals::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "deal.delete",
            "deal",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
