-- The writes of one run of the benchmark's three-step workflow, bare: a loyalty lot, a
-- tag and a changed field for one customer, in one transaction (no run, step log,
-- audit, outbox or job).
\set n random(1, :customers)
BEGIN;
INSERT INTO loyalty_entries (id, customer_id, origin_customer_id, kind, points, expires_at, reason, created_at)
    SELECT gen_random_uuid(), id, id, 'earn', 10, now() + interval '365 days', 'bench', now()
    FROM bench_customers WHERE n = :n;
INSERT INTO customer_labels (customer_id, label_id, created_at)
    SELECT c.id, l.id, now() FROM bench_customers c, bench_tag l WHERE c.n = :n
    ON CONFLICT DO NOTHING;
UPDATE customers SET acquisition_campaign = 'bench', version = version + 1, updated_at = now()
    WHERE id = (SELECT id FROM bench_customers WHERE n = :n);
END;
