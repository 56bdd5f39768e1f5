DROP INDEX leads_propensity_run_idx;
DROP INDEX leads_propensity_idx;
DROP INDEX leads_score_points_idx;
ALTER TABLE leads DROP COLUMN propensity_run_id;
ALTER TABLE leads DROP COLUMN propensity_factors;
ALTER TABLE leads DROP COLUMN propensity;
ALTER TABLE leads DROP COLUMN score_points;
DROP TABLE lead_scoring_rules;
