-- An agent's queue as one bare query: one of the 50 agents' open tickets, soonest
-- resolution due first, 51 rows (a page and the look-ahead).
\set n random(0, 49)
SELECT t.* FROM tickets t
WHERE t.owner_id = (SELECT id FROM users WHERE email LIKE 'agent%.bench@example.com' ORDER BY email OFFSET :n LIMIT 1)
  AND t.status IN ('new', 'open', 'pending_customer', 'on_hold', 'reopened')
ORDER BY t.resolution_due_at NULLS FIRST, t.id LIMIT 51;
