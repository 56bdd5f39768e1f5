-- Message templates (O-3): Persian and English texts the business sends first, filled
-- in per customer; quiet hours in the business settings; and when a held-back message
-- is due to go out.
CREATE TABLE message_templates (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    channel text,
    subject_fa text,
    subject_en text,
    body_fa text NOT NULL,
    body_en text,
    active boolean NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX message_templates_name_key ON message_templates (name);
CREATE INDEX message_templates_created_at_idx ON message_templates (created_at, id);
ALTER TABLE business_settings ADD COLUMN quiet_hours jsonb;
ALTER TABLE messages ADD COLUMN scheduled_at timestamptz;
