ALTER TABLE jobs DROP COLUMN error_code;
