ALTER TABLE channel_accounts DROP COLUMN mailbox_cursor;
ALTER TABLE messages DROP COLUMN subject;
