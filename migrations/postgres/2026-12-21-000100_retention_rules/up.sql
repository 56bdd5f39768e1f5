-- Retention rules (X-4): how long each kind of data is kept before the daily
-- `retention.apply` job deletes or anonymises it. One rule per kind.
CREATE TABLE retention_rules (
    -- `domain::retention::RetentionKind`.
    kind text PRIMARY KEY,
    keep_days integer NOT NULL CHECK (keep_days BETWEEN 1 AND 36500),
    -- `delete` or `anonymise`.
    action text NOT NULL,
    enabled boolean NOT NULL,
    -- Where anonymising stopped: rows aged before `watermark_at` (audit events up to
    -- `watermark_seq`) are done, so a run does not walk them again.
    watermark_at timestamptz,
    watermark_seq bigint,
    last_applied_at timestamptz,
    last_removed bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
-- The rules walk each kind oldest first.
CREATE INDEX behavioural_events_occurred_idx ON behavioural_events (occurred_at, id);
CREATE INDEX tickets_closed_idx ON tickets (closed_at, id);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at, id);
CREATE INDEX stored_files_purpose_idx ON stored_files (purpose, created_at, id);
