-- Customer segments (M-1). A segment is dynamic (a condition in the filter tree of the
-- customer search, stored as its JSON and resolved whenever the membership is
-- refreshed) or static (members added and removed by hand). Its membership is
-- materialised: one row per spell a customer is in the segment, `left_at` null while
-- it lasts, so a customer who leaves and comes back has a second row.
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('dynamic', 'static')),
    condition TEXT,
    active INTEGER NOT NULL,
    refresh_interval_minutes INTEGER NOT NULL,
    member_count INTEGER NOT NULL DEFAULT 0,
    refreshed_at TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    CHECK ((kind = 'dynamic') = (condition IS NOT NULL))
);
CREATE UNIQUE INDEX segments_name_key ON segments (name);
CREATE INDEX segments_created_idx ON segments (created_at, id);

CREATE TABLE segment_memberships (
    id TEXT PRIMARY KEY,
    segment_id TEXT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    entered_at TEXT NOT NULL,
    left_at TEXT
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
-- SQLite serialises writers, so `seq` (AUTOINCREMENT: never reused) commits in order.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE UNIQUE INDEX events_id_key ON events (id);
CREATE INDEX events_subject_idx ON events (subject_kind, subject_id, seq);
