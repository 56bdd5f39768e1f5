ALTER TABLE messages DROP COLUMN scheduled_at;
ALTER TABLE business_settings DROP COLUMN quiet_hours;
DROP TABLE message_templates;
