-- Workflow automation: definitions with every version kept (a run keeps the version it
-- started with), runs (one per workflow and occurrence of its trigger) and each run's
-- step log.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    -- The current version's trigger, as runs are started by it: its kind (`event`,
    -- `behaviour`, `date`) and what an occurrence names (an event type or name, a field).
    trigger_kind TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    -- The current version's whole definition (trigger, condition, steps).
    definition TEXT NOT NULL,
    active INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX workflows_name_key ON workflows (name);
CREATE INDEX workflows_trigger_idx ON workflows (trigger_kind, trigger_key);
CREATE INDEX workflows_created_idx ON workflows (created_at, id);

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE workflow_runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
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
    finished_at TEXT
);
CREATE UNIQUE INDEX workflow_runs_occurrence_key ON workflow_runs (workflow_id, occurrence);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow_id, started_at, id);
CREATE INDEX workflow_runs_customer_idx ON workflow_runs (customer_id, started_at, id);

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
CREATE INDEX workflow_run_steps_run_idx ON workflow_run_steps (run_id, at, id);

-- The daily date trigger looks customers up by the dates whose anniversary is today.
CREATE INDEX customers_birth_date_idx ON customers (birth_date);
CREATE INDEX customers_marriage_date_idx ON customers (marriage_date);
