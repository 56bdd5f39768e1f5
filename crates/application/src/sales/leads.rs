//! Leads (S-1): creating, reading, changing, deleting and searching them within the
//! caller's visibility (owner and team, as customers), and converting one into a
//! customer in one transaction.
//!
//! **Conversion** makes the lead's person a customer (kind `person`) and its company a
//! customer (kind `organization`), the person listed as the organization's personnel
//! with the lead's job title — or links either to an existing customer the caller
//! names. A new customer passes the customer duplicate check: a likely twin answers
//! 409 `likely_duplicate` with the candidates, and the caller either names the existing
//! customer or confirms. The lead keeps the customers it became, so a customer's life
//! before it was one stays readable (`converted_customer_id` in the lead search).
//!
//! **Custom fields** of leads are the lead entity's. Conversion carries a lead's value to
//! the customer that receives the lead's contacts when the key is also a customer field
//! of the same kind that accepts the value; other values stay on the lead.

use chrono::NaiveDate;
use domain::assignment::{Method, RecordKind};
use domain::authz::Permission;
use domain::commerce::Currency;
use domain::customers::{validate_custom_fields, CustomFieldDefinition, CustomFieldEntity};
use domain::customers::{AddressInput, CustomerInput, CustomerKind};
use domain::filter::{FieldSpec, Finite, ResolveContext, TypedValue};
use domain::notifications::{Link, LinkType, Texts};
use domain::partners::{ShareAccess, SharedKind};
use domain::sales::deals::{DealInput, DealLineInput};
use domain::sales::leads::{LeadInput, LeadStatus};
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::customers::CustomerRecord;
use persistence::db::DbConnection;
use persistence::events::NewEvent;
use persistence::leads::{LeadColumns, LeadRow};
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::lead_scoring;
use crate::acting::Acting;
use crate::administration::custom_fields;
use crate::assignment::engine::{self, Subject};
use crate::customers::{apply_defaults, check_assignment, personnel};
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::search::{custom_field_specs, Search, SearchRequest, Searchable};
use crate::transaction;

/// The outbox events about leads (workflows on leads start on them, webhooks carry
/// them).
pub const LEAD_CREATED: &str = "lead.created";
pub const LEAD_UPDATED: &str = "lead.updated";
pub const LEAD_STATUS_CHANGED: &str = "lead.status_changed";
pub const LEAD_CONVERTED: &str = "lead.converted";

/// The outbox event `event_type` about lead `id`, its payload naming the lead.
fn lead_event(event_type: &str, id: Uuid, mut payload: serde_json::Value) -> NewEvent {
    if let Some(members) = payload.as_object_mut() {
        members.insert("lead_id".into(), serde_json::json!(id));
    }
    NewEvent::new(event_type, "lead", id, payload, persistence::now())
}

/// Publishes that lead `after` changed from `before`: `lead.updated` with the names of
/// the fields that changed, and `lead.status_changed` when the status did.
pub(crate) fn publish_changed(
    conn: &mut DbConnection,
    acting: &Acting,
    before: &LeadRow,
    after: &LeadRow,
) -> AppResult<()> {
    let changed =
        domain::audit::changed_field_names(&before.audit_snapshot(), &after.audit_snapshot());
    if changed.is_empty() {
        return Ok(());
    }
    let mut events = vec![lead_event(
        LEAD_UPDATED,
        after.id.0,
        serde_json::json!({"changed": changed}),
    )];
    if before.status != after.status {
        events.push(lead_event(
            LEAD_STATUS_CHANGED,
            after.id.0,
            serde_json::json!({"from": before.status, "to": after.status}),
        ));
    }
    crate::events::publish(conn, acting, &events)
}

/// The leads catalogue of the search convention.
pub struct LeadSearch;

impl Searchable for LeadSearch {
    type Columns = LeadColumns;
    type Row = LeadRow;

    const CATALOGUE: &'static [FieldSpec] = domain::sales::leads::CATALOGUE;

