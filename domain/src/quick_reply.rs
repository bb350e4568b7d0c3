//! The quick reply aggregate: a canned answer with variables, personal or shared.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// Variables a quick reply may use, rendered when sent.
pub const VARIABLES: &[&str] = &[
    "contact.name",
    "contact.phone",
    "contact.email",
    "agent.name",
    "conversation.id",
];

/// A validated shortcut: 1-50 characters of letters, digits, `-` and `_`, lower-cased.
pub fn parse_shortcut(raw: &str) -> Result<String, DomainError> {
    let shortcut = raw.trim().trim_start_matches('/').to_lowercase();
    let valid = (1..=50).contains(&shortcut.chars().count())
        && shortcut.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(DomainError::invalid("shortcut", "1-50 letters, digits, '-' or '_'"));
    }
    Ok(shortcut)
}

/// Checks a quick reply's content: not empty, at most 4096 characters, known variables only.
pub fn parse_content(raw: &str) -> Result<String, DomainError> {
    let content = raw.trim();
    if content.is_empty() || content.chars().count() > 4096 {
        return Err(DomainError::invalid("content", "must be 1-4096 characters"));
    }
    let mut rest = content;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            return Err(DomainError::invalid("content", "a '{{' is never closed"));
        };
        let name = rest[start + 2..start + end].trim();
        if !VARIABLES.contains(&name) {
            return Err(DomainError::invalid(
                "content",
                format!("unknown variable {{{{{name}}}}}; known: {}", VARIABLES.join(", ")),
            ));
        }
        rest = &rest[start + end + 2..];
    }
    Ok(content.to_owned())
}

/// Renders `{{variable}}` placeholders; unknown values become empty.
pub fn render(content: &str, value_of: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                let name = rest[start + 2..start + end].trim();
                out.push_str(&value_of(name).unwrap_or_default());
                rest = &rest[start + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Event: a quick reply was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuickReplyCreated {
    /// Its id.
    pub quick_reply_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The shortcut agents type.
    pub shortcut: String,
    /// The text, with variables.
    pub content: String,
    /// The owner, for a personal reply; none: shared with the organization.
    pub owner_agent_id: Option<Uuid>,
}

/// Event: a quick reply changed; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuickReplyUpdated {
    /// New shortcut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<String>,
    /// New content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// Event: a quick reply was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuickReplyDeleted {}

/// The events of a quick reply stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum QuickReplyEvent {
    /// See [`QuickReplyCreated`].
    QuickReplyCreated(QuickReplyCreated),
    /// See [`QuickReplyUpdated`].
    QuickReplyUpdated(QuickReplyUpdated),
    /// See [`QuickReplyDeleted`].
    QuickReplyDeleted(QuickReplyDeleted),
}

impl DomainEvent for QuickReplyEvent {
    fn event_type(&self) -> &'static str {
        match self {
            QuickReplyEvent::QuickReplyCreated(_) => "QuickReplyCreated",
            QuickReplyEvent::QuickReplyUpdated(_) => "QuickReplyUpdated",
            QuickReplyEvent::QuickReplyDeleted(_) => "QuickReplyDeleted",
        }
    }
}

/// What can be asked of a quick reply.
#[derive(Debug, Clone)]
pub enum QuickReplyCommand {
    /// Create it.
    Create(QuickReplyCreated),
    /// Change it.
    Update {
        /// New shortcut.
        shortcut: Option<String>,
        /// New content.
        content: Option<String>,
    },
    /// Delete it.
    Delete,
}

/// A quick reply's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QuickReply {
    /// The shortcut.
    pub shortcut: String,
    /// The content.
    pub content: String,
    /// The owner of a personal reply.
    pub owner_agent_id: Option<Uuid>,
    /// Created and not deleted.
    pub active: bool,
    /// Created once.
    pub created: bool,
}

impl Aggregate for QuickReply {
    type Command = QuickReplyCommand;
    type Event = QuickReplyEvent;
    const STREAM_PREFIX: &'static str = "quickreply";
    const NAME: &'static str = "quick reply";

    fn decide(&self, command: QuickReplyCommand) -> Result<Vec<QuickReplyEvent>, DomainError> {
        match command {
            QuickReplyCommand::Create(_) if self.created => {
                Err(DomainError::AlreadyExists("quick reply exists".into()))
            }
            QuickReplyCommand::Create(created) => Ok(vec![QuickReplyEvent::QuickReplyCreated(QuickReplyCreated {
                shortcut: parse_shortcut(&created.shortcut)?,
                content: parse_content(&created.content)?,
                ..created
            })]),
            _ if !self.active => Err(DomainError::NotFound("quick reply")),
            QuickReplyCommand::Update { shortcut, content } => {
                let update = QuickReplyUpdated {
                    shortcut: shortcut
                        .map(|s| parse_shortcut(&s))
                        .transpose()?
                        .filter(|s| *s != self.shortcut),
                    content: content
                        .map(|c| parse_content(&c))
                        .transpose()?
                        .filter(|c| *c != self.content),
                };
                if update == QuickReplyUpdated::default() {
                    return Ok(vec![]);
                }
                Ok(vec![QuickReplyEvent::QuickReplyUpdated(update)])
            }
            QuickReplyCommand::Delete => Ok(vec![QuickReplyEvent::QuickReplyDeleted(QuickReplyDeleted {})]),
        }
    }

    fn apply(mut self, event: &QuickReplyEvent) -> Self {
        match event {
            QuickReplyEvent::QuickReplyCreated(e) => {
                self.shortcut = e.shortcut.clone();
                self.content = e.content.clone();
                self.owner_agent_id = e.owner_agent_id;
                self.active = true;
                self.created = true;
            }
            QuickReplyEvent::QuickReplyUpdated(e) => {
                if let Some(s) = &e.shortcut {
                    self.shortcut = s.clone();
                }
                if let Some(c) = &e.content {
                    self.content = c.clone();
                }
            }
            QuickReplyEvent::QuickReplyDeleted(_) => self.active = false,
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

    #[test]
    fn content_variables_are_checked_and_rendered() {
        assert!(parse_content("Hi {{ contact.name }}, I am {{agent.name}}").is_ok());
        assert!(parse_content("Hi {{contact.password}}").is_err());
        assert!(parse_content("Hi {{contact.name").is_err());
        let rendered = render("Hi {{ contact.name }}, I am {{agent.name}}.", |v| match v {
            "contact.name" => Some("Budi".into()),
            _ => None,
        });
        assert_eq!(rendered, "Hi Budi, I am .");
        assert_eq!(parse_shortcut("/Greet").unwrap(), "greet");
        assert!(parse_shortcut("two words").is_err());
    }
}
