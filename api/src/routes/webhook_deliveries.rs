//! The webhook delivery log (Integrations tag): every delivery the receivers took, as it
//! arrived, with how it was authenticated and what processing made of it. A message's events
//! name their delivery as causation id, so any message traces back to its webhook.

use chrono::{DateTime, Utc};
use omnistream_domain::Permission;
use omnistream_ingest::deliveries::{self, LoggedDelivery};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::Value;
use uuid::Uuid;

use super::ApiTags;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// Where a delivery's processing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Logged, not processed yet (or being retried).
    Pending,
    /// Every item handled.
    Processed,
    /// Given up.
    Failed,
}

impl DeliveryState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "processed" => Self::Processed,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// A provider delivery as the receivers logged it.
#[derive(Debug, Clone, Object)]
pub struct WebhookDeliveryLog {
    /// Id: the causation id of every event it led to.
    pub id: Uuid,
    /// The integration account it was routed to.
    pub account_id: Uuid,
    /// The receiver: `whatsapp`, `instagram`, `postmark` or `mailgun`.
    pub provider: String,
    /// How it was authenticated: `x-hub-signature-256`, `mailgun-signature`, `postmark-token`.
    pub verification: String,
    /// Its content type.
    pub content_type: String,
    /// The body exactly as received (UTF-8; invalid bytes replaced).
    pub body: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Processing state.
    pub state: DeliveryState,
    /// Processing attempts.
    pub attempts: i32,
    /// When processing ended.
    #[oai(skip_serializing_if_is_none)]
    pub processed_at: Option<DateTime<Utc>>,
    /// What processing did: messages, duplicates, statuses, unmatched statuses, refusals; or
    /// the error it failed with.
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<Value>,
}

impl From<LoggedDelivery> for WebhookDeliveryLog {
    fn from(row: LoggedDelivery) -> Self {
        Self {
            id: row.id,
            account_id: row.account_id,
            provider: row.provider,
            verification: row.verification,
            content_type: row.content_type,
            body: String::from_utf8_lossy(&row.body).into_owned(),
            received_at: row.received_at,
            state: DeliveryState::of(&row.state),
            attempts: row.attempts,
            processed_at: row.processed_at,
            outcome: row.outcome,
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone, Object)]
pub struct WebhookDeliveryPage {
    /// The deliveries.
    pub data: Vec<WebhookDeliveryLog>,
    /// Pass as `before` for the next (older) page; absent on the last.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<Uuid>,
}

/// Delivery-log operations.
pub struct WebhookDeliveriesApi;

#[OpenApi(prefix_path = "/api/webhook-deliveries", tag = "ApiTags::Integrations")]
impl WebhookDeliveriesApi {
    /// The organization's logged webhook deliveries, newest first (needs `integrations.manage`).
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only this account's.
        account_id: Query<Option<Uuid>>,
        /// Only in this state.
        #[oai(name = "state")]
        delivery_state: Query<Option<DeliveryState>>,
        /// Deliveries older than this one (the previous page's `next_cursor`).
        before: Query<Option<Uuid>>,
        /// How many (1-200, default 50).
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<WebhookDeliveryPage>> {
        let principal = auth.principal().require(Permission::IntegrationsManage)?;
        let limit = limit.0.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::validation("limit", "limit must be between 1 and 200"));
        }
        let tenant = principal.scope()?.tenant_id();
        let state_name = delivery_state.0.map(DeliveryState::as_str);
        let mut rows = deliveries::list(&state.pool, tenant, account_id.0, state_name, before.0, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
        Ok(Json(WebhookDeliveryPage {
            data: rows.into_iter().map(WebhookDeliveryLog::from).collect(),
            next_cursor,
        }))
    }

    /// One logged delivery (needs `integrations.manage`).
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<WebhookDeliveryLog>> {
        let principal = auth.principal().require(Permission::IntegrationsManage)?;
        let tenant = principal.scope()?.tenant_id();
        let row = deliveries::get(&state.pool, tenant, id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
        Ok(Json(row.into()))
    }
}
