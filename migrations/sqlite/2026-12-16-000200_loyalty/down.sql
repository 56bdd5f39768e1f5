ALTER TABLE business_settings DROP COLUMN loyalty;
DROP TABLE loyalty_entries;
