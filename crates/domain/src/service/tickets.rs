//! Tickets (V-1): a customer's request to the service desk, with its conversation.
//!
//! A ticket moves `new` → `open` → `resolved` → `closed`, may wait on the customer
//! (`pending_customer`, which pauses its SLA clock) or on something else (`on_hold`,
//! which does not), and a resolved or closed ticket that comes back is `reopened`.
//! [`TicketStatus::can_become`] is the one place those moves are allowed.
//!
//! Its conversation holds messages from the customer, replies from agents, automatic
//! messages, and internal notes that mention colleagues; an agent's reply is what
//! answers the SLA's response targets, never a note.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::filter::{FieldKind, FieldSpec};
use crate::persian::search_key;
use crate::validation::{FieldViolation, Violations};

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Not yet picked up.
    #[default]
    New,
    Open,
    /// Waiting for the customer: the SLA clock stops.
    PendingCustomer,
    /// Waiting on something else (a supplier, a part): the clock runs.
    OnHold,
    Resolved,
    Closed,
    /// Came back after it was resolved or closed; open again.
    Reopened,
}

snake_names!(TicketStatus {
    New => "new",
    Open => "open",
    PendingCustomer => "pending_customer",
    OnHold => "on_hold",
    Resolved => "resolved",
    Closed => "closed",
    Reopened => "reopened",
});

impl TicketStatus {
    /// The statuses of a ticket still being worked: an agent's load, the backlog.
    pub const OPEN: [TicketStatus; 5] = [
        TicketStatus::New,
        TicketStatus::Open,
        TicketStatus::PendingCustomer,
        TicketStatus::OnHold,
        TicketStatus::Reopened,
    ];

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// Whether a ticket may move from `self` to `next` (staying put is always allowed).
    /// Nothing goes back to `new`; a finished ticket only comes back as `reopened`,
    /// and a resolved one may also be closed.
    pub fn can_become(self, next: TicketStatus) -> bool {
        use TicketStatus::*;
        if self == next {
            return true;
        }
        match self {
            New | Open | PendingCustomer | OnHold | Reopened => {
                matches!(next, Open | PendingCustomer | OnHold | Resolved | Closed)
            }
            Resolved => matches!(next, Closed | Reopened),
            Closed => next == Reopened,
        }
    }
}

/// How urgent a ticket is; SLA policies are usually chosen by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

snake_names!(TicketPriority {
    Low => "low",
    Normal => "normal",
    High => "high",
    Urgent => "urgent",
});

/// The channel a ticket came in by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    Email,
    Phone,
    Sms,
    Chat,
    #[default]
    Web,
    Telegram,
    Whatsapp,
    Instagram,
    /// In person, at a branch or a visit.
    Visit,
    Other,
}

snake_names!(TicketChannel {
    Email => "email",
    Phone => "phone",
    Sms => "sms",
    Chat => "chat",
    Web => "web",
    Telegram => "telegram",
    Whatsapp => "whatsapp",
    Instagram => "instagram",
    Visit => "visit",
    Other => "other",
});

/// Who a message of the conversation is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The customer's words (an inbound message, or what an agent took down).
    Customer,
    /// An agent's reply to the customer: it answers the response targets.
    Agent,
    /// Written by the system (an acknowledgement, a survey link).
    Automatic,
    /// Internal: seen by colleagues only, may mention them.
    Note,
}

snake_names!(MessageKind {
    Customer => "customer",
    Agent => "agent",
    Automatic => "automatic",
    Note => "note",
});

