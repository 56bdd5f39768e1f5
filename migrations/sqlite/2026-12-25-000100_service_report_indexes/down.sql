DROP INDEX tickets_resolved_idx;
DROP INDEX ticket_status_changes_changed_idx;
CREATE INDEX ticket_status_changes_changed_idx ON ticket_status_changes (changed_at, id);
