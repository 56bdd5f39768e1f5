DROP INDEX customers_churn_run_idx;
ALTER TABLE customers DROP COLUMN churn_drivers;
ALTER TABLE customers DROP COLUMN churn_risk;
ALTER TABLE customers DROP COLUMN churn_run_id;
DROP INDEX customers_cluster_run_idx;
ALTER TABLE customers DROP COLUMN cluster;
ALTER TABLE customers DROP COLUMN cluster_run_id;
