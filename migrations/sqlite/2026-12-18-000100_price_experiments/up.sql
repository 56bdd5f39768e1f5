-- Price experiments: price points of one product tried on the customers (of one
-- segment) who are shown it while the experiment runs. A customer's variant is fixed
-- at their first exposure, one row per experiment and customer; conversions are read
-- from the orders placed after it.
CREATE TABLE price_experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    -- No foreign key: a deleted segment has no members, so nobody takes part.
    segment_id TEXT,
    goal TEXT NOT NULL,
    alpha REAL NOT NULL,
    minimum_sample_per_variant INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    stopped_at TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX price_experiments_name_key ON price_experiments (name);
CREATE INDEX price_experiments_created_idx ON price_experiments (created_at, id);
CREATE INDEX price_experiments_product_idx ON price_experiments (product_id);
-- One running experiment per product: two would show one customer two prices.
CREATE UNIQUE INDEX price_experiments_running_key ON price_experiments (product_id)
    WHERE status = 'running';

CREATE TABLE price_experiment_variants (
    experiment_id TEXT NOT NULL REFERENCES price_experiments (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT,
    unit_price INTEGER NOT NULL,
    weight INTEGER NOT NULL,
    control INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE price_experiment_exposures (
    experiment_id TEXT NOT NULL REFERENCES price_experiments (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    variant_key TEXT NOT NULL,
    exposed_at TEXT NOT NULL,
    PRIMARY KEY (experiment_id, customer_id)
);
CREATE INDEX price_experiment_exposures_customer_idx ON price_experiment_exposures (customer_id);
