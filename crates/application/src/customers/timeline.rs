//! The customer interaction timeline (O-1): everything that happened with a customer
//! the caller sees — activities (also on its deals and the leads it came from), notes,
//! tasks created and done, orders and returns, tickets with their status moves and
//! messages, lifecycle, consent and owner changes, messages on the channels, feedback — newest first, one page at a time.
//!
//! No table holds the timeline: each [`Source`] reads its own rows with a keyset query
//! on its index (`persistence::timeline`), at most a page and one more, and
//! `domain::timeline::merge` interleaves them. A source the filter excludes is not read.
//! A new source is one variant of [`Source`] with its arms and one query.

use chrono::{DateTime, SecondsFormat, Utc};
use domain::authz::Permission;
use domain::service::tickets::MessageKind;
use domain::timeline::{
    channel_of, excerpt, message_direction, parse_list, Channel, ChannelMap, Direction, Entry,
    EntryKind, Filter, Link, MergedPage, Position, ACTIVITY_CHANNELS, FEEDBACK_CHANNELS,
    MESSAGE_CHANNELS, NOTE_CHANNELS, ORDER_CHANNELS, TICKET_CHANNELS,
};
use domain::validation::Violations;
use persistence::customers::search::Scope;
use persistence::db::DbConnection;
use persistence::timeline::{self as sources, Window};
use serde_json::Value;
use uuid::Uuid;

use super::readable;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{invalid_cursor, Cursor};

/// The cursor order of the timeline: `(occurred_at, kind)` and the id.
pub const ORDER: &str = "timeline";

/// The filter as a client wrote it (query parameters): `kind` and `channel` each
/// repeated and/or comma-separated, `before` and `after` RFC 3339 instants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterParams {
    pub kind: Vec<String>,
    pub channel: Vec<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The checked filter, or a 422 naming each bad parameter.
pub fn filter(params: &FilterParams) -> AppResult<Filter> {
    let mut violations = Violations::default();
    let kinds = parse_list(&params.kind, EntryKind::parse).unwrap_or_else(|bad| {
        violations.push(
            "kind",
            "invalid_value",
            format!(
                "`{bad}` is not an entry kind; use one of {}",
                EntryKind::NAMES.join(", ")
            ),
        );
        None
    });
    let channels = parse_list(&params.channel, Channel::parse).unwrap_or_else(|bad| {
        violations.push(
            "channel",
            "invalid_value",
            format!(
                "`{bad}` is not a channel; use one of {}",
                Channel::NAMES.join(", ")
            ),
        );
        None
    });
    let mut instant = |field: &str, raw: &Option<String>| {
        raw.as_deref()
            .and_then(|raw| match DateTime::parse_from_rfc3339(raw.trim()) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    violations.push(
                        field,
                        "invalid_format",
                        "must be an RFC 3339 instant, e.g. 2026-12-02T08:30:00Z",
                    );
                    None
                }
            })
    };
    let until = instant("before", &params.before);
    let since = instant("after", &params.after);
    violations.into_result().map_err(AppError::Invalid)?;
    Ok(Filter {
        kinds,
        channels,
        since,
        until,
    })
}

/// The cursor after `entry`.
pub fn cursor_after(entry: &Entry) -> Cursor {
    Cursor::new(
        ORDER,
        vec![
            Value::from(
                entry
                    .occurred_at
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
            ),
            Value::from(entry.kind.as_str()),
        ],
        entry.id,
    )
}

/// The position a cursor of [`cursor_after`] holds; any other is a 400.
pub fn position_of(cursor: &Cursor) -> AppResult<Position> {
    let keyset = cursor.keyset(ORDER)?;
    match keyset.values.as_slice() {
        [Value::String(at), Value::String(kind)] => Ok(Position {
            occurred_at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| invalid_cursor())?
                .with_timezone(&Utc),
            id: keyset.id,
            kind: EntryKind::parse(kind).ok_or_else(invalid_cursor)?,
        }),
        _ => Err(invalid_cursor()),
    }
}

