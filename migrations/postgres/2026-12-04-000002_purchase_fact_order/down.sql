DROP INDEX customers_first_order_at_idx;
DROP INDEX customers_last_order_at_idx;
CREATE INDEX customers_last_order_at_idx ON customers (last_order_at, id);
