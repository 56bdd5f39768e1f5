-- The cluster a `clusters` run put each buyer in (0-based, as in the run's profiles),
-- with the run.
ALTER TABLE customers ADD COLUMN cluster_run_id uuid;
ALTER TABLE customers ADD COLUMN cluster bigint;
CREATE INDEX customers_cluster_run_idx ON customers (cluster_run_id);
