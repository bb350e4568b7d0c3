//! WhatsApp message templates: the only messages WhatsApp lets a business send outside the
//! customer-service window. A template belongs to a WhatsApp account, is reviewed by Meta
//! (pending, approved, rejected), and is sent with one value per body placeholder.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// What a template is for, as Meta categorises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    /// Promotions and offers.
    Marketing,
    /// Updates on an order or account.
    Utility,
    /// One-time passwords.
    Authentication,
}

impl TemplateCategory {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateCategory::Marketing => "marketing",
            TemplateCategory::Utility => "utility",
            TemplateCategory::Authentication => "authentication",
        }
    }
}

/// Where Meta's review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    /// Submitted, not reviewed yet.
    Pending,
    /// May be sent.
    Approved,
    /// May not be sent.
    Rejected,
}

impl TemplateStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateStatus::Pending => "pending",
            TemplateStatus::Approved => "approved",
            TemplateStatus::Rejected => "rejected",
        }
    }
}

/// A template's parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateComponents {
    /// A header text (no placeholders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The body, with placeholders `{{1}}`, `{{2}}`, ... numbered from 1 without gaps.
    pub body: String,
    /// A footer text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// Quick-reply button labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
}

/// Longest template body, as Meta allows it.
pub const MAX_BODY_CHARS: usize = 1024;
/// Longest value of one placeholder.
pub const MAX_PARAMETER_CHARS: usize = 1024;

/// The placeholders of a body, checked to run from 1 without gaps: their count.
pub fn placeholders(body: &str) -> Result<usize, DomainError> {
    let mut numbers = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| DomainError::invalid("components.body", "a placeholder is not closed with }}"))?;
        let number: usize = after[..end]
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid("components.body", "placeholders are numbers: {{1}}, {{2}}, ..."))?;
        numbers.push(number);
        rest = &after[end + 2..];
    }
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.iter().enumerate().any(|(i, n)| *n != i + 1) {
        return Err(DomainError::invalid(
            "components.body",
            "placeholders must be numbered from {{1}} without gaps",
        ));
    }
    Ok(numbers.len())
}

/// The body with each placeholder replaced by its value.
pub fn render(body: &str, parameters: &[String]) -> String {
    let mut text = body.to_owned();
    for (i, value) in parameters.iter().enumerate() {
        text = text.replace(&format!("{{{{{}}}}}", i + 1), value);
    }
    text
}

/// Event: a template was submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaTemplateCreated {
    /// Its id.
    pub template_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The WhatsApp account it belongs to.
    pub account_id: Uuid,
    /// Its name (lower case, digits, underscores).
    pub name: String,
    /// Its language code (`en_US`, `id`).
    pub language: String,
    /// Its category.
    pub category: TemplateCategory,
    /// Its parts.
    pub components: TemplateComponents,
}

/// Event: Meta's review changed a template's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaTemplateStatusChanged {
    /// The status now.
    pub status: TemplateStatus,
    /// Meta's reason, for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Event: a template was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaTemplateDeleted {}

/// The events of a template stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum WaTemplateEvent {
    /// See [`WaTemplateCreated`].
    WaTemplateCreated(WaTemplateCreated),
    /// See [`WaTemplateStatusChanged`].
    WaTemplateStatusChanged(WaTemplateStatusChanged),
    /// See [`WaTemplateDeleted`].
    WaTemplateDeleted(WaTemplateDeleted),
}

impl DomainEvent for WaTemplateEvent {
    fn event_type(&self) -> &'static str {
        match self {
            WaTemplateEvent::WaTemplateCreated(_) => "WaTemplateCreated",
            WaTemplateEvent::WaTemplateStatusChanged(_) => "WaTemplateStatusChanged",
            WaTemplateEvent::WaTemplateDeleted(_) => "WaTemplateDeleted",
        }
    }
}

/// What can be asked of a template.
#[derive(Debug, Clone)]
pub enum WaTemplateCommand {
    /// Submit it.
    Create(WaTemplateCreated),
    /// Record Meta's review.
    SetStatus(WaTemplateStatusChanged),
    /// Delete it.
    Delete,
}

/// A template's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WaTemplate {
    /// As submitted.
    pub template: Option<WaTemplateCreated>,
    /// Its review status.
    pub status: Option<TemplateStatus>,
    /// Deleted.
    pub deleted: bool,
}

impl WaTemplate {
    /// The body rendered with `parameters`, refused unless the template is approved and the
    /// values fit its placeholders.
    pub fn render_for_sending(&self, parameters: &[String]) -> Result<String, DomainError> {
        let template = self
            .template
            .as_ref()
            .filter(|_| !self.deleted)
            .ok_or(DomainError::NotFound("template"))?;
        if self.status != Some(TemplateStatus::Approved) {
            return Err(DomainError::Rule(format!(
                "template {} is not approved by Meta yet",
                template.name
            )));
        }
        let expected = placeholders(&template.components.body)?;
        if parameters.len() != expected {
            return Err(DomainError::invalid(
                "body_parameters",
                format!(
                    "template {} takes {expected} body parameters, not {}",
                    template.name,
                    parameters.len()
                ),
            ));
        }
        if parameters
            .iter()
            .any(|p| p.trim().is_empty() || p.chars().count() > MAX_PARAMETER_CHARS)
        {
            return Err(DomainError::invalid(
                "body_parameters",
                format!("each parameter is 1-{MAX_PARAMETER_CHARS} characters"),
            ));
        }
        Ok(render(&template.components.body, parameters))
    }
}

