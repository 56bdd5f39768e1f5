-- The cluster a `clusters` run put each buyer in (0-based, as in the run's profiles),
-- and the churn risk a `churn` run gave it with the features that raise it most, each
-- with the run.
ALTER TABLE customers ADD COLUMN cluster_run_id uuid;
ALTER TABLE customers ADD COLUMN cluster bigint;
CREATE INDEX customers_cluster_run_idx ON customers (cluster_run_id);
ALTER TABLE customers ADD COLUMN churn_run_id uuid;
ALTER TABLE customers ADD COLUMN churn_risk double precision;
ALTER TABLE customers ADD COLUMN churn_drivers jsonb;
CREATE INDEX customers_churn_run_idx ON customers (churn_run_id);
