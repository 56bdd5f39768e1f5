ALTER TABLE business_settings DROP COLUMN service_cost_per_hour;
DROP TABLE ticket_time_entries;
ALTER TABLE tickets DROP COLUMN time_spent_minutes;
ALTER TABLE tickets DROP COLUMN merged_into_id;
DROP TABLE ticket_attachments;
