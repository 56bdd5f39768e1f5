-- Files that jobs read or produce (import uploads, export results). They live in the
-- database, in chunks, so that every server sharing it can reach them and no row has to
-- hold a whole file.
CREATE TABLE stored_files (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX stored_files_created_by_idx ON stored_files (created_by, created_at);

CREATE TABLE stored_file_chunks (
    file_id TEXT NOT NULL REFERENCES stored_files (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (file_id, seq)
);
