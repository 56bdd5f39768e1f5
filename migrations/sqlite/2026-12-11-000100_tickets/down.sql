DROP TABLE ticket_sla_breaches;
DROP TABLE ticket_status_changes;
DROP TABLE ticket_messages;
DROP TABLE ticket_tags;
DROP TABLE tickets;
DROP TABLE ticket_counters;
DROP TABLE sla_policies;
DROP TABLE ticket_categories;
