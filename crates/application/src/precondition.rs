//! The version a caller based a change on (`If-Match` in the API), checked by the use
//! case inside its transaction against the version it loaded, so that a change built on
//! an old copy is refused with [`AppError::Stale`] instead of overwriting someone else's.

use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// What the caller requires of the record it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    /// Nothing: the change applies to whatever version is current.
    #[default]
    None,
    /// Only that the record exists (`If-Match: *`).
    Exists,
    /// One of these versions of these records must be the current one. An empty list
    /// (the caller named only versions that cannot be ours) never matches.
    AnyOf(Vec<(Uuid, i64)>),
}

impl Precondition {
    /// [`AppError::Stale`] unless record `id`, now at `version`, meets the precondition.
    pub fn check(&self, id: Uuid, version: i64) -> AppResult<()> {
        match self {
            Precondition::AnyOf(versions) if !versions.contains(&(id, version)) => {
                Err(AppError::Stale)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_current_version_passes() {
        let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(Precondition::None.check(id, 3).is_ok());
        assert!(Precondition::Exists.check(id, 3).is_ok());
        let named = Precondition::AnyOf(vec![(other, 3), (id, 2), (id, 3)]);
        assert!(named.check(id, 3).is_ok());
        assert!(matches!(named.check(id, 4), Err(AppError::Stale)));
        assert!(matches!(
            named.check(Uuid::now_v7(), 3),
            Err(AppError::Stale)
        ));
        assert!(Precondition::AnyOf(Vec::new()).check(id, 1).is_err());
    }
}