/// The fields a ticket search, an assignment rule or an SLA policy's condition may
/// name. Sortable fields have an index ending in (…, id).
pub const CATALOGUE: &[FieldSpec] = &[
    FieldSpec::new("id", FieldKind::Uuid).sortable(),
    FieldSpec::new("number", FieldKind::Integer).sortable(),
    FieldSpec::new("subject", FieldKind::Text),
    FieldSpec::new("customer_id", FieldKind::Uuid),
    FieldSpec::new("contact_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("channel", FieldKind::Enum(TicketChannel::NAMES)),
    FieldSpec::new("category_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("priority", FieldKind::Enum(TicketPriority::NAMES)),
    FieldSpec::new("status", FieldKind::Enum(TicketStatus::NAMES)),
    FieldSpec::new("owner_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("team_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("order_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("product_id", FieldKind::Uuid).nullable(),
    // A tag the ticket carries: eq, in, neq, not_in.
    FieldSpec::new("tag", FieldKind::Text),
    // The tier of the ticket's customer, for SLA policies by customer tier.
    FieldSpec::new("customer_tier_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("sla_policy_id", FieldKind::Uuid).nullable(),
    FieldSpec::new("first_response_due_at", FieldKind::Timestamp)
        .nullable()
        .sortable(),
    FieldSpec::new("resolution_due_at", FieldKind::Timestamp)
        .nullable()
        .sortable(),
    FieldSpec::new("first_responded_at", FieldKind::Timestamp).nullable(),
    FieldSpec::new("resolved_at", FieldKind::Timestamp).nullable(),
    FieldSpec::new("sla_breached", FieldKind::Bool),
    FieldSpec::new("reassignments", FieldKind::Integer),
    FieldSpec::new("created_by", FieldKind::Uuid).nullable(),
    FieldSpec::new("created_at", FieldKind::Timestamp).sortable(),
    FieldSpec::new("updated_at", FieldKind::Timestamp).sortable(),
];

const MAX_SUBJECT_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 10_000;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 50;
/// A message is a conversation turn, not a document: attachments carry the rest.
pub const MAX_MESSAGE_CHARS: usize = 20_000;
const MAX_MENTIONS: usize = 20;

/// Everything a client may write on a ticket.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate,
)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "subject": "سفارش ۱۲۴ هنوز نرسیده",
    "description": "مشتری تماس گرفت و گفت بسته بعد از یک هفته نرسیده است.",
    "customer_id": "0193a4e2-7c1d-7b3e-9f10-bbbbbbbbbbbb",
    "channel": "phone",
    "priority": "high",
    "tags": ["ارسال"]
}))]
pub struct TicketInput {
    pub subject: String,
    #[serde(default)]
    pub description: Option<String>,
    pub customer_id: Uuid,
    /// For an organization: the person of its personnel who got in touch.
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub channel: TicketChannel,
    /// A ticket category (`/ticket-categories`).
    #[serde(default)]
    pub category_id: Option<Uuid>,
    #[serde(default)]
    pub priority: TicketPriority,
    #[serde(default)]
    pub status: TicketStatus,
    /// The agent working the ticket; without one the assignment rules for tickets pick
    /// one.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Defaults to the owner's team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// The order the request is about; must be the customer's.
    #[serde(default)]
    pub order_id: Option<Uuid>,
    #[serde(default)]
    pub product_id: Option<Uuid>,
    /// Free labels, each kept once.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Values of the ticket custom fields (`/custom-fields` with `entity: ticket`) by
    /// key, checked against their definitions; `null` removes a value.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

impl TicketInput {
    /// Checks and normalises the input; every problem is named by its field.
    pub fn validated(mut self) -> Result<TicketInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut subject = Some(std::mem::take(&mut self.subject));
        v.tidy_line("subject", &mut subject, MAX_SUBJECT_CHARS);
        match subject {
            Some(subject) => self.subject = subject,
            None => v.push("subject", "required", "a ticket needs a subject"),
        }
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if self.tags.len() > MAX_TAGS {
            v.push("tags", "too_many", format!("at most {MAX_TAGS} tags"));
        }
        let mut tags: Vec<String> = Vec::with_capacity(self.tags.len());
        for (index, tag) in std::mem::take(&mut self.tags).into_iter().enumerate() {
            let mut tag = Some(tag);
            v.tidy_line(&format!("tags[{index}]"), &mut tag, MAX_TAG_CHARS);
            match tag {
                Some(tag) if !tags.contains(&tag) => tags.push(tag),
                Some(_) => {}
                None => v.push(
                    format!("tags[{index}]"),
                    "required",
                    "a tag cannot be blank",
                ),
            }
        }
        self.tags = tags;
        if self.contact_id == Some(self.customer_id) {
            v.push(
                "contact_id",
                "same_as_customer",
                "the contact is a person of the customer's personnel, not the customer",
            );
        }
        v.into_result().map(|()| self)
    }
}

