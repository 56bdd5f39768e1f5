-- Behavioural events (page views, app and device usage) sent by apps and devices about
-- customers: every event name met so far with its optional property schema and its
-- weight in the engagement score, the events themselves, and per customer and name the
-- running facts searches and the engagement score read.
CREATE TABLE event_definitions (
    name text PRIMARY KEY,
    -- What its ETag is made of, like every other resource's.
    id uuid NOT NULL,
    description text,
    -- Weight of one event of this name in the engagement score.
    weight double precision NOT NULL,
    -- JSON object: property name -> {"type", "required"}; NULL checks nothing.
    properties jsonb,
    -- Whether properties the schema does not name are accepted.
    allow_other_properties boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX event_definitions_id_key ON event_definitions (id);
CREATE TABLE behavioural_events (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- The customer the sender named; differs from customer_id while that customer is
    -- merged into another, and takes the event back when the merge is undone.
    origin_customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_name text NOT NULL REFERENCES event_definitions (name),
    properties jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    -- 2^((occurred_at - 2020-01-01) / half-life): the event's share of the decayed
    -- engagement score, fixed when it is stored (see domain::behaviour::engagement).
    mass double precision NOT NULL
);
CREATE INDEX behavioural_events_customer_idx ON behavioural_events (customer_id, occurred_at, id);
CREATE INDEX behavioural_events_origin_idx ON behavioural_events (origin_customer_id);
CREATE TABLE customer_event_stats (
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_name text NOT NULL REFERENCES event_definitions (name),
    event_count bigint NOT NULL,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    -- Sum of the events' mass.
    mass double precision NOT NULL,
    PRIMARY KEY (customer_id, event_name)
);
CREATE INDEX customer_event_stats_name_idx ON customer_event_stats (event_name, last_at);
