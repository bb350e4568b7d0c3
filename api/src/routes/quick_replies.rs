//! Quick Replies tag: canned answers with variables, personal or shared.

use chrono::{DateTime, Utc};
use omnistream_commands::quick_replies as reply_commands;
use omnistream_domain::quick_reply::VARIABLES;
use omnistream_domain::Permission;
use omnistream_projections::inbox::quick_replies::{self as reply_queries, QuickReplyRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{ApiTags, DeleteResponse};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// A canned answer. `{{contact.name}}`, `{{contact.phone}}`, `{{contact.email}}`,
/// `{{agent.name}}` and `{{conversation.id}}` are rendered when it is sent.
#[derive(Debug, Clone, Object)]
pub struct QuickReply {
    /// Id.
    pub id: Uuid,
    /// What agents type, unique in the organization.
    pub shortcut: String,
    /// The text with variables.
    pub content: String,
    /// Whether only its owner sees it.
    pub personal: bool,
    /// The owner of a personal reply.
    #[oai(skip_serializing_if_is_none)]
    pub owner_agent_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl From<QuickReplyRow> for QuickReply {
    fn from(row: QuickReplyRow) -> Self {
        Self {
            id: row.id,
            shortcut: row.shortcut,
            content: row.content,
            personal: row.owner_agent_id.is_some(),
            owner_agent_id: row.owner_agent_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A new quick reply.
#[derive(Debug, Clone, Object)]
pub struct CreateQuickReply {
    /// Shortcut: 1-50 letters, digits, `-` or `_`.
    pub shortcut: String,
    /// Text (1-4096 characters) with known variables only.
    pub content: String,
    /// Personal (only you see it) or shared with the organization (needs
    /// `quick_replies.manage`). Default: personal.
    pub personal: Option<bool>,
}

/// Changes to a quick reply; absent fields stay.
#[derive(Debug, Clone, Object)]
pub struct UpdateQuickReply {
    /// New shortcut.
    pub shortcut: Option<String>,
    /// New content.
    pub content: Option<String>,
}

/// A quick reply written by a command.
#[derive(ApiResponse)]
pub enum QuickReplyWritten {
    /// Created.
    #[oai(status = 201)]
    Created(Json<QuickReply>, #[oai(header = "X-Event-Position")] Option<i64>),
    /// Changed.
    #[oai(status = 200)]
    Ok(Json<QuickReply>, #[oai(header = "X-Event-Position")] Option<i64>),
}

/// Quick-reply operations.
pub struct QuickRepliesApi;

impl QuickRepliesApi {
    /// A reply the caller may change: its own personal ones, shared ones with the permission.
    async fn changeable(
        state: &AppState,
        principal: &Principal,
        id: Uuid,
        position: Option<i64>,
    ) -> ApiResult<QuickReply> {
        wait_for_position(state, "inbox", position).await?;
        let reply = reply_queries::get(&state.pool, principal.scope()?, id)
            .await?
            .ok_or_else(|| ApiError::not_found("quick reply"))?;
        match reply.owner_agent_id {
            Some(owner) if Some(owner) != principal.agent_id() => Err(ApiError::not_found("quick reply")),
            None => {
                principal.require(Permission::QuickRepliesManage)?;
                Ok(reply.into())
            }
            Some(_) => Ok(reply.into()),
        }
    }
}

#[OpenApi(prefix_path = "/api/quick-replies", tag = "ApiTags::QuickReplies")]
impl QuickRepliesApi {
    /// The shared replies and your personal ones, by shortcut (needs `messages.send`).
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Shortcut or content contains this.
        search: Query<Option<String>>,
    ) -> ApiResult<Json<Vec<QuickReply>>> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        let rows = reply_queries::usable_by(
            &state.pool,
            principal.scope()?,
            principal.agent_id(),
            search.0.as_deref(),
        )
        .await?;
        Ok(Json(rows.into_iter().map(QuickReply::from).collect()))
    }

    /// Creates a quick reply: personal (needs `messages.send`) or shared (needs `quick_replies.manage`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateQuickReply>,
    ) -> ApiResult<QuickReplyWritten> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        let body = body.0;
        let owner = if body.personal.unwrap_or(true) {
            Some(
                principal
                    .agent_id()
                    .ok_or_else(|| ApiError::validation("personal", "only agents own personal quick replies"))?,
            )
        } else {
            principal.require(Permission::QuickRepliesManage)?;
            None
        };
        let ctx = principal.command_context()?;
        let executed = reply_commands::create(&state.bus, &ctx, body.shortcut, body.content, owner).await?;
        let reply = Self::changeable(state.0, principal, executed.id, executed.position).await?;
        Ok(QuickReplyWritten::Created(Json(reply), executed.position))
    }

    /// Reads a quick reply you may use (needs `messages.send`).
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<QuickReply>> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        let reply = reply_queries::get(&state.pool, principal.scope()?, id.0)
            .await?
            .filter(|r| r.owner_agent_id.is_none() || r.owner_agent_id == principal.agent_id())
            .ok_or_else(|| ApiError::not_found("quick reply"))?;
        Ok(Json(reply.into()))
    }

    /// Changes a quick reply: your own, or a shared one with `quick_replies.manage`.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateQuickReply>,
    ) -> ApiResult<QuickReplyWritten> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        Self::changeable(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = reply_commands::update(&state.bus, &ctx, id.0, body.0.shortcut, body.0.content).await?;
        let reply = Self::changeable(state.0, principal, id.0, executed.position).await?;
        Ok(QuickReplyWritten::Ok(Json(reply), executed.position))
    }

    /// Deletes a quick reply: your own, or a shared one with `quick_replies.manage`.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        Self::changeable(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = reply_commands::delete(&state.bus, &ctx, id.0).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }

    /// The variables quick replies may use (needs `messages.send`).
    #[oai(path = "/variables", method = "get")]
    async fn variables(&self, auth: Auth) -> ApiResult<Json<Vec<String>>> {
        auth.principal().require(Permission::MessagesSend)?;
        Ok(Json(VARIABLES.iter().map(|v| format!("{{{{{v}}}}}")).collect()))
    }
}
