-- Sales (S-4, S-5): pipelines of stages, the reasons deals are lost, deals with their
-- lines, contacts and stage history. Amounts are integer minor units of the deal's
-- currency; probabilities whole percents.

CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT,
    name_key TEXT NOT NULL,
    stuck_after_days INTEGER NOT NULL CHECK (stuck_after_days BETWEEN 1 AND 3650),
    is_default INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX pipelines_name_key_key ON pipelines (name_key);
-- One default pipeline at most: where deals go that name none.
CREATE UNIQUE INDEX pipelines_default_key ON pipelines (is_default) WHERE is_default;
CREATE INDEX pipelines_created_at_idx ON pipelines (created_at, id);

-- The open stages in `position` order, then `won` and `lost`.
CREATE TABLE pipeline_stages (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT,
    probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
    kind TEXT NOT NULL
);
CREATE INDEX pipeline_stages_pipeline_idx ON pipeline_stages (pipeline_id, position);

CREATE TABLE lost_reasons (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT,
    name_key TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX lost_reasons_name_key_key ON lost_reasons (name_key);
CREATE INDEX lost_reasons_created_at_idx ON lost_reasons (created_at, id);

CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    search_text TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE RESTRICT,
    stage_id TEXT NOT NULL REFERENCES pipeline_stages (id) ON DELETE RESTRICT,
    -- The kind of the stage: `open`, `won` or `lost`.
    status TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL,
    expected_close_date TEXT,
    source TEXT,
    campaign TEXT,
    -- A lead of S-1; no foreign key until leads are stored.
    lead_id TEXT,
    lost_reason_id TEXT REFERENCES lost_reasons (id) ON DELETE RESTRICT,
    description TEXT,
    closed_at TEXT,
    -- The last change of the deal (its stage or anything else): stuck deals are the
    -- open ones whose last change is older than their pipeline's `stuck_after_days`.
    last_activity_at TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK ((status = 'lost') = (lost_reason_id IS NOT NULL))
);
CREATE INDEX deals_created_at_idx ON deals (created_at, id);
CREATE INDEX deals_customer_idx ON deals (customer_id, created_at, id);
CREATE INDEX deals_owner_idx ON deals (owner_id, created_at, id);
CREATE INDEX deals_team_idx ON deals (team_id, created_at, id);
-- A board column, page by page; by owner for callers who see their own deals.
CREATE INDEX deals_stage_idx ON deals (stage_id, created_at, id);
CREATE INDEX deals_owner_stage_idx ON deals (owner_id, stage_id, created_at, id);
-- The board's totals and the stuck condition: a pipeline's open deals.
CREATE INDEX deals_pipeline_status_idx ON deals (pipeline_id, status, last_activity_at);
CREATE INDEX deals_amount_idx ON deals (amount, id);
CREATE INDEX deals_expected_close_idx ON deals (expected_close_date, id);
-- The forecast's won revenue and win rates: deals closed in a range.
CREATE INDEX deals_closed_at_idx ON deals (closed_at, id);
CREATE INDEX deals_lost_reason_idx ON deals (lost_reason_id);

CREATE TABLE deal_lines (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    discount INTEGER NOT NULL CHECK (discount >= 0),
    total INTEGER NOT NULL CHECK (total >= 0)
);
CREATE INDEX deal_lines_deal_idx ON deal_lines (deal_id, position);
CREATE INDEX deal_lines_product_idx ON deal_lines (product_id);

-- Persons of the deal's customer (an organization) the deal is worked with.
CREATE TABLE deal_contacts (
    deal_id TEXT NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (deal_id, person_id)
);
CREATE INDEX deal_contacts_person_idx ON deal_contacts (person_id);

-- Every stage a deal entered, from its creation (`from_stage_id` NULL) on.
CREATE TABLE deal_stage_history (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    from_stage_id TEXT REFERENCES pipeline_stages (id) ON DELETE RESTRICT,
    to_stage_id TEXT NOT NULL REFERENCES pipeline_stages (id) ON DELETE RESTRICT,
    changed_at TEXT NOT NULL,
    changed_by TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX deal_stage_history_deal_idx ON deal_stage_history (deal_id, changed_at, id);
CREATE INDEX deal_stage_history_to_stage_idx ON deal_stage_history (to_stage_id);
CREATE INDEX deal_stage_history_from_stage_idx ON deal_stage_history (from_stage_id);

-- The default pipeline every installation starts with (its ids are fixed, so that both
-- backends and every test database agree on them).
INSERT INTO pipelines (id, name, name_en, name_key, stuck_after_days, is_default, created_at, updated_at, version)
VALUES ('0193e0a0-0000-7000-8000-000000000001', 'فروش', 'Sales', 'فروش', 30, 1,
        '2026-12-08T00:00:00.000000Z', '2026-12-08T00:00:00.000000Z', 1);
INSERT INTO pipeline_stages (id, pipeline_id, position, name, name_en, probability, kind) VALUES
    ('0193e0a0-0000-7000-8000-000000000011', '0193e0a0-0000-7000-8000-000000000001', 0, 'واجد شرایط', 'Qualified', 10, 'open'),
    ('0193e0a0-0000-7000-8000-000000000012', '0193e0a0-0000-7000-8000-000000000001', 1, 'ارائهٔ پیشنهاد', 'Proposal', 40, 'open'),
    ('0193e0a0-0000-7000-8000-000000000013', '0193e0a0-0000-7000-8000-000000000001', 2, 'مذاکره', 'Negotiation', 70, 'open'),
    ('0193e0a0-0000-7000-8000-000000000014', '0193e0a0-0000-7000-8000-000000000001', 3, 'برنده', 'Won', 100, 'won'),
    ('0193e0a0-0000-7000-8000-000000000015', '0193e0a0-0000-7000-8000-000000000001', 4, 'از دست رفته', 'Lost', 0, 'lost');
