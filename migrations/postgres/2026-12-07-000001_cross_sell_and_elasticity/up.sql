-- The products a `cross_sell` run recommends to each customer, with the run:
-- `[{"product_id", "confidence", "lift", "because_of"}]`, best first.
ALTER TABLE customers ADD COLUMN cross_sell_run_id uuid;
ALTER TABLE customers ADD COLUMN recommendations jsonb;
CREATE INDEX customers_cross_sell_run_idx ON customers (cross_sell_run_id);

-- The association rules of each `cross_sell` run, ranked from 1 by confidence, then
-- lift (products are not referenced: a rule outlives a product's removal as history).
CREATE TABLE cross_sell_rules (
    run_id uuid NOT NULL,
    rank bigint NOT NULL,
    antecedent_id uuid NOT NULL,
    consequent_id uuid NOT NULL,
    baskets bigint NOT NULL,
    support double precision NOT NULL,
    confidence double precision NOT NULL,
    lift double precision NOT NULL,
    PRIMARY KEY (run_id, rank)
);
CREATE INDEX cross_sell_rules_antecedent_idx ON cross_sell_rules (run_id, antecedent_id, rank);

-- The price elasticity of each product an `elasticity` run could fit, over all buyers
-- (segment `all`) and per RFM segment when asked.
CREATE TABLE price_elasticities (
    run_id uuid NOT NULL,
    product_id uuid NOT NULL,
    segment text NOT NULL,
    periods bigint NOT NULL,
    units bigint NOT NULL,
    mean_unit_price bigint NOT NULL,
    elasticity double precision NOT NULL,
    standard_error double precision NOT NULL,
    ci_low double precision NOT NULL,
    ci_high double precision NOT NULL,
    p_value double precision NOT NULL,
    r_squared double precision NOT NULL,
    PRIMARY KEY (run_id, product_id, segment)
);
