-- A workflow runs on customers or on leads: a run names exactly one of them. SQLite
-- cannot drop a NOT NULL, so the runs and their steps are copied into new tables; the
-- old ones are renamed out of the way first, so that dropping them (steps first)
-- cascades into nothing.
ALTER TABLE workflow_run_steps RENAME TO workflow_run_steps_old;
ALTER TABLE workflow_runs RENAME TO workflow_runs_old;
DROP INDEX workflow_runs_occurrence_key;
DROP INDEX workflow_runs_workflow_idx;
DROP INDEX workflow_runs_customer_idx;
DROP INDEX workflow_run_steps_run_idx;

CREATE TABLE workflow_runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    -- The occurrence that started the run (`event:<id>`, `date:<day>:<customer>`):
    -- one run per workflow and occurrence, however often it is announced.
    occurrence TEXT NOT NULL,
    -- What started it: the event type, its id and payload, or the date.
    cause TEXT NOT NULL,
    status TEXT NOT NULL,
    -- The next instruction of the version's compiled steps.
    position INTEGER NOT NULL,
    resume_at TEXT,
    -- How many runs, each started by a step of the one before, led to this one.
    depth INTEGER NOT NULL,
    reason TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    lead_id TEXT REFERENCES leads (id) ON DELETE CASCADE,
    CONSTRAINT workflow_runs_subject_check CHECK ((customer_id IS NULL) <> (lead_id IS NULL))
);
INSERT INTO workflow_runs (id, workflow_id, version, customer_id, occurrence, cause, status,
        position, resume_at, depth, reason, started_at, updated_at, finished_at)
    SELECT id, workflow_id, version, customer_id, occurrence, cause, status, position,
        resume_at, depth, reason, started_at, updated_at, finished_at
    FROM workflow_runs_old;
CREATE UNIQUE INDEX workflow_runs_occurrence_key ON workflow_runs (workflow_id, occurrence);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow_id, started_at, id);
CREATE INDEX workflow_runs_customer_idx ON workflow_runs (customer_id, started_at, id);
-- A lead's runs (the runs page filtered by lead, deleting a lead).
CREATE INDEX workflow_runs_lead_idx ON workflow_runs (lead_id, started_at, id);

CREATE TABLE workflow_run_steps (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    -- Where the step is in the definition, e.g. `steps[1].then[0]`.
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL
);
INSERT INTO workflow_run_steps SELECT id, run_id, position, path, kind, outcome, detail, at
    FROM workflow_run_steps_old;
CREATE INDEX workflow_run_steps_run_idx ON workflow_run_steps (run_id, at, id);

DROP TABLE workflow_run_steps_old;
DROP TABLE workflow_runs_old;
