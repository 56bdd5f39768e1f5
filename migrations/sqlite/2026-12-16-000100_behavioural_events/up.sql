-- Behavioural events (page views, app and device usage) sent by apps and devices about
-- customers: every event name met so far with its optional property schema and its
-- weight in the engagement score, the events themselves, and per customer and name the
-- running facts searches and the engagement score read.
CREATE TABLE event_definitions (
    name TEXT PRIMARY KEY,
    -- What its ETag is made of, like every other resource's.
    id TEXT NOT NULL,
    description TEXT,
    -- Weight of one event of this name in the engagement score.
    weight REAL NOT NULL,
    -- JSON object: property name -> {"type", "required"}; NULL checks nothing.
    properties TEXT,
    -- Whether properties the schema does not name are accepted.
    allow_other_properties INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX event_definitions_id_key ON event_definitions (id);
CREATE TABLE behavioural_events (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- The customer the sender named; differs from customer_id while that customer is
    -- merged into another, and takes the event back when the merge is undone.
    origin_customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_name TEXT NOT NULL REFERENCES event_definitions (name),
    properties TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    api_key_id TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
    -- 2^((occurred_at - 2020-01-01) / half-life): the event's share of the decayed
    -- engagement score, fixed when it is stored (see domain::behaviour::engagement).
    mass REAL NOT NULL
);
CREATE INDEX behavioural_events_customer_idx ON behavioural_events (customer_id, occurred_at, id);
CREATE INDEX behavioural_events_origin_idx ON behavioural_events (origin_customer_id);
CREATE TABLE customer_event_stats (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_name TEXT NOT NULL REFERENCES event_definitions (name),
    event_count INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    -- Sum of the events' mass.
    mass REAL NOT NULL,
    PRIMARY KEY (customer_id, event_name)
);
CREATE INDEX customer_event_stats_name_idx ON customer_event_stats (event_name, last_at);
