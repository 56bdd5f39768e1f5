-- Customers sort by their purchase facts. A nullable sort key sorts its nulls before
-- every value on both backends (SQLite's own order), so its index here keeps them
-- first: read forwards it gives ASC NULLS FIRST, backwards DESC NULLS LAST.
DROP INDEX customers_last_order_at_idx;
CREATE INDEX customers_last_order_at_idx ON customers (last_order_at NULLS FIRST, id);
CREATE INDEX customers_first_order_at_idx ON customers (first_order_at NULLS FIRST, id);
