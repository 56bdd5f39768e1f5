//! Pipelines and lost reasons: the business's configuration of its sales process.
//! Reading needs `records:read`; changing it needs `crm:configure`, as the rest of the
//! business's configuration does.

use domain::authz::Permission;
use domain::sales::pipelines::{
    LostReasonInput, PipelineInput, StageInput, StageKind, TERMINAL_STAGES,
};
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::pipelines::{LostReasonRow, PipelineRecord, PipelineRow, StageRow};
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// The document a merge patch of a pipeline applies to: its fields and open stages.
pub fn pipeline_input(record: &PipelineRecord) -> AppResult<PipelineInput> {
    let mut stages = Vec::new();
    for stage in &record.stages {
        if stage.kind()? == StageKind::Open {
            stages.push(StageInput {
                id: Some(stage.id.0),
                name: stage.name.clone(),
                name_en: stage.name_en.clone(),
                probability: stage.probability,
            });
        }
    }
    Ok(PipelineInput {
        name: record.row.name.clone(),
        name_en: record.row.name_en.clone(),
        stuck_after_days: record.row.stuck_after_days,
        is_default: record.row.is_default,
        stages,
    })
}

/// The stages `input` asks for in stored form: its open stages (kept ones by id, new
/// ones with fresh ids) followed by the terminal ones of `current` (or new ones). A
/// kept stage must be an open stage of the pipeline.
fn stage_rows(
    pipeline: Uuid,
    input: &PipelineInput,
    current: &[StageRow],
) -> AppResult<Vec<StageRow>> {
    let mut v = Violations::default();
    let mut rows = Vec::with_capacity(input.stages.len() + TERMINAL_STAGES.len());
    for (index, stage) in input.stages.iter().enumerate() {
        let id = match stage.id {
            Some(id) => {
                let open = current
                    .iter()
                    .any(|row| row.id.0 == id && row.kind == StageKind::Open.as_str());
                if !open {
                    v.push(
                        format!("stages[{index}].id"),
                        "not_found",
                        "is not an open stage of this pipeline",
                    );
                }
                id
            }
            None => Uuid::now_v7(),
        };
        rows.push(StageRow {
            id: DbUuid(id),
            pipeline_id: DbUuid(pipeline),
            position: index as i32,
            name: stage.name.clone(),
            name_en: stage.name_en.clone(),
            probability: stage.probability,
            kind: StageKind::Open.as_str().to_string(),
        });
    }
    v.into_result().map_err(AppError::Invalid)?;
    for terminal in TERMINAL_STAGES {
        let kind = terminal.kind.as_str();
        let existing = current.iter().find(|row| row.kind == kind);
        rows.push(StageRow {
            id: existing.map_or_else(|| DbUuid(Uuid::now_v7()), |row| row.id),
            pipeline_id: DbUuid(pipeline),
            position: rows.len() as i32,
            name: terminal.name.to_string(),
            name_en: Some(terminal.name_en.to_string()),
            probability: terminal.probability,
            kind: kind.to_string(),
        });
    }
    Ok(rows)
}

/// Adds a pipeline (`crm:configure`); a taken name is a conflict.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: PipelineInput,
) -> AppResult<PipelineRecord> {
    acting.require(Permission::CrmConfigure)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let id = Uuid::now_v7();
        let now = DbTime(persistence::now());
        let record = PipelineRecord {
            stages: stage_rows(id, &input, &[])?,
            row: PipelineRow {
                id: DbUuid(id),
                name_key: domain::persian::search_key(&input.name),
                name: input.name,
                name_en: input.name_en,
                stuck_after_days: input.stuck_after_days,
                is_default: input.is_default,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        };
        if record.row.is_default {
            persistence::pipelines::clear_default(conn, id)?;
        }
        persistence::pipelines::insert(conn, &record)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "pipeline.create",
            "pipeline",
            id,
            &serde_json::json!({}),
            &record.audit_snapshot(),
        )?;
        Ok(record)
    })
}

/// A pipeline with its stages (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<PipelineRecord> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::pipelines::find(conn, id)?)
}

/// One page of pipelines in creation order (`records:read`).
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<PipelineRecord>> {
    acting.require(Permission::RecordsRead)?;
    let rows = persistence::pipelines::list(conn, created_after(cursor)?, limit)?;
    Ok(persistence::pipelines::with_stages(conn, rows)?)
}

