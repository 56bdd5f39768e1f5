//! Marketing campaigns (M-2): the definitions (`records:write`; launching, cancelling
//! and deleting `crm:configure`), their cost entries, the `campaigns.send` job that
//! sends the message to the segment's members, the tracked links and open pixel, and
//! the results.
//!
//! Sending goes a page of members per transaction, each member once (a row in
//! `campaign_recipients`, so a retried page skips whoever it reached): a member who has
//! not consented to marketing on the channel (`domain::campaigns::may_market`) or has no
//! address on it is recorded with that outcome; the others get their message through
//! `omnichannel::outbound::start` in a savepoint — consent to service messages, quiet
//! hours and the provider's retries apply as to any message — with the links of their
//! copy tracked by their own token.
//!
//! A conversion is a purchase that names the campaign's code, or one a recipient placed
//! within the attribution window after their message; revenue is net of refunds.

use chrono::Datelike;
use domain::authz::Permission;
use domain::campaigns::{
    achievement, links_in, may_market, per, roi, track_links, CampaignGoal, CampaignInput,
    CampaignMessage, CampaignStatus, CostInput, GoalMetric, RecipientOutcome, MAX_AMOUNT,
};
use domain::customers::ConsentPurpose;
use domain::omnichannel::conversations::NewConversationInput;
use domain::omnichannel::templates::TemplateLanguage;
use domain::validation::FieldViolation;
use persistence::audit;
use persistence::campaigns::{CampaignRow, CostRow, LinkRow, RecipientRow};
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::PersistenceError;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::acting::Acting;
use crate::analytics::access::require_reader;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::jobs::{connection, JobContext, JobError, JobHandler};
use crate::omnichannel::accounts::ChannelAccount;
use crate::paging::{created_after, creation_cursor, Cursor};
use crate::precondition::Precondition;
use crate::transaction;

/// Job kind that sends a launched campaign.
pub const CAMPAIGN_SEND: &str = "campaigns.send";
/// Members sent to per transaction: each takes a dozen statements, and on SQLite the
/// page holds the one writer lock.
const SEND_PAGE: i64 = 50;

fn status_of(row: &CampaignRow) -> AppResult<CampaignStatus> {
    CampaignStatus::parse(&row.status).ok_or_else(|| {
        AppError::Internal(format!("campaign {} has status {:?}", row.id.0, row.status))
    })
}

/// The document a merge patch of a campaign applies to.
pub fn campaign_input(row: &CampaignRow) -> AppResult<CampaignInput> {
    let message = match row.channel_account_id {
        Some(account) => Some(CampaignMessage {
            channel_account_id: account.0,
            template_id: row.template_id.map(|id| id.0),
            language: row
                .language
                .as_deref()
                .map(|language| {
                    TemplateLanguage::parse(language).ok_or_else(|| {
                        AppError::Internal(format!("campaign language {language:?}"))
                    })
                })
                .transpose()?,
            subject: row.subject.clone(),
            body: row.body.clone(),
        }),
        None => None,
    };
    let goal = match (&row.goal_metric, row.goal_target) {
        (Some(metric), Some(target)) => Some(CampaignGoal {
            metric: GoalMetric::parse(metric)
                .ok_or_else(|| AppError::Internal(format!("campaign goal {metric:?}")))?,
            target,
        }),
        _ => None,
    };
    Ok(CampaignInput {
        name: row.name.clone(),
        code: row.code.clone(),
        description: row.description.clone(),
        channel: row.channel.clone(),
        segment_id: row.segment_id.map(|id| id.0),
        message,
        scheduled_at: row.scheduled_at.map(|at| at.0),
        budget: row.budget,
        goal,
        attribution_window_days: row.attribution_window_days,
    })
}

