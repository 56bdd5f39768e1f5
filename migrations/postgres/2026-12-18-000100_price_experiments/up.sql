-- Price experiments: price points of one product tried on the customers (of one
-- segment) who are shown it while the experiment runs. A customer's variant is fixed
-- at their first exposure, one row per experiment and customer; conversions are read
-- from the orders placed after it.
CREATE TABLE price_experiments (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    -- No foreign key: a deleted segment has no members, so nobody takes part.
    segment_id uuid,
    goal text NOT NULL,
    alpha double precision NOT NULL,
    minimum_sample_per_variant bigint NOT NULL,
    status text NOT NULL,
    started_at timestamptz,
    stopped_at timestamptz,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX price_experiments_name_key ON price_experiments (name);
CREATE INDEX price_experiments_created_idx ON price_experiments (created_at, id);
CREATE INDEX price_experiments_product_idx ON price_experiments (product_id);
-- One running experiment per product: two would show one customer two prices.
CREATE UNIQUE INDEX price_experiments_running_key ON price_experiments (product_id)
    WHERE status = 'running';

CREATE TABLE price_experiment_variants (
    experiment_id uuid NOT NULL REFERENCES price_experiments (id) ON DELETE CASCADE,
    key text NOT NULL,
    position integer NOT NULL,
    name text,
    unit_price bigint NOT NULL,
    weight integer NOT NULL,
    control boolean NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE price_experiment_exposures (
    experiment_id uuid NOT NULL REFERENCES price_experiments (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    variant_key text NOT NULL,
    exposed_at timestamptz NOT NULL,
    PRIMARY KEY (experiment_id, customer_id)
);
CREATE INDEX price_experiment_exposures_customer_idx ON price_experiment_exposures (customer_id);
