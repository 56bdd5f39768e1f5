-- Assignment (S-3): the business's ordered rules that pick an owner for new records,
-- its territories, each team's round-robin cursor, users' capacities and out-of-office
-- periods, and the history of every assignment with its rule and reason.
-- Leads carry the facts rules are written over: language and the product asked about.
ALTER TABLE leads ADD COLUMN language TEXT;
ALTER TABLE leads ADD COLUMN product_id TEXT REFERENCES products (id);
CREATE INDEX leads_owner_status_idx ON leads (owner_id, status);
CREATE INDEX leads_product_idx ON leads (product_id);

CREATE TABLE territories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provinces TEXT NOT NULL,
    cities TEXT NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams (id),
    strategy TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX territories_name_key ON territories (name);
CREATE INDEX territories_team_idx ON territories (team_id);

CREATE TABLE assignment_rules (
    id TEXT PRIMARY KEY,
    record_kind TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    condition TEXT,
    target_kind TEXT NOT NULL,
    user_id TEXT REFERENCES users (id),
    team_id TEXT REFERENCES teams (id),
    strategy TEXT,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX assignment_rules_order_idx ON assignment_rules (record_kind, position, id);
CREATE INDEX assignment_rules_user_idx ON assignment_rules (user_id);
CREATE INDEX assignment_rules_team_idx ON assignment_rules (team_id);

-- The member of a team who was handed its latest record of a kind: the rotation
-- continues after them. One row per team and kind, locked while a choice is made.
CREATE TABLE assignment_cursors (
    record_kind TEXT NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    last_user_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (record_kind, team_id)
);

CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    user_id TEXT,
    team_id TEXT,
    rule_id TEXT,
    method TEXT NOT NULL,
    reason TEXT NOT NULL,
    assigned_by TEXT,
    assigned_at TEXT NOT NULL
);
CREATE INDEX assignments_record_idx ON assignments (record_kind, record_id, id);

CREATE TABLE user_capacities (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    record_kind TEXT NOT NULL,
    max_open INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, record_kind)
);

CREATE TABLE user_absences (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    note TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX user_absences_user_idx ON user_absences (user_id, ends_at);
