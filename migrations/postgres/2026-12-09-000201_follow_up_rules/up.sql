-- Automatic follow-ups (S-7): what happens after a deal enters a stage or a lead is
-- assigned. A rule on a stage goes with it (a stage is removed only when no deal ever
-- reached it; its rules then have nothing left to watch).
CREATE TABLE follow_up_rules (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    -- `deal_stage_entered` or `lead_assigned`.
    trigger_kind text NOT NULL,
    active boolean NOT NULL,
    stage_id uuid REFERENCES pipeline_stages (id) ON DELETE CASCADE,
    task_kind text,
    task_title text,
    delay integer NOT NULL CHECK (delay > 0),
    -- `business_hours` or `business_days`.
    delay_unit text NOT NULL,
    escalate_after integer CHECK (escalate_after > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX follow_up_rules_created_idx ON follow_up_rules (created_at, id);
CREATE INDEX follow_up_rules_trigger_idx ON follow_up_rules (trigger_kind, stage_id);
