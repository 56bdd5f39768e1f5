DROP INDEX conversations_created_idx;
DROP INDEX messages_occurred_idx;
