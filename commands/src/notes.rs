//! Note commands.

use omnistream_domain::conversation::Conversation;
use omnistream_domain::note::{Editor, Note, NoteAdded, NoteCommand};
use omnistream_domain::DomainError;
use uuid::Uuid;

use crate::{CommandBus, CommandContext, CommandError, Executed};

/// Writes a note on an existing conversation of the tenant.
pub async fn add(
    bus: &CommandBus,
    ctx: &CommandContext,
    conversation_id: Uuid,
    author_agent_id: Option<Uuid>,
    content: String,
) -> Result<Executed, CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("notes belong to an organization".into()))?;
    bus.load::<Conversation>(ctx.scope, &conversation_id.to_string())
        .await?
        .require_exists()?;
    let note_id = Uuid::now_v7();
    let command = NoteCommand::Add(NoteAdded {
        note_id,
        tenant_id,
        conversation_id,
        author_agent_id,
        content,
    });
    bus.create::<Note>(ctx, note_id, command).await
}

/// Edits a note (its author, or a supervisor).
pub async fn edit(
    bus: &CommandBus,
    ctx: &CommandContext,
    note_id: Uuid,
    editor: Editor,
    content: String,
) -> Result<Executed, CommandError> {
    bus.execute::<Note>(ctx, note_id, NoteCommand::Edit { editor, content })
        .await
}

/// Deletes a note (its author, or a supervisor).
pub async fn delete(
    bus: &CommandBus,
    ctx: &CommandContext,
    note_id: Uuid,
    editor: Editor,
) -> Result<Executed, CommandError> {
    bus.execute::<Note>(ctx, note_id, NoteCommand::Delete { editor }).await
}
