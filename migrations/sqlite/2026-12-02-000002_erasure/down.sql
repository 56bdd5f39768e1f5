INSERT INTO customer_search (customer_search, rank) VALUES ('secure-delete', 0);
DROP TABLE stored_file_customers;
ALTER TABLE idempotency_keys DROP COLUMN withdrawn_at;
ALTER TABLE idempotency_keys DROP COLUMN request_path;
