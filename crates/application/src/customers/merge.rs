//! Merging duplicate customers into one (D-2) and undoing such a merge, inside the
//! caller's transaction.
//!
//! A merge writes the winner's merged document through the shared write path (so it is
//! checked like any other write), moves the losers' notes, personnel links, lifecycle
//! and owner history, consent ledger, orders, deals, tickets, and the tasks and activities on
//! them to the winner, marks the losers as merged and keeps a `customer_merges` record
//! with everything needed to put it all back. Behavioural events move too, but by
//! customer rather than by id: each keeps the customer it was sent about, and an undo
//! gives a loser back the events sent about it (or about a customer merged into it).
//! Loyalty ledger entries move and come back the same way; what the winner redeemed
//! meanwhile stays the winner's, taken from whichever lots it was taken from.
//!
//! An undo is refused (409) when it could not restore a consistent state: the merge was
//! already undone; the winner was erased or merged into another customer since; a later
//! merge into the winner is still in effect (undo that one first); or a loser was erased
//! or deleted since. Edits made to the winner after the merge do not block an undo and
//! are kept: fields still holding what the merge wrote get their earlier value back,
//! fields changed since keep their current value. Rows created on the winner after the
//! merge (new notes, links) stay with the winner. Personnel links are restored as far as
//! their customers still exist (see `restore_personnel`); an undo is also refused when
//! what it would restore clashes with what was written since: a code another customer
//! has taken, a link made again, or an earlier document that breaks rules changed since.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use domain::customers::{merge_documents, unmerged_document, CustomerInput};
use domain::validation::Violations;
use persistence::audit::{self, NewAuditEvent};
use persistence::customers::merges::{
    self, MergeRow, MovedLink, MovedRow, MovedRows, ReleasedCode, RemovedLink, UndoData,
};
use persistence::customers::{history, CustomerRecord};
use persistence::db::DbConnection;
use persistence::personnel::PersonnelRow;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use persistence::PersistenceError;
use uuid::Uuid;

use super::{check, definitions, update, Author, Checked, HeldReferences};
use crate::acting::Acting;
use crate::error::{AppError, AppResult};

/// A merge worked out but not written: what a dry run shows and a merge performs.
#[derive(Debug, Clone)]
pub struct MergePlan {
    pub winner: CustomerRecord,
    pub losers: Vec<CustomerRecord>,
    /// The winner's merged document, checked like any customer write.
    pub merged: Checked,
    pub moved: MovedRows,
    pub removed_personnel: Vec<RemovedLink>,
    pub released_codes: Vec<ReleasedCode>,
}

fn conflict(message: impl Into<String>) -> AppError {
    AppError::Conflict(message.into())
}

/// Refuses customers that are no longer live: merged ones are already part of another
/// customer, erased ones hold no data worth merging.
fn ensure_live(record: &CustomerRecord) -> AppResult<()> {
    let id = record.row.id.0;
    if record.row.merged_into_id.is_some() {
        return Err(conflict(format!(
            "customer {id} was already merged into another"
        )));
    }
    if record.row.erased_at.is_some() {
        return Err(conflict(format!("customer {id} was erased")));
    }
    Ok(())
}

