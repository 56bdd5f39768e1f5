//! Price experiments (M-7): the definitions (`crm:configure`; a draft changes freely,
//! a started experiment only in name and description), starting and stopping, the
//! exposure of a customer — the variant they see, chosen by
//! `domain::price_experiments::assign` and kept from the first exposure — and the
//! results, evaluated by `analytics::experiments` from the sums
//! `persistence::price_experiments::arm_sums` asks of the database.
//!
//! A conversion is a purchase of the product placed after the customer's exposure and
//! before the experiment stopped, worth its net line total (less refunds), so a return
//! takes revenue back from the variant as from every other figure.

use analytics::experiments::{self, ArmTotals, Decision, Evaluation};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::price_experiments::{
    assign, definition_editable, ExperimentGoal, ExperimentInput, ExperimentStatus, VariantInput,
};
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::price_experiments::{ExperimentRow, ExposureRow, VariantRow};
use persistence::sql_types::{DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::analytics::access::require_reader;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, creation_cursor, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// An experiment with its variants in their stored order.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub row: ExperimentRow,
    pub variants: Vec<VariantRow>,
}

impl Experiment {
    pub fn status(&self) -> AppResult<ExperimentStatus> {
        ExperimentStatus::parse(&self.row.status).ok_or_else(|| corrupt(&self.row, "status"))
    }

    pub fn goal(&self) -> AppResult<ExperimentGoal> {
        ExperimentGoal::parse(&self.row.goal).ok_or_else(|| corrupt(&self.row, "goal"))
    }

    fn snapshot(&self) -> serde_json::Value {
        self.row.audit_snapshot(&self.variants)
    }
}

fn corrupt(row: &ExperimentRow, what: &str) -> AppError {
    AppError::Internal(format!(
        "price experiment {} has an unknown {what}",
        row.id.0
    ))
}

fn load(conn: &mut DbConnection, row: ExperimentRow) -> AppResult<Experiment> {
    let variants = persistence::price_experiments::variants(conn, row.id.0)?;
    Ok(Experiment { row, variants })
}

fn found(conn: &mut DbConnection, id: Uuid) -> AppResult<Experiment> {
    let row = persistence::price_experiments::find(conn, id)?;
    load(conn, row)
}

/// [`found`] with the experiment's row locked until the transaction ends.
fn locked(conn: &mut DbConnection, id: Uuid) -> AppResult<Experiment> {
    let row = persistence::price_experiments::find_for_update(conn, id)?;
    load(conn, row)
}

/// The document a merge patch of an experiment applies to.
pub fn experiment_input(experiment: &Experiment) -> AppResult<ExperimentInput> {
    Ok(ExperimentInput {
        name: experiment.row.name.clone(),
        description: experiment.row.description.clone(),
        product_id: experiment.row.product_id.0,
        segment_id: experiment.row.segment_id.map(|id| id.0),
        goal: experiment.goal()?,
        alpha: experiment.row.alpha,
        minimum_sample_per_variant: experiment.row.minimum_sample_per_variant,
        variants: experiment
            .variants
            .iter()
            .map(|variant| VariantInput {
                key: variant.key.clone(),
                name: variant.name.clone(),
                unit_price: variant.unit_price,
                weight: variant.weight,
                control: variant.control,
            })
            .collect(),
    })
}

/// `input` checked: its own rules, and that the product and the segment exist unless
/// they are `before`'s (a segment deleted since does not stop a rename); every problem
/// reported at once.
fn checked(
    conn: &mut DbConnection,
    input: ExperimentInput,
    before: Option<&ExperimentInput>,
) -> AppResult<ExperimentInput> {
    let mut missing = Vec::new();
    let product_known = before.is_some_and(|before| before.product_id == input.product_id);
    let segment_known = before.is_some_and(|before| before.segment_id == input.segment_id);
    match persistence::products::find(conn, input.product_id) {
        _ if product_known => {}
        Ok(_) => {}
        Err(PersistenceError::NotFound) => missing.push(FieldViolation::new(
            "product_id",
            "not_found",
            "no product has this id",
        )),
        Err(err) => return Err(err.into()),
    }
    if let Some(segment) = input.segment_id.filter(|_| !segment_known) {
        match persistence::segments::find(conn, segment) {
            Ok(_) => {}
            Err(PersistenceError::NotFound) => missing.push(FieldViolation::new(
                "segment_id",
                "not_found",
                "no segment has this id",
            )),
            Err(err) => return Err(err.into()),
        }
    }
    match input.validated() {
        Ok(input) if missing.is_empty() => Ok(input),
        Ok(_) => Err(AppError::Invalid(missing)),
        Err(mut violations) => {
            violations.extend(missing);
            Err(AppError::Invalid(violations))
        }
    }
}

