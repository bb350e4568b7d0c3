//! Transfers tag: moving a conversation to another agent or division, and the history.

use chrono::{DateTime, Utc};
use omnistream_commands::conversations as conversation_commands;
use omnistream_domain::Permission;
use omnistream_projections::inbox::transfers::{self as transfer_queries, TransferFilter, TransferRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::conversations::ConversationWritten;
use super::{page_request, paginated, visibility, ApiTags};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// Moves a conversation to an agent and/or a division, with a reason.
#[derive(Debug, Clone, Object)]
pub struct TransferConversationRequest {
    /// The agent to take it (absent or null: unassigned).
    pub agent_id: Option<Uuid>,
    /// The division to take it (absent: the current one).
    pub division_id: Option<Uuid>,
    /// Why (at most 500 characters).
    pub reason: Option<String>,
}

/// A transfer in a conversation's history.
#[derive(Debug, Clone, Object)]
pub struct ConversationTransfer {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Agent before.
    #[oai(skip_serializing_if_is_none)]
    pub from_agent_id: Option<Uuid>,
    /// Agent after.
    #[oai(skip_serializing_if_is_none)]
    pub to_agent_id: Option<Uuid>,
    /// Division before.
    #[oai(skip_serializing_if_is_none)]
    pub from_division_id: Option<Uuid>,
    /// Division after.
    #[oai(skip_serializing_if_is_none)]
    pub to_division_id: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// Who moved it.
    #[oai(skip_serializing_if_is_none)]
    pub transferred_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<TransferRow> for ConversationTransfer {
    fn from(row: TransferRow) -> Self {
        Self {
            id: row.id,
            conversation_id: row.conversation_id,
            from_agent_id: row.from_agent_id,
            to_agent_id: row.to_agent_id,
            from_division_id: row.from_division_id,
            to_division_id: row.to_division_id,
            reason: row.reason,
            transferred_by: row.actor_id,
            created_at: row.created_at,
        }
    }
}

paginated!(
    /// A page of transfers, newest first.
    TransferList,
    ConversationTransfer
);

/// Transfer operations.
pub struct TransfersApi;

#[OpenApi(tag = "ApiTags::Transfers")]
impl TransfersApi {
    /// Transfers a conversation (needs `conversations.manage`).
    #[oai(path = "/api/conversations/:id/transfer", method = "post")]
    async fn transfer(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<TransferConversationRequest>,
    ) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let body = body.0;
        let ctx = principal.command_context()?;
        let executed = conversation_commands::transfer(
            &state.bus,
            &ctx,
            id.0,
            body.agent_id,
            body.division_id,
            body.reason.unwrap_or_default(),
        )
        .await?;
        super::consistency::wait_for_position(state.0, "inbox", executed.position).await?;
        let row = omnistream_projections::inbox::conversation_queries::get(
            &state.pool,
            principal.scope()?,
            &omnistream_projections::inbox::conversation_queries::Visibility::All,
            id.0,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
        Ok(ConversationWritten::Ok(
            Json(super::conversations::rendered(state.0, principal, row).await?),
            executed.version,
            executed.position,
        ))
    }

    /// A conversation's transfers, newest first (needs `transfers.view`).
    #[oai(path = "/api/conversations/:id/transfers", method = "get")]
    async fn of_conversation(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<TransferList>> {
        let principal = auth.principal().require(Permission::TransfersView)?;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let filter = TransferFilter {
            conversation_id: Some(id.0),
            ..TransferFilter::default()
        };
        let request = page_request(Some(1), Some(200), None)?;
        let page = transfer_queries::list(&state.pool, principal.scope()?, &filter, &request).await?;
        Ok(Json(TransferList::from_page(page, ConversationTransfer::from)))
    }

    /// The organization's transfers, newest first, filtered (needs `transfers.view`).
    #[oai(path = "/api/transfers", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// From or to this agent.
        agent_id: Query<Option<Uuid>>,
        /// From or to this division.
        division_id: Query<Option<Uuid>>,
        /// At or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<TransferList>> {
        let scope = auth.principal().require(Permission::TransfersView)?.scope()?;
        let request = page_request(page.0, per_page.0, cursor.0)?;
        if let (Some(from), Some(to)) = (from.0, to.0) {
            if from >= to {
                return Err(ApiError::validation("from", "from must be before to"));
            }
        }
        let filter = TransferFilter {
            conversation_id: None,
            agent_id: agent_id.0,
            division_id: division_id.0,
            from: from.0,
            to: to.0,
        };
        let page = transfer_queries::list(&state.pool, scope, &filter, &request).await?;
        Ok(Json(TransferList::from_page(page, ConversationTransfer::from)))
    }
}
