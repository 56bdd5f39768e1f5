-- Assignment (S-3): the business's ordered rules that pick an owner for new records,
-- its territories, each team's round-robin cursor, users' capacities and out-of-office
-- periods, and the history of every assignment with its rule and reason.
-- Leads carry the facts rules are written over: language and the product asked about.
ALTER TABLE leads ADD COLUMN language text;
ALTER TABLE leads ADD COLUMN product_id uuid REFERENCES products (id);
CREATE INDEX leads_owner_status_idx ON leads (owner_id, status);
CREATE INDEX leads_product_idx ON leads (product_id);

CREATE TABLE territories (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    provinces jsonb NOT NULL,
    cities jsonb NOT NULL,
    team_id uuid NOT NULL REFERENCES teams (id),
    strategy text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX territories_name_key ON territories (name);
CREATE INDEX territories_team_idx ON territories (team_id);

CREATE TABLE assignment_rules (
    id uuid PRIMARY KEY,
    record_kind text NOT NULL,
    name text NOT NULL,
    position integer NOT NULL,
    condition jsonb,
    target_kind text NOT NULL,
    user_id uuid REFERENCES users (id),
    team_id uuid REFERENCES teams (id),
    strategy text,
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX assignment_rules_order_idx ON assignment_rules (record_kind, position, id);
CREATE INDEX assignment_rules_user_idx ON assignment_rules (user_id);
CREATE INDEX assignment_rules_team_idx ON assignment_rules (team_id);

-- The member of a team who was handed its latest record of a kind: the rotation
-- continues after them. One row per team and kind, locked while a choice is made.
CREATE TABLE assignment_cursors (
    record_kind text NOT NULL,
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    last_user_id uuid NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (record_kind, team_id)
);

CREATE TABLE assignments (
    id uuid PRIMARY KEY,
    record_kind text NOT NULL,
    record_id uuid NOT NULL,
    user_id uuid,
    team_id uuid,
    rule_id uuid,
    method text NOT NULL,
    reason text NOT NULL,
    assigned_by uuid,
    assigned_at timestamptz NOT NULL
);
CREATE INDEX assignments_record_idx ON assignments (record_kind, record_id, id);

CREATE TABLE user_capacities (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    record_kind text NOT NULL,
    max_open bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, record_kind)
);

CREATE TABLE user_absences (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    note text,
    created_by uuid,
    created_at timestamptz NOT NULL
);
CREATE INDEX user_absences_user_idx ON user_absences (user_id, ends_at);