    // `q` is looked for in the lead's Persian-normalised search text.
    const QUICK_SEARCH: &'static [&'static str] = &[];
    const OWN_QUICK_SEARCH: bool = true;

    fn sort_value(row: &LeadRow, field: &str) -> Option<TypedValue> {
        Some(match field {
            "id" => TypedValue::Uuid(row.id.0),
            "display_name" => TypedValue::Text(row.display_name.clone()),
            "created_at" => TypedValue::Timestamp(row.created_at.0),
            "updated_at" => TypedValue::Timestamp(row.updated_at.0),
            "score_points" => TypedValue::Integer(row.score_points),
            // A lead without a propensity sorts as null.
            "propensity" => return row.propensity.and_then(Finite::new).map(TypedValue::Number),
            _ => return None,
        })
    }

    fn id(row: &LeadRow) -> Uuid {
        row.id.0
    }
}

/// A stored lead as the input that would write it again (the document a merge patch
/// applies to).
pub fn input_of(row: &LeadRow) -> AppResult<LeadInput> {
    let corrupt = |err: serde_json::Error| AppError::Internal(format!("stored lead: {err}"));
    Ok(LeadInput {
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        company: row.company.clone(),
        job_title: row.job_title.clone(),
        phones: serde_json::from_value(row.phones.0.clone()).map_err(corrupt)?,
        emails: serde_json::from_value(row.emails.0.clone()).map_err(corrupt)?,
        province: row.province.clone(),
        city: row.city.clone(),
        source: row.source.clone(),
        campaign: row.campaign.clone(),
        language: row.language.clone(),
        product_id: row.product_id.map(|id| id.0),
        status: LeadStatus::parse(&row.status)
            .ok_or_else(|| AppError::Internal(format!("stored lead status {}", row.status)))?,
        disqualified_reason: row.disqualified_reason.clone(),
        owner_id: row.owner_id.map(|id| id.0),
        team_id: row.team_id.map(|id| id.0),
        description: row.description.clone(),
        custom_fields: match &row.custom_fields.0 {
            serde_json::Value::Object(values) => values.clone(),
            other => {
                return Err(AppError::Internal(format!(
                    "stored lead custom fields {other}"
                )))
            }
        },
    })
}

/// The lead custom fields, which lead writes are checked against and lead searches may
/// name.
pub fn definitions(conn: &mut DbConnection) -> AppResult<Vec<CustomFieldDefinition>> {
    custom_fields::definitions(conn, CustomFieldEntity::Lead)
}

/// `input` checked by the lead's rules and its custom values by their definitions,
/// every broken rule reported together.
pub fn checked(
    input: LeadInput,
    definitions: &[CustomFieldDefinition],
) -> Result<LeadInput, Vec<FieldViolation>> {
    let values = custom_fields::checked_values(&input.custom_fields, definitions);
    custom_fields::with_checked_values(input.validated(), values, |input, custom_fields| {
        LeadInput {
            custom_fields,
            ..input
        }
    })
}

/// The fields a condition over leads may name: the search catalogue and `custom.<key>`
/// for each lead custom field.
pub fn catalogue(conn: &mut DbConnection) -> AppResult<Vec<FieldSpec>> {
    let mut catalogue = LeadSearch::CATALOGUE.to_vec();
    catalogue.extend(custom_field_specs(&definitions(conn)?));
    Ok(catalogue)
}

/// Checks a lead search body against the catalogue and `custom.<key>` for each lead
/// custom field of `definitions`.
pub fn resolve_search(
    request: SearchRequest,
    definitions: &[CustomFieldDefinition],
    context: &ResolveContext,
) -> AppResult<Search<LeadSearch>> {
    let mut catalogue = LeadSearch::CATALOGUE.to_vec();
    catalogue.extend(custom_field_specs(definitions));
    Search::resolve_with(request, context, &catalogue)
}

