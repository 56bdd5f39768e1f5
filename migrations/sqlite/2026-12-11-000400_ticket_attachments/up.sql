-- Service desk (V-1): files attached to tickets, tickets merged into others, and the
-- time agents spend on them, with the hourly cost of that time.
--
-- An attachment's bytes are a stored file (`stored_files`, purpose
-- `ticket_attachment`); the row here says which ticket and message it belongs to.
-- `file_id` cascades so that deleting the stored file (with its ticket, or in an
-- erasure) takes the attachment row with it.
CREATE TABLE ticket_attachments (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id TEXT REFERENCES ticket_messages (id) ON DELETE SET NULL,
    file_id TEXT NOT NULL REFERENCES stored_files (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    uploaded_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id, created_at, id);
CREATE INDEX ticket_attachments_file_idx ON ticket_attachments (file_id);

-- A ticket merged into another points at it; it is closed and keeps only its history.
ALTER TABLE tickets ADD COLUMN merged_into_id TEXT REFERENCES tickets (id) ON DELETE SET NULL;
-- Σ minutes of the ticket's time entries, kept in the transaction that adds one.
ALTER TABLE tickets ADD COLUMN time_spent_minutes INTEGER NOT NULL DEFAULT 0;

-- Time an agent spent on a ticket, on a business-local day (the service cost).
CREATE TABLE ticket_time_entries (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id TEXT,
    minutes INTEGER NOT NULL,
    note TEXT,
    spent_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ticket_time_entries_ticket_idx ON ticket_time_entries (ticket_id, created_at, id);
CREATE INDEX ticket_time_entries_spent_idx ON ticket_time_entries (spent_on, ticket_id);

-- What an agent hour costs (minor units of the default currency); 0: not counted.
ALTER TABLE business_settings ADD COLUMN service_cost_per_hour INTEGER NOT NULL DEFAULT 0;
