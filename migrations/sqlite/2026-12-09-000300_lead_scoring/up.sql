-- Lead scoring (S-2, A-9). Rules: a condition in the filter tree of the lead search
-- (stored as its JSON, resolved when evaluated, so relative dates move with time) worth
-- some points. A lead's `score_points` is the sum of the points of the active rules it
-- matches; its `propensity` the probability of conversion the latest `lead_propensity`
-- run gave it, with the factors that moved it most and the run.
CREATE TABLE lead_scoring_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    condition TEXT NOT NULL,
    points INTEGER NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX lead_scoring_rules_created_at_idx ON lead_scoring_rules (created_at, id);

ALTER TABLE leads ADD COLUMN score_points INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN propensity REAL;
ALTER TABLE leads ADD COLUMN propensity_factors TEXT;
ALTER TABLE leads ADD COLUMN propensity_run_id TEXT;
CREATE INDEX leads_score_points_idx ON leads (score_points, id);
-- SQLite sorts nulls first on its own.
CREATE INDEX leads_propensity_idx ON leads (propensity, id);
CREATE INDEX leads_propensity_run_idx ON leads (propensity_run_id);
