//! Message templates (O-3): the library of texts the business starts conversations
//! with, in Persian and optionally English, written with `records:write` (deleting one
//! needs `crm:configure`) and filled in per customer
//! (`domain::omnichannel::templates`) for a preview or a send.

use domain::authz::Permission;
use domain::omnichannel::accounts::ChannelKind;
use domain::omnichannel::templates::{
    render, MessageTemplateInput, TemplateCustomer, TemplateLanguage, TemplateValues,
};
use persistence::audit;
use persistence::customers::CustomerRow;
use persistence::db::DbConnection;
use persistence::message_templates::{MessageTemplateFilter, MessageTemplateRow};
use persistence::sql_types::{DbTime, DbUuid};
use persistence::PersistenceError;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::paging::{created_after, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// The document a merge patch of a template applies to.
pub fn template_input(row: &MessageTemplateRow) -> AppResult<MessageTemplateInput> {
    Ok(MessageTemplateInput {
        name: row.name.clone(),
        channel: row.channel.as_deref().map(channel_kind).transpose()?,
        subject_fa: row.subject_fa.clone(),
        subject_en: row.subject_en.clone(),
        body_fa: row.body_fa.clone(),
        body_en: row.body_en.clone(),
        active: row.active,
    })
}

fn channel_kind(stored: &str) -> AppResult<ChannelKind> {
    ChannelKind::parse(stored)
        .ok_or_else(|| AppError::Internal(format!("stored template channel {stored:?}")))
}

/// A name already taken, named on the field.
fn name_taken(err: PersistenceError) -> AppError {
    match err {
        PersistenceError::Conflict(_) => {
            AppError::field("name", "already_exists", "another template has this name")
        }
        other => other.into(),
    }
}

/// Adds a template (`records:write`); the caller is its author.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: MessageTemplateInput,
) -> AppResult<MessageTemplateRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let now = DbTime(persistence::now());
        let row = MessageTemplateRow {
            id: DbUuid(Uuid::now_v7()),
            name: input.name,
            channel: input.channel.map(|kind| kind.as_str().to_string()),
            subject_fa: input.subject_fa,
            subject_en: input.subject_en,
            body_fa: input.body_fa,
            body_en: input.body_en,
            active: input.active,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        persistence::message_templates::insert(conn, &row).map_err(name_taken)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "message_template.create",
            "message_template",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// A template (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<MessageTemplateRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::message_templates::find(conn, id)?)
}

/// One page of templates in creation order (`records:read`): with `channel`, those an
/// account of that kind may send.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    channel: Option<ChannelKind>,
    active: Option<bool>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<MessageTemplateRow>> {
    acting.require(Permission::RecordsRead)?;
    let filter = MessageTemplateFilter {
        channel: channel.map(|kind| kind.as_str().to_string()),
        active,
    };
    Ok(persistence::message_templates::list(
        conn,
        &filter,
        created_after(cursor)?,
        limit,
    )?)
}