/// `input` checked: its own rules, and that the segment, the channel account and the
/// template exist unless they are `before`'s; every problem reported at once.
fn checked(
    conn: &mut DbConnection,
    input: CampaignInput,
    before: Option<&CampaignInput>,
) -> AppResult<CampaignInput> {
    let mut missing = Vec::new();
    let mut exists = |field: &str, found: Result<(), PersistenceError>| match found {
        Ok(()) => Ok(()),
        Err(PersistenceError::NotFound) => {
            missing.push(FieldViolation::new(field, "not_found", "no such record"));
            Ok(())
        }
        Err(err) => Err(AppError::from(err)),
    };
    let before_message = before.and_then(|before| before.message.as_ref());
    if let Some(segment) = input
        .segment_id
        .filter(|segment| before.is_none_or(|before| before.segment_id != Some(*segment)))
    {
        exists(
            "segment_id",
            persistence::segments::find(conn, segment).map(drop),
        )?;
    }
    if let Some(message) = &input.message {
        if before_message
            .is_none_or(|before| before.channel_account_id != message.channel_account_id)
        {
            exists(
                "message.channel_account_id",
                persistence::channel_accounts::find(conn, message.channel_account_id).map(drop),
            )?;
        }
        if let Some(template) = message.template_id.filter(|template| {
            before_message.is_none_or(|before| before.template_id != Some(*template))
        }) {
            exists(
                "message.template_id",
                persistence::message_templates::find(conn, template).map(drop),
            )?;
        }
    }
    if let Some(at) = input.scheduled_at {
        let now = persistence::now();
        if at.year() < 2000 || at > now + chrono::TimeDelta::days(366) {
            missing.push(FieldViolation::new(
                "scheduled_at",
                "out_of_range",
                "must be within a year from now (a past time means at once)",
            ));
        }
    }
    match input.validated() {
        Ok(input) if missing.is_empty() => Ok(input),
        Ok(_) => Err(AppError::Invalid(missing)),
        Err(mut violations) => {
            violations.extend(missing);
            Err(AppError::Invalid(violations))
        }
    }
}

/// Writes `input` into `row`.
fn apply(row: &mut CampaignRow, input: CampaignInput) {
    row.name = input.name;
    row.code = input.code;
    row.description = input.description;
    row.channel = input.channel;
    row.segment_id = input.segment_id.map(DbUuid);
    let message = input.message;
    row.channel_account_id = message.as_ref().map(|m| DbUuid(m.channel_account_id));
    row.template_id = message.as_ref().and_then(|m| m.template_id.map(DbUuid));
    row.language = message
        .as_ref()
        .and_then(|m| m.language.map(|language| language.as_str().to_string()));
    row.subject = message.as_ref().and_then(|m| m.subject.clone());
    row.body = message.and_then(|m| m.body);
    row.scheduled_at = input.scheduled_at.map(DbTime);
    row.budget = input.budget;
    row.goal_metric = input.goal.map(|goal| goal.metric.as_str().to_string());
    row.goal_target = input.goal.map(|goal| goal.target);
    row.attribution_window_days = input.attribution_window_days;
}

/// Creates a draft campaign (`records:write`).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: CampaignInput,
) -> AppResult<CampaignRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = checked(conn, input, None)?;
    let now = DbTime(persistence::now());
    let mut row = CampaignRow {
        id: DbUuid(Uuid::now_v7()),
        name: String::new(),
        code: String::new(),
        description: None,
        channel: String::new(),
        segment_id: None,
        channel_account_id: None,
        template_id: None,
        language: None,
        subject: None,
        body: None,
        scheduled_at: None,
        budget: None,
        goal_metric: None,
        goal_target: None,
        attribution_window_days: 0,
        status: CampaignStatus::Draft.as_str().to_string(),
        launched_at: None,
        completed_at: None,
        created_by: acting.user_id.map(DbUuid),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply(&mut row, input);
    transaction(conn, |conn| {
        persistence::campaigns::insert(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "campaign.create",
            "campaign",
            row.id.0,
            &json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(())
    })?;
    Ok(row)
}

/// A campaign (`records:read`: a campaign is the business's, like a segment).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CampaignRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::campaigns::find(conn, id)?)
}