fn variant_rows(experiment: Uuid, variants: &[VariantInput]) -> Vec<VariantRow> {
    variants
        .iter()
        .enumerate()
        .map(|(position, variant)| VariantRow {
            experiment_id: DbUuid(experiment),
            key: variant.key.clone(),
            position: position as i32,
            name: variant.name.clone(),
            unit_price: variant.unit_price,
            weight: variant.weight,
            control: variant.control,
        })
        .collect()
}

/// Creates a draft experiment (`crm:configure`).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: ExperimentInput,
) -> AppResult<Experiment> {
    acting.require(Permission::CrmConfigure)?;
    let input = checked(conn, input, None)?;
    let now = DbTime(persistence::now());
    let id = Uuid::now_v7();
    let experiment = Experiment {
        row: ExperimentRow {
            id: DbUuid(id),
            name: input.name,
            description: input.description,
            product_id: DbUuid(input.product_id),
            segment_id: input.segment_id.map(DbUuid),
            goal: input.goal.as_str().to_string(),
            alpha: input.alpha,
            minimum_sample_per_variant: input.minimum_sample_per_variant,
            status: ExperimentStatus::Draft.as_str().to_string(),
            started_at: None,
            stopped_at: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
        },
        variants: variant_rows(id, &input.variants),
    };
    transaction(conn, |conn| {
        persistence::price_experiments::insert(conn, &experiment.row, &experiment.variants)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "price_experiment.create",
            "price_experiment",
            id,
            &json!({}),
            &experiment.snapshot(),
        )?;
        Ok(())
    })?;
    Ok(experiment)
}

/// An experiment (`records:read`: its definition is the business's, like a segment's).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Experiment> {
    acting.require(Permission::RecordsRead)?;
    found(conn, id)
}

/// Experiments in creation order after `cursor`, of one status and product when given.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    status: Option<ExperimentStatus>,
    product: Option<Uuid>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<Experiment>> {
    acting.require(Permission::RecordsRead)?;
    let rows = persistence::price_experiments::list(
        conn,
        status.map(ExperimentStatus::as_str),
        product,
        created_after(cursor)?,
        limit,
    )?;
    rows.into_iter().map(|row| load(conn, row)).collect()
}

pub fn cursor_after(experiment: &Experiment) -> Cursor {
    creation_cursor(experiment.row.created_at.0, experiment.row.id.0)
}

/// The fields a started experiment refuses to change, each named with its rule: its
/// customers were split and are being measured by them.
fn frozen_changes(before: &ExperimentInput, after: &ExperimentInput) -> Vec<FieldViolation> {
    let frozen = |field: &str| {
        FieldViolation::new(
            field,
            "immutable",
            "fixed once the experiment has started; create another experiment",
        )
    };
    let mut violations = Vec::new();
    if after.product_id != before.product_id {
        violations.push(frozen("product_id"));
    }
    if after.segment_id != before.segment_id {
        violations.push(frozen("segment_id"));
    }
    if after.goal != before.goal {
        violations.push(frozen("goal"));
    }
    if after.alpha != before.alpha {
        violations.push(frozen("alpha"));
    }
    if after.minimum_sample_per_variant != before.minimum_sample_per_variant {
        violations.push(frozen("minimum_sample_per_variant"));
    }
    if after.variants != before.variants {
        violations.push(frozen("variants"));
    }
    violations
}

/// Changes an experiment (`crm:configure`): `edit` turns its current document into
/// the new one. Once started, only the name and description change.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&ExperimentInput) -> AppResult<ExperimentInput>,
) -> AppResult<Experiment> {
    acting.require(Permission::CrmConfigure)?;
    let current = found(conn, id)?;
    precondition.check(id, current.row.version)?;
    let before = experiment_input(&current)?;
    let after = edit(&before)?;
    if !definition_editable(current.status()?) {
        let frozen = frozen_changes(&before, &after);
        if !frozen.is_empty() {
            return Err(AppError::Invalid(frozen));
        }
    }
    let after = checked(conn, after, Some(&before))?;
    transaction(conn, |conn| {
        let current = locked(conn, id)?;
        precondition.check(id, current.row.version)?;
        let editable = definition_editable(current.status()?);
        if !editable && !frozen_changes(&experiment_input(&current)?, &after).is_empty() {
            return Err(AppError::Conflict(
                "the experiment started meanwhile; only its name and description change now".into(),
            ));
        }
        let mut row = current.row.clone();
        row.name = after.name.clone();
        row.description = after.description.clone();
        row.product_id = DbUuid(after.product_id);
        row.segment_id = after.segment_id.map(DbUuid);
        row.goal = after.goal.as_str().to_string();
        row.alpha = after.alpha;
        row.minimum_sample_per_variant = after.minimum_sample_per_variant;
        let variants = editable.then(|| variant_rows(id, &after.variants));
        let row = persistence::price_experiments::update(conn, &row, variants.as_deref())?;
        let updated = Experiment {
            row,
            variants: variants.unwrap_or(current.variants.clone()),
        };
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "price_experiment.update",
            "price_experiment",
            id,
            &current.snapshot(),
            &updated.snapshot(),
        )?;
        Ok(updated)
    })
}

