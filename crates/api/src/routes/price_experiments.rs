//! Price experiments (M-7): A/B tests of a product's price, the price each customer is
//! shown (their exposure), and the results with intervals, tests and a decision.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use analytics::experiments::{ArmFigures, Comparison, Decision};
use analytics::intervals::Interval;
use analytics::pricing::TestResult;
use application::price_experiments::{self, Experiment, Exposure, Results, SampleSizeRequest};
use chrono::{DateTime, Utc};
use domain::price_experiments::{ExperimentGoal, ExperimentInput, ExperimentStatus, VariantInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::etag::{self, IfMatch};
use crate::conventions::{JsonBody, MergePatch, Page, PageParams};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_price_experiment,
        list_price_experiments,
        get_price_experiment,
        update_price_experiment,
        delete_price_experiment,
        start_price_experiment,
        stop_price_experiment,
        expose_price_experiment,
        price_experiment_results,
        price_experiment_sample_size
    ),
    components(schemas(
        PriceExperiment,
        PriceVariant,
        ExperimentInput,
        VariantInput,
        ExperimentGoal,
        ExperimentStatus,
        ExposureRequest,
        PriceExposure,
        PriceExperimentResults,
        VariantResult,
        ControlComparison,
        TestFigures,
        ConfidenceInterval,
        ExperimentDecision,
        DecisionOutcome,
        SampleSizeResponse
    ))
)]
pub struct PriceExperimentsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed path before `/{id}`.
    cfg.service(price_experiment_sample_size)
        .service(create_price_experiment)
        .service(list_price_experiments)
        .service(get_price_experiment)
        .service(update_price_experiment)
        .service(delete_price_experiment)
        .service(start_price_experiment)
        .service(stop_price_experiment)
        .service(expose_price_experiment)
        .service(price_experiment_results);
}

/// One price point of an experiment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceVariant {
    pub key: String,
    pub name: Option<String>,
    /// Minor units of the product's currency.
    pub unit_price: i64,
    pub weight: i32,
    pub control: bool,
}

/// A price experiment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceExperiment {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub product_id: Uuid,
    pub segment_id: Option<Uuid>,
    pub goal: ExperimentGoal,
    pub alpha: f64,
    pub minimum_sample_per_variant: i64,
    pub status: ExperimentStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub variants: Vec<PriceVariant>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<&Experiment> for PriceExperiment {
    type Error = crate::error::ApiError;

    fn try_from(experiment: &Experiment) -> ApiResult<PriceExperiment> {
        let row = &experiment.row;
        Ok(PriceExperiment {
            id: row.id.0,
            name: row.name.clone(),
            description: row.description.clone(),
            product_id: row.product_id.0,
            segment_id: row.segment_id.map(|id| id.0),
            goal: experiment.goal()?,
            alpha: row.alpha,
            minimum_sample_per_variant: row.minimum_sample_per_variant,
            status: experiment.status()?,
            started_at: row.started_at.map(|at| at.0),
            stopped_at: row.stopped_at.map(|at| at.0),
            variants: experiment
                .variants
                .iter()
                .map(|variant| PriceVariant {
                    key: variant.key.clone(),
                    name: variant.name.clone(),
                    unit_price: variant.unit_price,
                    weight: variant.weight,
                    control: variant.control,
                })
                .collect(),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            version: row.version,
        })
    }
}

fn experiment_response(req: &HttpRequest, experiment: &Experiment) -> ApiResult<HttpResponse> {
    Ok(etag::single(
        req,
        experiment.row.id.0,
        experiment.row.version,
        &PriceExperiment::try_from(experiment)?,
    ))
}

/// Which experiments to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriceExperimentFilters {
    /// Only experiments in this status.
    pub status: Option<ExperimentStatus>,
    /// Only experiments on this product.
    pub product_id: Option<Uuid>,
}

/// Who is shown the product.
#[derive(Debug, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb"}))]
pub struct ExposureRequest {
    pub customer_id: Uuid,
}

/// The price a customer is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceExposure {
    pub experiment_id: Uuid,
    /// The customer exposed: the one asked for, or the customer it was merged into.
    pub customer_id: Uuid,
    /// Whether the customer takes part (is a member of the experiment's segment).
    pub eligible: bool,
    /// The variant shown; null for a customer who does not take part.
    pub variant: Option<String>,
    /// The price to show, in minor units: the variant's, else the list price.
    pub unit_price: i64,
    pub currency: String,
    /// When the customer was first exposed; null when not taking part.
    pub exposed_at: Option<DateTime<Utc>>,
    /// Whether this request exposed the customer first.
    pub first_exposure: bool,
}

