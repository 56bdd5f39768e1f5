//! Retention rules: how long each kind of data is kept before the daily job
//! deletes or anonymises it, a dry run, and a run on demand; `privacy:manage`.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use application::administration::retention::{self, KindPreview, RetentionRule};
use application::jobs::queue;
use application::AppError;
use chrono::{DateTime, Utc};
use domain::retention::{RetentionAction, RetentionKind, RetentionRuleInput};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::jobs::{accepted, JobResource};
use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::JsonBody;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_retention_rules,
        get_retention_rule,
        put_retention_rule,
        delete_retention_rule,
        dry_run_retention,
        run_retention
    ),
    components(schemas(
        RetentionRuleResource,
        RetentionRules,
        RetentionRuleInput,
        RetentionKind,
        RetentionAction,
        RetentionDryRunRequest,
        ProposedRetentionRule,
        RetentionDryRunReport,
        RetentionPreview
    ))
)]
pub struct RetentionRulesApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_retention_rules)
        .service(dry_run_retention)
        .service(run_retention)
        .service(get_retention_rule)
        .service(put_retention_rule)
        .service(delete_retention_rule);
}

/// A retention rule as stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RetentionRule)]
pub struct RetentionRuleResource {
    pub kind: RetentionKind,
    pub keep_days: u32,
    pub action: RetentionAction,
    pub enabled: bool,
    /// When the rule was last applied, and how many rows that run removed.
    pub last_applied_at: Option<DateTime<Utc>>,
    pub last_removed: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<&RetentionRule> for RetentionRuleResource {
    fn from(rule: &RetentionRule) -> Self {
        RetentionRuleResource {
            kind: rule.kind,
            keep_days: rule.input.keep_days,
            action: rule.input.action,
            enabled: rule.input.enabled,
            last_applied_at: rule.row.last_applied_at.map(|at| at.0),
            last_removed: rule.row.last_removed,
            created_at: rule.row.created_at.0,
            updated_at: rule.row.updated_at.0,
            version: rule.row.version,
        }
    }
}

/// Every rule; at most one per kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRules {
    pub items: Vec<RetentionRuleResource>,
}

/// Rules to count for, instead of the stored enabled ones.
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rules": [{"kind": "messages", "keep_days": 365, "action": "anonymise"}]}))]
pub struct RetentionDryRunRequest {
    #[serde(default)]
    #[schema(max_items = 7)]
    pub rules: Option<Vec<ProposedRetentionRule>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposedRetentionRule {
    pub kind: RetentionKind,
    pub keep_days: u32,
    pub action: RetentionAction,
}

/// What a dry run found.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionDryRunReport {
    pub kinds: Vec<RetentionPreview>,
}

/// What one rule would remove now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionPreview {
    pub kind: RetentionKind,
    pub action: RetentionAction,
    pub keep_days: u32,
    /// Data aged before this instant is reached.
    pub cutoff: DateTime<Utc>,
    /// Rows that would be deleted or anonymised.
    pub rows: i64,
    /// The age of the oldest of them.
    pub oldest: Option<DateTime<Utc>>,
}

impl From<KindPreview> for RetentionPreview {
    fn from(preview: KindPreview) -> Self {
        RetentionPreview {
            kind: preview.kind,
            action: preview.action,
            keep_days: preview.keep_days,
            cutoff: preview.cutoff,
            rows: preview.rows,
            oldest: preview.oldest,
        }
    }
}

/// The kind named in a path; an unknown one names no rule.
fn kind_of(path: &str) -> ApiResult<RetentionKind> {
    Ok(RetentionKind::parse(path).ok_or(AppError::NotFound)?)
}

/// List retention rules.
///
/// In kind order. Needs `privacy:manage`.
#[utoipa::path(
    tag = "retention",
    operation_id = "list_retention_rules",
    responses((status = 200, description = "Every rule", body = RetentionRules))
)]
#[get("/api/v1/retention-rules")]
pub async fn list_retention_rules(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let rules = state
        .db(move |conn| Ok(retention::list(conn, &principal.0)?))
        .await?;
    Ok(HttpResponse::Ok().json(RetentionRules {
        items: rules.iter().map(RetentionRuleResource::from).collect(),
    }))
}