/// One page of the timeline of a customer the caller sees (`records:read`; any other
/// customer is not found): at most `limit` entries matching `filter`, after `cursor`.
pub fn timeline(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    filter: &Filter,
    cursor: Option<&Cursor>,
    limit: usize,
) -> AppResult<MergedPage> {
    acting.require(Permission::RecordsRead)?;
    let after = cursor.map(position_of).transpose()?;
    readable(conn, acting, customer)?;
    read(conn, acting, customer, filter, after, limit)
}

/// The newest `limit` entries of a customer already checked to be visible (the 360
/// view's recent interactions).
pub(crate) fn latest(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    limit: usize,
) -> AppResult<Vec<Entry>> {
    Ok(read(conn, acting, customer, &Filter::default(), None, limit)?.entries)
}

fn read(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
    filter: &Filter,
    after: Option<Position>,
    limit: usize,
) -> AppResult<MergedPage> {
    let (leads, deals) = related(conn, acting, customer)?;
    let context = Context {
        customer,
        leads,
        deals,
        scope: acting.scope(),
        lang: acting.lang,
    };
    // A source may give back the entry the cursor names (rows at the cursor's instant
    // and id are read again, see `Window`), so one more than a page and the extra one.
    let window = Window {
        before: after.map(|after| (after.occurred_at, after.id)),
        since: filter.since,
        until: filter.until,
        limit: limit as i64 + 2,
    };
    let mut pages = Vec::new();
    for source in Source::ALL {
        if !filter.reads(source.kind(), source.channels()) {
            continue;
        }
        let channels = filter.channel_values(source.channels());
        pages.push(source.read(conn, &context, channels.as_deref(), &window)?);
    }
    Ok(domain::timeline::merge(pages, after, limit))
}

/// The leads the customer was converted from and the deals of the customer, those the
/// caller may see: what hangs off them is the customer's too (as in the 360 view).
pub(crate) fn related(
    conn: &mut DbConnection,
    acting: &Acting,
    customer: Uuid,
) -> AppResult<(Vec<Uuid>, Vec<Uuid>)> {
    let leads = persistence::leads::converted_into(conn, customer)?
        .into_iter()
        .filter(|lead| crate::sales::leads::can_see(acting, lead))
        .map(|lead| lead.id.0)
        .collect();
    let scope = acting.scope();
    let mut deals = Vec::new();
    for id in persistence::deals::ids_of_customer(conn, customer)? {
        let row = persistence::deals::find_row(conn, id)?;
        if domain::authz::can_see(
            scope.visibility,
            scope.user_id,
            scope.team_id,
            row.owner_id.map(|id| id.0),
            row.team_id.map(|id| id.0),
        ) {
            deals.push(id);
        }
    }
    Ok((leads, deals))
}

/// What every source reads with.
struct Context {
    customer: Uuid,
    /// The visible leads it was converted from and its visible deals.
    leads: Vec<Uuid>,
    deals: Vec<Uuid>,
    scope: Scope,
    lang: Lang,
}

impl Context {
    fn say(&self, en: String, fa: String) -> String {
        match self.lang {
            Lang::En => en,
            Lang::Fa => fa,
        }
    }
}

/// The sources of the timeline, each one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Activities,
    Notes,
    TasksCreated,
    TasksCompleted,
    Orders,
    Returns,
    TicketsOpened,
    TicketStatusChanges,
    TicketMessages,
    LifecycleTransitions,
    ConsentEvents,
    OwnerChanges,
    ChannelMessages,
    Feedback,
}

impl Source {
    const ALL: [Source; 14] = [
        Source::Activities,
        Source::Notes,
        Source::TasksCreated,
        Source::TasksCompleted,
        Source::Orders,
        Source::Returns,
        Source::TicketsOpened,
        Source::TicketStatusChanges,
        Source::TicketMessages,
        Source::LifecycleTransitions,
        Source::ConsentEvents,
        Source::OwnerChanges,
        Source::ChannelMessages,
        Source::Feedback,
    ];

