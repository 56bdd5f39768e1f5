-- Products carry the values of the product custom fields, checked against their
-- definitions by every write.
ALTER TABLE products ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
