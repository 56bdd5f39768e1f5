-- Model runs on a schedule: a run request repeated at the times a cron pattern names in
-- the business time zone. `next_run_at` is the occurrence queued as a job (with an
-- occurrence key, so every process may queue it and one runs it).
CREATE TABLE model_run_schedules (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    request TEXT NOT NULL,
    cron TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    next_run_at TEXT,
    last_run_id TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);

-- The schedule that started a run, if one did.
ALTER TABLE model_runs ADD COLUMN schedule_id TEXT;
