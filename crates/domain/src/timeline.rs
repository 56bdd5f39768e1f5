//! The customer interaction timeline (O-1): everything that happened with a customer,
//! across channels, as one stream newest first. Each source (activities, notes, tasks,
//! orders, tickets, ...) is read on its own, newest first; [`merge`] interleaves them by
//! [`Position`] and cuts the page.
//!
//! Entries are ordered by `(occurred_at, id, kind)` descending. Ids are UUID v7 and
//! unique across tables, so `(occurred_at, id)` nearly always decides; the kind only
//! separates the two entries one row gives (a task created and completed at once).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
pub use crate::sales::activities::Direction;
use crate::service::tickets::MessageKind;

/// What an entry records. The order of the variants is the tie-break of entries at the
/// same instant with the same id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A logged call, meeting, e-mail or visit (on the customer, its deals or the leads
    /// it was converted from).
    Activity,
    Note,
    TaskCreated,
    TaskCompleted,
    Order,
    Return,
    TicketOpened,
    TicketStatusChanged,
    /// A customer message, an agent's reply, an automatic message or an internal note.
    TicketMessage,
    LifecycleChanged,
    ConsentChanged,
    OwnerChanged,
    /// A message in or out on a messaging channel (Telegram, WhatsApp, Instagram, SMS).
    Message,
    /// Feedback: a survey or satisfaction answer, a review, a text marked as feedback.
    Feedback,
}

snake_names!(EntryKind {
    Activity => "activity",
    Note => "note",
    TaskCreated => "task_created",
    TaskCompleted => "task_completed",
    Order => "order",
    Return => "return",
    TicketOpened => "ticket_opened",
    TicketStatusChanged => "ticket_status_changed",
    TicketMessage => "ticket_message",
    LifecycleChanged => "lifecycle_changed",
    ConsentChanged => "consent_changed",
    OwnerChanged => "owner_changed",
    Message => "message",
    Feedback => "feedback",
});

/// The channel an interaction went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Phone,
    Chat,
    Telegram,
    Whatsapp,
    Instagram,
    Web,
    /// Face to face: a meeting, a visit, a shop.
    InPerson,
    Other,
}

snake_names!(Channel {
    Email => "email",
    Sms => "sms",
    Phone => "phone",
    Chat => "chat",
    Telegram => "telegram",
    Whatsapp => "whatsapp",
    Instagram => "instagram",
    Web => "web",
    InPerson => "in_person",
    Other => "other",
});

/// How a source's stored values name channels: each stored value and its channel. A
/// value not listed has no channel.
pub type ChannelMap = &'static [(&'static str, Channel)];

/// Activity kinds (`domain::sales::activities::ActivityKind`).
pub const ACTIVITY_CHANNELS: ChannelMap = &[
    ("call", Channel::Phone),
    ("email", Channel::Email),
    ("meeting", Channel::InPerson),
    ("visit", Channel::InPerson),
];

/// Note kinds that record a conversation (`domain::customers::NoteKind`).
pub const NOTE_CHANNELS: ChannelMap = &[("call", Channel::Phone), ("meeting", Channel::InPerson)];

/// Ticket channels (`domain::service::tickets::TicketChannel`).
pub const TICKET_CHANNELS: ChannelMap = &[
    ("email", Channel::Email),
    ("phone", Channel::Phone),
    ("sms", Channel::Sms),
    ("chat", Channel::Chat),
    ("web", Channel::Web),
    ("telegram", Channel::Telegram),
    ("whatsapp", Channel::Whatsapp),
    ("instagram", Channel::Instagram),
    ("visit", Channel::InPerson),
    ("other", Channel::Other),
];

/// Channel-account kinds of messages (`domain::omnichannel::accounts::ChannelKind`).
pub const MESSAGE_CHANNELS: ChannelMap = &[
    ("telegram", Channel::Telegram),
    ("whatsapp", Channel::Whatsapp),
    ("instagram", Channel::Instagram),
    ("sms", Channel::Sms),
    ("web_chat", Channel::Chat),
];

/// Channels of feedback: a ticket's channel, or the channel-account kind of the message
/// it came from or was asked in.
pub const FEEDBACK_CHANNELS: ChannelMap = &[
    ("email", Channel::Email),
    ("phone", Channel::Phone),
    ("sms", Channel::Sms),
    ("chat", Channel::Chat),
    ("web_chat", Channel::Chat),
    ("web", Channel::Web),
    ("telegram", Channel::Telegram),
    ("whatsapp", Channel::Whatsapp),
    ("instagram", Channel::Instagram),
    ("visit", Channel::InPerson),
    ("other", Channel::Other),
];

