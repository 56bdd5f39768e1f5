DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE lead_contact_points;
DROP TABLE customer_contact_points;
DROP TABLE channel_accounts;
