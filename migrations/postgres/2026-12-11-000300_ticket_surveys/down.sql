ALTER TABLE sla_policies DROP COLUMN csat_action;
ALTER TABLE sla_policies DROP COLUMN csat_threshold;
DROP TABLE ticket_surveys;
