//! What a ticket search, an SLA policy's condition or an assignment rule for tickets may
//! name: the ticket catalogue and the ticket custom fields.

use domain::customers::{CustomFieldDefinition, CustomFieldEntity};
use domain::filter::FieldSpec;
use domain::service::tickets::CATALOGUE;
use persistence::db::DbConnection;

use crate::administration::custom_fields;
use crate::error::AppResult;
use crate::search::custom_field_specs;

/// The ticket custom fields, which ticket writes are checked against and searches and
/// SLA policies may name.
pub fn definitions(conn: &mut DbConnection) -> AppResult<Vec<CustomFieldDefinition>> {
    custom_fields::definitions(conn, CustomFieldEntity::Ticket)
}

/// The ticket search catalogue with `custom.<key>` for each ticket custom field.
pub fn catalogue(conn: &mut DbConnection) -> AppResult<Vec<FieldSpec>> {
    let definitions = definitions(conn)?;
    let mut catalogue = CATALOGUE.to_vec();
    catalogue.extend(custom_field_specs(&definitions));
    Ok(catalogue)
}