/// Get the retention rule of a kind.
///
/// Needs `privacy:manage`. 404 when the kind has no rule (its data is kept for ever).
#[utoipa::path(
    tag = "retention",
    operation_id = "get_retention_rule",
    params(("kind" = RetentionKind, Path, description = "Kind of data")),
    responses(
        (status = 200, description = "Found", body = RetentionRuleResource, headers(("ETag" = String))),
        (status = 404, description = "No rule for the kind", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/retention-rules/{kind}")]
pub async fn get_retention_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    kind: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let kind = kind_of(&kind)?;
    let rule = state
        .db(move |conn| Ok(retention::get(conn, &principal.0, kind)?))
        .await?;
    Ok(etag::single(
        &req,
        retention::rule_id(kind),
        rule.row.version,
        &RetentionRuleResource::from(&rule),
    ))
}

/// Set the retention rule of a kind.
///
/// Data of the kind older than `keep_days` is deleted or anonymised by the daily
/// `retention.apply` job (at midnight in the business time zone) or a run on demand
/// (`POST /retention-rules/runs`). What each kind reaches, by which date, and what an
/// anonymised row keeps:
///
/// - `messages` (by when sent or received): `delete`, or `anonymise` (the text and
///   subject become `[removed]`; channel, direction, time and sentiment stay).
/// - `behavioural_events` (by when they happened): `delete`; the per-customer counts
///   built from them stay.
/// - `closed_tickets` (status `closed`, by when closed): `delete` (with messages, notes,
///   attachments and history), or `anonymise` (subject and every message become
///   `[removed]`, description, tags, custom fields, survey comments and time-entry notes
///   go, attachments are deleted; number, dates and SLA figures stay).
/// - `inactive_leads` (not converted, by their last change): `delete`, or `anonymise`
///   (the name becomes `[removed]`; names, company, title, phones, e-mails, description,
///   disqualification reason, custom fields and contact points go; source, campaign,
///   place, status, owner, scores and dates stay). Either way the lead's own
///   conversations go.
/// - `audit_detail` (by when the event happened): `anonymise` only; each event's
///   `changes` become their digest, so the hash chain still verifies.
/// - `export_files` (exports' results and uploaded import files, by when made): `delete`.
/// - `webhook_deliveries` (no longer pending, by when queued): `delete`.
///
/// Audit events about a removed or anonymised lead or ticket lose their detail too.
/// 201 when the kind had no rule, 200 otherwise. Needs `privacy:manage`. Honours
/// `If-Match`. Audited as `retention_rule.create` or `retention_rule.update`. Problems:
/// 422 `validation_failed` (`keep_days` `out_of_range`, 1 to 36500; `action`
/// `not_for_kind`).
#[utoipa::path(
    tag = "retention",
    operation_id = "put_retention_rule",
    params(
        ("kind" = RetentionKind, Path, description = "Kind of data"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the rule has changed since")
    ),
    request_body = RetentionRuleInput,
    responses(
        (status = 200, description = "Changed", body = RetentionRuleResource, headers(("ETag" = String))),
        (status = 201, description = "Created", body = RetentionRuleResource, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/api/v1/retention-rules/{kind}")]
pub async fn put_retention_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    kind: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<RetentionRuleInput>,
) -> ApiResult<HttpResponse> {
    let kind = kind_of(&kind)?;
    let precondition = if_match.precondition();
    let input = body.0;
    let (rule, created) = state
        .db(move |conn| {
            Ok(retention::put(
                conn,
                &principal.0,
                kind,
                input,
                &precondition,
            )?)
        })
        .await?;
    let resource = RetentionRuleResource::from(&rule);
    let id = retention::rule_id(kind);
    Ok(if created {
        let location = format!("/api/v1/retention-rules/{}", kind.as_str());
        etag::created(&location, id, rule.row.version, &resource)
    } else {
        etag::single(&req, id, rule.row.version, &resource)
    })
}

/// Remove the retention rule of a kind.
///
/// Its data is kept for ever again. Needs `privacy:manage`. Honours `If-Match`. Audited
/// as `retention_rule.delete`.
#[utoipa::path(
    tag = "retention",
    operation_id = "delete_retention_rule",
    params(
        ("kind" = RetentionKind, Path, description = "Kind of data"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the rule has changed since")
    ),
    responses((status = 204, description = "Removed"))
)]
#[delete("/api/v1/retention-rules/{kind}")]
pub async fn delete_retention_rule(
    state: web::Data<AppState>,
    principal: Principal,
    kind: web::Path<String>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let kind = kind_of(&kind)?;
    let precondition = if_match.precondition();
    state
        .db(move |conn| Ok(retention::delete(conn, &principal.0, kind, &precondition)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Count what retention would remove now (dry run).
///
/// Changes nothing. Without `rules`, counts for the stored enabled rules; with them,
/// for those rules instead (at most one per kind), e.g. to see what a rule would take
/// before setting it. Needs `privacy:manage`. Problems: 422 `validation_failed` naming
/// `rules[i].keep_days`, `rules[i].action` or a `rules[i].kind` given twice.
#[utoipa::path(
    tag = "retention",
    operation_id = "dry_run_retention",
    request_body = RetentionDryRunRequest,
    responses(
        (status = 200, description = "What would go", body = RetentionDryRunReport),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/retention-rules/dry-run")]
pub async fn dry_run_retention(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<RetentionDryRunRequest>,
) -> ApiResult<HttpResponse> {
    let proposed = body.0.rules.map(|rules| {
        rules
            .into_iter()
            .map(|rule| {
                (
                    rule.kind,
                    RetentionRuleInput {
                        keep_days: rule.keep_days,
                        action: rule.action,
                        enabled: true,
                    },
                )
            })
            .collect()
    });
    let kinds = state
        .db(move |conn| Ok(retention::dry_run(conn, &principal.0, proposed)?))
        .await?;
    Ok(HttpResponse::Ok().json(RetentionDryRunReport {
        kinds: kinds.into_iter().map(RetentionPreview::from).collect(),
    }))
}

/// Apply the retention rules now.
///
/// Queues a `retention.apply` job that applies every enabled rule, as the daily one
/// does; its result lists per kind the rows removed. Each batch of up to 1,000 rows is
/// removed in its own transaction and audited as `retention.apply`. Answers 202 with
/// the job and its `Location`. Needs `privacy:manage`.
#[utoipa::path(
    tag = "retention",
    operation_id = "run_retention",
    responses((
        status = 202,
        description = "Queued; follow `Location` for its progress and result",
        body = JobResource,
        headers(("Location" = String, description = "The job: `/api/v1/jobs/{id}`"))
    ))
)]
#[post("/api/v1/retention-rules/runs")]
pub async fn run_retention(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let job = state
        .db(move |conn| Ok(queue::retention_run(conn, &principal.0)?))
        .await?;
    accepted(job)
}
