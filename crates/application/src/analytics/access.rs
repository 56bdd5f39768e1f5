//! Who may read what describes the whole customer base (runs, schedules, the product
//! models' results): counts and fitted figures over every customer, so a caller who
//! sees only some customers is refused rather than shown figures over all of them.

use domain::authz::{Permission, Visibility};

use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// Runs and schedules describe the whole customer base: reading them needs
/// `records:read` with visibility over every record.
pub fn require_reader(acting: &Acting) -> AppResult<()> {
    acting.require(Permission::RecordsRead)?;
    if acting.visibility != Visibility::All {
        return Err(AppError::Forbidden);
    }
    Ok(())
}
