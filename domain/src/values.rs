//! Validated values: `parse` is the only way in, so a held value is always valid.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A normalized (trimmed, lower-cased) e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Validates and normalizes an address.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = raw.trim().to_lowercase();
        let invalid = || DomainError::invalid("email", "must be an e-mail address like name@example.com");
        if email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok =
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1-200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Validates a name for the given field.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        if name.chars().count() > 200 {
            return Err(DomainError::invalid(field, "must be at most 200 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid(field, "must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password that meets the policy; it never leaves the process except hashed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the policy: 8 to 256 characters, not all of one kind.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let count = raw.chars().count();
        if count < 8 {
            return Err(DomainError::invalid("password", "must be at least 8 characters"));
        }
        if count > 256 {
            return Err(DomainError::invalid("password", "must be at most 256 characters"));
        }
        let has_letter = raw.chars().any(char::is_alphabetic);
        let has_other = raw.chars().any(|c| !c.is_alphabetic());
        if !(has_letter && has_other) {
            return Err(DomainError::invalid(
                "password",
                "must mix letters with digits or symbols",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The clear text, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(Email::parse(" Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("name", "  Ann ").unwrap().into_inner(), "Ann");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        assert!(Name::parse("name", "a\u{0}b").is_err());
    }

    #[test]
    fn passwords_follow_the_policy() {
        assert!(Password::parse("correct horse 1").is_ok());
        assert!(Password::parse("short1").is_err());
        assert!(Password::parse("onlyletters").is_err());
        assert!(Password::parse("1234567890").is_err());
        assert_eq!(format!("{:?}", Password::parse("secret-123").unwrap()), "Password(***)");
    }
}
