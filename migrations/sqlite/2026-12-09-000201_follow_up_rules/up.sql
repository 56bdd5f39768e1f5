-- Automatic follow-ups (S-7): what happens after a deal enters a stage or a lead is
-- assigned. A rule on a stage goes with it (a stage is removed only when no deal ever
-- reached it; its rules then have nothing left to watch).
CREATE TABLE follow_up_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- `deal_stage_entered` or `lead_assigned`.
    trigger_kind TEXT NOT NULL,
    active INTEGER NOT NULL,
    stage_id TEXT REFERENCES pipeline_stages (id) ON DELETE CASCADE,
    task_kind TEXT,
    task_title TEXT,
    delay INTEGER NOT NULL CHECK (delay > 0),
    -- `business_hours` or `business_days`.
    delay_unit TEXT NOT NULL,
    escalate_after INTEGER CHECK (escalate_after > 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX follow_up_rules_created_idx ON follow_up_rules (created_at, id);
CREATE INDEX follow_up_rules_trigger_idx ON follow_up_rules (trigger_kind, stage_id);
