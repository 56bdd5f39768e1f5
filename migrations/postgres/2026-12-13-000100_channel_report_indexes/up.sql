-- The cross-channel report (O-5) reads messages by when they happened, for the volume
-- of each period and channel, and conversations by when they started, for first
-- responses and what they led to; both were indexed only by conversation or customer.
CREATE INDEX messages_occurred_idx ON messages (occurred_at, channel);
CREATE INDEX conversations_created_idx ON conversations (created_at, id);
