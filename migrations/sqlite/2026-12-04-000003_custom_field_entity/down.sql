DROP INDEX custom_field_definitions_entity_idx;
ALTER TABLE custom_field_definitions DROP COLUMN entity;
