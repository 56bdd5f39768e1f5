-- Lead lists are read by status or by province (a territory), newest first, often
-- within a recent period: with the creation time after the key, such a page reads its
-- fifty rows in order from the index instead of sorting every lead of the status.
DROP INDEX leads_status_idx;
CREATE INDEX leads_status_created_idx ON leads (status, created_at, id);
CREATE INDEX leads_province_created_idx ON leads (province, created_at, id);
