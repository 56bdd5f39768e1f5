-- Leads (S-1): people or companies who may become customers. Phones and e-mails are
-- the lead's normalised contact lists (as a customer's input, JSON arrays); the
-- quick-search text is recomputed on every write. A converted lead keeps the customers
-- it became.
CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    company TEXT,
    job_title TEXT,
    phones TEXT NOT NULL,
    emails TEXT NOT NULL,
    province TEXT,
    city TEXT,
    source TEXT,
    campaign TEXT,
    status TEXT NOT NULL,
    disqualified_reason TEXT,
    owner_id TEXT,
    team_id TEXT,
    description TEXT,
    display_name TEXT NOT NULL,
    search_text TEXT NOT NULL,
    converted_customer_id TEXT,
    converted_organization_id TEXT,
    converted_at TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX leads_created_idx ON leads (created_at, id);
CREATE INDEX leads_updated_idx ON leads (updated_at, id);
CREATE INDEX leads_status_idx ON leads (status, id);
CREATE INDEX leads_owner_idx ON leads (owner_id, id);
CREATE INDEX leads_team_idx ON leads (team_id, id);
CREATE INDEX leads_display_name_idx ON leads (display_name, id);
CREATE INDEX leads_converted_customer_idx ON leads (converted_customer_id);
CREATE INDEX leads_converted_organization_idx ON leads (converted_organization_id);
