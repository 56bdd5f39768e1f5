-- Outgoing webhooks: endpoints subscribed to event types of the outbox, each with its
-- signing secret (sealed under the credential key), and one delivery per event and
-- subscription, with its attempts' outcome.
CREATE TABLE webhook_subscriptions (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    event_types jsonb NOT NULL,
    description text,
    active boolean NOT NULL,
    secret_key_id text NOT NULL,
    secret_sealed text NOT NULL,
    -- Deliveries given up in a row; reset by a success and by switching it on.
    consecutive_failures integer NOT NULL,
    disabled_reason text,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX webhook_subscriptions_created_at_idx ON webhook_subscriptions (created_at, id);
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    -- The JSON body, fixed when the event happened, the same on every attempt.
    body text NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    response_status integer,
    error text,
    created_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, created_at, id);
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (subscription_id, event_id);