/// Changes a pipeline (`crm:configure`) to what `edit` makes of it: its names, stuck
/// setting, default mark and open stages (renamed, re-weighted, reordered, added or
/// removed). A stage that deals are at or passed through cannot be removed.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&PipelineInput) -> AppResult<PipelineInput>,
) -> AppResult<PipelineRecord> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        persistence::pipelines::lock(conn, id, true)?;
        let current = persistence::pipelines::find(conn, id)?;
        precondition.check(id, current.row.version)?;
        let before = pipeline_input(&current)?;
        let after = edit(&before)?.validated().map_err(AppError::Invalid)?;
        if before.is_default && !after.is_default {
            return Err(AppError::field(
                "is_default",
                "required",
                "mark another pipeline as the default instead",
            ));
        }
        let stages = stage_rows(id, &after, &current.stages)?;
        let removed: Vec<Uuid> = current
            .stages
            .iter()
            .filter(|old| !stages.iter().any(|new| new.id == old.id))
            .map(|old| old.id.0)
            .collect();
        let in_use = persistence::pipelines::stages_with_deals(conn, &removed)?;
        if let Some(stage) = in_use.first() {
            return Err(AppError::Conflict(format!(
                "deals are at stage {stage} or passed through it; keep the stage (rename it if need be)"
            )));
        }
        if after.is_default {
            persistence::pipelines::clear_default(conn, id)?;
        }
        let mut row = current.row.clone();
        row.name_key = domain::persian::search_key(&after.name);
        row.name = after.name;
        row.name_en = after.name_en;
        row.stuck_after_days = after.stuck_after_days;
        row.is_default = after.is_default;
        persistence::pipelines::update(conn, &row)?;
        persistence::pipelines::replace_stages(conn, id, &stages)?;
        let updated = persistence::pipelines::find(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "pipeline.update",
            "pipeline",
            id,
            &current.audit_snapshot(),
            &updated.audit_snapshot(),
        )?;
        Ok(updated)
    })
}

/// Deletes a pipeline no deal is in (`crm:configure`); the default one stays.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        persistence::pipelines::lock(conn, id, true)?;
        let current = persistence::pipelines::find(conn, id)?;
        precondition.check(id, current.row.version)?;
        if current.row.is_default {
            return Err(AppError::Conflict(
                "the default pipeline cannot be deleted; mark another one as the default first"
                    .into(),
            ));
        }
        persistence::pipelines::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "pipeline.delete",
            "pipeline",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// The document a merge patch of a lost reason applies to.
pub fn reason_input(row: &LostReasonRow) -> LostReasonInput {
    LostReasonInput {
        name: row.name.clone(),
        name_en: row.name_en.clone(),
        active: row.active,
    }
}

/// Adds a lost reason (`crm:configure`); a taken name is a conflict.
pub fn create_reason(
    conn: &mut DbConnection,
    acting: &Acting,
    input: LostReasonInput,
) -> AppResult<LostReasonRow> {
    acting.require(Permission::CrmConfigure)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let now = DbTime(persistence::now());
        let row = LostReasonRow {
            id: DbUuid(Uuid::now_v7()),
            name_key: domain::persian::search_key(&input.name),
            name: input.name,
            name_en: input.name_en,
            active: input.active,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::pipelines::insert_reason(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lost_reason.create",
            "lost_reason",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// A lost reason (`records:read`).
pub fn get_reason(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<LostReasonRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::pipelines::find_reason(conn, id)?)
}

/// One page of lost reasons in creation order (`records:read`).
pub fn list_reasons(
    conn: &mut DbConnection,
    acting: &Acting,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<LostReasonRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::pipelines::list_reasons(
        conn,
        created_after(cursor)?,
        limit,
    )?)
}

/// Renames or (de)activates a lost reason (`crm:configure`).
pub fn update_reason(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&LostReasonInput) -> AppResult<LostReasonInput>,
) -> AppResult<LostReasonRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::pipelines::find_reason(conn, id)?;
        precondition.check(id, current.version)?;
        let after = edit(&reason_input(&current))?
            .validated()
            .map_err(AppError::Invalid)?;
        let mut row = current.clone();
        row.name_key = domain::persian::search_key(&after.name);
        row.name = after.name;
        row.name_en = after.name_en;
        row.active = after.active;
        let row = persistence::pipelines::update_reason(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lost_reason.update",
            "lost_reason",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a lost reason no deal was lost for (`crm:configure`).
pub fn delete_reason(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::pipelines::find_reason(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::pipelines::delete_reason(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "lost_reason.delete",
            "lost_reason",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