    /// The kind of its entries.
    fn kind(self) -> EntryKind {
        match self {
            Source::Activities => EntryKind::Activity,
            Source::Notes => EntryKind::Note,
            Source::TasksCreated => EntryKind::TaskCreated,
            Source::TasksCompleted => EntryKind::TaskCompleted,
            Source::Orders => EntryKind::Order,
            Source::Returns => EntryKind::Return,
            Source::TicketsOpened => EntryKind::TicketOpened,
            Source::TicketStatusChanges => EntryKind::TicketStatusChanged,
            Source::TicketMessages => EntryKind::TicketMessage,
            Source::LifecycleTransitions => EntryKind::LifecycleChanged,
            Source::ConsentEvents => EntryKind::ConsentChanged,
            Source::OwnerChanges => EntryKind::OwnerChanged,
            Source::ChannelMessages => EntryKind::Message,
            Source::Feedback => EntryKind::Feedback,
        }
    }

    /// How its stored values name channels; empty for a source without a channel.
    fn channels(self) -> ChannelMap {
        match self {
            Source::Activities => ACTIVITY_CHANNELS,
            Source::Notes => NOTE_CHANNELS,
            Source::Orders => ORDER_CHANNELS,
            Source::ChannelMessages => MESSAGE_CHANNELS,
            Source::Feedback => FEEDBACK_CHANNELS,
            Source::TicketsOpened | Source::TicketStatusChanges | Source::TicketMessages => {
                TICKET_CHANNELS
            }
            Source::TasksCreated
            | Source::TasksCompleted
            | Source::Returns
            | Source::LifecycleTransitions
            | Source::ConsentEvents
            | Source::OwnerChanges => &[],
        }
    }

