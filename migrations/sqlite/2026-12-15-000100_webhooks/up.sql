-- Outgoing webhooks: endpoints subscribed to event types of the outbox, each with its
-- signing secret (sealed under the credential key), and one delivery per event and
-- subscription, with its attempts' outcome.
CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    description TEXT,
    active INTEGER NOT NULL,
    secret_key_id TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    -- Deliveries given up in a row; reset by a success and by switching it on.
    consecutive_failures INTEGER NOT NULL,
    disabled_reason TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_created_at_idx ON webhook_subscriptions (created_at, id);
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The JSON body, fixed when the event happened, the same on every attempt.
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    response_status INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    last_attempt_at TEXT,
    delivered_at TEXT
);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, created_at, id);
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (subscription_id, event_id);