/// Campaigns in creation order after `cursor`, of one status and channel when given.
pub fn list(
    conn: &mut DbConnection,
    acting: &Acting,
    status: Option<CampaignStatus>,
    channel: Option<&str>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> AppResult<Vec<CampaignRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::campaigns::list(
        conn,
        status.map(CampaignStatus::as_str),
        channel,
        created_after(cursor)?,
        limit,
    )?)
}

pub fn cursor_after(row: &CampaignRow) -> Cursor {
    creation_cursor(row.created_at.0, row.id.0)
}

/// Changes a campaign (`records:write`): `edit` turns its current document into the
/// new one. Once launched, its code, channel, audience, message and schedule stay.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&CampaignInput) -> AppResult<CampaignInput>,
) -> AppResult<CampaignRow> {
    acting.require(Permission::RecordsWrite)?;
    let current = persistence::campaigns::find(conn, id)?;
    precondition.check(id, current.version)?;
    let before = campaign_input(&current)?;
    let after = edit(&before)?;
    if !status_of(&current)?.editable() {
        let frozen = before.frozen_changes(&after);
        if !frozen.is_empty() {
            return Err(AppError::Invalid(frozen));
        }
    }
    let after = checked(conn, after, Some(&before))?;
    transaction(conn, |conn| {
        let current = persistence::campaigns::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        if !status_of(&current)?.editable()
            && !campaign_input(&current)?.frozen_changes(&after).is_empty()
        {
            return Err(AppError::Conflict(
                "the campaign was launched meanwhile; its audience and message stay".into(),
            ));
        }
        let mut row = current.clone();
        apply(&mut row, after);
        let row = persistence::campaigns::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "campaign.update",
            "campaign",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a campaign with its costs (`crm:configure`): a draft, or one cancelled
/// before it reached anyone; what went out stays on record.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let row = persistence::campaigns::find_for_update(conn, id)?;
        precondition.check(id, row.version)?;
        if !matches!(
            status_of(&row)?,
            CampaignStatus::Draft | CampaignStatus::Cancelled
        ) || persistence::campaigns::last_recipient(conn, id)?.is_some()
        {
            return Err(AppError::Conflict(
                "the campaign went out (to some members at least); what went out stays on record"
                    .into(),
            ));
        }
        persistence::campaigns::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "campaign.delete",
            "campaign",
            id,
            &row.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// Launches a draft (`crm:configure`): it needs a segment and a message on an active
/// channel account. The `campaigns.send` job runs at `scheduled_at`, or now.
pub fn launch(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<CampaignRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::campaigns::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        if status_of(&current)? != CampaignStatus::Draft {
            return Err(AppError::Conflict(format!(
                "the campaign is {}; only a draft is launched",
                current.status
            )));
        }
        let mut missing = Vec::new();
        let mut links = Vec::new();
        if current.segment_id.is_none() {
            missing.push(FieldViolation::new(
                "segment_id",
                "required",
                "a campaign is sent to a segment's members",
            ));
        }
        match current.channel_account_id {
            None => missing.push(FieldViolation::new(
                "message",
                "required",
                "a campaign without a message has nothing to send",
            )),
            Some(account) => {
                let account =
                    ChannelAccount::of(persistence::channel_accounts::find(conn, account.0)?)?;
                if !account.row.active {
                    return Err(AppError::Conflict("the channel account is inactive".into()));
                }
                match message_text(conn, &current, &account)? {
                    Ok(text) => links = links_in(&text),
                    Err(violation) => missing.push(violation),
                }
            }
        }
        if !missing.is_empty() {
            return Err(AppError::Invalid(missing));
        }
        persistence::campaigns::insert_links(
            conn,
            &links
                .into_iter()
                .enumerate()
                .map(|(position, url)| LinkRow {
                    campaign_id: current.id,
                    position: position as i32,
                    url,
                })
                .collect::<Vec<_>>(),
        )?;
        let now = persistence::now();
        let run_at = current.scheduled_at.map_or(now, |at| at.0.max(now));
        let mut row = current.clone();
        row.status = CampaignStatus::Scheduled.as_str().to_string();
        row.launched_at = Some(DbTime(now));
        let row = persistence::campaigns::update(conn, &row)?;
        persistence::jobs::schedule(
            conn,
            NewJob {
                kind: CAMPAIGN_SEND,
                payload: json!({"campaign_id": id}),
                run_at,
                max_attempts: 10,
                created_by: acting.user_id,
            },
            &format!("{CAMPAIGN_SEND}:{id}"),
        )?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "campaign.launch",
            "campaign",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// The text of a campaign's message as written — its body, or its template's text in
/// its language, variables unfilled — which is where its tracked links come from (a
/// link filled in from a customer's data is never tracked). A violation when the
/// message cannot go out on `account`: a template that is gone, inactive, of another
/// channel or without that language; an e-mail without a subject.
fn message_text(
    conn: &mut DbConnection,
    campaign: &CampaignRow,
    account: &ChannelAccount,
) -> AppResult<Result<String, FieldViolation>> {
    let email = account.kind == domain::omnichannel::accounts::ChannelKind::Email;
    let no_subject =
        || FieldViolation::new("message.subject", "required", "an e-mail needs a subject");
    match (&campaign.body, campaign.template_id) {
        (Some(body), _) => Ok(if email && campaign.subject.is_none() {
            Err(no_subject())
        } else {
            Ok(body.clone())
        }),
        (None, Some(template)) => {
            let template = match crate::omnichannel::templates::sendable(
                conn,
                template.0,
                "message.template_id",
                account.kind,
            ) {
                Ok(template) => template,
                Err(AppError::Invalid(mut violations)) if !violations.is_empty() => {
                    return Ok(Err(violations.remove(0)))
                }
                Err(other) => return Err(other),
            };
            let english = campaign.language.as_deref() == Some(TemplateLanguage::En.as_str());
            let (text, subject) = if english {
                (template.body_en, template.subject_en)
            } else {
                (Some(template.body_fa), template.subject_fa)
            };
            Ok(match text {
                None => Err(FieldViolation::new(
                    "message.language",
                    "missing_text",
                    "the message template has no text in this language",
                )),
                Some(_) if email && campaign.subject.is_none() && subject.is_none() => {
                    Err(no_subject())
                }
                Some(text) => Ok(text),
            })
        }
        (None, None) => Ok(Err(FieldViolation::new(
            "message.body",
            "required",
            "a message needs a body or a template",
        ))),
    }
}

/// Cancels a campaign that has not finished sending (`crm:configure`): members not
/// reached yet are not sent to.
pub fn cancel(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<CampaignRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::campaigns::find_for_update(conn, id)?;
        precondition.check(id, current.version)?;
        if !status_of(&current)?.cancellable() {
            return Err(AppError::Conflict(format!(
                "the campaign is {} already",
                current.status
            )));
        }
        let mut row = current.clone();
        row.status = CampaignStatus::Cancelled.as_str().to_string();
        row.completed_at = Some(DbTime(persistence::now()));
        let row = persistence::campaigns::update(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "campaign.cancel",
            "campaign",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Enters what was spent on a campaign (`records:write`).
pub fn add_cost(
    conn: &mut DbConnection,
    acting: &Acting,
    campaign: Uuid,
    input: CostInput,
) -> AppResult<CostRow> {
    acting.require(Permission::RecordsWrite)?;
    let input = input.validated().map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        persistence::campaigns::find_for_update(conn, campaign)?;
        let spent = persistence::campaigns::cost_total(conn, campaign)?.amount;
        if spent > MAX_AMOUNT - input.amount {
            return Err(AppError::field(
                "amount",
                "exceeds_total",
                format!("a campaign's costs add up to at most {MAX_AMOUNT}"),
            ));
        }
        let row = CostRow {
            id: DbUuid(Uuid::now_v7()),
            campaign_id: DbUuid(campaign),
            amount: input.amount,
            incurred_on: input.incurred_on,
            note: input.note,
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(persistence::now()),
        };
        persistence::campaigns::insert_cost(conn, &row)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "campaign.cost_add",
                resource_type: "campaign",
                resource_id: Some(campaign.to_string()),
                changes: Some(json!({
                    "cost_id": row.id.0,
                    "amount": row.amount,
                    "incurred_on": row.incurred_on,
                })),
            },
        )?;
        Ok(row)
    })
}

/// A campaign's cost entries (`records:read`).
pub fn costs(conn: &mut DbConnection, acting: &Acting, campaign: Uuid) -> AppResult<Vec<CostRow>> {
    acting.require(Permission::RecordsRead)?;
    persistence::campaigns::find(conn, campaign)?;
    Ok(persistence::campaigns::costs(conn, campaign)?)
}

/// Takes back a cost entry entered by mistake (`records:write`).
pub fn delete_cost(
    conn: &mut DbConnection,
    acting: &Acting,
    campaign: Uuid,
    cost: Uuid,
) -> AppResult<()> {
    acting.require(Permission::RecordsWrite)?;
    transaction(conn, |conn| {
        persistence::campaigns::find_for_update(conn, campaign)?;
        if !persistence::campaigns::delete_cost(conn, campaign, cost)? {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "campaign.cost_delete",
                resource_type: "campaign",
                resource_id: Some(campaign.to_string()),
                changes: Some(json!({"cost_id": cost})),
            },
        )?;
        Ok(())
    })
}

/// How far a campaign got towards its goal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GoalProgress {
    pub metric: GoalMetric,
    pub target: i64,
    pub actual: i64,
    /// `actual / target` (1 = reached; more when exceeded).
    pub achievement: f64,
}

