-- A custom field belongs to customers or to products. Existing definitions are the
-- customers'. Keys stay unique across both, so `custom.<key>` names one field.
ALTER TABLE custom_field_definitions ADD COLUMN entity text NOT NULL DEFAULT 'customer';
CREATE INDEX custom_field_definitions_entity_idx ON custom_field_definitions (entity, created_at, id);