/// Deletes an experiment with its exposures (`crm:configure`); a running one must be
/// stopped first.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = locked(conn, id)?;
        precondition.check(id, current.row.version)?;
        if current.status()? == ExperimentStatus::Running {
            return Err(AppError::Conflict(
                "the experiment is running; stop it before deleting it".into(),
            ));
        }
        persistence::price_experiments::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "price_experiment.delete",
            "price_experiment",
            id,
            &current.snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// Moves a draft to `running` or a running experiment to `stopped` (`crm:configure`),
/// stamping the instant. A product runs one experiment at a time, and only an active
/// product starts one.
pub fn change_status(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    to: ExperimentStatus,
) -> AppResult<Experiment> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = locked(conn, id)?;
        precondition.check(id, current.row.version)?;
        let from = current.status()?;
        let now = DbTime(persistence::now());
        let mut row = current.row.clone();
        match (from, to) {
            (ExperimentStatus::Draft, ExperimentStatus::Running) => {
                if !persistence::products::find(conn, row.product_id.0)?.active {
                    return Err(AppError::Conflict(
                        "the product is inactive; activate it before testing its price".into(),
                    ));
                }
                row.started_at = Some(now);
            }
            (ExperimentStatus::Running, ExperimentStatus::Stopped) => row.stopped_at = Some(now),
            _ => {
                return Err(AppError::Conflict(format!(
                    "a {} experiment cannot become {}: drafts start, running experiments stop",
                    from.as_str(),
                    to.as_str()
                )))
            }
        }
        row.status = to.as_str().to_string();
        let row = persistence::price_experiments::change_status(conn, &row)?;
        let changed = Experiment {
            row,
            variants: current.variants.clone(),
        };
        let action = match to {
            ExperimentStatus::Running => "price_experiment.start",
            _ => "price_experiment.stop",
        };
        audit::record_change(
            conn,
            &acting.audit_actor(),
            action,
            "price_experiment",
            id,
            &current.snapshot(),
            &changed.snapshot(),
        )?;
        Ok(changed)
    })
}

/// What a customer is shown for the experiment's product.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// The customer exposed: the one asked for, or the one it was merged into.
    pub customer_id: Uuid,
    /// Whether the customer takes part (a member of the experiment's segment, if any).
    pub eligible: bool,
    /// The variant shown; `None` for a customer who does not take part.
    pub variant: Option<VariantRow>,
    /// The price to show: the variant's, else the product's list price.
    pub unit_price: i64,
    pub currency: String,
    /// When the customer was first exposed.
    pub exposed_at: Option<DateTime<Utc>>,
    /// Whether this request exposed the customer first.
    pub first: bool,
}

