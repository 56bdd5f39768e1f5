//! The OpenAPI document (P-3), assembled from each route module's `#[derive(OpenApi)]`
//! and completed by [`Conventions`], which adds what every operation shares: security
//! schemes and the problem responses of the platform's conventions, and by [`links::Links`],
//! which links each created record to the operations that take its id.

mod links;

use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemFieldError};
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Peyvand CRM API",
        version = "1.0.0",
        description = "Smart CRM backend: customers, sales, service, marketing and analytics.\n\n\
            Conventions: errors are RFC 9457 `application/problem+json` with a stable `code`; \
            lists use cursor pagination (`limit`, `cursor`; response `data`, `next_cursor`, `has_more`); \
            `PATCH` takes JSON Merge Patch (RFC 7396); single resources carry an `ETag`, and \
            `If-Match` on `PATCH`/`DELETE` answers 412 when stale; a write that loses a race with \
            another one answers 409 `concurrent_update` with `Retry-After`; `POST` accepts an \
            `Idempotency-Key`; every response has `X-Request-Id` and `RateLimit-*` headers; \
            texts are localised by `Accept-Language` (`fa`, `en`). `docs/API-CONVENTIONS.md` \
            explains each of these once; the operations below name the ones they use.\n\n\
            Each operation says which permission it needs (e.g. `records:write`, `crm:configure`; \
            a role holds a fixed set and an API key its scopes), whether the caller's record \
            visibility applies, what it changes and records in the audit log, and the problem \
            `code`s it answers besides the shared ones. Request examples are complete requests \
            the server accepts; ids in them stand for records of your own.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/", description = "This server")),
    // The order in which the reference presents the areas: signing in, then the people
    // and keys that act, the customers and what describes them, bulk data in and out,
    // configuration, background work, the audit log and running the service.
    tags(
        (name = "auth", description = "Log in with e-mail and password, keep a session alive with its \
            refresh token, and log out. Access tokens are sent as `Authorization: Bearer <token>`; \
            see *Authentication* in `docs/API-CONVENTIONS.md`."),
        (name = "users", description = "The people who use the CRM: accounts, roles (`admin`, `manager`, \
            `sales`, `support`, `marketing`, `analyst`, `partner`, `read_only`) and record visibility \
            (`own`, `team`, `all`). Admins manage accounts (`users:manage`); everyone may read and \
            change parts of their own."),
        (name = "teams", description = "Teams group users; `team` visibility opens the records owned by a \
            user's team mates. Admins manage teams (`users:manage`); roles with `teams:read` see them."),
        (name = "api_keys", description = "Keys for integrations, sent as `Authorization: Bearer <key>` or \
            `X-Api-Key: <key>`. A \
            key acts for the user who created it, limited to the scopes (permissions) it was given; \
            its secret is shown only once."),
        (name = "customers", description = "People and organizations the business serves: create, change, \
            search and delete them, their notes, personnel links and consents, the 360-degree view, \
            duplicates and merges, and data-subject requests (personal-data export, erasure). Every \
            operation applies the caller's record visibility: a customer outside it answers 404, \
            as if it did not exist. Text search and phone numbers are Persian-aware."),
        (name = "tags", description = "Free labels the business defines (`crm:configure`) and puts on \
            customers in bulk (`records:write`)."),
        (name = "customer_groups", description = "Customer groups (segments such as wholesale buyers) the \
            business defines (`crm:configure`) and assigns to customers in bulk (`records:write`)."),
        (name = "tiers", description = "Ranked customer tiers (gold, silver…; rank 1 is the highest) the \
            business defines (`crm:configure`) and assigns to customers in bulk (`records:write`); \
            a customer has at most one tier."),
        (name = "custom_fields", description = "Extra customer fields the business defines \
            (`crm:configure`); their values travel in a customer's `custom_fields` and are \
            searched as `custom.<key>`."),
        (name = "imports", description = "Bulk creation and update of customers (`records:import`) \
            and of products (also `crm:configure`) from CSV or XLSX spreadsheets, all or nothing, \
            with a per-row report; Persian digits and Jalali dates are read."),
        (name = "exports", description = "Customers or orders a search finds, written to CSV, XLSX or \
            JSON by a background job and downloaded when it is done; dates optionally on the Jalali \
            calendar."),
        (name = "settings", description = "The business settings: time zone, weekend, holidays and \
            currency display, which decide what \"today\", relative periods and business days mean; \
            and the lifecycle rules that move customers between stages as they buy or stop buying."),
        (name = "products", description = "The product catalogue: products with SKU, names, unit price \
            and cost in integer minor units, and a category tree. Everyone reads it \
            (`records:read`); `crm:configure` changes it."),
        (name = "orders", description = "Customers' purchases: orders with lines priced by the server, \
            their status, returns and refunds. An order is visible exactly when its customer is; \
            paid orders make the customer's purchase facts and drive the lifecycle rules."),
        (name = "leads", description = "People and companies who may become customers: contacts \
            normalised as customers', source and campaign, status from `new` to `qualified` or \
            `disqualified`, Persian-aware search, and conversion into customers in one transaction \
            with the duplicate check. Visible by owner and team, as customers."),
        (name = "assignment", description = "Who new records go to: ordered assignment rules \
            (a filter-tree condition and a user, a team by round robin or least load, or a \
            territory by city and province), territories, and users' capacities and \
            out-of-office periods. Every assignment is recorded with its rule and reason."),
        (name = "pipelines", description = "The sales process: pipelines of ordered stages, each with \
            a win probability, ending in `won` and `lost`; the reasons deals are lost; and a \
            pipeline's board of open deals by stage. Everyone reads them (`records:read`); \
            `crm:configure` changes them. A default pipeline comes with the installation."),
        (name = "deals", description = "Sales being worked on: a customer, an owner and team, a stage \
            of a pipeline, an amount or product lines, an expected close date; their stage history \
            and time per stage, and whether they are stuck. A deal is visible by its owner and \
            team under the caller's record visibility."),
        (name = "quotes", description = "Priced proposals for a deal: product lines with discounts and \
            tax priced by the server, a number per Jalali year without gaps, a validity date, \
            statuses from `draft` to `accepted` (which may place the order) or `rejected`. A quote is \
            visible exactly when its deal is."),
        (name = "tasks", description = "Work to do — calls, meetings, e-mails, follow-ups, to-dos — \
            on a customer, a lead or a deal (or none), assigned to a user, due at an instant read \
            and shown in the business time zone, with reminders and completion. Visible to the \
            assignee, the assignee's team and whoever may see the task's record."),
        (name = "activities", description = "Calls, meetings, e-mails and visits that happened, \
            logged against a customer, a lead or a deal: a deal's last activity and a lead's \
            `contacted` status follow them. Visible as tasks are."),
        (name = "tickets", description = "The service desk: customers' requests with their \
            conversation (customer messages, agent replies, internal notes with mentions), \
            status history and SLA — due times for first response, next response and \
            resolution counted in business time, stopped while waiting for the customer, \
            breaches recorded once, and tickets nobody picks up handed to another available \
            agent. Ticket categories and SLA policies are the business's configuration \
            (`crm:configure`). A ticket is visible by its owner and team, as a customer. \
            A resolved ticket's customer gets a satisfaction survey link, opened and \
            answered without an account (`/surveys/{token}`)."),
        (name = "notifications", description = "Each user's own inbox: assignments, task \
            reminders and other notices linking to their record, with unread counts."),
        (name = "follow_up_rules", description = "Automatic follow-ups the business configures \
            (`crm:configure`): a task when a deal enters a stage, reminders when an assigned lead \
            is not contacted in time, in business hours or days of the business calendar."),
        (name = "segments", description = "Customer segments (`records:write`; deleting needs \
            `crm:configure`): dynamic ones hold everyone meeting a condition in the customer \
            search's filter tree, recomputed by a job periodically and on request; static ones \
            hold the customers added by hand. Current members and the history of who entered \
            and left when, each member shown only to those who may see the customer; every \
            entry and exit is also a `segment.entered` or `segment.left` event."),
        (name = "events", description = "Behavioural events (`events:write`, the scope of an \
            app's or a device's API key): page views, app use, device readings, each about a \
            customer named by id, e-mail, phone or code, sent one at a time or a thousand at \
            once and stored once per event id. Each event name has a definition (`crm:configure`) \
            with an optional property schema and its weight in the customer's engagement score \
            (a weighted count halved every 30 days), which the customer search and segments \
            filter on (`engagement_score`, `event.<name>.count`, `event.<name>.last_at`)."),
        (name = "loyalty", description = "Loyalty points: an append-only ledger per customer. \
            Points are earned in lots that expire (365 days by default); redeeming \
            (`records:write`), taking away (`crm:configure`) and expiring take from the lot \
            that expires first. The balance is derived from the lots, never stored, and two \
            redemptions at the same moment take turns so that it never goes below zero."),
        (name = "workflows", description = "Workflow automation (`crm:configure`): a trigger (an \
            outbox event such as `order.placed`, a behavioural event, a birthday or anniversary \
            on the Jalali calendar, a cron schedule in the business time zone), a condition in the customer filter tree and steps (tag, \
            change a field, give points, create a task, send a message, call a webhook, wait, branch). Definitions keep every \
            version and a run keeps its own; each run has a step log, an occurrence runs a \
            workflow once, loops are cut, and a dry run shows what would happen to a customer."),
        (name = "offers", description = "Next best offers for a customer (`records:read`): the \
            products the latest cross-sell run recommends, less those bought since and those no \
            longer sold, ranked by expected value (P(alive) × the rule's confidence × the margin), \
            each with its reasons, and the channels the customer gave marketing consent on."),
        (name = "price_experiments", description = "A/B tests of a product's price \
            (`crm:configure`): 2 to 10 price points, one the control, tried on every customer or \
            on a segment's members. A shop asks for the price to show a customer (`events:write`) \
            and gets the customer's variant, the same on every call; purchases of the product \
            after that exposure are its conversions. Results per variant with 95 % intervals, \
            z- and Welch tests against the control, the probability to beat it, and a decision \
            that waits for the minimum sample and corrects for several variants."),
        (name = "campaigns", description = "Marketing campaigns: a message to a segment's \
            members through a channel account, sent only to those who consented to marketing \
            on the channel, with tracked links and an e-mail open pixel; cost entries, a budget \
            and a goal; results with reach, delivery, opens, clicks, replies, conversions and \
            revenue (orders naming the campaign's code, or a recipient's within the attribution \
            window), cost per acquisition and ROI. The acquisition cost report (CAC, CLV:CAC, \
            payback) is under reports."),
        (name = "canned_answers", description = "The service desk's library of question-and-answer \
            templates (`records:write`; deleting needs `crm:configure`): answers in Persian and \
            English with variables such as `{{customer.name}}`, rendered for use with their uses \
            counted, and suggested for a customer's text by Persian-aware similarity."),
        (name = "message_templates", description = "Texts the business starts conversations \
            with (`records:write`; deleting needs `crm:configure`): Persian and English Jinja \
            templates with the customer's facts and the `jalali`, `fa_digits` and `toman` filters, \
            checked when saved, previewed for a customer and sent with `POST /conversations`."),
        (name = "feedback", description = "Feedback in one place: survey answers, ticket \
            satisfaction answers, reviews and customers' messages, ticket messages and notes \
            marked as feedback, each with the sentiment of its words and whether it is \
            negative (which reopens the ticket or makes a follow-up task, by the business's \
            policy). Surveys (`records:write`; deleting needs `crm:configure`) ask NPS, CSAT, \
            CES, rating, text, SERVQUAL and expectation-factor questions in Persian and \
            English; invitations are token links, sent through a channel or handed out, \
            answered once without an account (`/survey-links/{token}`)."),
        (name = "channels", description = "Channel accounts (`crm:configure`): the Telegram bots, \
            WhatsApp Business numbers, Instagram accounts and SMS lines customers write to. \
            Provider credentials are write-only and sealed at rest; each account has a webhook \
            URL to give the provider. The webhooks themselves are called by the providers and \
            checked by each provider's own scheme (secret token, HMAC signature, secret URL)."),
        (name = "webhooks", description = "Outgoing webhooks and the change feed \
            (`crm:configure`): an endpoint subscribes to event types (customer, order, deal, \
            ticket, segment and feedback events) and receives each as a POST signed per the \
            Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, \
            `webhook-signature`), retried with exponential back-off, every attempt logged, \
            replayable; a subscription whose deliveries keep failing switches itself off. The \
            same events, in the order they were committed, are the change feed \
            `GET /changes`."),
        (name = "widget", description = "The web chat widget on the business's own site: a \
            visitor starts a chat, writes and reads the answers, with no account; the site key \
            in the path names the `web_chat` channel account, whose listed origins alone may \
            call (CORS), and the token a chat starts with (`Peyvand-Visitor-Token`) reads that \
            chat only. Rate-limited per visitor and per client address."),
        (name = "conversations", description = "Messages customers sent and were sent on every \
            channel, threaded per sender and channel account, each linked to the customer or \
            lead the sender was recognised as (by e-mail, phone in any Iranian format, or \
            messenger id). Seen through that customer or lead."),
        (name = "analytics", description = "Model runs over the purchase history — RFM segments, \
            BG/NBD and Gamma-Gamma CLV with P(alive), clusters, churn risk, cross-sell rules and \
            price elasticity — queued as jobs, with their fitted parameters \
            and quality checks; a succeeded run's scores are on every customer it covers (the \
            customer's `scores`, searchable as `score.*`). Starting runs needs `analytics:run`."),
        (name = "reports", description = "Sales and key figures per day, week, month, quarter or year \
            of the Jalali or Gregorian calendar in the business time zone, summed by the database \
            over the customers the caller can see (`records:read`)."),
        (name = "jobs", description = "Background work (imports, exports, duplicate scans, audit \
            verification): status, progress, result and errors, and cancellation. See *Long-running \
            work: jobs* in `docs/API-CONVENTIONS.md`."),
        (name = "audit", description = "The tamper-evident audit log of every change, readable by admins \
            (`audit:read`), and verification of its hash chain."),
        (name = "partners", description = "Partners (suppliers, distributors, agencies) and \
            their users (`users:manage`); records shared with a partner by hand (read or write, \
            optionally until a date) or by share rule (`crm:configure`). A partner's users see \
            what they own and what is shared with their partner, and nothing else."),
        (name = "retention", description = "Retention rules for personal data \
            (`privacy:manage`): per kind of data, how many days it is kept before a daily job \
            deletes or anonymises it; a dry run that counts what would go, and a run on demand."),
        (name = "operations", description = "Liveness and readiness probes for load balancers and \
            orchestrators; no authentication.")
    ),
    components(schemas(Problem, ProblemFieldError))
)]
struct ApiDoc;

