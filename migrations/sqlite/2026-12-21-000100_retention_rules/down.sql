DROP INDEX stored_files_purpose_idx;
DROP INDEX webhook_deliveries_created_idx;
DROP INDEX tickets_closed_idx;
DROP INDEX behavioural_events_occurred_idx;
DROP TABLE retention_rules;
