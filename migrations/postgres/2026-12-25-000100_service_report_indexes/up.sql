-- The service report's backlog sums the status moves made since a period's end (into
-- or out of an open status): with both statuses and the ticket in the index, those
-- moves are read from it alone, in time order as before.
DROP INDEX ticket_status_changes_changed_idx;
CREATE INDEX ticket_status_changes_changed_idx
    ON ticket_status_changes (changed_at, id, from_status, to_status, ticket_id);
-- Tickets resolved in a range (the report's closed tickets per agent), beside
-- `tickets_closed_idx`.
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at, id);
