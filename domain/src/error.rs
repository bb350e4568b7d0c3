//! The errors a pure decision can return: business rules, never technical failures.

use thiserror::Error;

/// Why a command was refused by the domain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The aggregate does not exist (or was deleted).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The aggregate to create exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// A field's value breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault, as the API names it.
        field: &'static str,
        /// What is wrong, for a person.
        message: String,
    },
    /// The command is valid but not in the aggregate's current state.
    #[error("{0}")]
    Rule(String),
    /// A free-form message outside the channel's messaging window: only a template may go.
    #[error("the messaging window is closed: only an approved template may be sent until the customer writes again")]
    WindowClosed {
        /// When it closed (none: the customer never wrote).
        closed_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl DomainError {
    /// Shorthand for a field validation failure.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
