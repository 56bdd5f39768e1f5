//! Pipelines and their stages, and the lost reasons (S-4): the business's configuration
//! of its sales process, a few rows each.

use diesel::prelude::*;
use domain::sales::pipelines::StageKind;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{deal_stage_history, deals, lost_reasons, pipeline_stages, pipelines};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_PIPELINE: &str = "a pipeline with this name already exists";
const DUPLICATE_REASON: &str = "a lost reason with this name already exists";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pipelines)]
pub struct PipelineRow {
    pub id: DbUuid,
    pub name: String,
    pub name_en: Option<String>,
    /// `name` reduced by `domain::persian::search_key`, unique.
    pub name_key: String,
    pub stuck_after_days: i32,
    pub is_default: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pipeline_stages)]
pub struct StageRow {
    pub id: DbUuid,
    pub pipeline_id: DbUuid,
    pub position: i32,
    pub name: String,
    pub name_en: Option<String>,
    pub probability: i32,
    /// `open`, `won` or `lost` ([`StageKind`]).
    pub kind: String,
}

impl StageRow {
    /// The stored kind; an unknown value is corrupt data, never guessed.
    pub fn kind(&self) -> Result<StageKind, PersistenceError> {
        StageKind::parse(&self.kind).ok_or_else(|| {
            PersistenceError::Corrupt(format!("stage {} has kind {:?}", self.id.0, self.kind))
        })
    }
}

/// A pipeline with its stages in order (open ones, then won and lost).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRecord {
    pub row: PipelineRow,
    pub stages: Vec<StageRow>,
}

impl PipelineRecord {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.row.name,
            "name_en": self.row.name_en,
            "stuck_after_days": self.row.stuck_after_days,
            "is_default": self.row.is_default,
            "stages": self.stages.iter().map(|stage| serde_json::json!({
                "id": stage.id.0,
                "name": stage.name,
                "name_en": stage.name_en,
                "probability": stage.probability,
                "kind": stage.kind,
            })).collect::<Vec<_>>(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lost_reasons)]
pub struct LostReasonRow {
    pub id: DbUuid,
    pub name: String,
    pub name_en: Option<String>,
    pub name_key: String,
    pub active: bool,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl LostReasonRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "name_en": self.name_en, "active": self.active})
    }
}

/// Writes a pipeline and its stages.
pub fn insert(conn: &mut DbConnection, record: &PipelineRecord) -> Result<(), PersistenceError> {
    diesel::insert_into(pipelines::table)
        .values(&record.row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_PIPELINE))?;
    crate::insert_batch!(conn, pipeline_stages::table, &record.stages)?;
    Ok(())
}

fn find_row(conn: &mut DbConnection, id: Uuid) -> Result<PipelineRow, PersistenceError> {
    pipelines::table
        .find(DbUuid(id))
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<PipelineRecord, PersistenceError> {
    let row = find_row(conn, id)?;
    Ok(with_stages(conn, vec![row])?.remove(0))
}

/// The pipelines with their stages, in the given order.
pub fn with_stages(
    conn: &mut DbConnection,
    rows: Vec<PipelineRow>,
) -> Result<Vec<PipelineRecord>, PersistenceError> {
    let ids: Vec<DbUuid> = rows.iter().map(|row| row.id).collect();
    let mut stages: Vec<StageRow> = pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq_any(ids))
        .order((pipeline_stages::pipeline_id, pipeline_stages::position))
        .select(StageRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest) = stages.drain(..).partition(|s| s.pipeline_id == row.id);
            stages = rest;
            PipelineRecord { row, stages: mine }
        })
        .collect())
}

/// The default pipeline, if one is marked.
pub fn find_default(conn: &mut DbConnection) -> Result<Option<PipelineRecord>, PersistenceError> {
    let row = pipelines::table
        .filter(pipelines::is_default.eq(true))
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| Ok(with_stages(conn, vec![row])?.remove(0)))
        .transpose()
}

/// Holds the pipeline's row until the transaction ends (PostgreSQL; SQLite writers are
/// serialised already): shared by deal writes, which must find the stages they name
/// still there, exclusive for changes of the pipeline, which may remove stages.
pub fn lock(conn: &mut DbConnection, id: Uuid, exclusive: bool) -> Result<(), PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        let query = pipelines::table.find(DbUuid(id)).select(pipelines::id);
        if exclusive {
            query.for_update().load::<DbUuid>(pg)?;
        } else {
            query.for_share().load::<DbUuid>(pg)?;
        }
    }
    Ok(())
}

/// Pipelines in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<PipelineRow>, PersistenceError> {
    let query = pipelines::table
        .select(PipelineRow::as_select())
        .into_boxed();
    Ok(crate::creation_order_page!(
        conn, pipelines, query, after, limit
    )?)
}

/// Every pipeline with its stages (reports name them; there are few).
pub fn all(conn: &mut DbConnection) -> Result<Vec<PipelineRecord>, PersistenceError> {
    let rows = pipelines::table
        .order((pipelines::created_at, pipelines::id))
        .select(PipelineRow::as_select())
        .load(conn)?;
    with_stages(conn, rows)
}

