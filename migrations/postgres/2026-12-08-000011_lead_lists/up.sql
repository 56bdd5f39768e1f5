-- Static lead lists (S-1): named sets of leads a user builds by hand, e.g. for a call
-- campaign. A list holds only ids; who may see a member is the lead's own visibility.
CREATE TABLE lead_lists (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX lead_lists_name_key ON lead_lists (name);
CREATE INDEX lead_lists_created_idx ON lead_lists (created_at, id);

CREATE TABLE lead_list_members (
    list_id uuid NOT NULL REFERENCES lead_lists (id) ON DELETE CASCADE,
    lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    added_by uuid,
    added_at timestamptz NOT NULL,
    PRIMARY KEY (list_id, lead_id)
);
CREATE INDEX lead_list_members_lead_idx ON lead_list_members (lead_id);