/// An order's sales channel is free text; these usual spellings name a channel, any
/// other has none.
pub const ORDER_CHANNELS: ChannelMap = &[
    ("store", Channel::InPerson),
    ("shop", Channel::InPerson),
    ("branch", Channel::InPerson),
    ("in_person", Channel::InPerson),
    ("online", Channel::Web),
    ("web", Channel::Web),
    ("website", Channel::Web),
    ("phone", Channel::Phone),
    ("email", Channel::Email),
    ("sms", Channel::Sms),
    ("chat", Channel::Chat),
    ("telegram", Channel::Telegram),
    ("whatsapp", Channel::Whatsapp),
    ("instagram", Channel::Instagram),
    ("other", Channel::Other),
];

/// The channel of a stored `value` by `map`.
pub fn channel_of(map: ChannelMap, value: &str) -> Option<Channel> {
    map.iter()
        .find(|(stored, _)| *stored == value)
        .map(|(_, channel)| *channel)
}

/// The stored values of `map` that name one of `channels`: what a source filters on.
pub fn values_for(map: ChannelMap, channels: &[Channel]) -> Vec<&'static str> {
    map.iter()
        .filter(|(_, channel)| channels.contains(channel))
        .map(|(stored, _)| *stored)
        .collect()
}

/// The direction of a ticket message: the customer's words come in, replies and
/// automatic messages go out, internal notes go nowhere.
pub fn message_direction(kind: MessageKind) -> Option<Direction> {
    match kind {
        MessageKind::Customer => Some(Direction::Inbound),
        MessageKind::Agent | MessageKind::Automatic => Some(Direction::Outbound),
        MessageKind::Note => None,
    }
}

/// Characters of free text an entry's summary keeps.
pub const SUMMARY_CHARS: usize = 200;

/// The first [`SUMMARY_CHARS`] characters of `text` on one line, with an ellipsis
/// when cut.
pub fn excerpt(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= SUMMARY_CHARS {
        line
    } else {
        let mut cut: String = line.chars().take(SUMMARY_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// The kind of record an entry links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Activity,
    Note,
    Task,
    Order,
    Ticket,
    Customer,
    Conversation,
    Feedback,
}

snake_names!(RecordType {
    Activity => "activity",
    Note => "note",
    Task => "task",
    Order => "order",
    Ticket => "ticket",
    Customer => "customer",
    Conversation => "conversation",
    Feedback => "feedback",
});

/// The record an entry comes from, with its path in the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub kind: RecordType,
    pub id: Uuid,
    pub href: String,
}

impl Link {
    pub fn activity(id: Uuid) -> Link {
        Link::at(RecordType::Activity, id, format!("/api/v1/activities/{id}"))
    }
    pub fn note(customer: Uuid, id: Uuid) -> Link {
        Link::at(
            RecordType::Note,
            id,
            format!("/api/v1/customers/{customer}/notes/{id}"),
        )
    }
    pub fn task(id: Uuid) -> Link {
        Link::at(RecordType::Task, id, format!("/api/v1/tasks/{id}"))
    }
    pub fn order(id: Uuid) -> Link {
        Link::at(RecordType::Order, id, format!("/api/v1/orders/{id}"))
    }
    pub fn ticket(id: Uuid) -> Link {
        Link::at(RecordType::Ticket, id, format!("/api/v1/tickets/{id}"))
    }
    pub fn conversation(id: Uuid) -> Link {
        Link::at(
            RecordType::Conversation,
            id,
            format!("/api/v1/conversations/{id}"),
        )
    }
    pub fn feedback(id: Uuid) -> Link {
        Link::at(RecordType::Feedback, id, format!("/api/v1/feedback/{id}"))
    }
    /// The customer's resource under `suffix` (`overview`, `consents`).
    pub fn customer(id: Uuid, suffix: &str) -> Link {
        Link::at(
            RecordType::Customer,
            id,
            format!("/api/v1/customers/{id}/{suffix}"),
        )
    }
    fn at(kind: RecordType, id: Uuid, href: String) -> Link {
        Link { kind, id, href }
    }
}

/// Where an entry stands in the timeline; later entries compare greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
    pub kind: EntryKind,
}

/// One thing that happened with the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The id of the row it comes from.
    pub id: Uuid,
    pub kind: EntryKind,
    pub channel: Option<Channel>,
    pub direction: Option<Direction>,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    /// The user who did it, if a user did.
    pub actor_id: Option<Uuid>,
    pub link: Link,
}

