-- Service desk (V-1 … V-3). Ticket categories form a tree. SLA policies are chosen by
-- a condition in the filter tree of the ticket search (stored as its JSON). A ticket
-- keeps its SLA clock: its due times, which targets were breached, the pause while it
-- waits for the customer, and `sla_check_at`, the earliest instant the breach scan must
-- look at it (null when nothing can come due), so the scan reads only what is due.
CREATE TABLE ticket_categories (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES ticket_categories (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    name_en TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX ticket_categories_parent_idx ON ticket_categories (parent_id);
CREATE INDEX ticket_categories_created_idx ON ticket_categories (created_at, id);

CREATE TABLE sla_policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    condition TEXT,
    first_response_minutes INTEGER,
    next_response_minutes INTEGER,
    resolution_minutes INTEGER,
    pickup_minutes INTEGER,
    max_reassignments INTEGER NOT NULL,
    raise_priority_on_breach INTEGER NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX sla_policies_position_idx ON sla_policies (position, id);

-- One row: the last ticket number given.
CREATE TABLE ticket_counters (
    scope TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    subject TEXT NOT NULL,
    description TEXT,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    contact_id TEXT REFERENCES customers (id) ON DELETE SET NULL,
    channel TEXT NOT NULL,
    category_id TEXT REFERENCES ticket_categories (id) ON DELETE RESTRICT,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    owner_id TEXT,
    team_id TEXT,
    order_id TEXT REFERENCES orders (id) ON DELETE SET NULL,
    product_id TEXT REFERENCES products (id) ON DELETE SET NULL,
    tags TEXT NOT NULL,
    custom_fields TEXT NOT NULL,
    search_text TEXT NOT NULL,
    sla_policy_id TEXT REFERENCES sla_policies (id) ON DELETE SET NULL,
    first_response_due_at TEXT,
    next_response_due_at TEXT,
    resolution_due_at TEXT,
    pickup_due_at TEXT,
    first_response_breached INTEGER NOT NULL,
    next_response_breached INTEGER NOT NULL,
    resolution_breached INTEGER NOT NULL,
    sla_breached INTEGER NOT NULL,
    sla_paused_at TEXT,
    sla_paused_minutes INTEGER NOT NULL,
    sla_check_at TEXT,
    first_responded_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    reassignments INTEGER NOT NULL,
    escalated_at TEXT,
    reopen_count INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    last_message_at TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX tickets_number_key ON tickets (number);
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_status_idx ON tickets (status, id);
-- An agent's queue: their open tickets by due time.
CREATE INDEX tickets_owner_idx ON tickets (owner_id, status, resolution_due_at, id);
CREATE INDEX tickets_team_idx ON tickets (team_id, id);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, created_at, id);
CREATE INDEX tickets_category_idx ON tickets (category_id, id);
CREATE INDEX tickets_first_response_due_idx ON tickets (first_response_due_at, id);
CREATE INDEX tickets_resolution_due_idx ON tickets (resolution_due_at, id);
CREATE INDEX tickets_sla_check_idx ON tickets (sla_check_at) WHERE sla_check_at IS NOT NULL;
CREATE INDEX tickets_order_idx ON tickets (order_id);
CREATE INDEX tickets_contact_idx ON tickets (contact_id);

-- A ticket's tags, one row each, for the `tag` search condition.
CREATE TABLE ticket_tags (
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag_idx ON ticket_tags (tag, ticket_id);

-- The conversation: customer messages, agent replies, automatic messages and internal
-- notes (with the users they mention).
CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    author_id TEXT,
    body TEXT NOT NULL,
    mentions TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, created_at, id);

CREATE TABLE ticket_status_changes (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status TEXT NOT NULL,
    changed_by TEXT,
    changed_at TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX ticket_status_changes_ticket_idx ON ticket_status_changes (ticket_id, changed_at, id);
CREATE INDEX ticket_status_changes_changed_idx ON ticket_status_changes (changed_at, id);

-- Each breach of a target, once: the unique key is what makes a second scan (or a
-- second process) find it already recorded.
CREATE TABLE ticket_sla_breaches (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    due_at TEXT NOT NULL,
    breached_at TEXT NOT NULL,
    owner_id TEXT,
    team_id TEXT
);
CREATE UNIQUE INDEX ticket_sla_breaches_key ON ticket_sla_breaches (ticket_id, target, due_at);
CREATE INDEX ticket_sla_breaches_breached_idx ON ticket_sla_breaches (breached_at, id);
