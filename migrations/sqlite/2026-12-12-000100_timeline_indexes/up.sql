-- The customer timeline reads each source newest first by (customer, time, id); tasks
-- were indexed by due time only, so their creation and completion get their own.
CREATE INDEX tasks_customer_created_idx ON tasks (customer_id, created_at, id);
CREATE INDEX tasks_customer_completed_idx ON tasks (customer_id, completed_at, id) WHERE completed_at IS NOT NULL;