impl Entry {
    pub fn position(&self) -> Position {
        Position {
            occurred_at: self.occurred_at,
            id: self.id,
            kind: self.kind,
        }
    }
}

/// A page of the merged timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPage {
    pub entries: Vec<Entry>,
    /// Whether entries follow the last one.
    pub has_more: bool,
}

/// Merges `sources`, each newest first, into the `limit` newest entries before `after`
/// (all when `None`), newest first; the same entry read from two sources (an activity
/// on the customer and its deal) appears once.
///
/// Each source must hold every entry it has before `after`, or at least its first
/// `limit + 1` of them: then the page is exact and `has_more` tells whether any source
/// has more.
pub fn merge(sources: Vec<Vec<Entry>>, after: Option<Position>, limit: usize) -> MergedPage {
    let mut sources: Vec<std::iter::Peekable<std::vec::IntoIter<Entry>>> = sources
        .into_iter()
        .map(|source| source.into_iter().peekable())
        .collect();
    let mut entries: Vec<Entry> = Vec::with_capacity(limit + 1);
    let mut last: Option<Position> = None;
    loop {
        // The source whose next entry is the newest; a handful of sources, so a scan
        // does as well as a heap.
        let mut best: Option<(usize, Position)> = None;
        for (index, source) in sources.iter_mut().enumerate() {
            while let Some(entry) = source.peek() {
                let position = entry.position();
                let skip = after.is_some_and(|after| position >= after)
                    || last.is_some_and(|last| position >= last);
                if !skip {
                    if best.is_none_or(|(_, newest)| position > newest) {
                        best = Some((index, position));
                    }
                    break;
                }
                source.next();
            }
        }
        let Some((index, position)) = best else {
            return MergedPage {
                entries,
                has_more: false,
            };
        };
        if entries.len() == limit {
            return MergedPage {
                entries,
                has_more: true,
            };
        }
        if let Some(entry) = sources[index].next() {
            entries.push(entry);
        }
        last = Some(position);
    }
}

/// Which entries a reader asked for; `None` asks for all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kinds: Option<Vec<EntryKind>>,
    pub channels: Option<Vec<Channel>>,
    /// Only entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this instant.
    pub until: Option<DateTime<Utc>>,
}

impl Filter {
    /// Whether entries of `kind` are asked for.
    pub fn wants(&self, kind: EntryKind) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&kind))
    }

    /// Whether a source of `kind` whose entries may have the channels of `map` (or
    /// none, when `map` is empty) is to be read at all.
    pub fn reads(&self, kind: EntryKind, map: ChannelMap) -> bool {
        self.wants(kind)
            && self
                .channel_values(map)
                .is_none_or(|values| !values.is_empty())
    }

    /// The stored values a source of `map` is to be limited to: `None` when no channel
    /// was asked for, else those of the asked channels (empty: nothing of the source).
    pub fn channel_values(&self, map: ChannelMap) -> Option<Vec<&'static str>> {
        self.channels
            .as_ref()
            .map(|channels| values_for(map, channels))
    }
}

