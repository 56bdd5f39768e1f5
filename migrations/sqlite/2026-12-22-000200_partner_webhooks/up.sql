-- A partner's users subscribe to webhooks of their own (X-3): such a subscription is
-- sent only the events about records shared with its partner.
ALTER TABLE webhook_subscriptions ADD COLUMN partner_id TEXT REFERENCES partners (id) ON DELETE CASCADE;
CREATE INDEX webhook_subscriptions_partner_idx ON webhook_subscriptions (partner_id);
