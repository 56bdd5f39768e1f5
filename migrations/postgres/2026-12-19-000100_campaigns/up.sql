-- Marketing campaigns: a message sent to the members of a segment through a channel
-- account, its costs, and per recipient what became of it. `code` is the campaign as
-- orders (`orders.campaign`) and customers (`customers.acquisition_campaign`) name it;
-- `channel` the marketing channel its costs and acquisitions are counted under.
CREATE TABLE campaigns (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    code text NOT NULL,
    description text,
    channel text NOT NULL,
    -- No foreign key: a deleted segment has no members, so nobody is reached.
    segment_id uuid,
    channel_account_id uuid REFERENCES channel_accounts (id) ON DELETE SET NULL,
    template_id uuid REFERENCES message_templates (id) ON DELETE SET NULL,
    language text,
    subject text,
    body text,
    scheduled_at timestamptz,
    budget bigint,
    goal_metric text,
    goal_target bigint,
    attribution_window_days integer NOT NULL,
    status text NOT NULL,
    launched_at timestamptz,
    completed_at timestamptz,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX campaigns_code_key ON campaigns (code);
CREATE INDEX campaigns_created_idx ON campaigns (created_at, id);
CREATE INDEX campaigns_channel_idx ON campaigns (channel);
-- A campaign's conversions include the orders that name its code.
CREATE INDEX orders_campaign_idx ON orders (campaign);
-- The customers a campaign or channel acquired: acquisition costs and their shares.
CREATE INDEX customers_acquisition_campaign_idx ON customers (acquisition_campaign);
CREATE INDEX customers_acquisition_channel_idx ON customers (acquisition_channel);

-- What was spent on a campaign, entry by entry, in the business currency.
CREATE TABLE campaign_costs (
    id uuid PRIMARY KEY,
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    amount bigint NOT NULL,
    incurred_on date NOT NULL,
    note text,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX campaign_costs_campaign_idx ON campaign_costs (campaign_id, incurred_on, id);
CREATE INDEX campaign_costs_incurred_idx ON campaign_costs (incurred_on);

-- One row per campaign and customer reached (or passed over, with the reason): the
-- message recorded for them and the tracking token of their links and open pixel.
CREATE TABLE campaign_recipients (
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    outcome text NOT NULL,
    message_id uuid REFERENCES messages (id) ON DELETE SET NULL,
    token text NOT NULL,
    sent_at timestamptz NOT NULL,
    opened_at timestamptz,
    clicked_at timestamptz,
    clicks integer NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);
CREATE UNIQUE INDEX campaign_recipients_token_key ON campaign_recipients (token);
CREATE INDEX campaign_recipients_customer_idx ON campaign_recipients (customer_id, sent_at);
CREATE INDEX campaign_recipients_message_idx ON campaign_recipients (message_id);

-- The links of a campaign's message, by their place in it: a tracked link names the
-- recipient's token and the link's position.
CREATE TABLE campaign_links (
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position integer NOT NULL,
    url text NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