/// `row` with the fields of validated `input`.
fn write_input(mut row: LeadRow, input: &LeadInput) -> AppResult<LeadRow> {
    let json = |value: serde_json::Result<serde_json::Value>| {
        value
            .map(DbJson)
            .map_err(|err| AppError::Internal(err.to_string()))
    };
    row.first_name = input.first_name.clone();
    row.last_name = input.last_name.clone();
    row.company = input.company.clone();
    row.job_title = input.job_title.clone();
    row.phones = json(serde_json::to_value(&input.phones))?;
    row.emails = json(serde_json::to_value(&input.emails))?;
    row.province = input.province.clone();
    row.city = input.city.clone();
    row.source = input.source.clone();
    row.campaign = input.campaign.clone();
    row.language = input.language.clone();
    row.product_id = input.product_id.map(DbUuid);
    row.status = input.status.as_str().to_string();
    row.disqualified_reason = input.disqualified_reason.clone();
    row.owner_id = input.owner_id.map(DbUuid);
    row.team_id = input.team_id.map(DbUuid);
    row.description = input.description.clone();
    row.custom_fields = DbJson(serde_json::Value::Object(input.custom_fields.clone()));
    row.display_name = input.display_name();
    row.search_text = input.search_text();
    Ok(row)
}

/// Creates a lead (`records:write`): owner and team default to the caller's, and may be
/// only those the caller may hand records to.
pub fn create(conn: &mut DbConnection, acting: &Acting, input: LeadInput) -> AppResult<LeadRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        let definitions = definitions(conn)?;
        let input = checked(input, &definitions).map_err(AppError::Invalid)?;
        insert_checked(conn, acting, input)
    })
}

/// Writes a new lead from `input` (already checked) in the caller's transaction, as
/// `POST /leads` does: its product checked, owner and team defaulted or picked by the
/// assignment rules, scored, audited as `lead.create`, its owner notified.
pub fn insert_checked(
    conn: &mut DbConnection,
    acting: &Acting,
    mut input: LeadInput,
) -> AppResult<LeadRow> {
    let owner_given = input.owner_id.is_some();
    check_product(conn, &input)?;
    apply_defaults(conn, &mut input, acting)?;
    check_assignment(conn, acting, &input)?;
    let now = DbTime(persistence::now());
    let row = write_input(
        LeadRow {
            id: DbUuid(Uuid::now_v7()),
            first_name: None,
            last_name: None,
            company: None,
            job_title: None,
            phones: DbJson(serde_json::json!([])),
            emails: DbJson(serde_json::json!([])),
            province: None,
            city: None,
            source: None,
            campaign: None,
            status: String::new(),
            disqualified_reason: None,
            owner_id: None,
            team_id: None,
            description: None,
            display_name: String::new(),
            search_text: String::new(),
            converted_customer_id: None,
            converted_organization_id: None,
            converted_at: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
            language: None,
            product_id: None,
            score_points: 0,
            propensity: None,
            propensity_factors: None,
            propensity_run_id: None,
            custom_fields: DbJson(serde_json::json!({})),
        },
        &input,
    )?;
    persistence::leads::insert(conn, &row)?;
    // Scored first, so that assignment rules may route on the points.
    let row = lead_scoring::rescore_lead(conn, row, LeadSearch::CATALOGUE)?;
    let row = assign_created(conn, acting, row, owner_given)?;
    crate::partners::access::after_create(conn, acting, SharedKind::Lead, row.id.0, catalogue)?;
    audit::record_change(
        conn,
        &acting.audit_actor(),
        "lead.create",
        "lead",
        row.id.0,
        &serde_json::json!({}),
        &row.audit_snapshot(),
    )?;
    crate::events::publish(
        conn,
        acting,
        &[lead_event(
            LEAD_CREATED,
            row.id.0,
            serde_json::json!({"status": row.status, "source": row.source}),
        )],
    )?;
    owner_set(conn, acting, &row)?;
    Ok(row)
}

/// A product the lead asked about must exist.
fn check_product(conn: &mut DbConnection, input: &LeadInput) -> AppResult<()> {
    if let Some(product) = input.product_id {
        if persistence::products::find_many(conn, &[product])?.is_empty() {
            return Err(AppError::field(
                "product_id",
                "not_found",
                "no product has this id",
            ));
        }
    }
    Ok(())
}