/// Reads a list parameter given as repeated values and/or comma-separated ones, each
/// by `parse`; answers the values (without repeats; `None` when there are none, so an
/// empty parameter asks for everything) or the first that is not one.
pub fn parse_list<T: PartialEq>(
    raw: &[String],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<Vec<T>>, String> {
    let mut values = Vec::new();
    for part in raw.iter().flat_map(|value| value.split(',')) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let value = parse(part).ok_or_else(|| part.to_string())?;
        if !values.contains(&value) {
            values.push(value);
        }
    }
    Ok((!values.is_empty()).then_some(values))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn entry(second: u32, id: u128, kind: EntryKind) -> Entry {
        Entry {
            id: Uuid::from_u128(id),
            kind,
            channel: None,
            direction: None,
            occurred_at: Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, second).unwrap(),
            summary: String::new(),
            actor_id: None,
            link: Link::task(Uuid::from_u128(id)),
        }
    }

    fn ids(page: &MergedPage) -> Vec<u128> {
        page.entries.iter().map(|e| e.id.as_u128()).collect()
    }

    #[test]
    fn sources_are_interleaved_newest_first_and_cut() {
        let a = vec![
            entry(50, 5, EntryKind::Note),
            entry(30, 3, EntryKind::Note),
            entry(10, 1, EntryKind::Note),
        ];
        let b = vec![
            entry(40, 4, EntryKind::Order),
            entry(20, 2, EntryKind::Order),
        ];
        let page = merge(vec![a.clone(), b.clone()], None, 10);
        assert_eq!(ids(&page), vec![5, 4, 3, 2, 1]);
        assert!(!page.has_more);
        let page = merge(vec![a, b], None, 3);
        assert_eq!(ids(&page), vec![5, 4, 3]);
        assert!(page.has_more);
    }

    #[test]
    fn the_same_instant_is_ordered_by_id_then_kind_and_repeats_are_dropped() {
        let activity = entry(10, 7, EntryKind::Activity);
        let on_customer = vec![activity.clone(), entry(10, 2, EntryKind::Activity)];
        let on_deal = vec![activity.clone()];
        let task = vec![
            entry(10, 9, EntryKind::TaskCompleted),
            entry(10, 9, EntryKind::TaskCreated),
        ];
        let page = merge(vec![on_customer, on_deal, task], None, 10);
        let kinds: Vec<(u128, EntryKind)> = page
            .entries
            .iter()
            .map(|e| (e.id.as_u128(), e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (9, EntryKind::TaskCompleted),
                (9, EntryKind::TaskCreated),
                (7, EntryKind::Activity),
                (2, EntryKind::Activity),
            ]
        );
    }

    #[test]
    fn paging_after_a_position_neither_skips_nor_repeats() {
        let sources = vec![
            (0..20)
                .map(|i| entry(59 - i, 100 + i as u128, EntryKind::Note))
                .collect::<Vec<_>>(),
            (0..20)
                .map(|i| entry(59 - 2 * (i / 2), 200 + i as u128, EntryKind::Order))
                .collect::<Vec<_>>(),
        ];
        let mut sources: Vec<Vec<Entry>> = sources
            .into_iter()
            .map(|mut source| {
                source.sort_by_key(|e| std::cmp::Reverse(e.position()));
                source
            })
            .collect();
        sources.push(vec![
            entry(40, 300, EntryKind::TaskCompleted),
            entry(40, 300, EntryKind::TaskCreated),
        ]);
        let everything = merge(sources.clone(), None, 1000);
        assert_eq!(everything.entries.len(), 42);
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            // Each source gives only what lies after the cursor, as a query would.
            let cut: Vec<Vec<Entry>> = sources
                .iter()
                .map(|source| {
                    source
                        .iter()
                        .filter(|e| after.is_none_or(|after| e.position() < after))
                        .take(4)
                        .cloned()
                        .collect()
                })
                .collect();
            let page = merge(cut, after, 3);
            seen.extend(page.entries.iter().cloned());
            if !page.has_more {
                break;
            }
            after = page.entries.last().map(Entry::position);
        }
        assert_eq!(seen, everything.entries);
    }

    #[test]
    fn lists_take_repeats_and_commas_and_name_the_bad_value() {
        let raw = vec!["email,sms".to_string(), "email".to_string()];
        assert_eq!(
            parse_list(&raw, Channel::parse),
            Ok(Some(vec![Channel::Email, Channel::Sms]))
        );
        assert_eq!(parse_list(&[], Channel::parse), Ok(None));
        assert_eq!(parse_list(&[" , ".to_string()], Channel::parse), Ok(None));
        assert_eq!(
            parse_list(&["email,fax".to_string()], Channel::parse),
            Err("fax".to_string())
        );
    }

    #[test]
    fn channels_map_both_ways() {
        assert_eq!(channel_of(ACTIVITY_CHANNELS, "call"), Some(Channel::Phone));
        assert_eq!(channel_of(ORDER_CHANNELS, "kiosk"), None);
        assert_eq!(
            values_for(ACTIVITY_CHANNELS, &[Channel::InPerson]),
            vec!["meeting", "visit"]
        );
        let filter = Filter {
            channels: Some(vec![Channel::Sms]),
            ..Filter::default()
        };
        assert!(!filter.reads(EntryKind::Activity, ACTIVITY_CHANNELS));
        assert!(filter.reads(EntryKind::TicketMessage, TICKET_CHANNELS));
        assert!(!filter.reads(EntryKind::LifecycleChanged, &[]));
        assert!(Filter::default().reads(EntryKind::LifecycleChanged, &[]));
    }

    #[test]
    fn summaries_are_one_short_line() {
        assert_eq!(excerpt("سلام\n  دنیا"), "سلام دنیا");
        let long = "ب".repeat(300);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), SUMMARY_CHARS);
        assert!(cut.ends_with('…'));
    }
}
