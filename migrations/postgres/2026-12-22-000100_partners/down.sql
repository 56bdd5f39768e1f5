DROP TABLE record_shares;
DROP TABLE share_rules;
DROP TABLE partner_users;
DROP TABLE partners;
