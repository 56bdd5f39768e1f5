DROP TABLE ticket_time_entries;
ALTER TABLE tickets DROP COLUMN time_spent_minutes;
ALTER TABLE tickets DROP COLUMN merged_into_id;
DROP TABLE ticket_attachments;
