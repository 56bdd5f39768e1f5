-- Erasure reaches every copy of a customer's data.
--
-- Stored idempotent responses keep the (lower-cased) request path, so that an erasure
-- can find the ones about the customer by its id in the path as well as in the body,
-- and `withdrawn_at` marks a response withdrawn by an erasure: the key still guards
-- against running the request twice, but its response is no longer replayed.
ALTER TABLE idempotency_keys ADD COLUMN request_path text;
ALTER TABLE idempotency_keys ADD COLUMN withdrawn_at timestamptz;

-- Which customers a stored file (an export) holds, written before their rows go into
-- the file, so that an erasure finds and deletes every file with the customer in it.
CREATE TABLE stored_file_customers (
    file_id uuid NOT NULL REFERENCES stored_files (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL,
    PRIMARY KEY (file_id, customer_id)
);
CREATE INDEX stored_file_customers_customer_idx ON stored_file_customers (customer_id);
