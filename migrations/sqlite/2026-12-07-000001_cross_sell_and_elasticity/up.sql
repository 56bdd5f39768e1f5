-- The products a `cross_sell` run recommends to each customer, with the run:
-- `[{"product_id", "confidence", "lift", "because_of"}]`, best first.
ALTER TABLE customers ADD COLUMN cross_sell_run_id TEXT;
ALTER TABLE customers ADD COLUMN recommendations TEXT;
CREATE INDEX customers_cross_sell_run_idx ON customers (cross_sell_run_id);

-- The association rules of each `cross_sell` run, ranked from 1 by confidence, then
-- lift (products are not referenced: a rule outlives a product's removal as history).
CREATE TABLE cross_sell_rules (
    run_id TEXT NOT NULL,
    rank INTEGER NOT NULL,
    antecedent_id TEXT NOT NULL,
    consequent_id TEXT NOT NULL,
    baskets INTEGER NOT NULL,
    support REAL NOT NULL,
    confidence REAL NOT NULL,
    lift REAL NOT NULL,
    PRIMARY KEY (run_id, rank)
);
CREATE INDEX cross_sell_rules_antecedent_idx ON cross_sell_rules (run_id, antecedent_id, rank);

-- The price elasticity of each product an `elasticity` run could fit, over all buyers
-- (segment `all`) and per RFM segment when asked.
CREATE TABLE price_elasticities (
    run_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    periods INTEGER NOT NULL,
    units INTEGER NOT NULL,
    mean_unit_price INTEGER NOT NULL,
    elasticity REAL NOT NULL,
    standard_error REAL NOT NULL,
    ci_low REAL NOT NULL,
    ci_high REAL NOT NULL,
    p_value REAL NOT NULL,
    r_squared REAL NOT NULL,
    PRIMARY KEY (run_id, product_id, segment)
);
