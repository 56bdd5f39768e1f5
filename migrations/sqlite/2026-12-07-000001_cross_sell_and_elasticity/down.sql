DROP TABLE price_elasticities;
DROP TABLE cross_sell_rules;
DROP INDEX customers_cross_sell_run_idx;
ALTER TABLE customers DROP COLUMN recommendations;
ALTER TABLE customers DROP COLUMN cross_sell_run_id;
