-- Referral codes: one per customer, made when first asked for. A new customer who
-- names a code (through `referred_by_customer_id`) earns its owner the referral points
-- of the loyalty rules at their first purchase, once (the loyalty lot's `source`).
CREATE TABLE referral_codes (
    code TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX referral_codes_customer_key ON referral_codes (customer_id);
