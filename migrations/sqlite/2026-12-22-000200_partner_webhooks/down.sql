DROP INDEX webhook_subscriptions_partner_idx;
ALTER TABLE webhook_subscriptions DROP COLUMN partner_id;
