-- Customer segments (M-1). A segment is dynamic (a condition in the filter tree of the
-- customer search, stored as its JSON and resolved whenever the membership is
-- refreshed) or static (members added and removed by hand). Its membership is
-- materialised: one row per spell a customer is in the segment, `left_at` null while
-- it lasts, so a customer who leaves and comes back has a second row.
CREATE TABLE segments (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    kind text NOT NULL CHECK (kind IN ('dynamic', 'static')),
    condition jsonb,
    active boolean NOT NULL,
    refresh_interval_minutes bigint NOT NULL,
    member_count bigint NOT NULL DEFAULT 0,
    refreshed_at timestamptz,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CHECK ((kind = 'dynamic') = (condition IS NOT NULL))
);
CREATE UNIQUE INDEX segments_name_key ON segments (name);
CREATE INDEX segments_created_idx ON segments (created_at, id);

CREATE TABLE segment_memberships (
    id uuid PRIMARY KEY,
    segment_id uuid NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    entered_at timestamptz NOT NULL,
    left_at timestamptz
);
-- The current members: one open spell per customer and segment; the members page and
-- the refresh's difference walk it by customer id.
CREATE UNIQUE INDEX segment_memberships_current_key
    ON segment_memberships (segment_id, customer_id) WHERE left_at IS NULL;
-- The history page, newest spell first.
CREATE INDEX segment_memberships_history_idx ON segment_memberships (segment_id, id);
-- A customer's segments (the 360 view, merge, erasure, the personal-data export).
CREATE INDEX segment_memberships_customer_idx ON segment_memberships (customer_id);

-- What happened, for whoever follows along (outgoing webhooks, workflows): written in
-- the transaction of the change it reports and read in `seq` order from a cursor.
-- Writers take an advisory lock before they append, so a `seq` is never committed
-- after a higher one and a reader's cursor never skips an event.
CREATE TABLE events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL,
    event_type text NOT NULL,
    subject_kind text NOT NULL,
    subject_id uuid NOT NULL,
    payload jsonb NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX events_id_key ON events (id);
CREATE INDEX events_subject_idx ON events (subject_kind, subject_id, seq);
