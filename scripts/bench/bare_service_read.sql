-- The bare read under the service report: every ticket created in the last 90 days
-- (the report's range), the columns it measures.
SELECT t.created_at, t.first_responded_at, t.resolved_at, t.message_count, t.sla_policy_id IS NOT NULL,
       t.sla_breached, t.reassignments
FROM tickets t
WHERE t.created_at >= (date_trunc('day', now() AT TIME ZONE 'Asia/Tehran') - interval '89 days') AT TIME ZONE 'Asia/Tehran';
