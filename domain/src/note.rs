//! The note aggregate: an internal note on a conversation, never sent to the customer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// Longest note.
pub const MAX_NOTE_CHARS: usize = 10_000;

fn content(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid("content", "must not be empty"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(DomainError::invalid(
            "content",
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Event: a note was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoteAdded {
    /// The note's id.
    pub note_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The author.
    pub author_agent_id: Option<Uuid>,
    /// The text.
    pub content: String,
}

/// Event: a note was edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoteEdited {
    /// The new text.
    pub content: String,
}

/// Event: a note was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoteDeleted {}

/// The events of a note stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum NoteEvent {
    /// See [`NoteAdded`].
    NoteAdded(NoteAdded),
    /// See [`NoteEdited`].
    NoteEdited(NoteEdited),
    /// See [`NoteDeleted`].
    NoteDeleted(NoteDeleted),
}

impl DomainEvent for NoteEvent {
    fn event_type(&self) -> &'static str {
        match self {
            NoteEvent::NoteAdded(_) => "NoteAdded",
            NoteEvent::NoteEdited(_) => "NoteEdited",
            NoteEvent::NoteDeleted(_) => "NoteDeleted",
        }
    }
}

/// Who asks to change a note: its author may, and so may whoever supervises.
#[derive(Debug, Clone, Copy)]
pub struct Editor {
    /// The agent asking.
    pub agent_id: Option<Uuid>,
    /// Whether they may change anybody's notes.
    pub supervises: bool,
}

/// What can be asked of a note.
#[derive(Debug, Clone)]
pub enum NoteCommand {
    /// Write it.
    Add(NoteAdded),
    /// Edit it.
    Edit {
        /// Who asks.
        editor: Editor,
        /// The new text.
        content: String,
    },
    /// Delete it.
    Delete {
        /// Who asks.
        editor: Editor,
    },
}

/// A note's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Note {
    /// The conversation.
    pub conversation_id: Uuid,
    /// The author.
    pub author_agent_id: Option<Uuid>,
    /// The text.
    pub content: String,
    /// Written and not deleted.
    pub active: bool,
    /// Written once.
    pub created: bool,
}

impl Note {
    fn check_editor(&self, editor: Editor) -> Result<(), DomainError> {
        if editor.supervises || (editor.agent_id.is_some() && editor.agent_id == self.author_agent_id) {
            Ok(())
        } else {
            Err(DomainError::Rule(
                "only the note's author or a supervisor may change it".into(),
            ))
        }
    }
}

impl Aggregate for Note {
    type Command = NoteCommand;
    type Event = NoteEvent;
    const STREAM_PREFIX: &'static str = "note";
    const NAME: &'static str = "note";

    fn decide(&self, command: NoteCommand) -> Result<Vec<NoteEvent>, DomainError> {
        match command {
            NoteCommand::Add(_) if self.created => Err(DomainError::AlreadyExists("note exists".into())),
            NoteCommand::Add(added) => Ok(vec![NoteEvent::NoteAdded(NoteAdded {
                content: content(&added.content)?,
                ..added
            })]),
            _ if !self.active => Err(DomainError::NotFound("note")),
            NoteCommand::Edit { editor, content: text } => {
                self.check_editor(editor)?;
                let text = content(&text)?;
                if text == self.content {
                    return Ok(vec![]);
                }
                Ok(vec![NoteEvent::NoteEdited(NoteEdited { content: text })])
            }
            NoteCommand::Delete { editor } => {
                self.check_editor(editor)?;
                Ok(vec![NoteEvent::NoteDeleted(NoteDeleted {})])
            }
        }
    }

    fn apply(mut self, event: &NoteEvent) -> Self {
        match event {
            NoteEvent::NoteAdded(e) => {
                self.conversation_id = e.conversation_id;
                self.author_agent_id = e.author_agent_id;
                self.content = e.content.clone();
                self.active = true;
                self.created = true;
            }
            NoteEvent::NoteEdited(e) => self.content = e.content.clone(),
            NoteEvent::NoteDeleted(_) => self.active = false,
        }
        self
    }

    fn exists(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    #[test]
    fn only_the_author_or_a_supervisor_edits() {
        let author = Uuid::from_u128(1);
        let added = NoteEvent::NoteAdded(NoteAdded {
            note_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            conversation_id: Uuid::nil(),
            author_agent_id: Some(author),
            content: "called back".into(),
        });
        let edit = |agent_id, supervises| NoteCommand::Edit {
            editor: Editor { agent_id, supervises },
            content: "called back twice".into(),
        };
        assert!(given::<Note>(std::slice::from_ref(&added))
            .when(edit(Some(author), false))
            .is_ok());
        assert!(given::<Note>(std::slice::from_ref(&added))
            .when(edit(Some(Uuid::from_u128(2)), true))
            .is_ok());
        assert!(matches!(
            given::<Note>(&[added]).when(edit(Some(Uuid::from_u128(2)), false)),
            Err(DomainError::Rule(_))
        ));
    }
}
