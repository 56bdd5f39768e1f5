-- The cluster a `clusters` run put each buyer in (0-based, as in the run's profiles),
-- and the churn risk a `churn` run gave it with the features that raise it most, each
-- with the run.
ALTER TABLE customers ADD COLUMN cluster_run_id TEXT;
ALTER TABLE customers ADD COLUMN cluster INTEGER;
CREATE INDEX customers_cluster_run_idx ON customers (cluster_run_id);
ALTER TABLE customers ADD COLUMN churn_run_id TEXT;
ALTER TABLE customers ADD COLUMN churn_risk REAL;
ALTER TABLE customers ADD COLUMN churn_drivers TEXT;
CREATE INDEX customers_churn_run_idx ON customers (churn_run_id);