impl PriceExposure {
    fn of(experiment_id: Uuid, exposure: Exposure) -> PriceExposure {
        PriceExposure {
            experiment_id,
            customer_id: exposure.customer_id,
            eligible: exposure.eligible,
            variant: exposure.variant.map(|variant| variant.key),
            unit_price: exposure.unit_price,
            currency: exposure.currency,
            exposed_at: exposure.exposed_at,
            first_exposure: exposure.first,
        }
    }
}

/// A 95 % confidence interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfidenceInterval {
    pub low: f64,
    pub high: f64,
}

fn interval(interval: Option<Interval>) -> Option<ConfidenceInterval> {
    interval.map(|interval| ConfidenceInterval {
        low: interval.low,
        high: interval.high,
    })
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// A test of a treatment against the control.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestFigures {
    pub control: f64,
    pub treatment: f64,
    /// treatment − control.
    pub difference: f64,
    /// difference / control; null when the control's figure is 0.
    pub relative_lift: Option<f64>,
    /// z (conversion) or t (revenue).
    pub statistic: f64,
    /// Two-sided.
    pub p_value: f64,
    /// 95 % interval of the difference.
    pub interval: ConfidenceInterval,
    /// Welch–Satterthwaite degrees of freedom; null for the z-test.
    pub degrees_of_freedom: Option<f64>,
}

fn test(result: Option<TestResult>) -> Option<TestFigures> {
    result.map(|result| TestFigures {
        control: result.control,
        treatment: result.treatment,
        difference: result.difference,
        relative_lift: finite(result.relative_lift),
        statistic: result.statistic,
        p_value: result.p_value,
        interval: ConfidenceInterval {
            low: result.confidence_interval.0,
            high: result.confidence_interval.1,
        },
        degrees_of_freedom: finite(result.degrees_of_freedom),
    })
}

/// A treatment against the control.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControlComparison {
    /// Two-proportion z-test of the conversion rates (pooled statistic, unpooled
    /// interval).
    pub conversion: Option<TestFigures>,
    /// Welch's t-test of the revenue per exposed customer.
    pub revenue_per_exposed: Option<TestFigures>,
    /// P(this variant's conversion rate > the control's), Beta(1, 1) priors.
    pub probability_to_beat_control: Option<f64>,
    /// Whether the goal's p-value is below the experiment's `threshold`.
    pub significant: bool,
}

fn comparison(comparison: Option<Comparison>) -> Option<ControlComparison> {
    comparison.map(|comparison| ControlComparison {
        conversion: test(comparison.conversion),
        revenue_per_exposed: test(comparison.revenue_per_exposed),
        probability_to_beat_control: comparison.probability_to_beat_control,
        significant: comparison.significant,
    })
}

/// One variant's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantResult {
    pub key: String,
    pub name: Option<String>,
    pub unit_price: i64,
    pub control: bool,
    /// Customers shown this variant.
    pub exposed: u64,
    /// Of them, those whose purchases of the product after being shown it are worth
    /// more than 0 net of refunds (a wholly refunded buyer did not convert).
    pub converted: u64,
    /// Their net revenue of the product (less refunds), in minor units.
    pub revenue: i64,
    pub conversion_rate: Option<f64>,
    /// Wilson score interval.
    pub conversion_interval: Option<ConfidenceInterval>,
    /// Revenue per exposed customer, those who bought nothing counting as 0.
    pub revenue_per_exposed: Option<f64>,
    /// Student-t interval.
    pub revenue_interval: Option<ConfidenceInterval>,
    /// Null for the control.
    pub versus_control: Option<ControlComparison>,
}

/// What the experiment shows so far.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Some variant has fewer exposed customers than the minimum: no verdict yet.
    InsufficientSample,
    /// No variant differs from the control beyond chance on the goal.
    NoSignificantDifference,
    /// `winner` is best on the goal: a variant significantly better than the
    /// control, or the control when every other variant is significantly worse.
    Winner,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentDecision {
    pub outcome: DecisionOutcome,
    /// The winning variant's key.
    pub winner: Option<String>,
    /// True while the experiment runs: looking again and again and stopping at the
    /// first winner inflates false positives, so a running experiment's verdict is
    /// provisional; decide on the one read after the stop.
    pub provisional: bool,
}

