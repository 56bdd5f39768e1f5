-- Audit events of committed transactions that are not yet linked into the hash chain.
-- SQLite serialises writers and links events inside their transaction, so the table
-- stays empty there; it exists so that both backends share one schema.
CREATE TABLE audit_pending (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    changes TEXT,
    request_id TEXT,
    changes_digest TEXT NOT NULL
);
