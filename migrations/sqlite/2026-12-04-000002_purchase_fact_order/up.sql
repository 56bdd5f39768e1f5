-- Customers sort by their purchase facts; SQLite sorts nulls first already, so a plain
-- (first_order_at, id) serves both directions (revenue, order_count and last_order_at
-- have theirs since 2026-12-04-000001).
CREATE INDEX customers_first_order_at_idx ON customers (first_order_at, id);
