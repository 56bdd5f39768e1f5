-- A workflow runs on customers or on leads: a run names exactly one of them.
ALTER TABLE workflow_runs ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE workflow_runs ADD COLUMN lead_id uuid REFERENCES leads (id) ON DELETE CASCADE;
ALTER TABLE workflow_runs ADD CONSTRAINT workflow_runs_subject_check
    CHECK ((customer_id IS NULL) <> (lead_id IS NULL));
-- A lead's runs (the runs page filtered by lead, deleting a lead).
CREATE INDEX workflow_runs_lead_idx ON workflow_runs (lead_id, started_at, id);