/// Who a new lead goes to: the owner the caller gave; else the first assignment rule
/// that applies (its owner and team written in the same transaction); else the
/// creator's defaults. The assignment is recorded either way.
fn assign_created(
    conn: &mut DbConnection,
    acting: &Acting,
    mut row: LeadRow,
    owner_given: bool,
) -> AppResult<LeadRow> {
    let owner = row.owner_id.map(|id| id.0);
    let team = row.team_id.map(|id| id.0);
    let decision = if owner_given {
        owner.map(|owner| engine::by_hand(owner, team, Method::Manual, "owner given on create"))
    } else {
        let subject = Subject {
            kind: RecordKind::Lead,
            id: row.id.0,
            city: row.city.as_deref(),
            province: row.province.as_deref(),
            excluded: &[],
        };
        match engine::decide(conn, &subject)? {
            Some(decision) => {
                persistence::leads::set_owner(conn, row.id.0, decision.user_id, decision.team_id)?;
                row.owner_id = Some(DbUuid(decision.user_id));
                row.team_id = decision.team_id.map(DbUuid);
                Some(decision)
            }
            None => owner.map(|owner| {
                engine::by_hand(
                    owner,
                    team,
                    Method::Default,
                    "no assignment rule applied: the creator's defaults",
                )
            }),
        }
    };
    if let Some(decision) = decision {
        engine::record(conn, acting, RecordKind::Lead, row.id.0, &decision)?;
    }
    Ok(row)
}

/// Tells the lead's owner that it was handed to them (unless they handed it to
/// themselves), and queues the follow-ups of a lead assigned.
pub fn owner_set(conn: &mut DbConnection, acting: &Acting, row: &LeadRow) -> AppResult<()> {
    crate::notifications::notify_assigned(
        conn,
        acting,
        row.owner_id.map(|id| id.0),
        Texts::lead_assigned(&row.display_name),
        Link {
            kind: LinkType::Lead,
            id: row.id.0,
        },
    )?;
    super::follow_ups::lead_owner_set(conn, row)
}

/// Whether the caller may see a lead: by its owner and team, as a customer.
pub fn can_see(acting: &Acting, row: &LeadRow) -> bool {
    let scope = acting.scope();
    domain::authz::can_see(
        scope.visibility,
        scope.user_id,
        scope.team_id,
        row.owner_id.map(|id| id.0),
        row.team_id.map(|id| id.0),
    )
}

/// The lead `id` if the caller may see and change it (by owner and team, or a
/// partner's share with write access); one it may only read is forbidden, any other is
/// not found.
pub fn visible(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<LeadRow> {
    reach(conn, acting, id, ShareAccess::Write)
}

fn reach(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    need: ShareAccess,
) -> AppResult<LeadRow> {
    let row = persistence::leads::find(conn, id)?;
    let owned = can_see(acting, &row);
    crate::partners::access::admit(conn, acting, SharedKind::Lead, id, owned, need)?;
    Ok(row)
}

/// A lead (`records:read`); a partner's share of either access will do.
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<LeadRow> {
    acting.require(Permission::RecordsRead)?;
    reach(conn, acting, id, ShareAccess::Read)
}

/// Changes a lead visible to the caller (`records:write`): `edit` turns its current
/// document into the new one, checked as a new lead's. A converted lead no longer
/// changes.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&LeadInput) -> AppResult<LeadInput>,
) -> AppResult<LeadRow> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::leads::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        if current.status == LeadStatus::Converted.as_str() {
            return Err(AppError::Conflict(
                "the lead was converted and can no longer change".into(),
            ));
        }
        let before = input_of(&current)?;
        let definitions = definitions(conn)?;
        let mut after = checked(edit(&before)?, &definitions).map_err(AppError::Invalid)?;
        if after.owner_id.is_none() {
            after.owner_id = before.owner_id;
        }
        if after.owner_id != before.owner_id || after.team_id != before.team_id {
            check_assignment(conn, acting, &after)?;
        }
        if after.product_id != before.product_id {
            check_product(conn, &after)?;
        }
        let row = persistence::leads::update(conn, &write_input(current.clone(), &after)?)?;
        if let Some(owner) = after
            .owner_id
            .filter(|owner| Some(*owner) != before.owner_id)
        {
            let decision = engine::by_hand(owner, after.team_id, Method::Manual, "owner changed");
            engine::record(conn, acting, RecordKind::Lead, id, &decision)?;
        }
        let row = lead_scoring::rescore_lead(conn, row, LeadSearch::CATALOGUE)?;
        crate::partners::access::apply_rules(conn, SharedKind::Lead, &[id], catalogue)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead.update",
            "lead",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        publish_changed(conn, acting, &current, &row)?;
        if row.owner_id != current.owner_id {
            owner_set(conn, acting, &row)?;
        }
        Ok(row)
    })
}