fn check(created: &WaTemplateCreated) -> Result<(), DomainError> {
    let name_ok = !created.name.is_empty()
        && created.name.len() <= 512
        && created
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        return Err(DomainError::invalid(
            "name",
            "1-512 lower-case letters, digits or underscores, as Meta requires",
        ));
    }
    let language_ok = (2..=10).contains(&created.language.len())
        && created.language.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
    if !language_ok {
        return Err(DomainError::invalid("language", "a language code such as en_US or id"));
    }
    let c = &created.components;
    if c.body.trim().is_empty() || c.body.chars().count() > MAX_BODY_CHARS {
        return Err(DomainError::invalid(
            "components.body",
            format!("1-{MAX_BODY_CHARS} characters"),
        ));
    }
    placeholders(&c.body)?;
    for (field, text) in [("components.header", &c.header), ("components.footer", &c.footer)] {
        if text
            .as_deref()
            .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 60)
        {
            return Err(DomainError::invalid(field, "1-60 characters"));
        }
    }
    if c.header.as_deref().is_some_and(|h| h.contains("{{")) {
        return Err(DomainError::invalid(
            "components.header",
            "header placeholders are not supported",
        ));
    }
    if c.buttons.len() > 3 || c.buttons.iter().any(|b| b.trim().is_empty() || b.chars().count() > 25) {
        return Err(DomainError::invalid(
            "components.buttons",
            "at most 3 buttons of 1-25 characters",
        ));
    }
    Ok(())
}

impl Aggregate for WaTemplate {
    type Command = WaTemplateCommand;
    type Event = WaTemplateEvent;
    const STREAM_PREFIX: &'static str = "watemplate";
    const NAME: &'static str = "template";

    fn decide(&self, command: WaTemplateCommand) -> Result<Vec<WaTemplateEvent>, DomainError> {
        match command {
            WaTemplateCommand::Create(_) if self.template.is_some() => {
                Err(DomainError::AlreadyExists("template exists".into()))
            }
            WaTemplateCommand::Create(created) => {
                check(&created)?;
                Ok(vec![WaTemplateEvent::WaTemplateCreated(created)])
            }
            _ if !self.exists() => Err(DomainError::NotFound("template")),
            WaTemplateCommand::SetStatus(change) => {
                if change.reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
                    return Err(DomainError::invalid("reason", "at most 500 characters"));
                }
                if Some(change.status) == self.status {
                    return Ok(vec![]);
                }
                Ok(vec![WaTemplateEvent::WaTemplateStatusChanged(change)])
            }
            WaTemplateCommand::Delete => Ok(vec![WaTemplateEvent::WaTemplateDeleted(WaTemplateDeleted {})]),
        }
    }

    fn apply(mut self, event: &WaTemplateEvent) -> Self {
        match event {
            WaTemplateEvent::WaTemplateCreated(created) => {
                self.template = Some(created.clone());
                self.status = Some(TemplateStatus::Pending);
            }
            WaTemplateEvent::WaTemplateStatusChanged(change) => self.status = Some(change.status),
            WaTemplateEvent::WaTemplateDeleted(_) => self.deleted = true,
        }
        self
    }

    fn exists(&self) -> bool {
        self.template.is_some() && !self.deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn created(body: &str) -> WaTemplateCreated {
        WaTemplateCreated {
            template_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            account_id: Uuid::nil(),
            name: "order_update".into(),
            language: "en_US".into(),
            category: TemplateCategory::Utility,
            components: TemplateComponents {
                body: body.into(),
                ..TemplateComponents::default()
            },
        }
    }

    #[test]
    fn placeholders_run_from_one_without_gaps() {
        assert_eq!(placeholders("Hi {{1}}, order {{2}} ships {{2}}"), Ok(2));
        assert_eq!(placeholders("no parameters"), Ok(0));
        assert!(placeholders("Hi {{2}}").is_err());
        assert!(placeholders("Hi {{name}}").is_err());
        assert!(placeholders("Hi {{1").is_err());
        assert_eq!(
            render("Hi {{1}}, order {{2}}", &["Budi".into(), "42".into()]),
            "Hi Budi, order 42"
        );
    }

    #[test]
    fn only_an_approved_template_is_sent_with_its_exact_parameters() {
        let history = [WaTemplateEvent::WaTemplateCreated(created(
            "Hi {{1}}, order {{2}} shipped",
        ))];
        let pending = WaTemplate::replay(&history);
        assert!(matches!(
            pending.render_for_sending(&["a".into(), "b".into()]),
            Err(DomainError::Rule(_))
        ));
        let approved = pending.apply(&WaTemplateEvent::WaTemplateStatusChanged(WaTemplateStatusChanged {
            status: TemplateStatus::Approved,
            reason: None,
        }));
        assert!(approved.render_for_sending(&["a".into()]).is_err());
        assert!(approved.render_for_sending(&["a".into(), " ".into()]).is_err());
        assert_eq!(
            approved.render_for_sending(&["Budi".into(), "42".into()]).unwrap(),
            "Hi Budi, order 42 shipped"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        let mut bad_name = created("x");
        bad_name.name = "Order Update".into();
        assert!(given::<WaTemplate>(&[])
            .when(WaTemplateCommand::Create(bad_name))
            .is_err());
        assert!(given::<WaTemplate>(&[])
            .when(WaTemplateCommand::Create(created("Hi {{3}}")))
            .is_err());
        assert!(given::<WaTemplate>(&[])
            .when(WaTemplateCommand::Create(created("")))
            .is_err());
    }
}
