-- Signed checkpoints of the audit chain's end (D-4). Each names an event by its sequence
-- number and hash and is signed with a key kept outside the database, so that removing
-- the newest events, which leaves a shorter chain that still links, is detected.
CREATE TABLE audit_checkpoints (
    seq bigint PRIMARY KEY,
    event_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    signature text NOT NULL
);