/// The text quick search (`q`) looks in: the number, the subject, the description and
/// the tags, each reduced by [`search_key`] so that Persian spellings agree.
pub fn search_text(number: i64, input: &TicketInput, customer_name: &str) -> String {
    let mut parts: Vec<String> = vec![number.to_string()];
    let mut push = |text: &str| {
        let key = search_key(text);
        if !key.is_empty() && !parts.contains(&key) {
            parts.push(key);
        }
    };
    push(&input.subject);
    push(customer_name);
    if let Some(description) = &input.description {
        push(description);
    }
    for tag in &input.tags {
        push(tag);
    }
    parts.join(" ")
}

/// A message added to a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "agent",
    "body": "سلام، بسته امروز تحویل پست شد. کد رهگیری: ۱۲۳۴۵۶۷۸۹"
}))]
pub struct MessageInput {
    pub kind: MessageKind,
    pub body: String,
    /// Colleagues a note calls on; each is notified. Only notes mention.
    #[serde(default)]
    pub mentions: Vec<Uuid>,
}

impl MessageInput {
    /// Checks the message: a body, within its length, mentions only on notes.
    /// `automatic` messages are the system's to write.
    pub fn validated(mut self) -> Result<MessageInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut body = Some(std::mem::take(&mut self.body));
        v.tidy_text("body", &mut body, MAX_MESSAGE_CHARS);
        match body {
            Some(body) => self.body = body,
            None => v.push("body", "required", "a message needs a body"),
        }
        if self.kind == MessageKind::Automatic {
            v.push(
                "kind",
                "set_by_system",
                "automatic messages are written by the service desk itself",
            );
        }
        if !self.mentions.is_empty() && self.kind != MessageKind::Note {
            v.push(
                "mentions",
                "only_on_notes",
                "only internal notes mention colleagues",
            );
        }
        if self.mentions.len() > MAX_MENTIONS {
            v.push(
                "mentions",
                "too_many",
                format!("at most {MAX_MENTIONS} mentions"),
            );
        }
        self.mentions.sort();
        self.mentions.dedup();
        v.into_result().map(|()| self)
    }
}

/// Levels of the category tree: deep enough for "device / model / fault".
pub const MAX_CATEGORY_DEPTH: usize = 5;
/// Categories a business may define.
pub const MAX_CATEGORIES: i64 = 1_000;

/// A ticket category as a client writes it.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate,
)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ارسال و تحویل", "name_en": "Shipping and delivery"}))]
pub struct CategoryInput {
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// The category this one sits under; absent for a top-level one.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

impl CategoryInput {
    pub fn validated(mut self) -> Result<CategoryInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut name = Some(std::mem::take(&mut self.name));
        v.tidy_line("name", &mut name, MAX_SUBJECT_CHARS);
        match name {
            Some(name) => self.name = name,
            None => v.push("name", "required", "a category needs a name"),
        }
        v.tidy_line("name_en", &mut self.name_en, MAX_SUBJECT_CHARS);
        v.into_result().map(|()| self)
    }
}

/// A ticket merge: the ticket merged into another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"into": "0193a4e2-7c1d-7b3e-9f10-777777777777"}))]
pub struct MergeInput {
    /// The ticket that takes over the conversation, attachments, tags and time.
    pub into: Uuid,
}

