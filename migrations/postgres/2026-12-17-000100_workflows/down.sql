DROP INDEX customers_marriage_date_idx;
DROP INDEX customers_birth_date_idx;
DROP TABLE workflow_run_steps;
DROP TABLE workflow_runs;
DROP TABLE workflow_versions;
DROP TABLE workflows;
