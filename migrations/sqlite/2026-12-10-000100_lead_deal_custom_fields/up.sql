-- Leads and deals carry the values of their entity's custom fields, checked against
-- the definitions by every write. A key is now unique per entity, not across all of
-- them: a lead field and a customer field may share a key, which is how a lead's value
-- is carried over to the customer it is converted into.
ALTER TABLE leads ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
ALTER TABLE deals ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
DROP INDEX custom_field_definitions_field_key_key;
CREATE UNIQUE INDEX custom_field_definitions_entity_key_key ON custom_field_definitions (entity, field_key);
