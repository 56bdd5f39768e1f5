-- Commerce (S-8, C-7, C-8): the product catalogue, orders with their lines, returns,
-- each customer's purchase facts, the lifecycle rules, and one key per occurrence of a
-- scheduled job. Amounts are integer minor units of the row's currency.

CREATE TABLE product_categories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    parent_id TEXT REFERENCES product_categories (id) ON DELETE RESTRICT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX product_categories_name_key_key ON product_categories (name_key);
CREATE INDEX product_categories_parent_idx ON product_categories (parent_id);
CREATE INDEX product_categories_created_at_idx ON product_categories (created_at, id);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT,
    description TEXT,
    category_id TEXT REFERENCES product_categories (id) ON DELETE SET NULL,
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    unit_cost INTEGER CHECK (unit_cost >= 0),
    currency TEXT NOT NULL,
    active INTEGER NOT NULL,
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX products_sku_key ON products (sku);
CREATE INDEX products_created_at_idx ON products (created_at, id);
CREATE INDEX products_name_idx ON products (name, id);
CREATE INDEX products_category_idx ON products (category_id, created_at, id);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    placed_at TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT,
    campaign TEXT,
    source TEXT,
    external_reference TEXT,
    currency TEXT NOT NULL,
    subtotal INTEGER NOT NULL,
    discount_total INTEGER NOT NULL,
    total INTEGER NOT NULL,
    refunded_total INTEGER NOT NULL,
    notes TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    CHECK (total = subtotal - discount_total),
    CHECK (refunded_total >= 0 AND refunded_total <= total)
);
-- NULLs are distinct: orders without an external reference never collide.
CREATE UNIQUE INDEX orders_source_reference_key ON orders (source, external_reference);
CREATE INDEX orders_customer_idx ON orders (customer_id, placed_at, id);
CREATE INDEX orders_placed_at_idx ON orders (placed_at, id);
CREATE INDEX orders_created_at_idx ON orders (created_at, id);
CREATE INDEX orders_total_idx ON orders (total, id);
CREATE INDEX orders_status_idx ON orders (status, placed_at, id);

CREATE TABLE order_lines (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    unit_cost INTEGER,
    discount INTEGER NOT NULL CHECK (discount >= 0),
    total INTEGER NOT NULL CHECK (total >= 0),
    returned_quantity INTEGER NOT NULL,
    refunded INTEGER NOT NULL,
    -- The last line of defence against returning more than was bought.
    CHECK (returned_quantity >= 0 AND returned_quantity <= quantity),
    CHECK (refunded >= 0 AND refunded <= total)
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, position);
CREATE INDEX order_lines_product_idx ON order_lines (product_id, order_id);

CREATE TABLE order_returns (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    refund_total INTEGER NOT NULL,
    returned_at TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX order_returns_order_idx ON order_returns (order_id, created_at, id);

CREATE TABLE order_return_lines (
    return_id TEXT NOT NULL REFERENCES order_returns (id) ON DELETE CASCADE,
    order_line_id TEXT NOT NULL REFERENCES order_lines (id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    refund INTEGER NOT NULL,
    PRIMARY KEY (return_id, order_line_id)
);

-- Purchase facts, kept by every order write, return and merge: purchases are orders
-- paid, fulfilled or partly returned; revenue is their total less refunds, in the
-- business currency.
ALTER TABLE customers ADD COLUMN order_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN revenue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN first_order_at timestamptz;
ALTER TABLE customers ADD COLUMN last_order_at timestamptz;
CREATE INDEX customers_revenue_idx ON customers (revenue, id);
CREATE INDEX customers_order_count_idx ON customers (order_count, id);
CREATE INDEX customers_last_order_at_idx ON customers (last_order_at, id);

CREATE TABLE lifecycle_rules (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rules TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);

-- A scheduled job's occurrence (e.g. the churn check of one day): the key makes every
-- process that schedules it agree on one row.
ALTER TABLE jobs ADD COLUMN occurrence_key text;
CREATE UNIQUE INDEX jobs_occurrence_key ON jobs (occurrence_key);