/// What a campaign reached and brought.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CampaignResults {
    pub campaign_id: Uuid,
    pub status: CampaignStatus,
    /// The business currency, which every amount is in (minor units).
    pub currency: String,
    /// Members a message was recorded for.
    pub reach: i64,
    /// Members passed over: no consent to marketing on the channel.
    pub skipped_no_consent: i64,
    /// Members passed over: no address on the channel.
    pub skipped_no_address: i64,
    /// Members passed over: their copy broke the channel's rules (too long once
    /// filled in, say).
    pub skipped_unsendable: i64,
    /// Messages refused (consent to service messages withdrawn) or that the provider
    /// could not deliver.
    pub failed: i64,
    /// Delivered by the provider's report (or read); an e-mail when the mail server
    /// accepted it, as e-mail has no delivery report.
    pub delivered: i64,
    /// Recipients who opened the message: the open pixel of an e-mail, a read report of
    /// a messenger, or a click.
    pub opened: i64,
    /// Recipients who clicked a tracked link, and all their clicks.
    pub clicked: i64,
    pub clicks: i64,
    /// Recipients who wrote back in the conversation within the attribution window.
    pub replies: i64,
    /// Customers who bought: an order naming the campaign's code, or a recipient's
    /// within the attribution window after their message.
    pub conversions: i64,
    /// Of them, recipients who bought within the window after their message.
    pub converted_recipients: i64,
    pub orders: i64,
    /// Their totals net of refunds.
    pub revenue: i64,
    /// The cost entries' sum.
    pub cost: i64,
    pub budget: Option<i64>,
    /// `budget − cost`; negative when overspent.
    pub budget_remaining: Option<i64>,
    /// Cost per converted customer; `None` without conversions.
    pub cost_per_acquisition: Option<i64>,
    /// `(revenue − cost) / cost`; `None` without cost.
    pub roi: Option<f64>,
    /// `delivered / reach`, `opened / delivered`, `clicked / delivered` and
    /// `converted_recipients / reach`; `None` when the denominator is 0.
    pub delivery_rate: Option<f64>,
    pub open_rate: Option<f64>,
    pub click_rate: Option<f64>,
    pub conversion_rate: Option<f64>,
    pub goal: Option<GoalProgress>,
}

fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// A campaign's results (`records:read` with visibility `all`: they count every
/// recipient and buyer).
pub fn results(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<CampaignResults> {
    require_reader(acting)?;
    let row = persistence::campaigns::find(conn, id)?;
    let currency = crate::settings::current(conn)?.0.default_currency;
    let counts = persistence::campaigns::counts(conn, id, row.attribution_window_days)?;
    let bought = persistence::campaigns::conversions(
        conn,
        id,
        &row.code,
        &currency,
        row.attribution_window_days,
    )?;
    let cost = persistence::campaigns::cost_total(conn, id)?.amount;
    let input = campaign_input(&row)?;
    let goal = input.goal.map(|goal| {
        let actual = match goal.metric {
            GoalMetric::Reach => counts.reached,
            GoalMetric::Delivered => counts.delivered,
            GoalMetric::Opened => counts.opened,
            GoalMetric::Clicked => counts.clicked,
            GoalMetric::Replies => counts.replied,
            GoalMetric::Conversions => bought.customers,
            GoalMetric::Revenue => bought.revenue,
        };
        GoalProgress {
            metric: goal.metric,
            target: goal.target,
            actual,
            achievement: achievement(actual, goal.target).unwrap_or(0.0),
        }
    });
    Ok(CampaignResults {
        campaign_id: id,
        status: status_of(&row)?,
        currency,
        reach: counts.reached,
        skipped_no_consent: counts.no_consent,
        skipped_no_address: counts.no_address,
        skipped_unsendable: counts.unsendable,
        failed: counts.failed,
        delivered: counts.delivered,
        opened: counts.opened,
        clicked: counts.clicked,
        clicks: counts.clicks,
        replies: counts.replied,
        conversions: bought.customers,
        converted_recipients: bought.recipients,
        orders: bought.orders,
        revenue: bought.revenue,
        cost,
        budget: row.budget,
        budget_remaining: row.budget.map(|budget| budget - cost),
        cost_per_acquisition: per(cost, bought.customers),
        roi: roi(bought.revenue, cost),
        delivery_rate: rate(counts.delivered, counts.reached),
        open_rate: rate(counts.opened, counts.delivered),
        click_rate: rate(counts.clicked, counts.delivered),
        conversion_rate: rate(bought.recipients, counts.reached),
        goal,
    })
}

/// Notes an open of the message of tracking token `token` (the open pixel, public);
/// an unknown token is not found.
pub fn track_open(conn: &mut DbConnection, token: &str) -> AppResult<()> {
    if persistence::campaigns::recipient_by_token(conn, token)?.is_none() {
        return Err(AppError::NotFound);
    }
    persistence::campaigns::record_open(conn, token, persistence::now())?;
    Ok(())
}

/// The address behind tracked link `position` of token `token`'s message, the click
/// counted (public); an unknown token or position is not found.
pub fn track_click(conn: &mut DbConnection, token: &str, position: i32) -> AppResult<String> {
    let recipient =
        persistence::campaigns::recipient_by_token(conn, token)?.ok_or(AppError::NotFound)?;
    let url = persistence::campaigns::links(conn, recipient.campaign_id.0)?
        .into_iter()
        .find(|link| link.position == position)
        .ok_or(AppError::NotFound)?
        .url;
    persistence::campaigns::record_click(conn, token, persistence::now())?;
    Ok(url)
}

/// Sends launched campaigns: the `campaigns.send` job.
pub struct CampaignSendJob {
    /// Where the server is reached from outside, for the tracked links.
    public_url: String,
}

/// How far a send got.
#[derive(Debug, Default)]
struct Sent {
    sent: i64,
    skipped: i64,
    after: Option<Uuid>,
    /// Why the campaign stopped, when it could not go on.
    failed: Option<String>,
    done: bool,
}

impl CampaignSendJob {
    pub fn new(public_url: String) -> CampaignSendJob {
        CampaignSendJob {
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// Sends to the next page of members after `progress.after`, in one transaction;
    /// whether the campaign may go on is read under its row lock first. A campaign
    /// whose channel account or template went away since the launch is failed with the
    /// reason.
    fn page(
        &self,
        conn: &mut DbConnection,
        id: Uuid,
        links: &[String],
        progress: &mut Sent,
    ) -> AppResult<()> {
        transaction(conn, |conn| {
            let mut row = persistence::campaigns::find_for_update(conn, id)?;
            match status_of(&row)? {
                CampaignStatus::Scheduled => {
                    row.status = CampaignStatus::Sending.as_str().to_string();
                    row = persistence::campaigns::update(conn, &row)?;
                }
                CampaignStatus::Sending => {}
                // Cancelled (or done by an earlier attempt): nothing more goes out.
                _ => {
                    progress.done = true;
                    return Ok(());
                }
            }
            let account = match row.channel_account_id {
                Some(account) => match persistence::channel_accounts::find(conn, account.0) {
                    Ok(found) => Some(ChannelAccount::of(found)?),
                    Err(PersistenceError::NotFound) => None,
                    Err(err) => return Err(err.into()),
                },
                None => None,
            };
            let reason = match (&account, row.segment_id) {
                (None, _) => Some("its channel account was deleted".to_string()),
                (Some(account), _) if !account.row.active => {
                    Some("its channel account was deactivated".to_string())
                }
                (_, None) => Some("it has no segment".to_string()),
                (Some(account), Some(_)) => message_text(conn, &row, account)?
                    .err()
                    .map(|violation| format!("{}: {}", violation.field, violation.message)),
            };
            if let Some(reason) = reason {
                let before = row.status.clone();
                row.status = CampaignStatus::Failed.as_str().to_string();
                row.completed_at = Some(DbTime(persistence::now()));
                let row = persistence::campaigns::update(conn, &row)?;
                audit::record(
                    conn,
                    &audit::Actor::system(),
                    audit::NewAuditEvent {
                        action: "campaign.fail",
                        resource_type: "campaign",
                        resource_id: Some(id.to_string()),
                        changes: Some(json!({
                            "status": [before, row.status],
                            "reason": reason,
                        })),
                    },
                )?;
                progress.failed = Some(reason);
                progress.done = true;
                return Ok(());
            }
            let (Some(account), Some(segment)) = (account, row.segment_id) else {
                return Err(AppError::Internal(format!(
                    "campaign {id} without a message"
                )));
            };
            let system = Acting::system(Lang::Fa);
            let members = persistence::segments::members(
                conn,
                segment.0,
                &system.scope(),
                progress.after,
                SEND_PAGE,
            )?;
            for member in &members {
                let customer = member.customer_id.0;
                progress.after = Some(customer);
                if self.send_to(conn, &system, &row, &account, customer, links)? {
                    progress.sent += 1;
                } else {
                    progress.skipped += 1;
                }
            }
            if (members.len() as i64) < SEND_PAGE {
                row.status = CampaignStatus::Sent.as_str().to_string();
                row.completed_at = Some(DbTime(persistence::now()));
                persistence::campaigns::update(conn, &row)?;
                progress.done = true;
            }
            Ok(())
        })
    }

    /// Records what becomes of one member: their message, or why there is none.
    /// Whether a message was recorded; a member reached before is left alone.
    fn send_to(
        &self,
        conn: &mut DbConnection,
        system: &Acting,
        campaign: &CampaignRow,
        account: &ChannelAccount,
        customer: Uuid,
        links: &[String],
    ) -> AppResult<bool> {
        if persistence::campaigns::recipient_of(conn, campaign.id.0, customer)? {
            return Ok(false);
        }
        let token = crate::accounts::random_token(18);
        let mut receipt = RecipientRow {
            campaign_id: campaign.id,
            customer_id: DbUuid(customer),
            outcome: RecipientOutcome::Sent.as_str().to_string(),
            message_id: None,
            token: token.clone(),
            sent_at: DbTime(persistence::now()),
            opened_at: None,
            clicked_at: None,
            clicks: 0,
        };
        let consent = crate::omnichannel::outbound::consent(
            conn,
            customer,
            account.kind,
            ConsentPurpose::Marketing,
        )?;
        let outcome = if may_market(consent) {
            self.message(conn, system, campaign, account, customer, &token, links)?
        } else {
            Err(RecipientOutcome::NoConsent)
        };
        match outcome {
            Ok(message) => receipt.message_id = Some(message),
            Err(outcome) => receipt.outcome = outcome.as_str().to_string(),
        }
        persistence::campaigns::insert_recipient(conn, &receipt)?;
        Ok(receipt.message_id.is_some())
    }

    /// Records the campaign's message to `customer`, its links tracked by `token`; the
    /// outcome instead when the channel cannot carry it to them: no address, or their
    /// copy breaks the channel's rules (too long once filled in, say). Either leaves
    /// nothing written for them but the outcome.
    #[allow(clippy::too_many_arguments)]
    fn message(
        &self,
        conn: &mut DbConnection,
        system: &Acting,
        campaign: &CampaignRow,
        account: &ChannelAccount,
        customer: Uuid,
        token: &str,
        links: &[String],
    ) -> AppResult<Result<DbUuid, RecipientOutcome>> {
        let unsendable = |violations: &[FieldViolation]| {
            if violations.iter().any(|v| v.code == "no_address") {
                RecipientOutcome::NoAddress
            } else {
                RecipientOutcome::Unsendable
            }
        };
        let (body, subject) = match (&campaign.body, campaign.template_id) {
            (Some(body), _) => (body.clone(), campaign.subject.clone()),
            (None, Some(template)) => {
                let customer_row = persistence::customers::find_row(conn, customer)?;
                let language = campaign
                    .language
                    .as_deref()
                    .and_then(TemplateLanguage::parse)
                    .unwrap_or(TemplateLanguage::Fa);
                match crate::omnichannel::templates::fill(
                    conn,
                    system,
                    template.0,
                    "template_id",
                    language,
                    account.kind,
                    &customer_row,
                ) {
                    Ok(filled) => (filled.body, campaign.subject.clone().or(filled.subject)),
                    Err(AppError::Invalid(violations)) => return Ok(Err(unsendable(&violations))),
                    Err(other) => return Err(other),
                }
            }
            (None, None) => {
                return Err(AppError::Internal(format!(
                    "campaign {} has neither a body nor a template",
                    campaign.id.0
                )))
            }
        };
        let body = track_links(&body, links, |position| {
            format!(
                "{}/api/v1/campaign-links/{token}/{position}",
                self.public_url
            )
        });
        let sent = crate::omnichannel::outbound::start(
            conn,
            system,
            NewConversationInput {
                channel_account_id: account.row.id.0,
                customer_id: customer,
                to: None,
                subject,
                body: Some(body),
                template_id: None,
                language: None,
            },
        );
        match sent {
            Ok((_, message)) => Ok(Ok(message.id)),
            Err(AppError::Invalid(violations)) => Ok(Err(unsendable(&violations))),
            Err(other) => Err(other),
        }
    }
}

impl JobHandler for CampaignSendJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["campaign_id"].clone())
            .map_err(|err| JobError::internal(format!("campaign id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let (links, after) = match persistence::campaigns::find(&mut conn, id) {
            // Deleted with its campaign: nothing left to send.
            Err(PersistenceError::NotFound) => return Ok(json!({"campaign_id": id, "gone": true})),
            Err(err) => return Err(AppError::from(err).into()),
            // The links were fixed at the launch; an earlier attempt's recipients are
            // passed (members go in id order).
            Ok(_) => (
                persistence::campaigns::links(&mut conn, id)
                    .map_err(AppError::from)?
                    .into_iter()
                    .map(|link| link.url)
                    .collect::<Vec<_>>(),
                persistence::campaigns::last_recipient(&mut conn, id).map_err(AppError::from)?,
            ),
        };
        let mut progress = Sent {
            after,
            ..Sent::default()
        };
        loop {
            self.page(&mut conn, id, &links, &mut progress)?;
            if progress.done {
                return Ok(json!({
                    "campaign_id": id,
                    "sent": progress.sent,
                    "skipped": progress.skipped,
                    "failed": progress.failed,
                }));
            }
            if ctx.should_stop() {
                return Err(JobError::Interrupted);
            }
        }
    }
}
