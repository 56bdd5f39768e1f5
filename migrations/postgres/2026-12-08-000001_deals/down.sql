DROP TABLE deal_stage_history;
DROP TABLE deal_contacts;
DROP TABLE deal_lines;
DROP TABLE deals;
DROP TABLE lost_reasons;
DROP TABLE pipeline_stages;
DROP TABLE pipelines;
