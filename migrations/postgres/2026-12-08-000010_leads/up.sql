-- Leads (S-1): people or companies who may become customers. Phones and e-mails are
-- the lead's normalised contact lists (as a customer's input, JSON arrays); the
-- quick-search text is recomputed on every write. A converted lead keeps the customers
-- it became.
CREATE TABLE leads (
    id uuid PRIMARY KEY,
    first_name text,
    last_name text,
    company text,
    job_title text,
    phones jsonb NOT NULL,
    emails jsonb NOT NULL,
    province text,
    city text,
    source text,
    campaign text,
    status text NOT NULL,
    disqualified_reason text,
    owner_id uuid,
    team_id uuid,
    description text,
    display_name text NOT NULL,
    search_text text NOT NULL,
    converted_customer_id uuid,
    converted_organization_id uuid,
    converted_at timestamptz,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX leads_created_idx ON leads (created_at, id);
CREATE INDEX leads_updated_idx ON leads (updated_at, id);
CREATE INDEX leads_status_idx ON leads (status, id);
CREATE INDEX leads_owner_idx ON leads (owner_id, id);
CREATE INDEX leads_team_idx ON leads (team_id, id);
CREATE INDEX leads_display_name_idx ON leads (display_name, id);
CREATE INDEX leads_converted_customer_idx ON leads (converted_customer_id);
CREATE INDEX leads_converted_organization_idx ON leads (converted_organization_id);
CREATE INDEX leads_search_text_trgm_idx ON leads USING gin (search_text gin_trgm_ops);
