-- Audit events of committed transactions that are not yet linked into the hash chain.
-- On PostgreSQL a write stores its events here without taking the chain's lock, and a
-- sealer links them into audit_events right after the commit (see persistence::audit).
CREATE TABLE audit_pending (
    id uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    action text NOT NULL,
    resource_type text NOT NULL,
    resource_id text,
    changes jsonb,
    request_id text,
    changes_digest text NOT NULL
);