/// The customers `id` stands for, from itself to the one it was merged into (last):
/// an exposure of any of them is the customer's.
fn merge_chain(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Vec<Uuid>> {
    let chain = crate::customers::merge_chain(conn, acting, id)?;
    if chain.iter().any(|record| record.row.erased_at.is_some()) {
        return Err(AppError::Gone("the customer was erased".into()));
    }
    Ok(chain.iter().map(|record| record.row.id.0).collect())
}

/// Exposes `customer` to a running experiment and answers the price to show them
/// (`events:write`, the scope of a shop's key, or `records:write`). The variant is
/// the one `assign` gives, stored with the instant of the first exposure; asking again
/// answers the stored one, even if two requests for one customer race. A customer
/// outside the experiment's segment is told the list price and not stored.
pub fn expose(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    customer: Uuid,
) -> AppResult<Exposure> {
    if !(acting.can(Permission::EventsWrite) || acting.can(Permission::RecordsWrite)) {
        return Err(AppError::Forbidden);
    }
    transaction(conn, |conn| {
        // Shared with other exposures, exclusive of a stop or a delete: an exposure is
        // stored while the experiment runs, or not at all.
        let row = persistence::price_experiments::find_for_share(conn, id)?;
        let experiment = load(conn, row)?;
        if experiment.status()? != ExperimentStatus::Running {
            return Err(AppError::Conflict(format!(
                "the experiment is {}; only a running experiment exposes customers",
                experiment.row.status
            )));
        }
        let chain = merge_chain(conn, acting, customer)?;
        let customer = *chain.last().unwrap_or(&customer);
        let product = persistence::products::find(conn, experiment.row.product_id.0)?;
        if !product.active {
            return Err(AppError::Conflict(
                "the product is no longer sold; stop the experiment".into(),
            ));
        }
        // A customer keeps the variant of their first exposure, whether it was under
        // this id or one merged into it, and whatever their segments are now.
        let mut existing = None;
        for id_in_chain in chain.iter().rev() {
            existing = persistence::price_experiments::exposure(conn, id, *id_in_chain)?;
            if existing.is_some() {
                break;
            }
        }
        let eligible = existing.is_some()
            || match experiment.row.segment_id {
                Some(segment) => {
                    persistence::price_experiments::is_member(conn, segment.0, customer)?
                }
                None => true,
            };
        if !eligible {
            return Ok(Exposure {
                customer_id: customer,
                eligible,
                variant: None,
                unit_price: product.unit_price,
                currency: product.currency,
                exposed_at: None,
                first: false,
            });
        }
        let (row, first) = match existing {
            Some(row) => (row, false),
            None => {
                let weights: Vec<i32> = experiment.variants.iter().map(|v| v.weight).collect();
                let chosen = &experiment.variants[assign(id, customer, &weights)];
                let row = ExposureRow {
                    experiment_id: DbUuid(id),
                    customer_id: DbUuid(customer),
                    variant_key: chosen.key.clone(),
                    exposed_at: DbTime(persistence::now()),
                };
                if persistence::price_experiments::insert_exposure(conn, &row)? {
                    // Filed under the customer, so that erasure redacts it and the
                    // personal-data export lists it.
                    audit::record_change(
                        conn,
                        &acting.audit_actor(),
                        "price_experiment.expose",
                        "customer",
                        customer,
                        &json!({}),
                        &json!({"price_experiment_id": id, "variant": row.variant_key}),
                    )?;
                    (row, true)
                } else {
                    let stored = persistence::price_experiments::exposure(conn, id, customer)?
                        .ok_or_else(|| {
                            AppError::Internal("an exposure vanished as it was stored".into())
                        })?;
                    (stored, false)
                }
            }
        };
        let variant = experiment
            .variants
            .iter()
            .find(|variant| variant.key == row.variant_key)
            .cloned()
            .ok_or_else(|| {
                AppError::Internal(format!("exposure to unknown variant {}", row.variant_key))
            })?;
        Ok(Exposure {
            customer_id: customer,
            eligible,
            unit_price: variant.unit_price,
            variant: Some(variant),
            currency: product.currency,
            exposed_at: Some(row.exposed_at.0),
            first,
        })
    })
}

/// An experiment's results so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    pub experiment: Experiment,
    pub currency: String,
    /// The end of the window purchases are counted in: when the experiment stopped,
    /// else now.
    pub until: DateTime<Utc>,
    /// Per variant, in the variants' order.
    pub totals: Vec<ArmTotals>,
    /// Per variant, the net revenue exactly, in minor units.
    pub revenues: Vec<i64>,
    pub evaluation: Evaluation,
    /// The winning variant's key.
    pub winner: Option<String>,
}

