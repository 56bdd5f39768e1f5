-- The statements of one page of GET /customers/{id}/timeline, bare (pgbench -M extended,
-- or sqlite3 with named parameters): the customer, the leads it was converted from, its
-- deals, then each of the 13 sources newest first, a page and two more (52 rows), as
-- persistence::timeline reads them;
-- after the position (:at, :id) of a deep page's cursor.
SELECT id, owner_id, team_id, merged_into_id FROM customers WHERE id = :customer;
SELECT id, owner_id, team_id FROM leads WHERE converted_customer_id = :customer;
SELECT id FROM deals WHERE customer_id = :customer;
SELECT id, kind, customer_id, lead_id, deal_id, occurred_at, duration_minutes, direction, outcome, notes, performed_by, team_id, created_at, updated_at, version FROM activities WHERE customer_id = :customer AND occurred_at <= :at AND (occurred_at < :at OR id <= :id) ORDER BY occurred_at DESC, id DESC LIMIT 52;
SELECT id, customer_id, kind, body, author_id, created_at, updated_at, version FROM notes WHERE customer_id = :customer AND created_at <= :at AND (created_at < :at OR id <= :id) ORDER BY created_at DESC, id DESC LIMIT 52;
SELECT id, kind, title, created_at, created_by, outcome FROM tasks WHERE customer_id = :customer AND created_at <= :at AND (created_at < :at OR id <= :id) ORDER BY created_at DESC, id DESC LIMIT 52;
SELECT id, kind, title, completed_at, assignee_id, outcome FROM tasks WHERE completed_at IS NOT NULL AND status = 'done' AND customer_id = :customer AND completed_at <= :at AND (completed_at < :at OR id <= :id) ORDER BY completed_at DESC, id DESC LIMIT 52;
SELECT * FROM orders WHERE customer_id = :customer AND placed_at <= :at AND (placed_at < :at OR id <= :id) ORDER BY placed_at DESC, id DESC LIMIT 52;
SELECT r.id, r.order_id, r.reason, r.refund_total, o.currency, r.returned_at, r.created_by FROM order_returns r JOIN orders o ON o.id = r.order_id WHERE o.customer_id = :customer AND r.returned_at <= :at AND (r.returned_at < :at OR r.id <= :id) ORDER BY r.returned_at DESC, r.id DESC LIMIT 52;
SELECT id, number, subject, channel, created_at, created_by FROM tickets WHERE customer_id = :customer AND created_at <= :at AND (created_at < :at OR id <= :id) ORDER BY created_at DESC, id DESC LIMIT 52;
SELECT s.id, s.ticket_id, t.number, t.channel, s.from_status, s.to_status, s.changed_by, s.changed_at FROM ticket_status_changes s JOIN tickets t ON t.id = s.ticket_id WHERE t.customer_id = :customer AND s.from_status IS NOT NULL AND s.changed_at <= :at AND (s.changed_at < :at OR s.id <= :id) ORDER BY s.changed_at DESC, s.id DESC LIMIT 52;
SELECT m.id, m.ticket_id, t.number, t.channel, m.kind, m.author_id, m.body, m.created_at FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.customer_id = :customer AND m.created_at <= :at AND (m.created_at < :at OR m.id <= :id) ORDER BY m.created_at DESC, m.id DESC LIMIT 52;
SELECT id, customer_id, from_stage, to_stage, reason, changed_by, changed_at FROM lifecycle_transitions WHERE customer_id = :customer AND changed_at <= :at AND (changed_at < :at OR id <= :id) ORDER BY changed_at DESC, id DESC LIMIT 52;
SELECT id, customer_id, channel, purpose, granted, source, evidence, recorded_by, recorded_at FROM consent_events WHERE customer_id = :customer AND recorded_at <= :at AND (recorded_at < :at OR id <= :id) ORDER BY recorded_at DESC, id DESC LIMIT 52;
SELECT id, customer_id, from_owner_id, to_owner_id, changed_by, changed_at FROM owner_changes WHERE customer_id = :customer AND changed_at <= :at AND (changed_at < :at OR id <= :id) ORDER BY changed_at DESC, id DESC LIMIT 52;
SELECT id, conversation_id, channel_account_id, customer_id, channel, direction, provider_message_id, body, status, automatic, sent_by, error, occurred_at, created_at, updated_at, subject FROM messages WHERE customer_id = :customer AND occurred_at <= :at AND (occurred_at < :at OR id <= :id) ORDER BY occurred_at DESC, id DESC LIMIT 52;
