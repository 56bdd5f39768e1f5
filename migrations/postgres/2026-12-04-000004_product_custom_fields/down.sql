ALTER TABLE products DROP COLUMN custom_fields;
