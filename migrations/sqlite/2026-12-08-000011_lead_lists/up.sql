-- Static lead lists (S-1): named sets of leads a user builds by hand, e.g. for a call
-- campaign. A list holds only ids; who may see a member is the lead's own visibility.
CREATE TABLE lead_lists (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX lead_lists_name_key ON lead_lists (name);
CREATE INDEX lead_lists_created_idx ON lead_lists (created_at, id);

CREATE TABLE lead_list_members (
    list_id TEXT NOT NULL REFERENCES lead_lists (id) ON DELETE CASCADE,
    lead_id TEXT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    added_by TEXT,
    added_at TEXT NOT NULL,
    PRIMARY KEY (list_id, lead_id)
);
CREATE INDEX lead_list_members_lead_idx ON lead_list_members (lead_id);