/// An experiment's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceExperimentResults {
    pub experiment_id: Uuid,
    pub status: ExperimentStatus,
    pub goal: ExperimentGoal,
    pub alpha: f64,
    /// The p-value each comparison must be below: alpha / (variants − 1).
    pub threshold: f64,
    pub minimum_sample_per_variant: i64,
    pub currency: String,
    /// Purchases from each customer's exposure until this instant count: when the
    /// experiment stopped, else now.
    pub counted_until: DateTime<Utc>,
    pub variants: Vec<VariantResult>,
    pub decision: ExperimentDecision,
}

impl PriceExperimentResults {
    fn of(results: Results) -> ApiResult<PriceExperimentResults> {
        let experiment = &results.experiment;
        let figures: Vec<(ArmFigures, Option<Comparison>)> = results
            .evaluation
            .arms
            .into_iter()
            .zip(results.evaluation.comparisons)
            .collect();
        let variants = experiment
            .variants
            .iter()
            .zip(results.totals.iter().zip(&results.revenues))
            .zip(figures)
            .map(
                |((variant, (totals, revenue)), (arm, versus))| VariantResult {
                    key: variant.key.clone(),
                    name: variant.name.clone(),
                    unit_price: variant.unit_price,
                    control: variant.control,
                    exposed: totals.exposed,
                    converted: totals.converted,
                    revenue: *revenue,
                    conversion_rate: arm.conversion_rate,
                    conversion_interval: interval(arm.conversion_interval),
                    revenue_per_exposed: arm.revenue_per_exposed,
                    revenue_interval: interval(arm.revenue_interval),
                    versus_control: comparison(versus),
                },
            )
            .collect();
        let outcome = match results.evaluation.decision {
            Decision::InsufficientSample => DecisionOutcome::InsufficientSample,
            Decision::NoSignificantDifference => DecisionOutcome::NoSignificantDifference,
            Decision::Winner(_) => DecisionOutcome::Winner,
        };
        Ok(PriceExperimentResults {
            experiment_id: experiment.row.id.0,
            status: experiment.status()?,
            goal: experiment.goal()?,
            alpha: experiment.row.alpha,
            threshold: results.evaluation.threshold,
            minimum_sample_per_variant: experiment.row.minimum_sample_per_variant,
            currency: results.currency,
            counted_until: results.until,
            variants,
            decision: ExperimentDecision {
                outcome,
                winner: results.winner,
                provisional: experiment.status()? == ExperimentStatus::Running,
            },
        })
    }
}

