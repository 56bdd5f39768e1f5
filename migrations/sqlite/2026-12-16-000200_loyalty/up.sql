-- Loyalty points: an append-only ledger. An `earn` entry is a lot of points with the
-- instant it expires; `redeem`, `expire` and `deduct` entries take points (negative)
-- from one lot each. A balance is derived from the lots, never stored. The business
-- settings gain the rules by which customers earn points by themselves.
CREATE TABLE loyalty_entries (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- The customer the entry was made for; differs from customer_id while that
    -- customer is merged into another, and takes the entry back when the merge is undone.
    origin_customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    -- The lot a negative entry takes from.
    lot_id TEXT REFERENCES loyalty_entries (id) ON DELETE CASCADE,
    -- When an earned lot expires.
    expires_at TEXT,
    reason TEXT,
    -- What earned the points by a rule (`order:<id>`, `event:<id>`): earned once.
    source TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX loyalty_entries_customer_idx ON loyalty_entries (customer_id, created_at, id);
CREATE INDEX loyalty_entries_origin_idx ON loyalty_entries (origin_customer_id);
CREATE INDEX loyalty_entries_lot_idx ON loyalty_entries (lot_id);
CREATE INDEX loyalty_entries_expires_idx ON loyalty_entries (expires_at);
CREATE UNIQUE INDEX loyalty_entries_source_key ON loyalty_entries (source);
ALTER TABLE business_settings ADD COLUMN loyalty TEXT;
