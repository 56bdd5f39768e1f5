DROP INDEX leads_province_created_idx;
DROP INDEX leads_status_created_idx;
CREATE INDEX leads_status_idx ON leads (status, id);