/// Create a price experiment.
///
/// A draft testing `variants` (2 to 10 price points, one of them the `control`) of a
/// product on every customer, or on the current members of `segment_id`. Nothing is
/// shown to anyone until it starts. Needs `crm:configure`. Audited as
/// `price_experiment.create`. Problems: 409 `conflict` when the name is taken; 422
/// naming `name`, `product_id`, `segment_id`, `alpha`, `minimum_sample_per_variant`,
/// `variants` or a variant's field (e.g. `variants[1].unit_price`).
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "create_price_experiment",
    request_body = ExperimentInput,
    responses((status = 201, description = "Created", body = PriceExperiment, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/api/v1/price-experiments")]
pub async fn create_price_experiment(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<ExperimentInput>,
) -> ApiResult<HttpResponse> {
    let input = body.0;
    let experiment = state
        .db(move |conn| Ok(price_experiments::create(conn, &principal, input)?))
        .await?;
    let location = format!("/api/v1/price-experiments/{}", experiment.row.id.0);
    Ok(etag::created(
        &location,
        experiment.row.id.0,
        experiment.row.version,
        &PriceExperiment::try_from(&experiment)?,
    ))
}

/// List price experiments.
///
/// In creation order, one page at a time, optionally of one `status` and
/// `product_id`. Needs `records:read`.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "list_price_experiments",
    params(PageParams, PriceExperimentFilters),
    responses((status = 200, description = "One page of experiments", body = Page<PriceExperiment>))
)]
#[get("/api/v1/price-experiments")]
pub async fn list_price_experiments(
    state: web::Data<AppState>,
    principal: Principal,
    page: PageParams,
    filters: web::Query<PriceExperimentFilters>,
) -> ApiResult<HttpResponse> {
    let filters = filters.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let experiments = state
        .db(move |conn| {
            Ok(price_experiments::list(
                conn,
                &principal,
                filters.status,
                filters.product_id,
                cursor.as_ref(),
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        experiments,
        page.limit,
        price_experiments::cursor_after,
        |experiment| PriceExperiment::try_from(&experiment),
    );
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Get a price experiment.
///
/// Needs `records:read`. Answers with an `ETag` for a later `If-Match`.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "get_price_experiment",
    params(("id" = Uuid, Path, description = "Price experiment id")),
    responses((status = 200, description = "Found", body = PriceExperiment, headers(("ETag" = String))))
)]
#[get("/api/v1/price-experiments/{id}")]
pub async fn get_price_experiment(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let experiment = state
        .db(move |conn| Ok(price_experiments::get(conn, &principal, id)?))
        .await?;
    experiment_response(&req, &experiment)
}

/// Change a price experiment (JSON Merge Patch).
///
/// A draft changes in every field (`variants` is replaced whole); once started, only
/// `name` and `description` (anything else is a 422 `immutable`: its customers are
/// split and measured by it). Needs `crm:configure`. Honours `If-Match` (412 when
/// stale). Audited as `price_experiment.update`.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "update_price_experiment",
    params(("id" = Uuid, Path, description = "Price experiment id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = ExperimentInput, content_type = "application/merge-patch+json", example = json!({"description": "تا پایان فصل", "minimum_sample_per_variant": 600})),
    responses((status = 200, description = "Changed", body = PriceExperiment, headers(("ETag" = String))))
)]
#[patch("/api/v1/price-experiments/{id}")]
pub async fn update_price_experiment(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    patch: MergePatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    let experiment = state
        .db(move |conn| {
            Ok(price_experiments::update(
                conn,
                &principal,
                id,
                &precondition,
                |current| patch.apply(current),
            )?)
        })
        .await?;
    experiment_response(&req, &experiment)
}

/// Delete a price experiment.
///
/// With its exposures; a running experiment must be stopped first (409 `conflict`). Needs
/// `crm:configure`. Honours `If-Match`. Audited as `price_experiment.delete`.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "delete_price_experiment",
    params(
        ("id" = Uuid, Path, description = "Price experiment id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; 412 when the record has changed since")
    ),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/api/v1/price-experiments/{id}")]
pub async fn delete_price_experiment(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let precondition = if_match.precondition();
    state
        .db(move |conn| {
            Ok(price_experiments::delete(
                conn,
                &principal,
                id,
                &precondition,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn change_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    if_match: IfMatch,
    to: ExperimentStatus,
) -> ApiResult<HttpResponse> {
    let precondition = if_match.precondition();
    let experiment = state
        .db(move |conn| {
            Ok(price_experiments::change_status(
                conn,
                &principal,
                id,
                &precondition,
                to,
            )?)
        })
        .await?;
    experiment_response(&req, &experiment)
}

/// Start a price experiment.
///
/// A draft starts exposing customers; its definition is fixed from now on. Needs
/// `crm:configure`. Honours `If-Match`. Audited as `price_experiment.start`. Problems:
/// 409 `conflict` when it is not a draft, when the product is inactive, or when
/// another experiment on the product is running.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "start_price_experiment",
    params(("id" = Uuid, Path, description = "Price experiment id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 200, description = "Running", body = PriceExperiment, headers(("ETag" = String))))
)]
#[post("/api/v1/price-experiments/{id}/start")]
pub async fn start_price_experiment(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    change_status(
        req,
        state,
        principal,
        id.into_inner(),
        if_match,
        ExperimentStatus::Running,
    )
    .await
}

/// Stop a price experiment.
///
/// For good: no more exposures, and purchases placed after this instant no longer
/// count (refunds of earlier ones and erasures still change the results). Needs `crm:configure`. Honours `If-Match`. Audited as
/// `price_experiment.stop`. Problems: 409 `conflict` unless it is running.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "stop_price_experiment",
    params(("id" = Uuid, Path, description = "Price experiment id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses((status = 200, description = "Stopped", body = PriceExperiment, headers(("ETag" = String))))
)]
#[post("/api/v1/price-experiments/{id}/stop")]
pub async fn stop_price_experiment(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    change_status(
        req,
        state,
        principal,
        id.into_inner(),
        if_match,
        ExperimentStatus::Stopped,
    )
    .await
}

/// Expose a customer: the price to show them.
///
/// For a running experiment: the customer's variant — the same on every call, chosen
/// by a hash of the experiment and customer ids in proportion to the variants' weights
/// — with its price, stored with the instant of the first exposure (201 then, 200
/// after). A customer outside the experiment's segment is told the product's list
/// price (`eligible` false) and not stored. A merged-away customer's id exposes the
/// customer it was merged into. Purchases of the product placed after the exposure are
/// the variant's conversions. Needs `events:write` (a shop's key) or `records:write`,
/// and a customer the caller may see. The first exposure is audited as
/// `price_experiment.expose` on the customer. Problems: 404 for an unknown or
/// invisible customer; 409 `conflict` unless the experiment is running; 410 `gone` for
/// an erased customer. A customer keeps the variant of their first exposure even after
/// leaving the segment. Problems also: 409 `conflict` when the product was deactivated.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "expose_price_experiment",
    params(("id" = Uuid, Path, description = "Price experiment id")),
    request_body = ExposureRequest,
    responses(
        (status = 201, description = "Exposed now", body = PriceExposure),
        (status = 200, description = "Exposed before, or not taking part", body = PriceExposure),
        (status = 404, description = "No such experiment, or a customer the caller may not see", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The customer was erased", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/price-experiments/{id}/exposures")]
pub async fn expose_price_experiment(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<ExposureRequest>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let customer = body.0.customer_id;
    let exposure = state
        .db(move |conn| Ok(price_experiments::expose(conn, &principal, id, customer)?))
        .await?;
    let body = PriceExposure::of(id, exposure);
    Ok(if body.first_exposure {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// The results of a price experiment.
///
/// Per variant: exposed customers, those who bought the product after their exposure
/// (until the experiment stopped), their net revenue (refunds taken back), the
/// conversion rate (Wilson interval) and the revenue per exposed customer (Student-t
/// interval); per variant but the control, the z-test of the conversion rates,
/// Welch's t-test of the revenue per exposed customer and the probability to beat the
/// control. The decision waits until every variant has `minimum_sample_per_variant`
/// customers and judges the `goal`'s test at `alpha / (variants − 1)` (Bonferroni).
/// They describe every exposed customer: needs `records:read` with visibility over
/// every record. Problems: 409 `conflict` for a draft.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "price_experiment_results",
    params(("id" = Uuid, Path, description = "Price experiment id")),
    responses(
        (status = 200, description = "The results so far", body = PriceExperimentResults),
        (status = 409, description = "The experiment is a draft: it has no results yet", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/api/v1/price-experiments/{id}/results")]
pub async fn price_experiment_results(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let results = state
        .db(move |conn| Ok(price_experiments::results(conn, &principal, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(PriceExperimentResults::of(results)?))
}

/// What an experiment needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleSizeResponse {
    /// Exposed customers each variant needs: a `minimum_sample_per_variant`.
    pub per_variant: u64,
    /// For every variant together.
    pub total: u64,
    /// The level each comparison with the control is judged at: alpha / (variants − 1).
    pub alpha_per_comparison: f64,
}

/// The sample an experiment needs.
///
/// Exposed customers per variant to detect a change of the conversion rate from
/// `baseline_rate` to `minimum_detectable_rate` with the given `power` (Fleiss'
/// formula for two proportions), each comparison with the control at `alpha / (variants
/// − 1)` as the results judge it. Nothing is stored. Needs `records:read`. Problems:
/// 422 naming the parameter out of range.
#[utoipa::path(
    tag = "price_experiments",
    operation_id = "price_experiment_sample_size",
    params(SampleSizeRequest),
    responses((status = 200, description = "The sample needed", body = SampleSizeResponse))
)]
#[get("/api/v1/price-experiments/sample-size")]
pub async fn price_experiment_sample_size(
    principal: Principal,
    request: web::Query<SampleSizeRequest>,
) -> ApiResult<HttpResponse> {
    let size = price_experiments::sample_size(&principal, request.into_inner())?;
    Ok(HttpResponse::Ok().json(SampleSizeResponse {
        per_variant: size.per_variant,
        total: size.total,
        alpha_per_comparison: size.alpha_per_comparison,
    }))
}
