-- Model runs: an analysis of the purchase history queued as a job (the job carries its
-- status and progress); `succeeded_at` and `result` are set when its scores are stored.
CREATE TABLE model_runs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    request TEXT NOT NULL,
    parameters TEXT NOT NULL,
    job_id TEXT NOT NULL,
    result TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    succeeded_at TEXT
);
CREATE INDEX model_runs_kind_idx ON model_runs (kind, id);
CREATE INDEX model_runs_job_idx ON model_runs (job_id);

-- The current scores of each customer, with the run that computed them. Written only by
-- runs; a customer no run has scored has none.
ALTER TABLE customers ADD COLUMN rfm_run_id TEXT;
ALTER TABLE customers ADD COLUMN rfm_recency INTEGER;
ALTER TABLE customers ADD COLUMN rfm_frequency INTEGER;
ALTER TABLE customers ADD COLUMN rfm_monetary INTEGER;
ALTER TABLE customers ADD COLUMN rfm_segment TEXT;
ALTER TABLE customers ADD COLUMN clv_run_id TEXT;
ALTER TABLE customers ADD COLUMN p_alive REAL;
ALTER TABLE customers ADD COLUMN expected_purchases REAL;
ALTER TABLE customers ADD COLUMN expected_spend INTEGER;
ALTER TABLE customers ADD COLUMN clv INTEGER;
CREATE INDEX customers_rfm_run_idx ON customers (rfm_run_id);
CREATE INDEX customers_clv_run_idx ON customers (clv_run_id);
CREATE INDEX customers_clv_idx ON customers (clv, id);
CREATE INDEX customers_rfm_segment_idx ON customers (rfm_segment, id);
