-- Files that jobs read or produce (import uploads, export results). They live in the
-- database, in chunks, so that every server sharing it can reach them and no row has to
-- hold a whole file.
CREATE TABLE stored_files (
    id uuid PRIMARY KEY,
    purpose text NOT NULL,
    file_name text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL,
    sha256 text,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    completed_at timestamptz
);
CREATE INDEX stored_files_created_by_idx ON stored_files (created_by, created_at);

CREATE TABLE stored_file_chunks (
    file_id uuid NOT NULL REFERENCES stored_files (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (file_id, seq)
);