/// The complete document served at `/api/v1/openapi.json` and committed as
/// `openapi/v1.json`.
pub fn document() -> OpenApiDoc {
    let mut doc = ApiDoc::openapi();
    for part in routes::openapi_parts() {
        doc.merge(part);
    }
    Conventions.modify(&mut doc);
    links::Links.modify(&mut doc);
    doc
}

/// Adds the security schemes and, to every operation, the problem responses that the
/// shared mechanisms can produce for it.
struct Conventions;

const PUBLIC_OPERATIONS: &[&str] = &["login", "refresh_token", "get_health", "get_readiness"];

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "API key of an integration; sent as `X-Api-Key: pvk_...`",
            ))),
        );
        // `Customer` extends `CustomerInput` (allOf). A closed input schema would make
        // every customer response invalid, so it stays open in the document; the server
        // still refuses unknown members of a request with 422.
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(input))) =
            components.schemas.get_mut("CustomerInput")
        {
            input.additional_properties = None;
        }
        for item in doc.paths.paths.values_mut() {
            for (method, operation) in [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ] {
                if let Some(operation) = operation {
                    add_convention_responses(method, operation);
                }
            }
        }
    }
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn add_convention_responses(method: HttpMethod, operation: &mut Operation) {
    let public = operation
        .operation_id
        .as_deref()
        .is_some_and(|id| PUBLIC_OPERATIONS.contains(&id));
    let has_path_params = operation.parameters.as_ref().is_some_and(|params| {
        params
            .iter()
            .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path)
    });
    let has_query_params = operation.parameters.as_ref().is_some_and(|params| {
        params
            .iter()
            .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
    });
    let has_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    };
    add(
        "400",
        "Malformed request: bad JSON, wrong parameter types, bad cursor or filter",
    );
    if !public {
        add("401", "Missing, expired or invalid credentials");
        add(
            "403",
            "The principal's role or scopes do not allow this operation",
        );
    }
    if has_path_params {
        add("404", "No such record, or not visible to the principal");
    }
    if has_body {
        add("413", "Request body larger than the configured limit");
        add("415", "Request body is not `application/json`");
        add(
            "422",
            "Validation failed; `errors` names each field and rule",
        );
    }
    if has_query_params {
        add(
            "422",
            "A query parameter is out of range; `errors` names it",
        );
    }
    let has_if_match = operation.parameters.as_ref().is_some_and(|params| {
        params.iter().any(|p| {
            p.parameter_in == utoipa::openapi::path::ParameterIn::Header && p.name == "If-Match"
        })
    });
    if has_if_match || (matches!(method, HttpMethod::Patch | HttpMethod::Delete) && has_path_params)
    {
        add("412", "`If-Match` does not match the record's current ETag");
    }
    if matches!(
        method,
        HttpMethod::Patch | HttpMethod::Put | HttpMethod::Delete
    ) {
        add(
            "409",
            "`concurrent_update`: another request changed the same records at the same moment; \
             nothing was written, retry after `Retry-After`",
        );
    }
    if method == HttpMethod::Post {
        add(
            "409",
            "Conflict with existing data, a request with the same Idempotency-Key in progress, \
             or `concurrent_update`: another request changed the same records at the same \
             moment (retry after `Retry-After`)",
        );
        add(
            "422",
            "Validation failed, or Idempotency-Key reused with a different body",
        );
    }
    add("429", "Rate limit exceeded; see `Retry-After`");
    add("500", "Unexpected server error");
    if !public && operation.security.is_none() {
        operation.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("api_key", Vec::<String>::new()),
        ]);
    }
}
