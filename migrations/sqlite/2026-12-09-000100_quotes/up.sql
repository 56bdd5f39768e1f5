-- Quotes (S-6): priced proposals for a deal, numbered per Jalali year. Amounts are
-- integer minor units of the quote's currency (its deal's); tax rates basis points.

-- The last number given in each numbering year: incremented in the transaction that
-- creates the quote, so numbers are gap-free (a rolled back quote gives its number
-- back) and concurrent creates queue on the year's row.
CREATE TABLE quote_counters (
    year INTEGER PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number > 0)
);

CREATE TABLE quotes (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    -- A deal with quotes is not deleted: numbers stay without gaps.
    deal_id TEXT NOT NULL REFERENCES deals (id) ON DELETE RESTRICT,
    -- `draft`, `sent`, `accepted` or `rejected`; `expired` is read from valid_until.
    status TEXT NOT NULL CHECK (status IN ('draft', 'sent', 'accepted', 'rejected')),
    currency TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    subtotal INTEGER NOT NULL CHECK (subtotal >= 0),
    discount_total INTEGER NOT NULL CHECK (discount_total >= 0),
    tax_total INTEGER NOT NULL CHECK (tax_total >= 0),
    total INTEGER NOT NULL CHECK (total >= 0),
    notes TEXT,
    -- The order an acceptance placed.
    order_id TEXT REFERENCES orders (id) ON DELETE SET NULL,
    sent_at TEXT,
    decided_at TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX quotes_number_key ON quotes (number);
CREATE INDEX quotes_created_at_idx ON quotes (created_at, id);
CREATE INDEX quotes_deal_idx ON quotes (deal_id, created_at, id);
CREATE INDEX quotes_order_idx ON quotes (order_id);

CREATE TABLE quote_lines (
    id TEXT PRIMARY KEY,
    quote_id TEXT NOT NULL REFERENCES quotes (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    -- The product's name when the line was priced: a sent quote says what was offered.
    name TEXT NOT NULL,
    name_en TEXT,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    discount INTEGER NOT NULL CHECK (discount >= 0),
    tax_rate INTEGER NOT NULL CHECK (tax_rate BETWEEN 0 AND 10000),
    tax INTEGER NOT NULL CHECK (tax >= 0),
    total INTEGER NOT NULL CHECK (total >= 0)
);
CREATE INDEX quote_lines_quote_idx ON quote_lines (quote_id, position);
CREATE INDEX quote_lines_product_idx ON quote_lines (product_id);
