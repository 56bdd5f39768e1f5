-- The web chat widget (O-2): a web_chat account's site key, the public name its widget
-- calls the API by (other kinds have none), and the visitors who start chats there.
ALTER TABLE channel_accounts ADD COLUMN site_key text;
CREATE UNIQUE INDEX channel_accounts_site_key_idx ON channel_accounts (site_key);

-- One row per chat a visitor starts: the SHA-256 of the token the widget holds (the
-- token itself is never stored), what the visitor said about themselves, the customer
-- that recognised them and the conversation their messages thread into (once they
-- wrote). Erasing the customer or the conversation takes the row with it.
CREATE TABLE web_chat_visitors (
    id uuid PRIMARY KEY,
    channel_account_id uuid NOT NULL REFERENCES channel_accounts (id) ON DELETE CASCADE,
    token_hash text NOT NULL,
    name text,
    email text,
    phone text,
    customer_id uuid REFERENCES customers (id) ON DELETE CASCADE,
    conversation_id uuid REFERENCES conversations (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX web_chat_visitors_token_idx ON web_chat_visitors (token_hash);
CREATE INDEX web_chat_visitors_customer_idx ON web_chat_visitors (customer_id);
CREATE INDEX web_chat_visitors_conversation_idx ON web_chat_visitors (conversation_id);
