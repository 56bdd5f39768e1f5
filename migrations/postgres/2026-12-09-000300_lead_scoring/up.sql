-- Lead scoring (S-2, A-9). Rules: a condition in the filter tree of the lead search
-- (stored as its JSON, resolved when evaluated, so relative dates move with time) worth
-- some points. A lead's `score_points` is the sum of the points of the active rules it
-- matches; its `propensity` the probability of conversion the latest `lead_propensity`
-- run gave it, with the factors that moved it most and the run.
CREATE TABLE lead_scoring_rules (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    condition jsonb NOT NULL,
    points bigint NOT NULL,
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX lead_scoring_rules_created_at_idx ON lead_scoring_rules (created_at, id);

ALTER TABLE leads ADD COLUMN score_points bigint NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN propensity double precision;
ALTER TABLE leads ADD COLUMN propensity_factors jsonb;
ALTER TABLE leads ADD COLUMN propensity_run_id uuid;
CREATE INDEX leads_score_points_idx ON leads (score_points, id);
-- Nulls first, as the search orders a nullable sort field (persistence::filter).
CREATE INDEX leads_propensity_idx ON leads (propensity NULLS FIRST, id);
CREATE INDEX leads_propensity_run_idx ON leads (propensity_run_id);
