-- Tasks and activities (S-7) and the users' notification inbox.
--
-- A task or an activity concerns at most one subject record, named by one of the
-- subject columns (a later subject kind, such as tickets, adds its own column and
-- widens the check). A personal to-do has none. Deleting the subject deletes what hangs
-- off it, as it does a customer's notes.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    lead_id TEXT REFERENCES leads (id) ON DELETE CASCADE,
    deal_id TEXT REFERENCES deals (id) ON DELETE CASCADE,
    assignee_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    due_at TEXT,
    priority TEXT NOT NULL,
    -- Minutes before `due_at` at which the assignee is reminded: a JSON array.
    reminders TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    completed_at TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    CHECK ((customer_id IS NOT NULL) + (lead_id IS NOT NULL) + (deal_id IS NOT NULL) <= 1),
    CHECK ((status = 'open') = (completed_at IS NULL))
);
CREATE INDEX tasks_created_idx ON tasks (created_at, id);
CREATE INDEX tasks_due_idx ON tasks (due_at, id);
CREATE INDEX tasks_assignee_status_due_idx ON tasks (assignee_id, status, due_at, id);
CREATE INDEX tasks_team_idx ON tasks (team_id, id);
CREATE INDEX tasks_customer_idx ON tasks (customer_id, due_at, id);
CREATE INDEX tasks_lead_idx ON tasks (lead_id, due_at, id);
CREATE INDEX tasks_deal_idx ON tasks (deal_id, due_at, id);

CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    lead_id TEXT REFERENCES leads (id) ON DELETE CASCADE,
    deal_id TEXT REFERENCES deals (id) ON DELETE CASCADE,
    occurred_at TEXT NOT NULL,
    duration_minutes INTEGER CHECK (duration_minutes >= 0),
    -- `inbound` or `outbound`, for calls and e-mails.
    direction TEXT,
    outcome TEXT,
    notes TEXT,
    performed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    CHECK ((customer_id IS NOT NULL) + (lead_id IS NOT NULL) + (deal_id IS NOT NULL) = 1)
);
CREATE INDEX activities_occurred_idx ON activities (occurred_at, id);
CREATE INDEX activities_created_idx ON activities (created_at, id);
CREATE INDEX activities_performer_idx ON activities (performed_by, occurred_at, id);
CREATE INDEX activities_team_idx ON activities (team_id, id);
CREATE INDEX activities_customer_idx ON activities (customer_id, occurred_at, id);
CREATE INDEX activities_lead_idx ON activities (lead_id, occurred_at, id);
CREATE INDEX activities_deal_idx ON activities (deal_id, occurred_at, id);

-- A user's inbox. Titles and bodies are kept in both languages, so each reader gets
-- theirs. `dedupe_key` names the occurrence a notification is about (a reminder of a
-- task at one due time, a deal's stuck episode), so a job run twice notifies once.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title_en TEXT NOT NULL,
    title_fa TEXT NOT NULL,
    body_en TEXT,
    body_fa TEXT,
    subject_type TEXT,
    subject_id TEXT,
    dedupe_key TEXT,
    read_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX notifications_dedupe_key_key ON notifications (dedupe_key);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at, id);
CREATE INDEX notifications_user_unread_idx ON notifications (user_id, read_at);
