//! Message templates (O-3): the business's texts for messages it starts, listed in
//! creation order.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::message_templates;
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = message_templates)]
pub struct MessageTemplateRow {
    pub id: DbUuid,
    /// Unique among templates.
    pub name: String,
    /// The channel kind that sends it; any when `None`.
    pub channel: Option<String>,
    pub subject_fa: Option<String>,
    pub subject_en: Option<String>,
    pub body_fa: String,
    pub body_en: Option<String>,
    pub active: bool,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

impl MessageTemplateRow {
    pub fn audit_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "channel": self.channel,
            "subject_fa": self.subject_fa,
            "subject_en": self.subject_en,
            "body_fa": self.body_fa,
            "body_en": self.body_en,
            "active": self.active,
        })
    }
}

/// What a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct MessageTemplateFilter {
    /// Templates of this channel kind and those of any channel.
    pub channel: Option<String>,
    pub active: Option<bool>,
}

/// Stores a new template; a name already taken is a conflict on `name`.
pub fn insert(conn: &mut DbConnection, row: &MessageTemplateRow) -> Result<(), PersistenceError> {
    diesel::insert_into(message_templates::table)
        .values(row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, "name"))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<MessageTemplateRow, PersistenceError> {
    message_templates::table
        .find(DbUuid(id))
        .select(MessageTemplateRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Templates meeting `filter` in creation order after `after`; `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    filter: &MessageTemplateFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<MessageTemplateRow>, PersistenceError> {
    let mut query = message_templates::table
        .select(MessageTemplateRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(channel) = &filter.channel {
        query = query.filter(
            message_templates::channel
                .eq(channel.clone())
                .or(message_templates::channel.is_null()),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(message_templates::active.eq(active));
    }
    Ok(crate::creation_order_page!(
        conn,
        message_templates,
        query,
        after,
        limit
    )?)
}

/// Writes `row` over the stored template if it still has `row.version`; answers the
/// template as stored, its version one more.
pub fn update(
    conn: &mut DbConnection,
    row: &MessageTemplateRow,
) -> Result<MessageTemplateRow, PersistenceError> {
    use message_templates as t;
    let updated = diesel::update(
        t::table
            .filter(t::id.eq(row.id))
            .filter(t::version.eq(row.version)),
    )
    .set((
        t::name.eq(&row.name),
        t::channel.eq(&row.channel),
        t::subject_fa.eq(&row.subject_fa),
        t::subject_en.eq(&row.subject_en),
        t::body_fa.eq(&row.body_fa),
        t::body_en.eq(&row.body_en),
        t::active.eq(row.active),
        t::updated_at.eq(DbTime(crate::now())),
        t::version.eq(row.version + 1),
    ))
    .execute(conn)
    .map_err(|err| PersistenceError::from_write(err, "name"))?;
    if updated == 0 {
        find(conn, row.id.0)?;
        return Err(PersistenceError::StaleVersion);
    }
    find(conn, row.id.0)
}

pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(message_templates::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}
