-- Marketing campaigns: a message sent to the members of a segment through a channel
-- account, its costs, and per recipient what became of it. `code` is the campaign as
-- orders (`orders.campaign`) and customers (`customers.acquisition_campaign`) name it;
-- `channel` the marketing channel its costs and acquisitions are counted under.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    code TEXT NOT NULL,
    description TEXT,
    channel TEXT NOT NULL,
    -- No foreign key: a deleted segment has no members, so nobody is reached.
    segment_id TEXT,
    channel_account_id TEXT REFERENCES channel_accounts (id) ON DELETE SET NULL,
    template_id TEXT REFERENCES message_templates (id) ON DELETE SET NULL,
    language TEXT,
    subject TEXT,
    body TEXT,
    scheduled_at TEXT,
    budget INTEGER,
    goal_metric TEXT,
    goal_target INTEGER,
    attribution_window_days INTEGER NOT NULL,
    status TEXT NOT NULL,
    launched_at TEXT,
    completed_at TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
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
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    amount INTEGER NOT NULL,
    incurred_on TEXT NOT NULL,
    note TEXT,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX campaign_costs_campaign_idx ON campaign_costs (campaign_id, incurred_on, id);
CREATE INDEX campaign_costs_incurred_idx ON campaign_costs (incurred_on);

-- One row per campaign and customer reached (or passed over, with the reason): the
-- message recorded for them and the tracking token of their links and open pixel.
CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    outcome TEXT NOT NULL,
    message_id TEXT REFERENCES messages (id) ON DELETE SET NULL,
    token TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    opened_at TEXT,
    clicked_at TEXT,
    clicks INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);
CREATE UNIQUE INDEX campaign_recipients_token_key ON campaign_recipients (token);
CREATE INDEX campaign_recipients_customer_idx ON campaign_recipients (customer_id, sent_at);
CREATE INDEX campaign_recipients_message_idx ON campaign_recipients (message_id);

-- The links of a campaign's message, by their place in it: a tracked link names the
-- recipient's token and the link's position.
CREATE TABLE campaign_links (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
