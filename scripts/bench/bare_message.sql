-- The row an inbound webhook stores for a message, inserted bare: no signature check,
-- no replay lookup, no identity resolution, no conversation lock or update. The
-- conversation is one of bench_conversations (numbered from 0).
\set c random(0, :conversations - 1)
\set m random(1, 1000000000000)
INSERT INTO messages (id, conversation_id, channel_account_id, customer_id, channel, direction, provider_message_id,
                      body, status, automatic, sent_by, error, occurred_at, created_at, updated_at, subject)
SELECT gen_random_uuid(), id, channel_account_id, customer_id, 'telegram', 'inbound', 'pg:' || :client_id || ':' || :m,
       'سلام، سفارشم کی می‌رسد؟', 'received', false, NULL, NULL, now(), now(), now(), NULL
FROM bench_conversations WHERE n = :c;
