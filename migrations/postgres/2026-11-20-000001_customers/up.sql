-- Customer 360 (SPEC C-1..C-9, D-1..D-3, X-4, L-4). Every customer-owned table carries
-- customer_id so that a distributed PostgreSQL can co-locate it with its customer.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE business_settings (
    id integer PRIMARY KEY CHECK (id = 1),
    time_zone text NOT NULL,
    weekend_days jsonb NOT NULL,
    holidays jsonb NOT NULL,
    default_currency text NOT NULL,
    currency_display text NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);

-- Tags, groups and tiers (C-4): lists the business defines, one table told apart by
-- kind. A customer carries any number of tags and groups (customer_labels) and one
-- tier (customers.tier_id).
CREATE TABLE labels (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    name text NOT NULL,
    name_key text NOT NULL,
    description text,
    color text,
    rank integer,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX labels_kind_name_key_key ON labels (kind, name_key);
CREATE INDEX labels_kind_created_at_idx ON labels (kind, created_at, id);

CREATE TABLE custom_field_definitions (
    id uuid PRIMARY KEY,
    field_key text NOT NULL,
    label text NOT NULL,
    kind text NOT NULL,
    options jsonb NOT NULL,
    required boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX custom_field_definitions_field_key_key ON custom_field_definitions (field_key);
CREATE INDEX custom_field_definitions_created_at_idx ON custom_field_definitions (created_at, id);

CREATE TABLE customers (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    code text,
    display_name text NOT NULL,
    title text,
    gender text,
    first_name text,
    last_name text,
    organization_name text,
    industry text,
    website text,
    primary_email text,
    primary_phone text,
    province text,
    city text,
    postal_code text,
    national_code text,
    national_id text,
    birth_certificate_number text,
    birth_date date,
    marriage_date date,
    founding_date date,
    field_of_study text,
    degree text,
    owner_id uuid REFERENCES users (id) ON DELETE SET NULL,
    team_id uuid REFERENCES teams (id) ON DELETE SET NULL,
    tier_id uuid REFERENCES labels (id) ON DELETE SET NULL,
    lifecycle_stage text NOT NULL,
    lifecycle_changed_at timestamptz NOT NULL,
    acquisition_source text,
    acquisition_channel text,
    acquisition_campaign text,
    referred_by_customer_id uuid REFERENCES customers (id) ON DELETE SET NULL,
    referred_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    custom_fields jsonb NOT NULL,
    search_text text NOT NULL,
    name_key text,
    erased_at timestamptz,
    merged_into_id uuid REFERENCES customers (id) ON DELETE SET NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
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
CREATE INDEX customers_search_text_trgm_idx ON customers USING gin (search_text gin_trgm_ops);
-- Every search text is distinct, so the planner estimates `LIKE '%term%'` from the
-- histogram alone; at the default 100 entries a surname held by 2 % of customers is
-- estimated at 0.01 % and the planner sorts all its matches instead of walking the sort
-- index (measured at 1M customers: 230 ms against 5 ms).
ALTER TABLE customers ALTER COLUMN search_text SET STATISTICS 1000;

CREATE TABLE customer_phones (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    number text NOT NULL,
    kind text NOT NULL,
    label text,
    is_primary boolean NOT NULL,
    position integer NOT NULL
);
CREATE INDEX customer_phones_customer_idx ON customer_phones (customer_id, position);
CREATE INDEX customer_phones_number_idx ON customer_phones (number);

CREATE TABLE customer_emails (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    address text NOT NULL,
    label text,
    is_primary boolean NOT NULL,
    position integer NOT NULL
);
CREATE INDEX customer_emails_customer_idx ON customer_emails (customer_id, position);
CREATE INDEX customer_emails_address_idx ON customer_emails (address);

CREATE TABLE customer_addresses (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    label text,
    province text,
    city text,
    line text,
    postal_code text,
    po_box text,
    is_primary boolean NOT NULL,
    position integer NOT NULL
);
CREATE INDEX customer_addresses_customer_idx ON customer_addresses (customer_id, position);

CREATE TABLE customer_custom_values (
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field_key text NOT NULL,
    text_value text,
    int_value bigint,
    date_value date,
    bool_value boolean,
    PRIMARY KEY (customer_id, field_key)
);
CREATE INDEX customer_custom_values_text_idx ON customer_custom_values (field_key, text_value);
CREATE INDEX customer_custom_values_int_idx ON customer_custom_values (field_key, int_value);
CREATE INDEX customer_custom_values_date_idx ON customer_custom_values (field_key, date_value);

CREATE TABLE customer_labels (
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    label_id uuid NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (customer_id, label_id)
);
CREATE INDEX customer_labels_label_idx ON customer_labels (label_id, customer_id);

CREATE TABLE personnel (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    role text,
    unit text,
    is_primary_contact boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX personnel_customer_person_key ON personnel (customer_id, person_id);
CREATE INDEX personnel_person_idx ON personnel (person_id);

CREATE TABLE notes (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind text NOT NULL,
    body text NOT NULL,
    author_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX notes_customer_idx ON notes (customer_id, created_at, id);

CREATE TABLE lifecycle_transitions (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    from_stage text,
    to_stage text NOT NULL,
    reason text NOT NULL,
    changed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX lifecycle_transitions_customer_idx ON lifecycle_transitions (customer_id, changed_at, id);

CREATE TABLE owner_changes (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    from_owner_id uuid REFERENCES users (id) ON DELETE SET NULL,
    to_owner_id uuid REFERENCES users (id) ON DELETE SET NULL,
    changed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX owner_changes_customer_idx ON owner_changes (customer_id, changed_at, id);

CREATE TABLE consent_events (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel text NOT NULL,
    purpose text NOT NULL,
    granted boolean NOT NULL,
    source text NOT NULL,
    evidence text,
    recorded_by uuid REFERENCES users (id) ON DELETE SET NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX consent_events_customer_idx ON consent_events (customer_id, recorded_at, id);

CREATE TABLE customer_consents (
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel text NOT NULL,
    purpose text NOT NULL,
    granted boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (customer_id, channel, purpose)
);
CREATE INDEX customer_consents_lookup_idx ON customer_consents (channel, purpose, granted);

CREATE TABLE customer_merges (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    loser_ids jsonb NOT NULL,
    undo_data jsonb NOT NULL,
    performed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    performed_at timestamptz NOT NULL,
    undone_at timestamptz
);
CREATE INDEX customer_merges_customer_idx ON customer_merges (customer_id, performed_at);
