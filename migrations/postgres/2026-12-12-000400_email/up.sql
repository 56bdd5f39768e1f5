-- E-mail as a channel: a message's subject (replies answer "Re:" it), and how far an
-- account's IMAP mailbox has been read ("<uidvalidity>:<last uid>").
ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE channel_accounts ADD COLUMN mailbox_cursor TEXT;
