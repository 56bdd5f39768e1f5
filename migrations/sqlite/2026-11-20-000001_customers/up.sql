-- Customer 360; see the PostgreSQL migration of the same name for the notes.


CREATE TABLE business_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    time_zone TEXT NOT NULL,
    weekend_days TEXT NOT NULL,
    holidays TEXT NOT NULL,
    default_currency TEXT NOT NULL,
    currency_display TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);

-- Tags, groups and tiers (C-4): lists the business defines, one table told apart by
-- kind. A customer carries any number of tags and groups (customer_labels) and one
-- tier (customers.tier_id).
CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT,
    color TEXT,
    rank INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX labels_kind_name_key_key ON labels (kind, name_key);
CREATE INDEX labels_kind_created_at_idx ON labels (kind, created_at, id);

CREATE TABLE custom_field_definitions (
    id TEXT PRIMARY KEY,
    field_key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL,
    required INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX custom_field_definitions_field_key_key ON custom_field_definitions (field_key);
CREATE INDEX custom_field_definitions_created_at_idx ON custom_field_definitions (created_at, id);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    code TEXT,
    display_name TEXT NOT NULL,
    title TEXT,
    gender TEXT,
    first_name TEXT,
    last_name TEXT,
    organization_name TEXT,
    industry TEXT,
    website TEXT,
    primary_email TEXT,
    primary_phone TEXT,
    province TEXT,
    city TEXT,
    postal_code TEXT,
    national_code TEXT,
    national_id TEXT,
    birth_certificate_number TEXT,
    birth_date TEXT,
    marriage_date TEXT,
    founding_date TEXT,
    field_of_study TEXT,
    degree TEXT,
    owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    tier_id TEXT REFERENCES labels (id) ON DELETE SET NULL,
    lifecycle_stage TEXT NOT NULL,
    lifecycle_changed_at TEXT NOT NULL,
    acquisition_source TEXT,
    acquisition_channel TEXT,
    acquisition_campaign TEXT,
    referred_by_customer_id TEXT REFERENCES customers (id) ON DELETE SET NULL,
    referred_by_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    custom_fields TEXT NOT NULL,
    search_text TEXT NOT NULL,
    name_key TEXT,
    erased_at TEXT,
    merged_into_id TEXT REFERENCES customers (id) ON DELETE SET NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX customers_code_key ON customers (code);
CREATE INDEX customers_created_at_idx ON customers (created_at, id);
CREATE INDEX customers_updated_at_idx ON customers (updated_at, id);
CREATE INDEX customers_display_name_idx ON customers (display_name, id);
CREATE INDEX customers_owner_idx ON customers (owner_id, created_at, id);
CREATE INDEX customers_team_idx ON customers (team_id, created_at, id);
CREATE INDEX customers_tier_idx ON customers (tier_id);
CREATE INDEX customers_lifecycle_idx ON customers (lifecycle_stage, created_at, id);
CREATE INDEX customers_city_idx ON customers (city, created_at, id);
CREATE INDEX customers_province_idx ON customers (province, created_at, id);
CREATE INDEX customers_primary_email_idx ON customers (primary_email);
CREATE INDEX customers_primary_phone_idx ON customers (primary_phone);
CREATE INDEX customers_national_code_idx ON customers (national_code);
CREATE INDEX customers_national_id_idx ON customers (national_id);
CREATE INDEX customers_name_key_idx ON customers (name_key);
CREATE INDEX customers_referred_by_customer_idx ON customers (referred_by_customer_id);
-- Almost every customer is unmerged; indexing only merged ones keeps the planner from
-- walking this index for "merged_into_id IS NULL".
CREATE INDEX customers_merged_into_idx ON customers (merged_into_id) WHERE merged_into_id IS NOT NULL;
CREATE INDEX customers_acquisition_source_idx ON customers (acquisition_source, created_at, id);

CREATE TABLE customer_phones (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT,
    is_primary INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX customer_phones_customer_idx ON customer_phones (customer_id, position);
CREATE INDEX customer_phones_number_idx ON customer_phones (number);

CREATE TABLE customer_emails (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    label TEXT,
    is_primary INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX customer_emails_customer_idx ON customer_emails (customer_id, position);
CREATE INDEX customer_emails_address_idx ON customer_emails (address);

CREATE TABLE customer_addresses (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    label TEXT,
    province TEXT,
    city TEXT,
    line TEXT,
    postal_code TEXT,
    po_box TEXT,
    is_primary INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX customer_addresses_customer_idx ON customer_addresses (customer_id, position);

CREATE TABLE customer_custom_values (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field_key TEXT NOT NULL,
    text_value TEXT,
    int_value INTEGER,
    date_value TEXT,
    bool_value INTEGER,
    PRIMARY KEY (customer_id, field_key)
);
CREATE INDEX customer_custom_values_text_idx ON customer_custom_values (field_key, text_value);
CREATE INDEX customer_custom_values_int_idx ON customer_custom_values (field_key, int_value);
CREATE INDEX customer_custom_values_date_idx ON customer_custom_values (field_key, date_value);

CREATE TABLE customer_labels (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    label_id TEXT NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, label_id)
);
CREATE INDEX customer_labels_label_idx ON customer_labels (label_id, customer_id);

CREATE TABLE personnel (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    role TEXT,
    unit TEXT,
    is_primary_contact INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX personnel_customer_person_key ON personnel (customer_id, person_id);
CREATE INDEX personnel_person_idx ON personnel (person_id);

CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX notes_customer_idx ON notes (customer_id, created_at, id);

CREATE TABLE lifecycle_transitions (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX lifecycle_transitions_customer_idx ON lifecycle_transitions (customer_id, changed_at, id);

CREATE TABLE owner_changes (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    from_owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    to_owner_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    changed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX owner_changes_customer_idx ON owner_changes (customer_id, changed_at, id);

CREATE TABLE consent_events (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    granted INTEGER NOT NULL,
    source TEXT NOT NULL,
    evidence TEXT,
    recorded_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX consent_events_customer_idx ON consent_events (customer_id, recorded_at, id);

CREATE TABLE customer_consents (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    granted INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, channel, purpose)
);
CREATE INDEX customer_consents_lookup_idx ON customer_consents (channel, purpose, granted);

CREATE TABLE customer_merges (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    loser_ids TEXT NOT NULL,
    undo_data TEXT NOT NULL,
    performed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    performed_at TEXT NOT NULL,
    undone_at TEXT
);
CREATE INDEX customer_merges_customer_idx ON customer_merges (customer_id, performed_at);

-- Quick search (`q`) on SQLite: an FTS5 trigram index answers substring matches of
-- three or more characters. It indexes a side table with an INTEGER PRIMARY KEY rather
-- than `customers` itself, whose implicit rowids VACUUM may renumber. Triggers keep
-- both in step with customers.search_text inside the writing transaction.
CREATE TABLE customer_search_docs (
    rowid INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL UNIQUE,
    search_text TEXT NOT NULL
);
CREATE VIRTUAL TABLE customer_search USING fts5(
    search_text,
    content = 'customer_search_docs',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);
CREATE TRIGGER customer_search_docs_ai AFTER INSERT ON customer_search_docs BEGIN
    INSERT INTO customer_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER customer_search_docs_ad AFTER DELETE ON customer_search_docs BEGIN
    INSERT INTO customer_search (customer_search, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER customer_search_docs_au AFTER UPDATE ON customer_search_docs BEGIN
    INSERT INTO customer_search (customer_search, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO customer_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER customers_search_ai AFTER INSERT ON customers BEGIN
    INSERT INTO customer_search_docs (customer_id, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER customers_search_au AFTER UPDATE OF search_text ON customers
    WHEN new.search_text IS NOT old.search_text BEGIN
    UPDATE customer_search_docs SET search_text = new.search_text WHERE customer_id = new.id;
END;
CREATE TRIGGER customers_search_ad AFTER DELETE ON customers BEGIN
    DELETE FROM customer_search_docs WHERE customer_id = old.id;
END;