    /// Its entries in `window`, newest first, limited to the stored values `channels`
    /// (when a channel was asked for).
    fn read(
        self,
        conn: &mut DbConnection,
        cx: &Context,
        channels: Option<&[&str]>,
        window: &Window,
    ) -> AppResult<Vec<Entry>> {
        let kind = self.kind();
        let id = cx.customer;
        let entries = match self {
            Source::Activities => {
                sources::activities(conn, id, &cx.leads, &cx.deals, channels, window)?
                    .into_iter()
                    .map(|row| {
                        let text = row.outcome.as_deref().or(row.notes.as_deref()).map(excerpt);
                        Entry {
                            id: row.id.0,
                            kind,
                            channel: channel_of(ACTIVITY_CHANNELS, &row.kind),
                            direction: row.direction.as_deref().and_then(Direction::parse),
                            occurred_at: row.occurred_at.0,
                            summary: match text {
                                Some(text) => format!("{}: {text}", row.kind),
                                None => row.kind.clone(),
                            },
                            actor_id: row.performed_by.map(|id| id.0),
                            link: Link::activity(row.id.0),
                        }
                    })
                    .collect()
            }
            Source::Notes => sources::notes(conn, id, channels, window)?
                .into_iter()
                .map(|row| Entry {
                    id: row.id.0,
                    kind,
                    channel: channel_of(NOTE_CHANNELS, &row.kind),
                    direction: None,
                    occurred_at: row.created_at.0,
                    summary: excerpt(&row.body),
                    actor_id: row.author_id.map(|id| id.0),
                    link: Link::note(id, row.id.0),
                })
                .collect(),
            Source::TasksCreated | Source::TasksCompleted => {
                let rows = if self == Source::TasksCreated {
                    sources::tasks_created(conn, id, &cx.leads, &cx.deals, window)?
                } else {
                    sources::tasks_completed(conn, id, &cx.leads, &cx.deals, window)?
                };
                rows.into_iter()
                    .map(|row| Entry {
                        id: row.id.0,
                        kind,
                        channel: None,
                        direction: None,
                        occurred_at: row.at.0,
                        summary: match (&row.outcome, self) {
                            (Some(outcome), Source::TasksCompleted) => {
                                excerpt(&format!("{} — {outcome}", row.title))
                            }
                            _ => excerpt(&row.title),
                        },
                        actor_id: row.actor.map(|id| id.0),
                        link: Link::task(row.id.0),
                    })
                    .collect()
            }
            Source::Orders => sources::orders(conn, id, channels, window)?
                .into_iter()
                .map(|row| {
                    let reference = row
                        .external_reference
                        .as_deref()
                        .map(|reference| format!(" {reference}"))
                        .unwrap_or_default();
                    Entry {
                        id: row.id.0,
                        kind,
                        channel: row
                            .channel
                            .as_deref()
                            .and_then(|channel| channel_of(ORDER_CHANNELS, channel)),
                        direction: None,
                        occurred_at: row.placed_at.0,
                        summary: cx.say(
                            format!(
                                "Order{reference} ({}): {} {}",
                                row.status, row.total, row.currency
                            ),
                            format!(
                                "سفارش{reference} ({}): {} {}",
                                row.status, row.total, row.currency
                            ),
                        ),
                        actor_id: row.created_by.map(|id| id.0),
                        link: Link::order(row.id.0),
                    }
                })
                .collect(),
            Source::ChannelMessages => sources::channel_messages(conn, id, channels, window)?
                .into_iter()
                .map(|row| Entry {
                    id: row.id.0,
                    kind,
                    channel: channel_of(MESSAGE_CHANNELS, &row.channel),
                    direction: Direction::parse(&row.direction),
                    occurred_at: row.occurred_at.0,
                    summary: excerpt(&row.body),
                    actor_id: row.sent_by.map(|id| id.0),
                    link: Link::conversation(row.conversation_id.0),
                })
                .collect(),
            Source::Feedback => sources::feedback(conn, id, channels, window)?
                .into_iter()
                .map(|row| {
                    let score = match (&row.metric, row.score) {
                        (Some(metric), Some(score)) => format!(" ({metric} {score})"),
                        _ => String::new(),
                    };
                    let text = row
                        .body
                        .as_deref()
                        .map(|body| format!(": {body}"))
                        .unwrap_or_default();
                    Entry {
                        id: row.id.0,
                        kind,
                        channel: row
                            .channel
                            .as_deref()
                            .and_then(|channel| channel_of(FEEDBACK_CHANNELS, channel)),
                        direction: Some(Direction::Inbound),
                        occurred_at: row.created_at.0,
                        summary: excerpt(&cx.say(
                            format!("Feedback, {}{score}{text}", row.source),
                            format!("بازخورد، {}{score}{text}", row.source),
                        )),
                        actor_id: row.created_by.map(|id| id.0),
                        link: Link::feedback(row.id.0),
                    }
                })
                .collect(),
            Source::Returns => sources::returns(conn, id, window)?
                .into_iter()
                .map(|row| Entry {
                    id: row.id.0,
                    kind,
                    channel: None,
                    direction: None,
                    occurred_at: row.returned_at.0,
                    summary: excerpt(&cx.say(
                        format!(
                            "Return, refund {} {}: {}",
                            row.refund_total, row.currency, row.reason
                        ),
                        format!(
                            "مرجوعی، بازپرداخت {} {}: {}",
                            row.refund_total, row.currency, row.reason
                        ),
                    )),
                    actor_id: row.created_by.map(|id| id.0),
                    link: Link::order(row.order_id.0),
                })
                .collect(),
            Source::TicketsOpened => {
                sources::tickets_opened(conn, id, &cx.scope, channels, window)?
                    .into_iter()
                    .map(|row| Entry {
                        id: row.id.0,
                        kind,
                        channel: channel_of(TICKET_CHANNELS, &row.channel),
                        direction: None,
                        occurred_at: row.created_at.0,
                        summary: excerpt(&format!("#{} {}", row.number, row.subject)),
                        actor_id: row.created_by.map(|id| id.0),
                        link: Link::ticket(row.id.0),
                    })
                    .collect()
            }
            Source::TicketStatusChanges => {
                sources::ticket_status_changes(conn, id, &cx.scope, channels, window)?
                    .into_iter()
                    .map(|row| Entry {
                        id: row.id.0,
                        kind,
                        channel: channel_of(TICKET_CHANNELS, &row.channel),
                        direction: None,
                        occurred_at: row.changed_at.0,
                        summary: format!(
                            "#{}: {} → {}",
                            row.number,
                            row.from_status.as_deref().unwrap_or("-"),
                            row.to_status
                        ),
                        actor_id: row.changed_by.map(|id| id.0),
                        link: Link::ticket(row.ticket_id.0),
                    })
                    .collect()
            }
            Source::TicketMessages => {
                sources::ticket_messages(conn, id, &cx.scope, channels, window)?
                    .into_iter()
                    .map(|row| Entry {
                        id: row.id.0,
                        kind,
                        channel: channel_of(TICKET_CHANNELS, &row.channel),
                        direction: MessageKind::parse(&row.kind).and_then(message_direction),
                        occurred_at: row.created_at.0,
                        summary: excerpt(&format!("#{} {}: {}", row.number, row.kind, row.body)),
                        actor_id: row.author_id.map(|id| id.0),
                        link: Link::ticket(row.ticket_id.0),
                    })
                    .collect()
            }
            Source::LifecycleTransitions => sources::lifecycle_transitions(conn, id, window)?
                .into_iter()
                .map(|row| Entry {
                    id: row.id.0,
                    kind,
                    channel: None,
                    direction: None,
                    occurred_at: row.changed_at.0,
                    summary: format!(
                        "{} → {} ({})",
                        row.from_stage.as_deref().unwrap_or("-"),
                        row.to_stage,
                        row.reason
                    ),
                    actor_id: row.changed_by.map(|id| id.0),
                    link: Link::customer(id, "overview"),
                })
                .collect(),
            Source::ConsentEvents => sources::consent_events(conn, id, window)?
                .into_iter()
                .map(|row| Entry {
                    id: row.id.0,
                    kind,
                    channel: None,
                    direction: None,
                    occurred_at: row.recorded_at.0,
                    summary: cx.say(
                        format!(
                            "{} {} by {}: {}",
                            row.purpose,
                            row.channel,
                            row.source,
                            if row.granted { "granted" } else { "withdrawn" }
                        ),
                        format!(
                            "{} {} از {}: {}",
                            row.purpose,
                            row.channel,
                            row.source,
                            if row.granted {
                                "داده شد"
                            } else {
                                "پس گرفته شد"
                            }
                        ),
                    ),
                    actor_id: row.recorded_by.map(|id| id.0),
                    link: Link::customer(id, "consents"),
                })
                .collect(),
            Source::OwnerChanges => sources::owner_changes(conn, id, window)?
                .into_iter()
                .map(|row| Entry {
                    id: row.id.0,
                    kind,
                    channel: None,
                    direction: None,
                    occurred_at: row.changed_at.0,
                    summary: format!(
                        "{} → {}",
                        row.from_owner_id
                            .map_or_else(|| "-".to_string(), |id| id.0.to_string()),
                        row.to_owner_id
                            .map_or_else(|| "-".to_string(), |id| id.0.to_string())
                    ),
                    actor_id: row.changed_by.map(|id| id.0),
                    link: Link::customer(id, "overview"),
                })
                .collect(),
        };
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_cursor_gives_back_the_position_it_was_made_after() {
        let entry = Entry {
            id: Uuid::now_v7(),
            kind: EntryKind::TaskCompleted,
            channel: None,
            direction: None,
            occurred_at: Utc.with_ymd_and_hms(2026, 12, 2, 8, 30, 0).unwrap()
                + chrono::Duration::microseconds(123_456),
            summary: String::new(),
            actor_id: None,
            link: Link::task(Uuid::nil()),
        };
        let cursor = Cursor::decode(&cursor_after(&entry).encode()).unwrap();
        assert_eq!(position_of(&cursor).unwrap(), entry.position());
        let other = Cursor::new("created_at", vec![Value::from("x")], entry.id);
        assert!(position_of(&other).is_err());
        let bad_kind = Cursor::new(
            ORDER,
            vec![Value::from("2026-12-02T08:30:00Z"), Value::from("fax")],
            entry.id,
        );
        assert!(position_of(&bad_kind).is_err());
    }

    #[test]
    fn bad_filters_name_their_parameter() {
        let params = FilterParams {
            kind: vec!["note,order".into()],
            channel: vec!["sms".into(), "fax".into()],
            before: Some("yesterday".into()),
            after: Some("2026-12-01T00:00:00Z".into()),
        };
        let Err(AppError::Invalid(violations)) = filter(&params) else {
            panic!("invalid");
        };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, vec!["channel", "before"]);
        let good = FilterParams {
            kind: vec!["note".into(), "ticket_message".into()],
            ..FilterParams::default()
        };
        let checked = filter(&good).unwrap();
        assert_eq!(
            checked.kinds,
            Some(vec![EntryKind::Note, EntryKind::TicketMessage])
        );
        assert!(checked.wants(EntryKind::Note) && !checked.wants(EntryKind::Order));
    }
}
