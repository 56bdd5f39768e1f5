-- The sentiment of an inbound message (F-2), scored when it is stored: a score in (-1, 1)
-- and its label. NULL on outbound messages and on those stored before scoring began.
ALTER TABLE messages ADD COLUMN sentiment_score REAL;
ALTER TABLE messages ADD COLUMN sentiment_label TEXT;
