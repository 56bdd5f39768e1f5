-- Message templates (O-3): Persian and English texts the business sends first, filled
-- in per customer; quiet hours in the business settings; and when a held-back message
-- is due to go out.
CREATE TABLE message_templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    channel TEXT,
    subject_fa TEXT,
    subject_en TEXT,
    body_fa TEXT NOT NULL,
    body_en TEXT,
    active INTEGER NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX message_templates_name_key ON message_templates (name);
CREATE INDEX message_templates_created_at_idx ON message_templates (created_at, id);
ALTER TABLE business_settings ADD COLUMN quiet_hours TEXT;
ALTER TABLE messages ADD COLUMN scheduled_at TEXT;
