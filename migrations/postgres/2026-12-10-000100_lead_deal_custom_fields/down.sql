DROP INDEX custom_field_definitions_entity_key_key;
CREATE UNIQUE INDEX custom_field_definitions_field_key_key ON custom_field_definitions (field_key);
ALTER TABLE deals DROP COLUMN custom_fields;
ALTER TABLE leads DROP COLUMN custom_fields;
