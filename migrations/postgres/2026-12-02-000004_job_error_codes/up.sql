-- The stable code of a job's latest failure. `last_error` keeps only what its owner may
-- read (the detail of a failure they can fix); internal error text goes to the log.
ALTER TABLE jobs ADD COLUMN error_code TEXT;
