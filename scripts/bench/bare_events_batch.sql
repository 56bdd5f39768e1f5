-- The rows POST /events/batch stores for 1,000 events, inserted bare: the events and the
-- per-customer facts, no identity lookup, no definitions, no audit event. pgbench picks
-- where in the customer list the batch starts.
\set s random(1, :customers - 1000)
BEGIN;
WITH e AS (
    INSERT INTO behavioural_events (id, customer_id, origin_customer_id, event_name, properties,
                                    occurred_at, received_at, api_key_id, mass)
    SELECT gen_random_uuid(), id, id, 'page_view', '{"path": "/p/1", "seconds": 30}', now(), now(),
           NULL, 1.0
    FROM bench_customers WHERE n >= :s AND n < :s + 1000
    RETURNING customer_id, event_name, occurred_at, mass
)
INSERT INTO customer_event_stats (customer_id, event_name, event_count, first_at, last_at, mass)
SELECT customer_id, event_name, count(*), min(occurred_at), max(occurred_at), sum(mass)
FROM e GROUP BY customer_id, event_name ORDER BY customer_id, event_name
ON CONFLICT (customer_id, event_name) DO UPDATE SET
    event_count = customer_event_stats.event_count + excluded.event_count,
    last_at = excluded.last_at,
    mass = customer_event_stats.mass + excluded.mass;
COMMIT;