/// Deletes a lead visible to the caller (`records:delete`), converted or not: the
/// customers it became stay; the channel conversations only the lead had go with it.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::RecordsDelete)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::leads::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        // What the lead wrote on the channels is theirs and goes with them; a
        // conversation a customer holds stays with the customer.
        persistence::conversations::delete_of_lead(conn, id)?;
        persistence::leads::delete(conn, id)?;
        persistence::assignment::delete_history(conn, RecordKind::Lead.as_str(), &[id])?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead.delete",
            "lead",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// How many leads the caller may see a search finds (`records:read`).
pub fn count(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<LeadSearch>,
) -> AppResult<i64> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::leads::count(
        conn,
        &search.criteria,
        &quick_search_terms(search),
        &acting.scope(),
    )?)
}

/// The reduced terms of a lead search's `q`.
fn quick_search_terms(search: &Search<LeadSearch>) -> Vec<String> {
    search
        .q
        .as_deref()
        .map(domain::persian::search_terms)
        .unwrap_or_default()
}

/// The next page of a lead search (`records:read`) among the leads the caller may see.
pub fn search(
    conn: &mut DbConnection,
    acting: &Acting,
    search: &Search<LeadSearch>,
) -> AppResult<Vec<LeadRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::leads::search(
        conn,
        &search.criteria,
        &quick_search_terms(search),
        &acting.scope(),
        search.after.as_ref(),
        search.fetch_limit(),
    )?)
}

/// How a lead is converted: which existing customers it becomes, if any.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"confirmed": false}))]
pub struct ConversionRequest {
    /// An existing person (visible to the caller) the lead is; without it a person is
    /// created from the lead's names and contacts.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// An existing organization (visible to the caller) the lead's company is; without
    /// it, and with a company, an organization is created.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// Create the customers even where the duplicate check finds likely twins.
    #[serde(default)]
    pub confirmed: bool,
    /// Also open a deal for the new customer (the organization when there is one),
    /// with the person as its contact and the lead's owner, source and campaign.
    #[serde(default)]
    pub deal: Option<ConvertedDeal>,
}

/// The deal a conversion opens: what `POST /deals` takes but the customer, contacts,
/// owner, source, campaign and lead, which come from the lead.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertedDeal {
    pub title: String,
    /// The default pipeline when absent.
    #[serde(default)]
    pub pipeline_id: Option<Uuid>,
    /// The pipeline's first stage when absent.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<Currency>,
    #[serde(default)]
    pub lines: Vec<DealLineInput>,
    #[serde(default)]
    pub expected_close_date: Option<NaiveDate>,
    #[serde(default)]
    pub description: Option<String>,
    /// Values of the deal custom fields, as on `POST /deals`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// A conversion as performed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Conversion {
    /// The person the lead became, if it names one.
    pub person_id: Option<Uuid>,
    /// The organization the lead's company became, if it has one.
    pub organization_id: Option<Uuid>,
    /// Which of the two were created by the conversion (the others were linked).
    pub created: Vec<Uuid>,
    /// The deal opened with the conversion, if one was asked for.
    pub deal_id: Option<Uuid>,
}

