DELETE FROM workflow_runs WHERE lead_id IS NOT NULL;
DROP INDEX workflow_runs_lead_idx;
ALTER TABLE workflow_runs DROP CONSTRAINT workflow_runs_subject_check;
ALTER TABLE workflow_runs DROP COLUMN lead_id;
ALTER TABLE workflow_runs ALTER COLUMN customer_id SET NOT NULL;
