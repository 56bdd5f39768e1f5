-- Canned answers (V-4): question-and-answer templates agents answer tickets with.
-- `search_text` is titles, question and answers reduced by `domain::persian::search_key`
-- for quick search; the active answers are few (at most 5,000), so it has no index of
-- its own. `usage_count` and `last_used_at` change with every use, not the version.
CREATE TABLE canned_answers (
    id TEXT PRIMARY KEY,
    title_fa TEXT NOT NULL,
    title_en TEXT,
    question TEXT NOT NULL,
    answer_fa TEXT NOT NULL,
    answer_en TEXT,
    category TEXT,
    active INTEGER NOT NULL,
    usage_count INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT,
    search_text TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX canned_answers_created_at_idx ON canned_answers (created_at, id);
CREATE INDEX canned_answers_category_idx ON canned_answers (category, created_at, id);
CREATE INDEX canned_answers_active_idx ON canned_answers (active, created_at, id);
