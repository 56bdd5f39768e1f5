DROP TABLE user_absences;
DROP TABLE user_capacities;
DROP TABLE assignments;
DROP TABLE assignment_cursors;
DROP TABLE assignment_rules;
DROP TABLE territories;
DROP INDEX leads_product_idx;
DROP INDEX leads_owner_status_idx;
-- SQLite cannot drop a column a foreign key names: leads.product_id stays (nullable;
-- code of the previous schema never reads it).
ALTER TABLE leads DROP COLUMN language;
