-- Tasks and activities (S-7) and the users' notification inbox.
--
-- A task or an activity concerns at most one subject record, named by one of the
-- subject columns (a later subject kind, such as tickets, adds its own column and
-- widens the check). A personal to-do has none. Deleting the subject deletes what hangs
-- off it, as it does a customer's notes.
CREATE TABLE tasks (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    title text NOT NULL,
    description text,
    customer_id uuid REFERENCES customers (id) ON DELETE CASCADE,
    lead_id uuid REFERENCES leads (id) ON DELETE CASCADE,
    deal_id uuid REFERENCES deals (id) ON DELETE CASCADE,
    assignee_id uuid REFERENCES users (id) ON DELETE SET NULL,
    team_id uuid REFERENCES teams (id) ON DELETE SET NULL,
    due_at timestamptz,
    priority text NOT NULL,
    -- Minutes before `due_at` at which the assignee is reminded: a JSON array.
    reminders jsonb NOT NULL,
    status text NOT NULL,
    outcome text,
    completed_at timestamptz,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CHECK (num_nonnulls(customer_id, lead_id, deal_id) <= 1),
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
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    customer_id uuid REFERENCES customers (id) ON DELETE CASCADE,
    lead_id uuid REFERENCES leads (id) ON DELETE CASCADE,
    deal_id uuid REFERENCES deals (id) ON DELETE CASCADE,
    occurred_at timestamptz NOT NULL,
    duration_minutes integer CHECK (duration_minutes >= 0),
    -- `inbound` or `outbound`, for calls and e-mails.
    direction text,
    outcome text,
    notes text,
    performed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    team_id uuid REFERENCES teams (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CHECK (num_nonnulls(customer_id, lead_id, deal_id) = 1)
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
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    title_en text NOT NULL,
    title_fa text NOT NULL,
    body_en text,
    body_fa text,
    subject_type text,
    subject_id uuid,
    dedupe_key text,
    read_at timestamptz,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX notifications_dedupe_key_key ON notifications (dedupe_key);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at, id);
CREATE INDEX notifications_user_unread_idx ON notifications (user_id, read_at);
