-- The rows POST /orders stores for a paid three-line order, inserted bare: no checks,
-- no lock, no audit event, no purchase facts. pgbench picks the customer and products.
\set b random(1, :buyers)
\set p1 random(1, :products)
\set p2 random(1, :products)
\set p3 random(1, :products)
BEGIN;
WITH o AS (
    INSERT INTO orders (id, customer_id, placed_at, status, channel, currency, subtotal,
                        discount_total, total, refunded_total, created_at, updated_at, version)
    SELECT gen_random_uuid(), id, now(), 'paid', 'online', 'IRR', 3000000, 1000, 2999000, 0,
           now(), now(), 1
    FROM bench_buyers WHERE n = :b
    RETURNING id
)
INSERT INTO order_lines (id, order_id, position, product_id, quantity, unit_price, unit_cost,
                         discount, total, returned_quantity, refunded)
SELECT gen_random_uuid(), o.id, l.position, p.id, l.quantity, 1000000, 500000, l.discount,
       1000000 * l.quantity - l.discount, 0, 0
FROM o, (VALUES (0, :p1, 1, 0), (1, :p2, 2, 0), (2, :p3, 1, 1000)) AS l (position, pn, quantity, discount)
JOIN bench_products p ON p.n = l.pn;
COMMIT;