/// An existing customer of `kind` the caller may see, for the request field `field`.
fn existing(
    conn: &mut DbConnection,
    acting: &Acting,
    field: &str,
    id: Uuid,
    kind: CustomerKind,
) -> AppResult<Uuid> {
    let not_found = || AppError::field(field, "not_found", "is not a customer you may see");
    let record = match persistence::customers::find(conn, id) {
        Ok(record) if acting.scope().can_see(&record.row) => record,
        Ok(_) | Err(persistence::PersistenceError::NotFound) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    if record.row.erased_at.is_some() || record.row.merged_into_id.is_some() {
        return Err(AppError::field(
            field,
            "not_active",
            "the customer was erased or merged",
        ));
    }
    if record.row.kind != kind.as_str() {
        return Err(AppError::field(
            field,
            "wrong_kind",
            format!("must be a customer of kind {}", kind.as_str()),
        ));
    }
    Ok(id)
}

/// The lead's custom values that conversion carries over to the customer: those whose
/// key is also a customer field of the same kind and whose value that field accepts (a
/// `select` value that is not one of the customer field's options stays behind).
fn carried_custom_fields(
    lead: &LeadInput,
    lead_fields: &[CustomFieldDefinition],
    customer_fields: &[CustomFieldDefinition],
) -> serde_json::Map<String, serde_json::Value> {
    lead.custom_fields
        .iter()
        .filter(|(key, value)| {
            let kind_of = |fields: &[CustomFieldDefinition]| {
                fields
                    .iter()
                    .find(|field| &field.key == *key)
                    .map(|field| field.kind)
            };
            let Some(customer_field) = customer_fields.iter().find(|field| &field.key == *key)
            else {
                return false;
            };
            kind_of(lead_fields) == Some(customer_field.kind)
                && validate_custom_fields(
                    &serde_json::Map::from_iter([((*key).clone(), (*value).clone())]),
                    std::slice::from_ref(customer_field),
                )
                .is_ok()
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// A new customer of `kind` from the lead, with its contacts and the custom values
/// conversion carries (`carried`) when it is the lead's main record.
fn customer_from(
    lead: &LeadInput,
    kind: CustomerKind,
    with_contacts: bool,
    carried: &serde_json::Map<String, serde_json::Value>,
) -> CustomerInput {
    let mut input = CustomerInput::empty(kind);
    match kind {
        CustomerKind::Person => {
            input.first_name = lead.first_name.clone();
            input.last_name = lead.last_name.clone();
            if input.first_name.is_none() && input.last_name.is_none() {
                // A lead known only by a phone or an e-mail: the person is named so.
                input.last_name = Some(lead.display_name());
            }
        }
        CustomerKind::Organization => input.organization_name = lead.company.clone(),
    }
    if with_contacts {
        input.custom_fields = carried.clone();
        input.phones = lead.phones.clone();
        input.emails = lead.emails.clone();
        if lead.province.is_some() || lead.city.is_some() {
            input.addresses = vec![AddressInput {
                label: None,
                province: lead.province.clone(),
                city: lead.city.clone(),
                line: None,
                postal_code: None,
                po_box: None,
                primary: true,
            }];
        }
    }
    input.acquisition_source = lead.source.clone();
    input.acquisition_campaign = lead.campaign.clone();
    input.owner_id = lead.owner_id;
    input.team_id = lead.team_id;
    input
}

/// A refusal of the conversion's deal, its fields named under `deal.`.
fn in_deal(err: AppError) -> AppError {
    match err {
        AppError::Invalid(violations) => AppError::Invalid(
            violations
                .into_iter()
                .map(|mut violation| {
                    violation.field = format!("deal.{}", violation.field);
                    violation
                })
                .collect(),
        ),
        other => other,
    }
}

/// Converts a lead visible to the caller into customers (module documentation), in one
/// transaction: either everything is created and linked and the lead is `converted`,
/// or nothing changes.
pub fn convert(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    request: ConversionRequest,
    today: NaiveDate,
    business_currency: Currency,
) -> AppResult<(LeadRow, Conversion)> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        visible(conn, acting, id)?;
        let current = persistence::leads::find_for_update(conn, id)?;
        if current.status == LeadStatus::Converted.as_str() {
            return Err(AppError::Conflict("the lead was converted already".into()));
        }
        let lead = input_of(&current)?;
        let has_person = lead.first_name.is_some()
            || lead.last_name.is_some()
            || lead.company.is_none()
            || request.customer_id.is_some();
        let definitions = crate::customers::definitions(conn)?;
        let carried = carried_custom_fields(&lead, &self::definitions(conn)?, &definitions);
        let mut created = Vec::new();
        let mut create = |conn: &mut DbConnection, input: CustomerInput| -> AppResult<Uuid> {
            let record: CustomerRecord = crate::customers::records::create_checked(
                conn,
                acting,
                today,
                &definitions,
                input,
                request.confirmed,
            )?;
            created.push(record.row.id.0);
            Ok(record.row.id.0)
        };
        let person = match request.customer_id {
            Some(customer) => Some(existing(
                conn,
                acting,
                "customer_id",
                customer,
                CustomerKind::Person,
            )?),
            None if has_person => Some(create(
                conn,
                customer_from(&lead, CustomerKind::Person, true, &carried),
            )?),
            None => None,
        };
        let organization = match (request.organization_id, &lead.company) {
            (Some(organization), _) => Some(existing(
                conn,
                acting,
                "organization_id",
                organization,
                CustomerKind::Organization,
            )?),
            (None, Some(_)) => Some(create(
                conn,
                customer_from(
                    &lead,
                    CustomerKind::Organization,
                    person.is_none(),
                    &carried,
                ),
            )?),
            (None, None) => None,
        };
        if let (Some(person), Some(organization)) = (person, organization) {
            if created.contains(&person) || created.contains(&organization) {
                personnel::add(
                    conn,
                    acting,
                    organization,
                    personnel::NewPersonnel {
                        person_id: person,
                        role: lead.job_title.clone(),
                        unit: None,
                        is_primary_contact: true,
                    },
                )?;
            }
        }
        let deal_id = match (request.deal.clone(), organization.or(person)) {
            (Some(deal), Some(customer)) => {
                let input = DealInput {
                    title: deal.title,
                    customer_id: customer,
                    contact_ids: match (person, organization) {
                        (Some(person), Some(_)) => vec![person],
                        _ => Vec::new(),
                    },
                    owner_id: lead.owner_id,
                    team_id: lead.team_id,
                    pipeline_id: deal.pipeline_id,
                    stage_id: deal.stage_id,
                    amount: deal.amount,
                    currency: deal.currency,
                    lines: deal.lines,
                    expected_close_date: deal.expected_close_date,
                    source: lead.source.clone(),
                    campaign: lead.campaign.clone(),
                    lead_id: Some(id),
                    lost_reason_id: None,
                    description: deal.description,
                    custom_fields: deal.custom_fields,
                };
                let details = super::deals::create(conn, acting, input, business_currency)
                    .map_err(in_deal)?;
                Some(details.record.row.id.0)
            }
            _ => None,
        };
        let mut converted = current.clone();
        converted.status = LeadStatus::Converted.as_str().to_string();
        converted.converted_customer_id = person.or(organization).map(DbUuid);
        converted.converted_organization_id = organization.map(DbUuid);
        converted.converted_at = Some(DbTime(persistence::now()));
        let row = persistence::leads::update(conn, &converted)?;
        // What the lead wrote on the channels is now the customer's.
        if let Some(customer) = row.converted_customer_id {
            persistence::conversations::move_lead_to_customer(conn, id, customer.0)?;
        }
        let row = lead_scoring::rescore_lead(conn, row, LeadSearch::CATALOGUE)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lead.convert",
            "lead",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        crate::events::publish(
            conn,
            acting,
            &[lead_event(
                LEAD_CONVERTED,
                id,
                serde_json::json!({
                    "customer_id": row.converted_customer_id.map(|id| id.0),
                    "person_id": person,
                    "organization_id": organization,
                    "deal_id": deal_id,
                }),
            )],
        )?;
        Ok((
            row,
            Conversion {
                person_id: person,
                organization_id: organization,
                created,
                deal_id,
            },
        ))
    })
}
