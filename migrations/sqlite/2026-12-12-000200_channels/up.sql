-- Omnichannel (O-1, O-2): channel accounts, the contact points that recognise a sender,
-- and the conversations inbound and outbound messages thread into.

-- One bot, number, page or line. `webhook_key` is the random public name of its
-- webhook URL; the provider credentials are sealed (AES-256-GCM) under the key named by
-- `credentials_key_id` and never leave the server.
CREATE TABLE channel_accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    active INTEGER NOT NULL,
    settings TEXT NOT NULL,
    webhook_key TEXT NOT NULL,
    credentials_key_id TEXT NOT NULL,
    credentials_sealed TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX channel_accounts_webhook_key_idx ON channel_accounts (webhook_key);

-- Addresses customers are known by beyond their e-mails and phones: messenger user
-- ids learnt from their messages.
CREATE TABLE customer_contact_points (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, kind, value)
);
CREATE INDEX customer_contact_points_value_idx ON customer_contact_points (kind, value);

-- Every address of a lead, e-mails and phones (kept in step with the lead's own
-- lists) and messenger ids, so that a sender is matched to a lead by one index.
CREATE TABLE lead_contact_points (
    lead_id TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (lead_id, kind, value)
);
CREATE INDEX lead_contact_points_value_idx ON lead_contact_points (kind, value);
INSERT INTO lead_contact_points (lead_id, kind, value, created_at)
SELECT DISTINCT leads.id, 'phone', json_extract(phone.value, '$.number'), leads.created_at
FROM leads, json_each(leads.phones) AS phone
WHERE json_extract(phone.value, '$.number') IS NOT NULL;
INSERT OR IGNORE INTO lead_contact_points (lead_id, kind, value, created_at)
SELECT DISTINCT leads.id, 'email', json_extract(email.value, '$.address'), leads.created_at
FROM leads, json_each(leads.emails) AS email
WHERE json_extract(email.value, '$.address') IS NOT NULL;

-- One conversation per sender address and channel account. It belongs to a customer
-- or, before one is known, to a lead; neither when the account keeps unknown senders
-- unlinked.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    channel_account_id TEXT NOT NULL REFERENCES channel_accounts (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    contact_kind TEXT NOT NULL,
    contact_value TEXT NOT NULL,
    contact_name TEXT,
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    lead_id TEXT REFERENCES leads (id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets (id) ON DELETE SET NULL,
    last_message_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX conversations_contact_idx
    ON conversations (channel_account_id, contact_kind, contact_value);
CREATE INDEX conversations_customer_idx ON conversations (customer_id, last_message_at, id);
CREATE INDEX conversations_lead_idx ON conversations (lead_id);
CREATE INDEX conversations_recent_idx ON conversations (last_message_at, id);

-- Messages in and out. A provider's id is unique per account and direction, which is
-- what makes a replayed webhook store nothing twice. `customer_id` repeats the
-- conversation's so that the customer's timeline reads one index.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel_account_id TEXT NOT NULL REFERENCES channel_accounts (id) ON DELETE CASCADE,
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    provider_message_id TEXT,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    automatic INTEGER NOT NULL,
    sent_by TEXT,
    error TEXT,
    occurred_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_provider_idx
    ON messages (channel_account_id, direction, provider_message_id);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, occurred_at, id);
CREATE INDEX messages_customer_idx ON messages (customer_id, occurred_at, id);
