-- Satisfaction surveys (V-6). A ticket resolved gets a survey: a link with a random
-- token the customer opens without an account. Only a SHA-256 of the token is kept, so
-- the table cannot hand out links. Who worked the ticket, its team, category and
-- channel are copied at resolution, so the CSAT report credits whoever resolved it
-- even after the ticket moves on.
CREATE TABLE ticket_surveys (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    token_hash text NOT NULL,
    agent_id uuid,
    team_id uuid,
    category_id uuid,
    channel text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    answered_at timestamptz,
    rating integer,
    comment text,
    -- What a low rating did: `reopened` or `escalated`.
    follow_up text
);
CREATE UNIQUE INDEX ticket_surveys_token_key ON ticket_surveys (token_hash);
CREATE INDEX ticket_surveys_ticket_idx ON ticket_surveys (ticket_id, created_at, id);
-- The reports count surveys sent in a period, per agent, team or category.
CREATE INDEX ticket_surveys_created_idx ON ticket_surveys (created_at, id);
CREATE INDEX ticket_surveys_agent_idx ON ticket_surveys (agent_id, created_at);

-- What a low rating does, per SLA policy: at or below `csat_threshold` (1–5; null:
-- nothing) the ticket is reopened or its team's managers are told.
ALTER TABLE sla_policies ADD COLUMN csat_threshold integer;
ALTER TABLE sla_policies ADD COLUMN csat_action text NOT NULL DEFAULT 'reopen';
