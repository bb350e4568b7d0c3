//! A conversation's priority as the API names it (SLA policies may apply by priority).

use omnistream_domain::conversation::Priority;
use poem_openapi::{Enum, Object};
use serde::Serialize;

/// How urgent a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ConversationPriority {
    /// Can wait.
    Low,
    /// The default.
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl From<ConversationPriority> for Priority {
    fn from(p: ConversationPriority) -> Self {
        match p {
            ConversationPriority::Low => Priority::Low,
            ConversationPriority::Normal => Priority::Normal,
            ConversationPriority::High => Priority::High,
            ConversationPriority::Urgent => Priority::Urgent,
        }
    }
}

impl From<Priority> for ConversationPriority {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Low => ConversationPriority::Low,
            Priority::Normal => ConversationPriority::Normal,
            Priority::High => ConversationPriority::High,
            Priority::Urgent => ConversationPriority::Urgent,
        }
    }
}

impl ConversationPriority {
    /// The priority of a stored name.
    pub fn of(stored: &str) -> Self {
        match stored {
            "low" => Self::Low,
            "high" => Self::High,
            "urgent" => Self::Urgent,
            _ => Self::Normal,
        }
    }
}

/// A conversation's new priority.
#[derive(Debug, Clone, Object)]
pub struct UpdatePriorityRequest {
    /// The priority.
    pub priority: ConversationPriority,
}
