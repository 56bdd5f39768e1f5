DROP TABLE customer_event_stats;
DROP TABLE behavioural_events;
DROP TABLE event_definitions;