/// The results of a started experiment: they describe every exposed customer, so
/// reading them needs `records:read` with visibility over every record.
pub fn results(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<Results> {
    require_reader(acting)?;
    let experiment = found(conn, id)?;
    if experiment.status()? == ExperimentStatus::Draft {
        return Err(AppError::Conflict(
            "the experiment has not started; it has no results yet".into(),
        ));
    }
    let product = persistence::products::find(conn, experiment.row.product_id.0)?;
    let until = experiment
        .row
        .stopped_at
        .map_or_else(persistence::now, |at| at.0);
    let sums =
        persistence::price_experiments::arm_sums(conn, id, product.id.0, &product.currency, until)?;
    // Variants nobody saw yet have no row: zeros.
    let (totals, revenues): (Vec<ArmTotals>, Vec<i64>) = experiment
        .variants
        .iter()
        .map(
            |variant| match sums.iter().find(|sum| sum.variant_key == variant.key) {
                Some(sum) => (
                    ArmTotals {
                        exposed: sum.exposed.max(0) as u64,
                        converted: sum.converted.max(0) as u64,
                        revenue: sum.revenue as f64,
                        revenue_squares: sum.revenue_squares,
                    },
                    sum.revenue,
                ),
                None => (
                    ArmTotals {
                        exposed: 0,
                        converted: 0,
                        revenue: 0.0,
                        revenue_squares: 0.0,
                    },
                    0,
                ),
            },
        )
        .unzip();
    let control = experiment
        .variants
        .iter()
        .position(|variant| variant.control)
        .ok_or_else(|| corrupt(&experiment.row, "control"))?;
    let evaluation = experiments::evaluate(
        &totals,
        control,
        experiment.goal()?,
        experiment.row.alpha,
        experiment.row.minimum_sample_per_variant.max(0) as u64,
    );
    let winner = match evaluation.decision {
        Decision::Winner(i) => Some(experiment.variants[i].key.clone()),
        _ => None,
    };
    Ok(Results {
        currency: product.currency,
        until,
        totals,
        revenues,
        evaluation,
        winner,
        experiment,
    })
}

/// What a sample-size calculation is asked.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SampleSizeRequest {
    /// The control's conversion rate today, in (0, 1).
    pub baseline_rate: f64,
    /// The smallest different rate worth detecting, in (0, 1).
    pub minimum_detectable_rate: f64,
    /// The experiment's significance level (0.001 to 0.2; 0.05 by default).
    pub alpha: Option<f64>,
    /// The chance of detecting that difference when it is there (0.5 to 0.99; 0.8 by
    /// default).
    pub power: Option<f64>,
    /// Variants, the control included (2 to 10; 2 by default).
    pub variants: Option<usize>,
}

/// What it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSize {
    pub per_variant: u64,
    pub total: u64,
    /// The level each comparison with the control is judged at: alpha / (variants − 1).
    pub alpha_per_comparison: f64,
}

/// Exposed customers per variant to detect a change of the conversion rate from
/// `baseline_rate` to `minimum_detectable_rate` (`analytics::pricing`, Fleiss), each
/// comparison judged at the Bonferroni-corrected level the results use
/// (`records:read`): a `minimum_sample_per_variant` to start an experiment with.
pub fn sample_size(acting: &Acting, request: SampleSizeRequest) -> AppResult<SampleSize> {
    acting.require(Permission::RecordsRead)?;
    let alpha = request
        .alpha
        .unwrap_or(domain::price_experiments::DEFAULT_ALPHA);
    let power = request.power.unwrap_or(0.8);
    let variants = request.variants.unwrap_or(2);
    let mut violations = Vec::new();
    let mut check = |ok: bool, field: &str, rule: &str| {
        if !ok {
            violations.push(FieldViolation::new(field, "out_of_range", rule));
        }
    };
    let rate = |r: f64| r.is_finite() && r > 0.0 && r < 1.0;
    check(
        rate(request.baseline_rate),
        "baseline_rate",
        "must lie in (0, 1)",
    );
    check(
        rate(request.minimum_detectable_rate)
            && request.minimum_detectable_rate != request.baseline_rate,
        "minimum_detectable_rate",
        "must lie in (0, 1) and differ from baseline_rate",
    );
    check(
        alpha.is_finite() && domain::price_experiments::ALPHA.contains(&alpha),
        "alpha",
        "must be 0.001 to 0.2",
    );
    check(
        power.is_finite() && (0.5..=0.99).contains(&power),
        "power",
        "must be 0.5 to 0.99",
    );
    check(
        domain::price_experiments::VARIANTS.contains(&variants),
        "variants",
        "must be 2 to 10",
    );
    if !violations.is_empty() {
        return Err(AppError::Invalid(violations));
    }
    let alpha_per_comparison = alpha / (variants - 1) as f64;
    let per_variant = analytics::pricing::sample_size_two_proportions(
        request.baseline_rate,
        request.minimum_detectable_rate,
        alpha_per_comparison,
        power,
    )
    .map_err(|err| AppError::field("minimum_detectable_rate", "out_of_range", err.to_string()))?;
    Ok(SampleSize {
        per_variant,
        total: per_variant.saturating_mul(variants as u64),
        alpha_per_comparison,
    })
}

/// A customer's exposures, for the personal-data export.
pub fn exposures_of(conn: &mut DbConnection, customer: Uuid) -> AppResult<Vec<ExposureRow>> {
    Ok(persistence::price_experiments::exposures_of(
        conn, customer,
    )?)
}
