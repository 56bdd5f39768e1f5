//! What every shareable record's use cases ask of partner sharing, with nothing
//! of those use cases in turn: whether a partner's user may reach a record by id
//! ([`admit`]), and keeping shares in step when a record is created or changed
//! ([`after_create`], [`apply_rules`]). Managing partners, shares and rules is
//! `super::sharing`.

use domain::filter::{FieldSpec, ResolveContext};
use domain::partners::{ShareAccess, SharedKind};
use persistence::db::DbConnection;
use persistence::record_shares::ShareRow;
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::search::resolve_condition;

/// Lets the caller reach record `id` of `kind` with `need`: always when it may by owner
/// and team (`owned`), otherwise a partner's user needs a share in force with at least
/// that access. A record the caller may not see is not found; one it may only read is
/// forbidden to change.
pub fn admit(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: SharedKind,
    id: Uuid,
    owned: bool,
    need: ShareAccess,
) -> AppResult<()> {
    if owned {
        return Ok(());
    }
    let Some(partner) = acting.partner_id else {
        return Err(AppError::NotFound);
    };
    match persistence::record_shares::access(conn, partner, kind, id)? {
        Some(access) if access >= need => Ok(()),
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::NotFound),
    }
}

/// Brings every share rule over `kind` up to date for `records` just created or
/// changed, in the caller's transaction, so that a partner sees a new lead of its
/// province at once (imports included). `catalogue` gives the kind's search catalogue
/// (custom fields included), asked for only when a rule exists. A rule that no longer
/// fits its catalogue is passed over (and logged) rather than failing the write.
pub fn apply_rules(
    conn: &mut DbConnection,
    kind: SharedKind,
    records: &[Uuid],
    catalogue: impl FnOnce(&mut DbConnection) -> AppResult<Vec<FieldSpec>>,
) -> AppResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rules = persistence::partners::rules_of_kind(conn, kind)?;
    if rules.is_empty() {
        return Ok(());
    }
    let catalogue = catalogue(conn)?;
    let context = ResolveContext::new(persistence::now(), crate::settings::calendar(conn)?.local());
    for rule in rules {
        let filter = match resolve_condition(&rule.condition.0, &catalogue, &context) {
            Ok(filter) => filter,
            Err(problems) => {
                tracing::warn!(
                    rule = %rule.id.0,
                    problems = problems.len(),
                    "share rule no longer fits its catalogue; passed over"
                );
                continue;
            }
        };
        for chunk in records.chunks(500) {
            let matches = persistence::partners::matching_among(conn, kind, &filter, chunk)?;
            let shared = persistence::partners::rule_shares_among(conn, rule.id.0, chunk)?;
            let new: Vec<Uuid> = matches
                .iter()
                .filter(|id| !shared.contains(id))
                .copied()
                .collect();
            let gone: Vec<Uuid> = shared
                .iter()
                .filter(|id| !matches.contains(id))
                .copied()
                .collect();
            persistence::partners::add_rule_shares(conn, &rule, &new)?;
            persistence::partners::remove_rule_shares(conn, rule.id.0, &gone)?;
        }
    }
    Ok(())
}

/// Shares a record a partner's user just created with its partner (write access, no
/// end), in the caller's transaction: whoever the assignment rules hand it to, the
/// partner keeps seeing what it brought in.
pub fn share_created(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: SharedKind,
    record: Uuid,
) -> AppResult<()> {
    let Some(partner) = acting.partner_id else {
        return Ok(());
    };
    let now = persistence::now();
    persistence::record_shares::insert_share(
        conn,
        &ShareRow {
            id: DbUuid(Uuid::now_v7()),
            partner_id: DbUuid(partner),
            record_kind: kind.as_str().to_string(),
            record_id: DbUuid(record),
            access: ShareAccess::Write.as_str().to_string(),
            expires_at: None,
            rule_id: None,
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(now),
        },
    )?;
    Ok(())
}

/// What follows every create of a shareable record: the partner's own share when a
/// partner's user created it, and the share rules.
pub fn after_create(
    conn: &mut DbConnection,
    acting: &Acting,
    kind: SharedKind,
    record: Uuid,
    catalogue: impl FnOnce(&mut DbConnection) -> AppResult<Vec<FieldSpec>>,
) -> AppResult<()> {
    share_created(conn, acting, kind, record)?;
    apply_rules(conn, kind, &[record], catalogue)
}
