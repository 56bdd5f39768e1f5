-- Commerce (S-8, C-7, C-8): the product catalogue, orders with their lines, returns,
-- each customer's purchase facts, the lifecycle rules, and one key per occurrence of a
-- scheduled job. Amounts are bigint minor units of the row's currency.

CREATE TABLE product_categories (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    name_key text NOT NULL,
    parent_id uuid REFERENCES product_categories (id) ON DELETE RESTRICT,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX product_categories_name_key_key ON product_categories (name_key);
CREATE INDEX product_categories_parent_idx ON product_categories (parent_id);
CREATE INDEX product_categories_created_at_idx ON product_categories (created_at, id);

CREATE TABLE products (
    id uuid PRIMARY KEY,
    sku text NOT NULL,
    name text NOT NULL,
    name_en text,
    description text,
    category_id uuid REFERENCES product_categories (id) ON DELETE SET NULL,
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    unit_cost bigint CHECK (unit_cost >= 0),
    currency text NOT NULL,
    active boolean NOT NULL,
    search_text text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX products_sku_key ON products (sku);
CREATE INDEX products_created_at_idx ON products (created_at, id);
CREATE INDEX products_name_idx ON products (name, id);
CREATE INDEX products_category_idx ON products (category_id, created_at, id);

CREATE TABLE orders (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    placed_at timestamptz NOT NULL,
    status text NOT NULL,
    channel text,
    campaign text,
    source text,
    external_reference text,
    currency text NOT NULL,
    subtotal bigint NOT NULL,
    discount_total bigint NOT NULL,
    total bigint NOT NULL,
    refunded_total bigint NOT NULL,
    notes text,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
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
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position integer NOT NULL,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity bigint NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    unit_cost bigint,
    discount bigint NOT NULL CHECK (discount >= 0),
    total bigint NOT NULL CHECK (total >= 0),
    returned_quantity bigint NOT NULL,
    refunded bigint NOT NULL,
    -- The last line of defence against returning more than was bought.
    CHECK (returned_quantity >= 0 AND returned_quantity <= quantity),
    CHECK (refunded >= 0 AND refunded <= total)
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, position);
CREATE INDEX order_lines_product_idx ON order_lines (product_id, order_id);

CREATE TABLE order_returns (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    reason text NOT NULL,
    refund_total bigint NOT NULL,
    returned_at timestamptz NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX order_returns_order_idx ON order_returns (order_id, created_at, id);

CREATE TABLE order_return_lines (
    return_id uuid NOT NULL REFERENCES order_returns (id) ON DELETE CASCADE,
    order_line_id uuid NOT NULL REFERENCES order_lines (id) ON DELETE CASCADE,
    quantity bigint NOT NULL CHECK (quantity > 0),
    refund bigint NOT NULL,
    PRIMARY KEY (return_id, order_line_id)
);

-- Purchase facts, kept by every order write, return and merge: purchases are orders
-- paid, fulfilled or partly returned; revenue is their total less refunds, in the
-- business currency.
ALTER TABLE customers ADD COLUMN order_count bigint NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN revenue bigint NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN first_order_at timestamptz;
ALTER TABLE customers ADD COLUMN last_order_at timestamptz;
CREATE INDEX customers_revenue_idx ON customers (revenue, id);
CREATE INDEX customers_order_count_idx ON customers (order_count, id);
CREATE INDEX customers_last_order_at_idx ON customers (last_order_at, id);

CREATE TABLE lifecycle_rules (
    id integer PRIMARY KEY CHECK (id = 1),
    rules jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);

-- A scheduled job's occurrence (e.g. the churn check of one day): the key makes every
-- process that schedules it agree on one row.
ALTER TABLE jobs ADD COLUMN occurrence_key text;
CREATE UNIQUE INDEX jobs_occurrence_key ON jobs (occurrence_key);
