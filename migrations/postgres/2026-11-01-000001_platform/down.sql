DROP TABLE idempotency_keys;
DROP TABLE audit_events;
DROP TABLE jobs;
DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE teams;
