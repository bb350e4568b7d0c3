//! The OpenAPI operations, one module per tag, and the shapes they share.

pub mod activity_logs;
pub mod agents;
pub mod analytics;
pub mod api_keys;
pub mod auth;
pub mod chat_expiration;
pub mod consistency;
pub mod contacts;
pub mod conversations;
pub mod csat;
pub mod direct_json;
pub mod divisions;
pub mod health;
pub mod integrations;
pub mod media;
pub mod messages;
pub mod notes;
pub mod priority;
pub mod quick_replies;
pub mod roles;
pub mod sla;
pub mod stream;
pub mod transfers;
pub mod visibility;
pub mod wa_templates;
pub mod webhook_deliveries;
pub mod webhooks;
pub mod working_hours;

use poem_openapi::{Object, OpenApiService, Tags};

/// The API's tags, named as in the product reference.
#[derive(Tags)]
pub enum ApiTags {
    /// Login, logout, session and organization registration.
    Auth,
    /// Conversation management: the inbox.
    Conversations,
    /// Retrieving and sending messages.
    Messages,
    /// Contact management.
    Contacts,
    /// Agent CRUD and status management.
    Agents,
    /// Internal conversation notes.
    Notes,
    /// Canned response templates.
    #[oai(rename = "Quick Replies")]
    QuickReplies,
    /// Division (team) management (supervisor/admin).
    Divisions,
    /// Media upload and proxy.
    Media,
    /// Conversation transfer history.
    Transfers,
    /// Roles and permissions (admin only).
    Roles,
    /// API keys for programmatic access.
    #[oai(rename = "API Keys")]
    ApiKeys,
    /// The audit trail: every event, who caused it, and hash-chain verification (supervisor/admin).
    #[oai(rename = "Activity Logs")]
    ActivityLogs,
    /// Service health checks.
    Health,
    /// Channel integration settings and provider accounts.
    Integrations,
    /// Per-channel messaging window configuration.
    #[oai(rename = "Chat Expiration")]
    ChatExpiration,
    /// WhatsApp message templates.
    #[oai(rename = "WA Templates")]
    WaTemplates,
    /// Dashboard analytics (supervisor/admin).
    Analytics,
    /// Customer satisfaction surveys.
    #[oai(rename = "CSAT")]
    Csat,
    /// SLA policies and breach tracking (supervisor/admin).
    #[oai(rename = "SLA")]
    Sla,
    /// Business hours (global and per-division overrides) and the organization's time zone.
    #[oai(rename = "Working Hours")]
    WorkingHours,
    /// Inbound webhook receivers (webhook-ingestor service): authenticated by the provider's
    /// signature or secret.
    Webhooks,
}

/// The answer to a delete.
#[derive(Debug, Clone, Object)]
pub struct DeleteResponse {
    /// The deleted resource's id.
    pub id: String,
    /// Always true: the resource is gone.
    pub deleted: bool,
}

/// Declares a paginated list schema of `$item`s: the same fields for every list.
macro_rules! paginated {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, poem_openapi::Object)]
        pub struct $name {
            /// The rows of this page.
            pub data: Vec<$item>,
            /// The page number (1-based; 1 when paging by cursor).
            pub page: i64,
            /// Rows per page.
            pub per_page: i64,
            /// Rows matching the filters in all.
            pub total: i64,
            /// Pass as `cursor` to get the next page; absent on the last page.
            #[oai(skip_serializing_if_is_none)]
            pub next_cursor: Option<String>,
        }

        impl $name {
            /// Converts a read-model page.
            pub fn from_page<T>(page: omnistream_projections::page::Page<T>, convert: impl Fn(T) -> $item) -> Self {
                Self {
                    data: page.data.into_iter().map(convert).collect(),
                    page: page.page,
                    per_page: page.per_page,
                    total: page.total,
                    next_cursor: page.next_cursor,
                }
            }
        }
    };
}
pub(crate) use paginated;

/// Checks `page`/`per_page` query values.
pub fn page_request(
    page: Option<i64>,
    per_page: Option<i64>,
    cursor: Option<String>,
) -> Result<omnistream_projections::page::PageRequest, crate::error::ApiError> {
    use omnistream_projections::page::MAX_PER_PAGE;
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page < 1 {
        return Err(crate::error::ApiError::validation("page", "page must be 1 or more"));
    }
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(crate::error::ApiError::validation(
            "per_page",
            format!("per_page must be between 1 and {MAX_PER_PAGE}"),
        ));
    }
    Ok(omnistream_projections::page::PageRequest {
        page,
        per_page,
        cursor: cursor.filter(|c| !c.is_empty()),
    })
}

/// The service with every tag's operations.
pub type ApiService = OpenApiService<
    (
        health::HealthApi,
        auth::AuthApi,
        agents::AgentsApi,
        roles::RolesApi,
        api_keys::ApiKeysApi,
        activity_logs::ActivityLogsApi,
        contacts::ContactsApi,
        conversations::ConversationsApi,
        messages::MessagesApi,
        transfers::TransfersApi,
        notes::NotesApi,
        quick_replies::QuickRepliesApi,
        divisions::DivisionsApi,
        stream::StreamApi,
        media::MediaApi,
        (
            integrations::IntegrationsApi,
            wa_templates::WaTemplatesApi,
            chat_expiration::ChatExpirationApi,
            webhooks::WebhooksApi,
            webhook_deliveries::WebhookDeliveriesApi,
            sla::SlaApi,
            working_hours::WorkingHoursApi,
            csat::CsatApi,
            analytics::AnalyticsApi,
        ),
    ),
    (),
>;

/// Builds the OpenAPI service.
pub fn service() -> ApiService {
    OpenApiService::new(
        (
            health::HealthApi,
            auth::AuthApi,
            agents::AgentsApi,
            roles::RolesApi,
            api_keys::ApiKeysApi,
            activity_logs::ActivityLogsApi,
            contacts::ContactsApi,
            conversations::ConversationsApi,
            messages::MessagesApi,
            transfers::TransfersApi,
            notes::NotesApi,
            quick_replies::QuickRepliesApi,
            divisions::DivisionsApi,
            stream::StreamApi,
            media::MediaApi,
            (
                integrations::IntegrationsApi,
                wa_templates::WaTemplatesApi,
                chat_expiration::ChatExpirationApi,
                webhooks::WebhooksApi,
                webhook_deliveries::WebhookDeliveriesApi,
                sla::SlaApi,
                working_hours::WorkingHoursApi,
                csat::CsatApi,
                analytics::AnalyticsApi,
            ),
        ),
        "OmniStream CRM API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Omnichannel CRM: WhatsApp, Instagram DM and Email in one inbox. Every endpoint needs an API key \
         (`X-API-Key`) or a session token (`Authorization: Bearer`); every error is an `ErrorResponse`.",
    )
}

/// The webhook-ingestor's operations: health checks and the receivers.
pub fn ingestor_service() -> OpenApiService<(health::HealthApi, webhooks::WebhooksApi), ()> {
    OpenApiService::new(
        (health::HealthApi, webhooks::WebhooksApi),
        "OmniStream webhook-ingestor",
        env!("CARGO_PKG_VERSION"),
    )
}
