-- The rows POST /events stores for one event, inserted bare.
\set c random(1, :customers)
BEGIN;
WITH e AS (
    INSERT INTO behavioural_events (id, customer_id, origin_customer_id, event_name, properties,
                                    occurred_at, received_at, api_key_id, mass)
    SELECT gen_random_uuid(), id, id, 'page_view', '{"path": "/p/1", "seconds": 30}', now(), now(),
           NULL, 1.0
    FROM bench_customers WHERE n = :c
    RETURNING customer_id, event_name, occurred_at, mass
)
INSERT INTO customer_event_stats (customer_id, event_name, event_count, first_at, last_at, mass)
SELECT customer_id, event_name, 1, occurred_at, occurred_at, mass FROM e
ON CONFLICT (customer_id, event_name) DO UPDATE SET
    event_count = customer_event_stats.event_count + 1,
    last_at = excluded.last_at,
    mass = customer_event_stats.mass + excluded.mass;
COMMIT;
