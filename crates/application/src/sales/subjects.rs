//! The records tasks and activities are about — a customer, a lead or a deal — as one
//! shape: whose they are (owner and team, which decide who sees them) and what they
//! are called, for notifications.

use domain::partners::{ShareAccess, SharedKind};
use domain::sales::tasks::{Subject, SubjectType};
use persistence::db::DbConnection;
use persistence::sql_types::DbUuid;
use persistence::PersistenceError;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// A subject record as far as tasks and activities care.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectRecord {
    pub subject: Subject,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// A customer erased or merged away takes no new tasks or activities.
    pub active: bool,
}

impl SubjectRecord {
    /// Whether the caller may see the record: by its owner and team, or for a
    /// partner's user by a share with `need` at least (a `read` share where `write` is
    /// needed is forbidden).
    pub fn seen_by(
        &self,
        conn: &mut DbConnection,
        acting: &Acting,
        need: ShareAccess,
    ) -> AppResult<bool> {
        let scope = acting.scope();
        let owned = domain::authz::can_see(
            scope.visibility,
            scope.user_id,
            scope.team_id,
            self.owner_id,
            self.team_id,
        );
        let kind = match self.subject.kind {
            SubjectType::Customer => SharedKind::Customer,
            SubjectType::Lead => SharedKind::Lead,
            SubjectType::Deal => SharedKind::Deal,
        };
        match crate::partners::access::admit(conn, acting, kind, self.subject.id, owned, need) {
            Ok(()) => Ok(true),
            Err(AppError::NotFound) => Ok(false),
            Err(other) => Err(other),
        }
    }
}

/// The subject record, or `None` when it does not exist.
pub fn find(conn: &mut DbConnection, subject: Subject) -> AppResult<Option<SubjectRecord>> {
    let ids =
        |owner: Option<DbUuid>, team: Option<DbUuid>| (owner.map(|id| id.0), team.map(|id| id.0));
    let found = match subject.kind {
        SubjectType::Customer => persistence::customers::find(conn, subject.id).map(|record| {
            let row = record.row;
            let active = row.erased_at.is_none() && row.merged_into_id.is_none();
            (ids(row.owner_id, row.team_id), active)
        }),
        SubjectType::Lead => persistence::leads::find(conn, subject.id)
            .map(|row| (ids(row.owner_id, row.team_id), true)),
        SubjectType::Deal => persistence::deals::find_row(conn, subject.id)
            .map(|row| (ids(row.owner_id, row.team_id), true)),
    };
    match found {
        Ok(((owner_id, team_id), active)) => Ok(Some(SubjectRecord {
            subject,
            owner_id,
            team_id,
            active,
        })),
        Err(PersistenceError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The subject a request names (`subject_id`), which the caller must see (a partner's
/// user with a `write` share) and which must be active; otherwise a 422 naming
/// `subject_id`, the same for a missing record and one the caller may not see.
pub fn checked(
    conn: &mut DbConnection,
    acting: &Acting,
    subject: Subject,
) -> AppResult<SubjectRecord> {
    let found = find(conn, subject)?;
    let seen = match &found {
        Some(record) => record.seen_by(conn, acting, ShareAccess::Write)?,
        None => false,
    };
    match found {
        Some(record) if seen && record.active => Ok(record),
        Some(_) if seen => Err(AppError::field(
            "subject_id",
            "not_active",
            "the customer was erased or merged",
        )),
        _ => Err(AppError::field(
            "subject_id",
            "not_found",
            format!("is not a {} you may see", subject.kind.as_str()),
        )),
    }
}

/// The subject stored in a row's three subject columns.
pub fn of_columns(
    customer: Option<DbUuid>,
    lead: Option<DbUuid>,
    deal: Option<DbUuid>,
) -> Option<Subject> {
    let subject = |kind, id: DbUuid| Subject { kind, id: id.0 };
    customer
        .map(|id| subject(SubjectType::Customer, id))
        .or_else(|| lead.map(|id| subject(SubjectType::Lead, id)))
        .or_else(|| deal.map(|id| subject(SubjectType::Deal, id)))
}

/// A subject as a row's three subject columns.
pub fn columns(subject: Option<Subject>) -> [Option<DbUuid>; 3] {
    let of = |kind: SubjectType| {
        subject
            .filter(|subject| subject.kind == kind)
            .map(|subject| DbUuid(subject.id))
    };
    [
        of(SubjectType::Customer),
        of(SubjectType::Lead),
        of(SubjectType::Deal),
    ]
}

/// Whether the caller may see what hangs off `subject` (a task, an activity) by the
/// subject alone.
pub fn visible_subject(
    conn: &mut DbConnection,
    acting: &Acting,
    subject: Option<Subject>,
) -> AppResult<bool> {
    Ok(match subject {
        Some(subject) => match find(conn, subject)? {
            Some(record) => record.seen_by(conn, acting, ShareAccess::Read)?,
            None => false,
        },
        None => false,
    })
}