/// The stage `id`.
pub fn find_stage(conn: &mut DbConnection, id: Uuid) -> Result<StageRow, PersistenceError> {
    pipeline_stages::table
        .find(DbUuid(id))
        .select(StageRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Writes the pipeline's own fields if its version is still the stored one.
pub fn update(conn: &mut DbConnection, row: &PipelineRow) -> Result<PipelineRow, PersistenceError> {
    let updated = diesel::update(
        pipelines::table
            .filter(pipelines::id.eq(row.id))
            .filter(pipelines::version.eq(row.version)),
    )
    .set((
        pipelines::name.eq(&row.name),
        pipelines::name_en.eq(&row.name_en),
        pipelines::name_key.eq(&row.name_key),
        pipelines::stuck_after_days.eq(row.stuck_after_days),
        pipelines::is_default.eq(row.is_default),
        pipelines::updated_at.eq(DbTime(crate::now())),
        pipelines::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, DUPLICATE_PIPELINE))?;
    if updated == 0 {
        find_row(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find_row(conn, row.id.0)
}

/// Takes the default mark from every pipeline but `keep` (before `keep` takes it).
pub fn clear_default(conn: &mut DbConnection, keep: Uuid) -> Result<(), PersistenceError> {
    diesel::update(
        pipelines::table
            .filter(pipelines::is_default.eq(true))
            .filter(pipelines::id.ne(DbUuid(keep))),
    )
    .set((
        pipelines::is_default.eq(false),
        pipelines::version.eq(pipelines::version + 1),
        pipelines::updated_at.eq(DbTime(crate::now())),
    ))
    .execute(conn)?;
    Ok(())
}

/// Makes the pipeline's stages `stages` (their ids decide which are kept, added and
/// removed); the caller checked that the removed ones hold no deals.
pub fn replace_stages(
    conn: &mut DbConnection,
    pipeline: Uuid,
    stages: &[StageRow],
) -> Result<(), PersistenceError> {
    let keep: Vec<DbUuid> = stages.iter().map(|stage| stage.id).collect();
    diesel::delete(
        pipeline_stages::table
            .filter(pipeline_stages::pipeline_id.eq(DbUuid(pipeline)))
            .filter(pipeline_stages::id.ne_all(keep)),
    )
    .execute(conn)?;
    for stage in stages {
        let updated = diesel::update(pipeline_stages::table.find(stage.id))
            .set((
                pipeline_stages::position.eq(stage.position),
                pipeline_stages::name.eq(&stage.name),
                pipeline_stages::name_en.eq(&stage.name_en),
                pipeline_stages::probability.eq(stage.probability),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(pipeline_stages::table)
                .values(stage)
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Those of `stages` that a deal is at or passed through.
pub fn stages_with_deals(
    conn: &mut DbConnection,
    stages: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    let ids: Vec<DbUuid> = stages.iter().copied().map(DbUuid).collect();
    let mut used: Vec<DbUuid> = deals::table
        .filter(deals::stage_id.eq_any(&ids))
        .select(deals::stage_id)
        .distinct()
        .load(conn)?;
    used.extend(
        deal_stage_history::table
            .filter(deal_stage_history::to_stage_id.eq_any(&ids))
            .select(deal_stage_history::to_stage_id)
            .distinct()
            .load::<DbUuid>(conn)?,
    );
    let mut used: Vec<Uuid> = used.into_iter().map(|id| id.0).collect();
    used.sort_unstable();
    used.dedup();
    Ok(used)
}

/// Deletes a pipeline no deal names, with its stages.
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let used = diesel::select(diesel::dsl::exists(
        deals::table.filter(deals::pipeline_id.eq(DbUuid(id))),
    ))
    .get_result::<bool>(conn)?;
    if used {
        return Err(PersistenceError::Conflict(
            "deals are in this pipeline; move or delete them first".into(),
        ));
    }
    diesel::delete(pipelines::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

pub fn insert_reason(conn: &mut DbConnection, row: &LostReasonRow) -> Result<(), PersistenceError> {
    diesel::insert_into(lost_reasons::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_REASON))?;
    Ok(())
}

pub fn find_reason(conn: &mut DbConnection, id: Uuid) -> Result<LostReasonRow, PersistenceError> {
    lost_reasons::table
        .find(DbUuid(id))
        .select(LostReasonRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Lost reasons in creation order after `after`; `limit + 1` rows.
pub fn list_reasons(
    conn: &mut DbConnection,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<LostReasonRow>, PersistenceError> {
    let query = lost_reasons::table
        .select(LostReasonRow::as_select())
        .into_boxed();
    Ok(crate::creation_order_page!(
        conn,
        lost_reasons,
        query,
        after,
        limit
    )?)
}

pub fn update_reason(
    conn: &mut DbConnection,
    row: &LostReasonRow,
) -> Result<LostReasonRow, PersistenceError> {
    let updated = diesel::update(
        lost_reasons::table
            .filter(lost_reasons::id.eq(row.id))
            .filter(lost_reasons::version.eq(row.version)),
    )
    .set((
        lost_reasons::name.eq(&row.name),
        lost_reasons::name_en.eq(&row.name_en),
        lost_reasons::name_key.eq(&row.name_key),
        lost_reasons::active.eq(row.active),
        lost_reasons::updated_at.eq(DbTime(crate::now())),
        lost_reasons::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, DUPLICATE_REASON))?;
    if updated == 0 {
        find_reason(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find_reason(conn, row.id.0)
}

/// Deletes a lost reason no deal was lost for; one in use is a conflict (deactivate it
/// instead).
pub fn delete_reason(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    let used = diesel::select(diesel::dsl::exists(
        deals::table.filter(deals::lost_reason_id.eq(DbUuid(id))),
    ))
    .get_result::<bool>(conn)?;
    if used {
        return Err(PersistenceError::Conflict(
            "deals were lost for this reason; deactivate it instead".into(),
        ));
    }
    diesel::delete(lost_reasons::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}
