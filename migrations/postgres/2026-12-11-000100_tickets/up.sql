-- Service desk (V-1 … V-3). Ticket categories form a tree. SLA policies are chosen by
-- a condition in the filter tree of the ticket search (stored as its JSON). A ticket
-- keeps its SLA clock: its due times, which targets were breached, the pause while it
-- waits for the customer, and `sla_check_at`, the earliest instant the breach scan must
-- look at it (null when nothing can come due), so the scan reads only what is due.
CREATE TABLE ticket_categories (
    id uuid PRIMARY KEY,
    parent_id uuid REFERENCES ticket_categories (id) ON DELETE RESTRICT,
    name text NOT NULL,
    name_en text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX ticket_categories_parent_idx ON ticket_categories (parent_id);
CREATE INDEX ticket_categories_created_idx ON ticket_categories (created_at, id);

CREATE TABLE sla_policies (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    position integer NOT NULL,
    condition jsonb,
    first_response_minutes integer,
    next_response_minutes integer,
    resolution_minutes integer,
    pickup_minutes integer,
    max_reassignments integer NOT NULL,
    raise_priority_on_breach boolean NOT NULL,
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX sla_policies_position_idx ON sla_policies (position, id);

-- One row: the last ticket number given.
CREATE TABLE ticket_counters (
    scope text PRIMARY KEY,
    last_number bigint NOT NULL
);

CREATE TABLE tickets (
    id uuid PRIMARY KEY,
    number bigint NOT NULL,
    subject text NOT NULL,
    description text,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    contact_id uuid REFERENCES customers (id) ON DELETE SET NULL,
    channel text NOT NULL,
    category_id uuid REFERENCES ticket_categories (id) ON DELETE RESTRICT,
    priority text NOT NULL,
    status text NOT NULL,
    owner_id uuid,
    team_id uuid,
    order_id uuid REFERENCES orders (id) ON DELETE SET NULL,
    product_id uuid REFERENCES products (id) ON DELETE SET NULL,
    tags jsonb NOT NULL,
    custom_fields jsonb NOT NULL,
    search_text text NOT NULL,
    sla_policy_id uuid REFERENCES sla_policies (id) ON DELETE SET NULL,
    first_response_due_at timestamptz,
    next_response_due_at timestamptz,
    resolution_due_at timestamptz,
    pickup_due_at timestamptz,
    first_response_breached boolean NOT NULL,
    next_response_breached boolean NOT NULL,
    resolution_breached boolean NOT NULL,
    sla_breached boolean NOT NULL,
    sla_paused_at timestamptz,
    sla_paused_minutes bigint NOT NULL,
    sla_check_at timestamptz,
    first_responded_at timestamptz,
    resolved_at timestamptz,
    closed_at timestamptz,
    reassignments bigint NOT NULL,
    escalated_at timestamptz,
    reopen_count bigint NOT NULL,
    message_count bigint NOT NULL,
    last_message_at timestamptz,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
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
CREATE INDEX tickets_search_text_trgm_idx ON tickets USING gin (search_text gin_trgm_ops);

-- A ticket's tags, one row each, for the `tag` search condition.
CREATE TABLE ticket_tags (
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag text NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag_idx ON ticket_tags (tag, ticket_id);

-- The conversation: customer messages, agent replies, automatic messages and internal
-- notes (with the users they mention).
CREATE TABLE ticket_messages (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind text NOT NULL,
    author_id uuid,
    body text NOT NULL,
    mentions jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, created_at, id);

CREATE TABLE ticket_status_changes (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    from_status text,
    to_status text NOT NULL,
    changed_by uuid,
    changed_at timestamptz NOT NULL,
    reason text
);
CREATE INDEX ticket_status_changes_ticket_idx ON ticket_status_changes (ticket_id, changed_at, id);
CREATE INDEX ticket_status_changes_changed_idx ON ticket_status_changes (changed_at, id);

-- Each breach of a target, once: the unique key is what makes a second scan (or a
-- second process) find it already recorded.
CREATE TABLE ticket_sla_breaches (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    target text NOT NULL,
    due_at timestamptz NOT NULL,
    breached_at timestamptz NOT NULL,
    owner_id uuid,
    team_id uuid
);
CREATE UNIQUE INDEX ticket_sla_breaches_key ON ticket_sla_breaches (ticket_id, target, due_at);
CREATE INDEX ticket_sla_breaches_breached_idx ON ticket_sla_breaches (breached_at, id);
