-- Partners (X-3): suppliers, distributors and agencies that work with the business,
-- each with its own users, who see the records they own and those shared with the
-- partner, and nothing else.
CREATE TABLE partners (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    -- `domain::partners::PartnerKind`.
    kind text NOT NULL,
    notes text,
    is_active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX partners_name_key ON partners (lower(name));
CREATE INDEX partners_created_idx ON partners (created_at, id);

-- A partner's users: a user belongs to at most one partner.
CREATE TABLE partner_users (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL
);
CREATE INDEX partner_users_partner_idx ON partner_users (partner_id, created_at, user_id);

-- Rules that share every record of a kind matching a filter with a partner (the
-- leads of a province with its distributor); their matches are kept as shares.
CREATE TABLE share_rules (
    id uuid PRIMARY KEY,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    -- `domain::partners::SharedKind`.
    record_kind text NOT NULL,
    -- A filter tree over the kind's searchable fields, as JSON.
    condition jsonb NOT NULL,
    -- `read` or `write`.
    access text NOT NULL,
    refreshed_at timestamptz,
    matched bigint,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX share_rules_partner_idx ON share_rules (partner_id, created_at, id);

-- One record shared with one partner: explicitly (`rule_id` NULL, optionally until
-- `expires_at`) or because a share rule matches it.
CREATE TABLE record_shares (
    id uuid PRIMARY KEY,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    record_kind text NOT NULL,
    record_id uuid NOT NULL,
    access text NOT NULL,
    expires_at timestamptz,
    rule_id uuid REFERENCES share_rules (id) ON DELETE CASCADE,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);
-- What a partner's user may see: its shares of one kind, by record.
CREATE INDEX record_shares_partner_record_idx ON record_shares (partner_id, record_kind, record_id);
CREATE UNIQUE INDEX record_shares_explicit_key ON record_shares (partner_id, record_kind, record_id)
    WHERE rule_id IS NULL;
CREATE UNIQUE INDEX record_shares_rule_key ON record_shares (rule_id, record_id)
    WHERE rule_id IS NOT NULL;
-- A partner's explicit shares, newest last, and who a record is shared with.
CREATE INDEX record_shares_listing_idx ON record_shares (partner_id, created_at, id);
CREATE INDEX record_shares_record_idx ON record_shares (record_kind, record_id);
