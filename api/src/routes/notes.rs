//! Notes tag: internal notes on a conversation, edited and deleted by their author or a
//! supervisor.

use chrono::{DateTime, Utc};
use omnistream_commands::notes as note_commands;
use omnistream_domain::note::Editor;
use omnistream_domain::Permission;
use omnistream_projections::inbox::notes::{self as note_queries, NoteRow};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{visibility, ApiTags, DeleteResponse};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// An internal note, never sent to the customer.
#[derive(Debug, Clone, Object)]
pub struct ConversationNote {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The author.
    #[oai(skip_serializing_if_is_none)]
    pub author_agent_id: Option<Uuid>,
    /// The author's name.
    #[oai(skip_serializing_if_is_none)]
    pub author_name: Option<String>,
    /// The text.
    pub content: String,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl From<NoteRow> for ConversationNote {
    fn from(row: NoteRow) -> Self {
        Self {
            id: row.id,
            conversation_id: row.conversation_id,
            author_agent_id: row.author_agent_id,
            author_name: row.author_name,
            content: row.content,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A conversation's notes, oldest first.
#[derive(Debug, Clone, Object)]
pub struct NoteResponse {
    /// The notes.
    pub data: Vec<ConversationNote>,
}

/// A new note.
#[derive(Debug, Clone, Object)]
pub struct CreateNote {
    /// The text (1-10,000 characters).
    pub content: String,
}

/// A note's new text.
#[derive(Debug, Clone, Object)]
pub struct UpdateNote {
    /// The text (1-10,000 characters).
    pub content: String,
}

/// A note written by a command.
#[derive(ApiResponse)]
pub enum NoteWritten {
    /// Created.
    #[oai(status = 201)]
    Created(Json<ConversationNote>, #[oai(header = "X-Event-Position")] Option<i64>),
    /// Changed.
    #[oai(status = 200)]
    Ok(Json<ConversationNote>, #[oai(header = "X-Event-Position")] Option<i64>),
}

fn editor(principal: &Principal) -> Editor {
    Editor {
        agent_id: principal.agent_id(),
        // Whoever manages agents supervises their notes.
        supervises: principal.permissions.contains(&Permission::AgentsManage),
    }
}

/// Note operations.
pub struct NotesApi;

impl NotesApi {
    async fn read(
        state: &AppState,
        principal: &Principal,
        id: Uuid,
        position: Option<i64>,
    ) -> ApiResult<ConversationNote> {
        wait_for_position(state, "inbox", position).await?;
        let note = note_queries::get(&state.pool, principal.scope()?, id)
            .await?
            .ok_or_else(|| ApiError::not_found("note"))?;
        // A note is as visible as its conversation.
        visibility::conversation(state, principal, note.conversation_id, None).await?;
        Ok(note.into())
    }
}

#[OpenApi(tag = "ApiTags::Notes")]
impl NotesApi {
    /// A conversation's notes (needs `notes.manage`).
    #[oai(path = "/api/conversations/:id/notes", method = "get")]
    async fn list(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<NoteResponse>> {
        let principal = auth.principal().require(Permission::NotesManage)?;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let notes = note_queries::of_conversation(&state.pool, principal.scope()?, id.0).await?;
        Ok(Json(NoteResponse {
            data: notes.into_iter().map(ConversationNote::from).collect(),
        }))
    }

    /// Writes a note on a conversation (needs `notes.manage`).
    #[oai(path = "/api/conversations/:id/notes", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<CreateNote>,
    ) -> ApiResult<NoteWritten> {
        let principal = auth.principal().require(Permission::NotesManage)?;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = note_commands::add(&state.bus, &ctx, id.0, principal.agent_id(), body.0.content).await?;
        let note = Self::read(state.0, principal, executed.id, executed.position).await?;
        Ok(NoteWritten::Created(Json(note), executed.position))
    }

    /// Edits a note: its author, or a supervisor (needs `notes.manage`).
    #[oai(path = "/api/notes/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateNote>,
    ) -> ApiResult<NoteWritten> {
        let principal = auth.principal().require(Permission::NotesManage)?;
        Self::read(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = note_commands::edit(&state.bus, &ctx, id.0, editor(principal), body.0.content).await?;
        let note = Self::read(state.0, principal, id.0, executed.position).await?;
        Ok(NoteWritten::Ok(Json(note), executed.position))
    }

    /// Deletes a note: its author, or a supervisor (needs `notes.manage`).
    #[oai(path = "/api/notes/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::NotesManage)?;
        Self::read(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = note_commands::delete(&state.bus, &ctx, id.0, editor(principal)).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }
}