/// The target's tags followed by the source's it lacks, at most the tags a ticket may
/// carry (the target's own come first, so none of them is lost).
pub fn merged_tags(target: &[String], source: &[String]) -> Vec<String> {
    let mut tags = target.to_vec();
    for tag in source {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    tags.truncate(MAX_TAGS.max(target.len()));
    tags
}

/// The automatic messages a merge leaves: on the source, then on the target.
pub fn merge_messages(source: i64, target: i64) -> (String, String) {
    (
        format!("این درخواست در درخواست #{target} ادغام شد؛ گفت‌وگو در آنجا ادامه دارد."),
        format!("درخواست #{source} در این درخواست ادغام شد."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_tags_keep_the_targets_first_without_repeats_within_the_limit() {
        let tags = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            merged_tags(&tags(&["گارانتی", "vip"]), &tags(&["vip", "تعویض"])),
            tags(&["گارانتی", "vip", "تعویض"])
        );
        let many: Vec<String> = (0..25).map(|n| n.to_string()).collect();
        assert_eq!(merged_tags(&tags(&["a"]), &many).len(), 20);
    }

    fn codes(result: Result<impl std::fmt::Debug, Vec<FieldViolation>>) -> Vec<String> {
        result
            .expect_err("violations")
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect()
    }

    fn input() -> TicketInput {
        TicketInput {
            subject: "  سفارش   نرسیده ".into(),
            customer_id: Uuid::from_u128(1),
            ..TicketInput::default()
        }
    }

    #[test]
    fn a_ticket_is_tidied_and_its_tags_kept_once() {
        let ticket = TicketInput {
            tags: vec!["ارسال".into(), " ارسال ".into(), "فوری".into()],
            ..input()
        }
        .validated()
        .expect("valid");
        assert_eq!(ticket.subject, "سفارش نرسیده");
        assert_eq!(ticket.tags, ["ارسال", "فوری"]);
        let text = search_text(42, &ticket, "علی رضایی");
        assert!(text.starts_with("42 "), "{text}");
        assert!(text.contains(&search_key("فوری")), "{text}");
    }

    #[test]
    fn every_broken_rule_is_named() {
        let broken = TicketInput {
            subject: " ".into(),
            description: Some("a\u{0}b".into()),
            contact_id: Some(Uuid::from_u128(1)),
            tags: vec![String::new(); 21],
            ..input()
        };
        let found = codes(broken.validated());
        assert_eq!(found[0], "subject:required");
        assert_eq!(found[1], "description:nul_character");
        assert_eq!(found[2], "tags:too_many");
        assert!(found.contains(&"tags[0]:required".to_string()));
        assert_eq!(found.last().unwrap(), "contact_id:same_as_customer");
    }

    #[test]
    fn statuses_move_only_forward_or_by_reopening() {
        use TicketStatus::*;
        assert!(New.can_become(Open));
        assert!(Open.can_become(PendingCustomer));
        assert!(PendingCustomer.can_become(Resolved));
        assert!(Resolved.can_become(Reopened));
        assert!(Closed.can_become(Reopened));
        assert!(Reopened.can_become(Open));
        assert!(!Open.can_become(New));
        assert!(!Resolved.can_become(Open));
        assert!(!Closed.can_become(Resolved));
        assert!(!Reopened.can_become(New));
        assert!(Closed.can_become(Closed));
        assert!(OPEN_ARE_OPEN.iter().all(|status| status.is_open()));
        assert!(!Resolved.is_open() && !Closed.is_open());
    }

    const OPEN_ARE_OPEN: [TicketStatus; 5] = TicketStatus::OPEN;

    #[test]
    fn messages_are_checked() {
        let note = MessageInput {
            kind: MessageKind::Agent,
            body: " ".into(),
            mentions: vec![Uuid::from_u128(2)],
        };
        assert_eq!(
            codes(note.validated()),
            ["body:required", "mentions:only_on_notes"]
        );
        let automatic = MessageInput {
            kind: MessageKind::Automatic,
            body: "x".into(),
            mentions: vec![],
        };
        assert_eq!(codes(automatic.validated()), ["kind:set_by_system"]);
        let mentions = MessageInput {
            kind: MessageKind::Note,
            body: "@سارا لطفا ببین".into(),
            mentions: vec![Uuid::from_u128(3), Uuid::from_u128(3)],
        }
        .validated()
        .expect("valid");
        assert_eq!(mentions.mentions.len(), 1);
    }
}
