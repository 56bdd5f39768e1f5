ALTER TABLE conversations DROP COLUMN auto_replied_until;
