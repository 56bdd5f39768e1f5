-- Failed logins per account and per client address, shared by every server so that a
-- lockout holds whichever process the next attempt reaches. `subject_hash` is the
-- SHA-256 of the subject ("account:<e-mail>" or "address:<ip>"), so no e-mail or IP
-- address is kept in clear. Rows past `expires_at` are deleted as new failures arrive.
CREATE TABLE login_throttles (
    subject_hash text PRIMARY KEY,
    failures integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    lockouts integer NOT NULL,
    locked_until timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_throttles_expires_at_idx ON login_throttles (expires_at);
