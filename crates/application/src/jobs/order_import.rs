//! `orders.import`: reads the uploaded purchase history kept with the job, checks every
//! row and, when none is rejected, writes every order in one transaction (see
//! `crate::commerce::order_import`). The upload is deleted in the transaction that
//! finishes the import, so a retry after a crash past that point cannot import the
//! file twice; a reference already stored would refuse it anyway.

use persistence::transaction::write_transaction;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::customer_import::read_upload;
use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;
use crate::commerce::order_import::{
    self, OrderColumnPlan, OrderImportContext, OrderImportOptions,
};

pub const ORDER_IMPORT: &str = "orders.import";

/// Share of the progress bar the row checks take; writing takes the rest.
const CHECKING_SHARE: f64 = 0.8;

/// What an `orders.import` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderImportPayload {
    /// The upload, in `persistence::files`.
    pub file_id: Uuid,
    /// `csv` or `xlsx`.
    pub format: String,
    pub options: OrderImportOptions,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
}

pub struct OrderImportJob;

impl JobHandler for OrderImportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: OrderImportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let sheet = read_upload(&mut conn, payload.file_id, &payload.format)?;
        let mut context =
            OrderImportContext::load(&mut conn, payload.acting.clone(), payload.options)?;
        // Checked when the import was requested; only changed permissions fail here.
        let plan = OrderColumnPlan::new(&sheet.headers, &mut context).map_err(JobError::invalid)?;
        let started = std::time::Instant::now();
        let (report, writes) =
            order_import::check(&mut conn, &context, &plan, &sheet.rows, &mut |share| {
                if ctx.should_stop() {
                    return Err(JobError::Interrupted);
                }
                ctx.set_progress(CHECKING_SHARE * share)
            })?;
        let checked_in = started.elapsed();
        let result = serde_json::to_value(&report).map_err(JobError::internal)?;
        write_transaction(&mut conn, |conn| {
            if let Some(writes) = writes {
                order_import::write(conn, &context, writes)?;
            }
            persistence::files::delete(conn, payload.file_id)?;
            ctx.complete_within(conn, result.clone())
        })?;
        tracing::info!(
            rows = sheet.rows.len(),
            check_ms = checked_in.as_millis() as u64,
            write_ms = (started.elapsed() - checked_in).as_millis() as u64,
            "order import finished"
        );
        Ok(result)
    }
}
