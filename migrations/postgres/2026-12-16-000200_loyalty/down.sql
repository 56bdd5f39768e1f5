DROP TABLE loyalty_entries;