/// Changes a template (`records:write`): `edit` turns its document into the new one,
/// checked as a new template's.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&MessageTemplateInput) -> AppResult<MessageTemplateInput>,
) -> AppResult<MessageTemplateRow> {
    acting.require(Permission::RecordsWrite)?;
    let current = persistence::message_templates::find(conn, id)?;
    precondition.check(id, current.version)?;
    let after = edit(&template_input(&current)?)?
        .validated()
        .map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let row = MessageTemplateRow {
            name: after.name,
            channel: after.channel.map(|kind| kind.as_str().to_string()),
            subject_fa: after.subject_fa,
            subject_en: after.subject_en,
            body_fa: after.body_fa,
            body_en: after.body_en,
            active: after.active,
            ..current.clone()
        };
        // Refused as stale when the template changed since it was read above.
        let row = persistence::message_templates::update(conn, &row).map_err(name_taken)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "message_template.update",
            "message_template",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a template (`crm:configure`); messages sent with it keep their text.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::message_templates::find(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::message_templates::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "message_template.delete",
            "message_template",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// A template filled in for one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Filled {
    pub language: TemplateLanguage,
    /// An e-mail template's subject.
    pub subject: Option<String>,
    pub body: String,
}

/// What a template shows of `customer`.
fn customer_values(customer: &CustomerRow) -> TemplateCustomer {
    TemplateCustomer {
        name: customer.display_name.clone(),
        first_name: customer.first_name.clone(),
        last_name: customer.last_name.clone(),
        code: customer.code.clone(),
        city: customer.city.clone(),
        province: customer.province.clone(),
        birth_date: customer.birth_date,
        lifecycle_stage: customer.lifecycle_stage.clone(),
        order_count: customer.order_count,
        revenue: customer.revenue,
        last_order_at: customer.last_order_at.map(|at| at.0),
    }
}

/// Template `id` as a send may use it: it exists (a 422 on `field` otherwise), is
/// active and is of `channel` or of any channel.
pub(crate) fn sendable(
    conn: &mut DbConnection,
    id: Uuid,
    field: &str,
    channel: ChannelKind,
) -> AppResult<MessageTemplateRow> {
    let template = match persistence::message_templates::find(conn, id) {
        Err(PersistenceError::NotFound) => {
            return Err(AppError::field(
                field,
                "not_found",
                "no such message template",
            ))
        }
        other => other?,
    };
    if !template.active {
        return Err(AppError::field(
            field,
            "inactive",
            "the message template is inactive",
        ));
    }
    if let Some(stored) = template.channel.as_deref() {
        if stored != channel.as_str() {
            return Err(AppError::field(
                field,
                "wrong_channel",
                format!(
                    "the message template is for {stored}, not {}",
                    channel.as_str()
                ),
            ));
        }
    }
    Ok(template)
}

/// Template `id` filled in for `customer` in `language` to be sent on `channel` by
/// whoever `acting` is; see [`sendable`] for what makes a template usable.
pub fn fill(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    field: &str,
    language: TemplateLanguage,
    channel: ChannelKind,
    customer: &CustomerRow,
) -> AppResult<Filled> {
    let template = sendable(conn, id, field, channel)?;
    filled(conn, acting, &template, field, language, customer)
}

/// `template` filled in for `customer` in `language`; a template without English text
/// asked for in English is a 422 on `language`.
fn filled(
    conn: &mut DbConnection,
    acting: &Acting,
    template: &MessageTemplateRow,
    field: &str,
    language: TemplateLanguage,
    customer: &CustomerRow,
) -> AppResult<Filled> {
    let input = template_input(template)?;
    let Some((subject, body)) = input.text(language) else {
        return Err(AppError::field(
            "language",
            "not_available",
            "the message template has no English text",
        ));
    };
    let agent_name = match acting.user_id {
        Some(user) => Some(persistence::users::find(conn, user)?.display_name),
        None => None,
    };
    let values = TemplateValues {
        customer: customer_values(customer),
        agent_name,
        time_zone: crate::settings::calendar(conn)?.local().time_zone,
        now: persistence::now(),
    };
    // Stored templates were checked when they were saved; what fails now is the
    // customer's data meeting a filter.
    let fill = |source: &str| {
        render(source, language, &values).map_err(|err| AppError::Invalid(vec![err.at(field)]))
    };
    Ok(Filled {
        language,
        subject: subject.map(fill).transpose()?,
        body: fill(body)?,
    })
}

/// Template `id` filled in for a customer the caller sees (`records:read`), as it would
/// be sent, without sending anything.
pub fn preview(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    customer: Uuid,
    language: TemplateLanguage,
) -> AppResult<Filled> {
    acting.require(Permission::RecordsRead)?;
    let template = persistence::message_templates::find(conn, id)?;
    let customer = match crate::customers::visible(conn, acting, customer) {
        Err(AppError::NotFound) => {
            return Err(AppError::field(
                "customer_id",
                "not_found",
                "no such customer",
            ))
        }
        other => other?,
    };
    filled(
        conn,
        acting,
        &template,
        "template_id",
        language,
        &customer.row,
    )
}
