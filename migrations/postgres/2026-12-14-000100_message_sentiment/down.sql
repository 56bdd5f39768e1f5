ALTER TABLE messages DROP COLUMN sentiment_label;
ALTER TABLE messages DROP COLUMN sentiment_score;
