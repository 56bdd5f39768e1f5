DROP TABLE web_chat_visitors;
DROP INDEX channel_accounts_site_key_idx;
ALTER TABLE channel_accounts DROP COLUMN site_key;
