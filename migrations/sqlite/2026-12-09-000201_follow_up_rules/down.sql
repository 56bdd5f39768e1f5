DROP TABLE follow_up_rules;
