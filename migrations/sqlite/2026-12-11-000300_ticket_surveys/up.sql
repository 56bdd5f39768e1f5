-- Satisfaction surveys (V-6). A ticket resolved gets a survey: a link with a random
-- token the customer opens without an account. Only a SHA-256 of the token is kept, so
-- the table cannot hand out links. Who worked the ticket, its team, category and
-- channel are copied at resolution, so the CSAT report credits whoever resolved it
-- even after the ticket moves on.
CREATE TABLE ticket_surveys (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    agent_id TEXT,
    team_id TEXT,
    category_id TEXT,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    answered_at TEXT,
    rating INTEGER,
    comment TEXT,
    -- What a low rating did: `reopened` or `escalated`.
    follow_up TEXT
);
CREATE UNIQUE INDEX ticket_surveys_token_key ON ticket_surveys (token_hash);
CREATE INDEX ticket_surveys_ticket_idx ON ticket_surveys (ticket_id, created_at, id);
-- The reports count surveys sent in a period, per agent, team or category.
CREATE INDEX ticket_surveys_created_idx ON ticket_surveys (created_at, id);
CREATE INDEX ticket_surveys_agent_idx ON ticket_surveys (agent_id, created_at);

-- What a low rating does, per SLA policy: at or below `csat_threshold` (1–5; null:
-- nothing) the ticket is reopened or its team's managers are told.
ALTER TABLE sla_policies ADD COLUMN csat_threshold INTEGER;
ALTER TABLE sla_policies ADD COLUMN csat_action TEXT NOT NULL DEFAULT 'reopen';
