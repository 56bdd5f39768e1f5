-- Model runs on a schedule: a run request repeated at the times a cron pattern names in
-- the business time zone. `next_run_at` is the occurrence queued as a job (with an
-- occurrence key, so every process may queue it and one runs it).
CREATE TABLE model_run_schedules (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    request jsonb NOT NULL,
    cron text NOT NULL,
    enabled boolean NOT NULL,
    next_run_at timestamptz,
    last_run_id uuid,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);

-- The schedule that started a run, if one did.
ALTER TABLE model_runs ADD COLUMN schedule_id uuid;