/// Works out the merge of `losers` into `winner` (all already checked to be visible to
/// the caller), taking the fields named in `choices` from the customer each names.
pub fn plan(
    conn: &mut DbConnection,
    winner: CustomerRecord,
    losers: Vec<CustomerRecord>,
    choices: &BTreeMap<String, Uuid>,
    today: NaiveDate,
) -> AppResult<MergePlan> {
    ensure_live(&winner)?;
    for loser in &losers {
        ensure_live(loser)?;
    }
    let winner_id = winner.row.id.0;
    let winner_input = winner.to_input()?;
    let loser_inputs: Vec<(Uuid, CustomerInput)> = losers
        .iter()
        .map(|loser| Ok((loser.row.id.0, loser.to_input()?)))
        .collect::<AppResult<_>>()?;
    let sources: Vec<(Uuid, &CustomerInput)> = loser_inputs
        .iter()
        .map(|(id, input)| (*id, input))
        .collect();
    let merged = merge_documents((winner_id, &winner_input), &sources, choices)
        .map_err(AppError::Invalid)?;
    // Codes are unique: a code taken from a loser is released by the loser.
    let released_codes: Vec<ReleasedCode> = losers
        .iter()
        .filter(|loser| loser.row.code.is_some() && loser.row.code == merged.code)
        .filter_map(|loser| {
            Some(ReleasedCode {
                customer_id: loser.row.id.0,
                code: loser.row.code.clone()?,
            })
        })
        .collect();
    let definitions = definitions(conn)?;
    let merged = check(
        conn,
        merged,
        HeldReferences::default(),
        Author::Stored,
        today,
        &definitions,
    )?;
    let mut moved = MovedRows::default();
    for loser in &losers {
        let from = loser.row.id.0;
        let row = |id: DbUuid| MovedRow {
            id: id.0,
            from_customer_id: from,
        };
        moved.notes.extend(
            persistence::notes::all_of(conn, from)?
                .iter()
                .map(|n| row(n.id)),
        );
        moved
            .lifecycle_transitions
            .extend(history::transitions(conn, from)?.iter().map(|t| row(t.id)));
        moved.owner_changes.extend(
            history::owner_changes(conn, from)?
                .iter()
                .map(|o| row(o.id)),
        );
        moved.consent_events.extend(
            persistence::consents::ledger(conn, from)?
                .iter()
                .map(|e| row(e.id)),
        );
        moved.orders.extend(
            persistence::orders::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.deals.extend(
            persistence::deals::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.tasks.extend(
            persistence::tasks::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.activities.extend(
            persistence::activities::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.tickets.extend(
            persistence::tickets::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.conversations.extend(
            persistence::conversations::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.feedback.extend(
            persistence::feedback::ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
        moved.survey_invitations.extend(
            persistence::feedback_surveys::invitation_ids_of_customer(conn, from)?
                .into_iter()
                .map(|id| row(DbUuid(id))),
        );
    }
    let removed_personnel = plan_personnel(conn, winner_id, &losers, &mut moved.personnel)?;
    Ok(MergePlan {
        winner,
        losers,
        merged,
        moved,
        removed_personnel,
        released_codes,
    })
}

/// Personnel links of the losers, on either end (a loser organization's people, the
/// organizations a loser person works at), re-pointed at the winner; a link that would
/// then duplicate one the winner has (or one moved before it) is removed instead.
fn plan_personnel(
    conn: &mut DbConnection,
    winner: Uuid,
    losers: &[CustomerRecord],
    moved: &mut Vec<MovedLink>,
) -> AppResult<Vec<RemovedLink>> {
    let mut links: HashSet<(Uuid, Uuid)> = links_of(conn, winner)?
        .iter()
        .map(|link| (link.customer_id.0, link.person_id.0))
        .collect();
    let mut removed = Vec::new();
    for loser in losers {
        let from = loser.row.id.0;
        for link in links_of(conn, from)? {
            let (organization, person) = (link.customer_id.0, link.person_id.0);
            let swap = |end: Uuid| if end == from { winner } else { end };
            if links.insert((swap(organization), swap(person))) {
                moved.push(MovedLink {
                    id: link.id.0,
                    from_customer_id: from,
                    organization_id: organization,
                    person_id: person,
                });
            } else {
                removed.push(RemovedLink {
                    id: link.id.0,
                    from_customer_id: from,
                    organization_id: organization,
                    person_id: person,
                    role: link.role,
                    unit: link.unit,
                    is_primary_contact: link.is_primary_contact,
                    created_at: link.created_at.0,
                    updated_at: link.updated_at.0,
                    version: link.version,
                });
            }
        }
    }
    Ok(removed)
}

/// Links where `customer` is the organization or the person.
fn links_of(conn: &mut DbConnection, customer: Uuid) -> AppResult<Vec<PersonnelRow>> {
    let mut links = persistence::personnel::of_organization(conn, customer)?;
    links.extend(persistence::personnel::of_person(conn, customer)?);
    Ok(links)
}

/// Performs `plan`: returns the merge record and the merged winner.
pub fn execute(
    conn: &mut DbConnection,
    acting: &Acting,
    plan: MergePlan,
) -> AppResult<(MergeRow, CustomerRecord)> {
    let winner_id = plan.winner.row.id.0;
    let merge_id = Uuid::now_v7();
    // Losers first, so that a code the winner takes over is free when it is written.
    for loser in &plan.losers {
        let released = plan
            .released_codes
            .iter()
            .any(|code| code.customer_id == loser.row.id.0);
        let code = if released {
            None
        } else {
            loser.row.code.as_deref()
        };
        merges::set_merged_into(
            conn,
            loser.row.id.0,
            loser.row.version,
            Some(winner_id),
            code,
        )?;
    }
    let merged = update(conn, acting, &plan.winner, &plan.merged, "customer.merge")?;
    let moved = &plan.moved;
    let ids = |rows: &[MovedRow]| rows.iter().map(|row| row.id).collect::<Vec<_>>();
    persistence::notes::move_to(conn, &ids(&moved.notes), winner_id)?;
    history::move_rows(
        conn,
        &ids(&moved.lifecycle_transitions),
        &ids(&moved.owner_changes),
        winner_id,
    )?;
    persistence::consents::move_events(conn, &ids(&moved.consent_events), winner_id)?;
    persistence::orders::move_to(conn, &ids(&moved.orders), winner_id)?;
    persistence::deals::move_to(conn, &ids(&moved.deals), winner_id)?;
    persistence::tasks::move_to(conn, &ids(&moved.tasks), winner_id)?;
    persistence::activities::move_to(conn, &ids(&moved.activities), winner_id)?;
    persistence::tickets::move_to(conn, &ids(&moved.tickets), winner_id)?;
    persistence::conversations::move_to(conn, &ids(&moved.conversations), winner_id)?;
    persistence::feedback::move_to(conn, &ids(&moved.feedback), winner_id)?;
    persistence::feedback_surveys::move_invitations(
        conn,
        &ids(&moved.survey_invitations),
        winner_id,
    )?;
    let mut with_facts = vec![winner_id];
    with_facts.extend(plan.losers.iter().map(|loser| loser.row.id.0));
    persistence::orders::refresh_facts(conn, &with_facts)?;
    // Behavioural events are many: they move by customer, each keeping the customer
    // it was sent about, which is what an undo gives back by.
    persistence::behavioural_events::move_to(conn, &with_facts[1..], winner_id)?;
    persistence::behavioural_events::refresh_stats(conn, &with_facts)?;
    // Loyalty lots move the same way: the winner's balance is the sum of both.
    persistence::loyalty::move_to(conn, &with_facts[1..], winner_id)?;
    let removed: Vec<Uuid> = plan.removed_personnel.iter().map(|link| link.id).collect();
    persistence::personnel::delete_many(conn, &removed)?;
    for link in &moved.personnel {
        let swap = |end: Uuid| {
            if end == link.from_customer_id {
                winner_id
            } else {
                end
            }
        };
        persistence::personnel::relink(
            conn,
            link.id,
            swap(link.organization_id),
            swap(link.person_id),
        )?;
    }
    persistence::consents::rebuild_current(conn, winner_id)?;
    let loser_ids: Vec<Uuid> = plan.losers.iter().map(|loser| loser.row.id.0).collect();
    for loser in &loser_ids {
        persistence::consents::rebuild_current(conn, *loser)?;
    }
    // Undo does not give the losers their spells back: the winner holds them now.
    crate::segments::membership::merge(conn, winner_id, &loser_ids)?;
    let undo = UndoData {
        winner_before: plan.winner.to_input()?,
        // As stored and read back, so that an undo compares like with like.
        winner_merged: merged.to_input()?,
        moved: plan.moved,
        removed_personnel: plan.removed_personnel,
        released_codes: plan.released_codes,
        erased: false,
    };
    let row = MergeRow {
        id: DbUuid(merge_id),
        customer_id: DbUuid(winner_id),
        loser_ids: DbJson(serde_json::json!(loser_ids)),
        undo_data: DbJson(
            serde_json::to_value(&undo).map_err(|err| AppError::Internal(err.to_string()))?,
        ),
        performed_by: acting.user_id.map(DbUuid),
        performed_at: DbTime(persistence::now()),
        undone_at: None,
    };
    merges::insert(conn, &row)?;
    for loser in &loser_ids {
        audit_loser(
            conn,
            acting,
            "customer.merge",
            *loser,
            merge_id,
            (None, Some(winner_id)),
        )?;
    }
    Ok((row, merged))
}

/// Records on a loser that it was merged (`merged_into`: before and after).
fn audit_loser(
    conn: &mut DbConnection,
    acting: &Acting,
    action: &str,
    loser: Uuid,
    merge_id: Uuid,
    merged_into: (Option<Uuid>, Option<Uuid>),
) -> AppResult<()> {
    audit::record(
        conn,
        &acting.audit_actor(),
        NewAuditEvent {
            action,
            resource_type: "customer",
            resource_id: Some(loser.to_string()),
            changes: Some(serde_json::json!({
                "merge_id": merge_id,
                "merged_into_id": {"before": merged_into.0, "after": merged_into.1},
            })),
        },
    )?;
    Ok(())
}

/// Undoes `merge` (module documentation: what is restored and when it is refused).
/// `winner` and `losers` are the customers the merge involved, already checked to be
/// visible to the caller.
pub fn undo(
    conn: &mut DbConnection,
    acting: &Acting,
    merge: &MergeRow,
    winner: &CustomerRecord,
    losers: &[CustomerRecord],
    today: NaiveDate,
) -> AppResult<(MergeRow, CustomerRecord)> {
    let winner_id = winner.row.id.0;
    if merge.undone_at.is_some() {
        return Err(conflict("the merge was already undone"));
    }
    if winner.row.erased_at.is_some() {
        return Err(conflict(
            "the surviving customer was erased since the merge",
        ));
    }
    if let Some(other) = winner.row.merged_into_id {
        return Err(conflict(format!(
            "the surviving customer was merged into customer {} since",
            other.0
        )));
    }
    if let Some(later) =
        merges::later_merge_in_effect(conn, winner_id, merge.performed_at.0, merge.id.0)?
    {
        return Err(conflict(format!(
            "merge {later} into the same customer came later; undo it first"
        )));
    }
    for loser in losers {
        if loser.row.erased_at.is_some()
            || loser.row.merged_into_id.map(|id| id.0) != Some(winner_id)
        {
            return Err(conflict(format!(
                "customer {} was erased or changed since the merge",
                loser.row.id.0
            )));
        }
    }
    let data: UndoData = merge.undo_data()?;
    if data.erased {
        // Its documents were emptied; the checks above already refuse every such case.
        return Err(conflict("a customer the merge involved was erased"));
    }
    let restored = unmerged_document(
        &data.winner_before,
        &data.winner_merged,
        &winner.to_input()?,
    )
    .map_err(|err| AppError::Internal(format!("merge undo document: {err}")))?;
    let definitions = definitions(conn)?;
    let restored = without_vanished_references(conn, restored, &definitions)?;
    let restored = check(
        conn,
        restored,
        HeldReferences::default(),
        Author::Stored,
        today,
        &definitions,
    )
    .map_err(|err| match err {
        // The caller sent no document: a rule the earlier one breaks now (a select
        // option removed since, say) is a state that blocks the undo, not bad input.
        AppError::Invalid(violations) => conflict(format!(
            "the surviving customer as it was before the merge breaks rules in force now \
             ({}); change those fields first",
            violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        other => other,
    })?;
    // The winner first, so that codes it took over are free for their losers again.
    let winner_after = update(conn, acting, winner, &restored, "customer.merge.undo").map_err(
        |err| match err {
            // Codes are unique, and the winner's earlier one was free for others since.
            AppError::Conflict(_) => conflict(format!(
                "the surviving customer's code {} from before the merge belongs to another \
                 customer now",
                restored.input.code.as_deref().unwrap_or_default()
            )),
            other => other,
        },
    )?;
    let moved = &data.moved;
    for loser in losers {
        let from = loser.row.id.0;
        let ids_from = |rows: &[MovedRow]| -> Vec<Uuid> {
            rows.iter()
                .filter(|row| row.from_customer_id == from)
                .map(|row| row.id)
                .collect()
        };
        persistence::notes::move_to(conn, &ids_from(&moved.notes), from)?;
        history::move_rows(
            conn,
            &ids_from(&moved.lifecycle_transitions),
            &ids_from(&moved.owner_changes),
            from,
        )?;
        persistence::consents::move_events(conn, &ids_from(&moved.consent_events), from)?;
        persistence::orders::move_to(conn, &ids_from(&moved.orders), from)?;
        persistence::deals::move_to(conn, &ids_from(&moved.deals), from)?;
        persistence::tasks::move_to(conn, &ids_from(&moved.tasks), from)?;
        persistence::activities::move_to(conn, &ids_from(&moved.activities), from)?;
        persistence::tickets::move_to(conn, &ids_from(&moved.tickets), from)?;
        persistence::conversations::move_to(conn, &ids_from(&moved.conversations), from)?;
        persistence::feedback::move_to(conn, &ids_from(&moved.feedback), from)?;
        persistence::feedback_surveys::move_invitations(
            conn,
            &ids_from(&moved.survey_invitations),
            from,
        )?;
    }
    let mut with_facts = vec![winner_id];
    with_facts.extend(losers.iter().map(|loser| loser.row.id.0));
    persistence::orders::refresh_facts(conn, &with_facts)?;
    for loser in losers {
        // The events sent about the loser, or about a customer merged into it before.
        let from = loser.row.id.0;
        let mut origins = persistence::customers::erasure::merged_away(conn, from)?;
        origins.push(from);
        persistence::behavioural_events::give_back(conn, winner_id, from, &origins)?;
        persistence::loyalty::give_back(conn, winner_id, from, &origins)?;
    }
    persistence::behavioural_events::refresh_stats(conn, &with_facts)?;
    restore_personnel(conn, &moved.personnel, &data.removed_personnel)?;
    persistence::consents::rebuild_current(conn, winner_id)?;
    for loser in losers {
        let id = loser.row.id.0;
        persistence::consents::rebuild_current(conn, id)?;
        let code = data
            .released_codes
            .iter()
            .find(|released| released.customer_id == id)
            .map(|released| released.code.as_str())
            .or(loser.row.code.as_deref());
        merges::set_merged_into(conn, id, loser.row.version, None, code).map_err(|err| {
            match err {
                // Codes are unique, and one the loser released was free for others since.
                PersistenceError::Conflict(_) => conflict(format!(
                    "customer {id} cannot take back its code {}: another customer has it now",
                    code.unwrap_or_default()
                )),
                other => other.into(),
            }
        })?;
        audit_loser(
            conn,
            acting,
            "customer.merge.undo",
            id,
            merge.id.0,
            (Some(winner_id), None),
        )?;
    }
    let undone_at = persistence::now();
    if !merges::mark_undone(conn, merge.id.0, undone_at)? {
        return Err(conflict("the merge was already undone"));
    }
    let mut row = merge.clone();
    row.undone_at = Some(DbTime(undone_at));
    Ok((row, winner_after))
}

/// Gives the losers their personnel links back: moved ones are pointed at their loser
/// again, removed ones are recreated.
///
/// A moved link keeps the other end it has now: a later merge of that customer may have
/// moved it (and an undo of that merge moves it back), and the customer it named at this
/// merge may have been deleted since. A link removed since stays removed. A removed link
/// comes back only while both its customers exist: deleting a customer deletes its links,
/// and this one would have gone with it had the merge not removed it. A link that would
/// duplicate one made since refuses the undo (409).
fn restore_personnel(
    conn: &mut DbConnection,
    moved: &[MovedLink],
    removed: &[RemovedLink],
) -> AppResult<()> {
    let ids: Vec<Uuid> = moved.iter().map(|link| link.id).collect();
    let current = persistence::personnel::find_many(conn, &ids)?;
    for link in moved {
        let Some(now) = current.iter().find(|row| row.id.0 == link.id) else {
            continue;
        };
        let loser = link.from_customer_id;
        let organization = if link.organization_id == loser {
            loser
        } else {
            now.customer_id.0
        };
        let person = if link.person_id == loser {
            loser
        } else {
            now.person_id.0
        };
        persistence::personnel::relink(conn, link.id, organization, person)
            .map_err(|err| listed_again(err, organization, person))?;
    }
    let ends: Vec<Uuid> = removed
        .iter()
        .flat_map(|link| [link.organization_id, link.person_id])
        .collect();
    let existing: HashSet<Uuid> = persistence::customers::existing_ids(conn, &ends)?
        .into_iter()
        .collect();
    for link in removed {
        if !existing.contains(&link.organization_id) || !existing.contains(&link.person_id) {
            continue;
        }
        let row = PersonnelRow {
            id: DbUuid(link.id),
            customer_id: DbUuid(link.organization_id),
            person_id: DbUuid(link.person_id),
            role: link.role.clone(),
            unit: link.unit.clone(),
            is_primary_contact: link.is_primary_contact,
            created_at: DbTime(link.created_at),
            updated_at: DbTime(link.updated_at),
            version: link.version,
        };
        persistence::personnel::insert(conn, &row)
            .map_err(|err| listed_again(err, link.organization_id, link.person_id))?;
    }
    Ok(())
}

/// A personnel link an undo would restore that duplicates one made since the merge.
fn listed_again(err: PersistenceError, organization: Uuid, person: Uuid) -> AppError {
    match err {
        PersistenceError::Conflict(_) => conflict(format!(
            "customer {person} was listed at organization {organization} again since the \
             merge; remove that link first"
        )),
        other => other.into(),
    }
}

/// `input` without references to what was deleted since it was written (tags, groups,
/// tier, team, users, the referring customer, custom-field definitions): deleting
/// those removes them from every customer, and the restored document should look as if
/// it had been stored all along.
fn without_vanished_references(
    conn: &mut DbConnection,
    mut input: CustomerInput,
    definitions: &[domain::customers::CustomFieldDefinition],
) -> AppResult<CustomerInput> {
    use persistence::labels::{missing, GROUP, TAG, TIER};
    let tags = missing(conn, TAG, &input.tag_ids)?;
    input.tag_ids.retain(|id| !tags.contains(id));
    let groups = missing(conn, GROUP, &input.group_ids)?;
    input.group_ids.retain(|id| !groups.contains(id));
    if let Some(tier) = input.tier_id {
        if !missing(conn, TIER, &[tier])?.is_empty() {
            input.tier_id = None;
        }
    }
    if let Some(team) = input.team_id {
        if persistence::teams::find(conn, team).is_err() {
            input.team_id = None;
        }
    }
    for user in [&mut input.owner_id, &mut input.referred_by_user_id] {
        if let Some(id) = *user {
            if persistence::users::find(conn, id).is_err() {
                *user = None;
            }
        }
    }
    if let Some(referrer) = input.referred_by_customer_id {
        if persistence::customers::existing_ids(conn, &[referrer])?.is_empty() {
            input.referred_by_customer_id = None;
        }
    }
    input
        .custom_fields
        .retain(|key, _| definitions.iter().any(|definition| &definition.key == key));
    Ok(input)
}

/// Most customers merged into one at a time.
pub const MAX_LOSERS: usize = 20;

/// What a caller asks to merge.
#[derive(Debug, Clone)]
pub struct MergeOrder {
    pub winner_id: Uuid,
    pub loser_ids: Vec<Uuid>,
    /// Field name to the involved customer it is taken from.
    pub field_choices: BTreeMap<String, Uuid>,
}

impl MergeOrder {
    /// The shape rules: 1 to [`MAX_LOSERS`] losers, none twice, the winner not among them.
    pub fn check(&self) -> AppResult<()> {
        let mut v = Violations::default();
        if self.loser_ids.is_empty() || self.loser_ids.len() > MAX_LOSERS {
            v.push(
                "loser_ids",
                "invalid_length",
                format!("must list 1 to {MAX_LOSERS} customers"),
            );
        }
        let mut seen = HashSet::new();
        for (i, id) in self.loser_ids.iter().enumerate() {
            if *id == self.winner_id {
                v.push(
                    format!("loser_ids[{i}]"),
                    "is_winner",
                    "the winner cannot be merged into itself",
                );
            } else if !seen.insert(*id) {
                v.push(format!("loser_ids[{i}]"), "duplicate", "is listed twice");
            }
        }
        v.into_result().map_err(AppError::Invalid)
    }

    fn involved(&self) -> Vec<Uuid> {
        std::iter::once(self.winner_id)
            .chain(self.loser_ids.iter().copied())
            .collect()
    }
}

/// The merge `order` worked out without writing anything (a dry run). Every customer
/// must be visible to `acting` (404 otherwise).
pub fn preview(
    conn: &mut DbConnection,
    acting: &Acting,
    order: &MergeOrder,
    today: NaiveDate,
) -> AppResult<MergePlan> {
    order.check()?;
    let winner = super::visible(conn, acting, order.winner_id)?;
    let losers = order
        .loser_ids
        .iter()
        .map(|id| super::visible(conn, acting, *id))
        .collect::<AppResult<_>>()?;
    plan(conn, winner, losers, &order.field_choices, today)
}

/// Merges as `order` says, in one transaction: the merge record and the merged winner.
pub fn merge(
    conn: &mut DbConnection,
    acting: &Acting,
    order: &MergeOrder,
    today: NaiveDate,
) -> AppResult<(MergeRow, CustomerRecord)> {
    order.check()?;
    crate::transaction(conn, |conn| {
        // Concurrent merges over the same customers wait here for each other, and the
        // later one then finds a customer already merged (409) instead of deadlocking or
        // failing a version check.
        persistence::customers::lock_for_update(conn, &order.involved())?;
        let plan = preview(conn, acting, order, today)?;
        execute(conn, acting, plan)
    })
}

/// The merge `id` with the customers it involved, all visible to `acting` (404
/// otherwise). A loser deleted since the merge is missing from the list.
pub fn visible_merge(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
) -> AppResult<(MergeRow, CustomerRecord, Vec<CustomerRecord>)> {
    let merge = merges::find(conn, id)?;
    let winner = super::visible(conn, acting, merge.customer_id.0)?;
    let loser_ids = merge.losers()?;
    let mut losers = Vec::with_capacity(loser_ids.len());
    for loser in &loser_ids {
        match super::visible(conn, acting, *loser) {
            Ok(record) => losers.push(record),
            Err(AppError::NotFound)
                if matches!(
                    persistence::customers::find_row(conn, *loser),
                    Err(PersistenceError::NotFound)
                ) => {}
            Err(err) => return Err(err),
        }
    }
    Ok((merge, winner, losers))
}

/// Undoes the merge `id` in one transaction (see [`undo`] for when it is refused).
pub fn undo_merge(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    today: NaiveDate,
) -> AppResult<(MergeRow, CustomerRecord)> {
    crate::transaction(conn, |conn| {
        // The same lock order as a merge, so an undo and a merge (or two undos) over the
        // same customers queue instead of deadlocking.
        let recorded = merges::find(conn, id)?;
        let mut involved = recorded.losers()?;
        involved.push(recorded.customer_id.0);
        persistence::customers::lock_for_update(conn, &involved)?;
        let (merge, winner, losers) = visible_merge(conn, acting, id)?;
        if let Some(deleted) = merge
            .losers()?
            .iter()
            .find(|id| !losers.iter().any(|loser| loser.row.id.0 == **id))
        {
            return Err(conflict(format!(
                "customer {deleted} was deleted since the merge"
            )));
        }
        undo(conn, acting, &merge, &winner, &losers, today)
    })
}
