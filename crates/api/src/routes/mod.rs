//! HTTP routes, one module per resource. Each module has `configure` (registers its
//! handlers) and an `#[derive(OpenApi)]` type listing its operations.

use actix_web::web;
use utoipa::OpenApi;

pub mod activities;
pub mod analytics;
pub mod api_keys;
pub mod assignment;
pub mod audit_events;
pub mod auth;
pub mod behavioural_events;
pub mod campaigns;
pub mod canned_answers;
pub mod channel_accounts;
pub mod conversations;
pub mod custom_fields;
pub mod customers;
pub mod deals;
pub mod exports;
pub mod feedback;
pub mod feedback_surveys;
pub mod follow_up_rules;
pub mod health;
pub mod imports;
pub mod jobs;
pub mod labels;
pub mod lead_lists;
pub mod lead_scoring_rules;
pub mod leads;
pub mod loyalty;
pub mod message_templates;
pub mod metrics;
pub mod model_results;
pub mod model_run_schedules;
pub mod notifications;
pub mod offers;
pub mod orders;
pub mod partners;
pub mod pipelines;
pub mod price_experiments;
pub mod products;
pub mod quotes;
pub mod reports;
pub mod retention_rules;
pub mod segments;
pub mod settings;
pub mod sla_policies;
pub mod surveys;
pub mod tasks;
pub mod teams;
pub mod ticket_attachments;
pub mod ticket_categories;
pub mod ticket_time;
pub mod tickets;
pub mod unsubscribe;
pub mod users;
pub mod webhook_subscriptions;
pub mod webhooks;
pub mod widget;
pub mod workflows;

/// Registers every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    auth::configure(cfg);
    users::configure(cfg);
    teams::configure(cfg);
    customers::configure(cfg);
    leads::configure(cfg);
    lead_lists::configure(cfg);
    segments::configure(cfg);
    behavioural_events::configure(cfg);
    loyalty::configure(cfg);
    assignment::configure(cfg);
    lead_scoring_rules::configure(cfg);
    labels::configure(cfg);
    custom_fields::configure(cfg);
    settings::configure(cfg);
    products::configure(cfg);
    price_experiments::configure(cfg);
    campaigns::configure(cfg);
    offers::configure(cfg);
    orders::configure(cfg);
    pipelines::configure(cfg);
    deals::configure(cfg);
    quotes::configure(cfg);
    tasks::configure(cfg);
    activities::configure(cfg);
    tickets::configure(cfg);
    ticket_attachments::configure(cfg);
    ticket_time::configure(cfg);
    ticket_categories::configure(cfg);
    sla_policies::configure(cfg);
    surveys::configure(cfg);
    feedback::configure(cfg);
    feedback_surveys::configure(cfg);
    notifications::configure(cfg);
    follow_up_rules::configure(cfg);
    partners::configure(cfg);
    retention_rules::configure(cfg);
    canned_answers::configure(cfg);
    channel_accounts::configure(cfg);
    webhooks::configure(cfg);
    webhook_subscriptions::configure(cfg);
    workflows::configure(cfg);
    widget::configure(cfg);
    unsubscribe::configure(cfg);
    conversations::configure(cfg);
    message_templates::configure(cfg);
    analytics::configure(cfg);
    model_run_schedules::configure(cfg);
    reports::configure(cfg);
    model_results::configure(cfg);
    imports::configure(cfg);
    exports::configure(cfg);
    api_keys::configure(cfg);
    jobs::configure(cfg);
    audit_events::configure(cfg);
    metrics::configure(cfg);
}

/// The OpenAPI fragments of every route module.
pub fn openapi_parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        health::HealthApi::openapi(),
        auth::AuthApi::openapi(),
        users::UsersApi::openapi(),
        teams::TeamsApi::openapi(),
        customers::CustomersApi::openapi(),
        leads::LeadsApi::openapi(),
        lead_lists::LeadListsApi::openapi(),
        segments::SegmentsApi::openapi(),
        behavioural_events::BehaviouralEventsApi::openapi(),
        loyalty::LoyaltyApi::openapi(),
        workflows::WorkflowsApi::openapi(),
        assignment::AssignmentApi::openapi(),
        lead_scoring_rules::LeadScoringRulesApi::openapi(),
        labels::LabelsApi::openapi(),
        custom_fields::CustomFieldsApi::openapi(),
        settings::SettingsApi::openapi(),
        products::ProductsApi::openapi(),
        price_experiments::PriceExperimentsApi::openapi(),
        campaigns::CampaignsApi::openapi(),
        offers::OffersApi::openapi(),
        orders::OrdersApi::openapi(),
        pipelines::PipelinesApi::openapi(),
        deals::DealsApi::openapi(),
        quotes::QuotesApi::openapi(),
        tasks::TasksApi::openapi(),
        activities::ActivitiesApi::openapi(),
        tickets::TicketsApi::openapi(),
        ticket_attachments::TicketAttachmentsApi::openapi(),
        ticket_time::TicketTimeApi::openapi(),
        ticket_categories::TicketCategoriesApi::openapi(),
        sla_policies::SlaPoliciesApi::openapi(),
        surveys::SurveysApi::openapi(),
        notifications::NotificationsApi::openapi(),
        follow_up_rules::FollowUpRulesApi::openapi(),
        partners::PartnersApi::openapi(),
        retention_rules::RetentionRulesApi::openapi(),
        canned_answers::CannedAnswersApi::openapi(),
        channel_accounts::ChannelAccountsApi::openapi(),
        webhooks::WebhooksApi::openapi(),
        webhook_subscriptions::WebhookSubscriptionsApi::openapi(),
        widget::WidgetApi::openapi(),
        unsubscribe::UnsubscribeApi::openapi(),
        conversations::ConversationsApi::openapi(),
        message_templates::MessageTemplatesApi::openapi(),
        feedback::FeedbackApi::openapi(),
        feedback_surveys::FeedbackSurveysApi::openapi(),
        analytics::AnalyticsApi::openapi(),
        model_run_schedules::ModelRunSchedulesApi::openapi(),
        reports::ReportsApi::openapi(),
        model_results::ModelResultsApi::openapi(),
        imports::ImportsApi::openapi(),
        exports::ExportsApi::openapi(),
        api_keys::ApiKeysApi::openapi(),
        jobs::JobsApi::openapi(),
        audit_events::AuditEventsApi::openapi(),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Merging the fragments keeps one schema per name, so two types published under one
    /// name would leave one of them described wrongly in the document.
    #[test]
    fn no_two_route_modules_publish_different_schemas_under_one_name() {
        let mut seen: BTreeMap<String, (usize, serde_json::Value)> = BTreeMap::new();
        for (part, fragment) in super::openapi_parts().into_iter().enumerate() {
            let Some(components) = fragment.components else {
                continue;
            };
            for (name, schema) in components.schemas {
                let schema = serde_json::to_value(&schema).expect("a schema serialises");
                match seen.get(&name) {
                    Some((first, earlier)) => assert_eq!(
                        earlier, &schema,
                        "schema `{name}` differs between route fragments {first} and {part}"
                    ),
                    None => {
                        seen.insert(name, (part, schema));
                    }
                }
            }
        }
    }
}
