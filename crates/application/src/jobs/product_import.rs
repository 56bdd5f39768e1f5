//! `products.import`: reads the uploaded file kept with the job, checks every row and,
//! when none is rejected, writes them all in one transaction (see
//! `crate::commerce::product_import`). The result is the import's report. The upload is
//! deleted in the transaction that finishes the import, so a retry after a crash past
//! that point cannot import the file twice.

use persistence::transaction::write_transaction;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::customer_import::read_upload;
use super::{connection, JobContext, JobError, JobHandler};
use crate::acting::Acting;
use crate::commerce::product_import::{self, ProductColumnPlan, ProductImportOptions};

pub const PRODUCT_IMPORT: &str = "products.import";

/// Share of the progress bar reading and checking the rows take; writing takes the rest.
const CHECKING_SHARE: f64 = 0.8;

/// What a `products.import` job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductImportPayload {
    /// The upload, in `persistence::files`.
    pub file_id: Uuid,
    /// `csv` or `xlsx`.
    pub format: String,
    pub options: ProductImportOptions,
    /// Who asked for it, as they were when they asked.
    pub acting: Acting,
}

pub struct ProductImportJob;

impl JobHandler for ProductImportJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let payload: ProductImportPayload = serde_json::from_value(ctx.payload().clone())
            .map_err(|err| JobError::internal(format!("invalid payload: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let sheet = read_upload(&mut conn, payload.file_id, &payload.format)?;
        // Checked when the import was requested.
        let plan =
            ProductColumnPlan::new(&sheet.headers, &payload.options).map_err(JobError::invalid)?;
        let currency = crate::settings::currency(&mut conn)?;
        let (report, writes) = product_import::check(
            &mut conn,
            &payload.acting,
            &payload.options,
            &plan,
            &sheet,
            currency,
        )?;
        ctx.set_progress(CHECKING_SHARE)?;
        let result = serde_json::to_value(&report).map_err(JobError::internal)?;
        write_transaction(&mut conn, |conn| {
            if let Some(writes) = &writes {
                product_import::write(conn, &payload.acting, writes, currency)?;
            }
            persistence::files::delete(conn, payload.file_id)?;
            ctx.complete_within(conn, result.clone())
        })?;
        Ok(result)
    }
}
