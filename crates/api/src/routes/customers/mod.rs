//! Customers (C-1..C-9, O-1): CRUD, search, the 360 overview, the interaction timeline, notes, personnel, consent and
//! privacy requests, duplicates and merges. Every handler checks the permission and
//! then the record's visibility, so a customer outside the caller's scope answers 404
//! exactly as a missing one does.

mod batch;
mod crud;
mod duplicates;
mod merge;
pub mod model;
mod notes;
mod overview;
mod personnel;
mod privacy;
mod search;
mod timeline;

use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        crud::create_customer,
        batch::create_customers_batch,
        crud::get_customer,
        crud::update_customer,
        crud::delete_customer,
        search::search_customers,
        search::list_customers,
        overview::get_customer_overview,
        timeline::get_customer_timeline,
        notes::create_note,
        notes::list_notes,
        notes::update_note,
        notes::delete_note,
        personnel::add_personnel,
        personnel::list_personnel,
        personnel::update_personnel,
        personnel::remove_personnel,
        privacy::record_consent,
        privacy::list_consents,
        privacy::get_personal_data,
        privacy::erase_customer,
        duplicates::list_customer_duplicates,
        duplicates::start_duplicate_scan,
        merge::merge_customers,
        merge::get_customer_merge,
        merge::undo_customer_merge,
    ),
    components(schemas(
        model::Customer,
        model::Scores,
        model::RfmScore,
        model::ClvScore,
        batch::CustomerBatchRequest,
        batch::CustomerBatchItem,
        batch::CustomerBatchResponse,
        domain::customers::CustomerInput,
        domain::customers::CustomerKind,
        domain::customers::Gender,
        domain::customers::EducationDegree,
        domain::customers::LifecycleStage,
        domain::customers::PhoneType,
        domain::customers::PhoneInput,
        domain::customers::EmailInput,
        domain::customers::AddressInput,
        domain::customers::NoteKind,
        domain::customers::ConsentChannel,
        domain::customers::ConsentPurpose,
        domain::customers::DuplicateReason,
        application::customers::duplicates::DuplicateCandidate,
        duplicates::DuplicateList,
        application::jobs::DuplicateScanReport,
        application::jobs::DuplicateGroup,
        application::jobs::DuplicatePair,
        merge::MergeRequest,
        merge::MergeOutcome,
        merge::MergePreview,
        merge::CustomerMerge,
        merge::MergeMoves,
        merge::MovedRecord,
        timeline::TimelineEntry,
        timeline::TimelineLink,
        domain::timeline::EntryKind,
        domain::timeline::Channel,
        domain::timeline::RecordType,
    ))
)]
pub struct CustomersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Literal paths (`search`, `batch`, `merge`, `merges`, `duplicate-scans`) before `{id}` so
    // that they win.
    cfg.service(search::search_customers)
        .service(batch::create_customers_batch)
        .service(merge::merge_customers)
        .service(merge::get_customer_merge)
        .service(merge::undo_customer_merge)
        .service(duplicates::start_duplicate_scan)
        .service(search::list_customers)
        .service(crud::create_customer)
        .service(crud::get_customer)
        .service(crud::update_customer)
        .service(crud::delete_customer)
        .service(overview::get_customer_overview)
        .service(timeline::get_customer_timeline)
        .service(notes::create_note)
        .service(notes::list_notes)
        .service(notes::update_note)
        .service(notes::delete_note)
        .service(personnel::add_personnel)
        .service(personnel::list_personnel)
        .service(personnel::update_personnel)
        .service(personnel::remove_personnel)
        .service(privacy::record_consent)
        .service(privacy::list_consents)
        .service(privacy::get_personal_data)
        .service(privacy::erase_customer)
        .service(duplicates::list_customer_duplicates);
}
