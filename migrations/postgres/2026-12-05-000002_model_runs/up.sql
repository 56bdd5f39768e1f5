-- Model runs: an analysis of the purchase history queued as a job (the job carries its
-- status and progress); `succeeded_at` and `result` are set when its scores are stored.
CREATE TABLE model_runs (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    request jsonb NOT NULL,
    parameters jsonb NOT NULL,
    job_id uuid NOT NULL,
    result jsonb,
    created_by uuid,
    created_at timestamptz NOT NULL,
    succeeded_at timestamptz
);
CREATE INDEX model_runs_kind_idx ON model_runs (kind, id);
CREATE INDEX model_runs_job_idx ON model_runs (job_id);

-- The current scores of each customer, with the run that computed them. Written only by
-- runs; a customer no run has scored has none.
ALTER TABLE customers ADD COLUMN rfm_run_id uuid;
ALTER TABLE customers ADD COLUMN rfm_recency bigint;
ALTER TABLE customers ADD COLUMN rfm_frequency bigint;
ALTER TABLE customers ADD COLUMN rfm_monetary bigint;
ALTER TABLE customers ADD COLUMN rfm_segment text;
ALTER TABLE customers ADD COLUMN clv_run_id uuid;
ALTER TABLE customers ADD COLUMN p_alive double precision;
ALTER TABLE customers ADD COLUMN expected_purchases double precision;
ALTER TABLE customers ADD COLUMN expected_spend bigint;
ALTER TABLE customers ADD COLUMN clv bigint;
CREATE INDEX customers_rfm_run_idx ON customers (rfm_run_id);
CREATE INDEX customers_clv_run_idx ON customers (clv_run_id);
CREATE INDEX customers_clv_idx ON customers (clv NULLS FIRST, id);
CREATE INDEX customers_rfm_segment_idx ON customers (rfm_segment NULLS FIRST, id);
