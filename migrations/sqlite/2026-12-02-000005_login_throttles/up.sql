-- Failed logins per account and per client address, shared by every server so that a
-- lockout holds whichever process the next attempt reaches. `subject_hash` is the
-- SHA-256 of the subject ("account:<e-mail>" or "address:<ip>"), so no e-mail or IP
-- address is kept in clear. Rows past `expires_at` are deleted as new failures arrive.
CREATE TABLE login_throttles (
    subject_hash TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TEXT NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_until TEXT,
    expires_at TEXT NOT NULL
);
CREATE INDEX login_throttles_expires_at_idx ON login_throttles (expires_at);
