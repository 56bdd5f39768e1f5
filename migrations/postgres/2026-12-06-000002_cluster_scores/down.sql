DROP INDEX customers_cluster_run_idx;
ALTER TABLE customers DROP COLUMN cluster;
ALTER TABLE customers DROP COLUMN cluster_run_id;
