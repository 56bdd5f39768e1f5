-- Workflow automation: definitions with every version kept (a run keeps the version it
-- started with), runs (one per workflow and occurrence of its trigger) and each run's
-- step log.
CREATE TABLE workflows (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    -- The current version's trigger, as runs are started by it: its kind (`event`,
    -- `behaviour`, `date`) and what an occurrence names (an event type or name, a field).
    trigger_kind text NOT NULL,
    trigger_key text NOT NULL,
    -- The current version's whole definition (trigger, condition, steps).
    definition jsonb NOT NULL,
    active boolean NOT NULL,
    version bigint NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX workflows_name_key ON workflows (name);
CREATE INDEX workflows_trigger_idx ON workflows (trigger_kind, trigger_key);
CREATE INDEX workflows_created_idx ON workflows (created_at, id);

CREATE TABLE workflow_versions (
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    definition jsonb NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE workflow_runs (
    id uuid PRIMARY KEY,
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- The occurrence that started the run (`event:<id>`, `date:<day>:<customer>`):
    -- one run per workflow and occurrence, however often it is announced.
    occurrence text NOT NULL,
    -- What started it: the event type, its id and payload, or the date.
    cause jsonb NOT NULL,
    status text NOT NULL,
    -- The next instruction of the version's compiled steps.
    position integer NOT NULL,
    resume_at timestamptz,
    -- How many runs, each started by a step of the one before, led to this one.
    depth integer NOT NULL,
    reason text,
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE UNIQUE INDEX workflow_runs_occurrence_key ON workflow_runs (workflow_id, occurrence);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow_id, started_at, id);
CREATE INDEX workflow_runs_customer_idx ON workflow_runs (customer_id, started_at, id);

CREATE TABLE workflow_run_steps (
    id uuid PRIMARY KEY,
    run_id uuid NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    position integer NOT NULL,
    -- Where the step is in the definition, e.g. `steps[1].then[0]`.
    path text NOT NULL,
    kind text NOT NULL,
    outcome text NOT NULL,
    detail jsonb,
    at timestamptz NOT NULL
);
CREATE INDEX workflow_run_steps_run_idx ON workflow_run_steps (run_id, at, id);

-- The daily date trigger looks customers up by the dates whose anniversary is today.
CREATE INDEX customers_birth_date_idx ON customers (birth_date);
CREATE INDEX customers_marriage_date_idx ON customers (marriage_date);
