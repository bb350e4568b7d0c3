//! The contact aggregate: a customer, reachable on channels by phone, e-mail or Instagram id.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::values::{Email, Name};
use crate::{Aggregate, DomainError, DomainEvent};

/// A validated phone number in E.164 form (`+` and 8 to 15 digits).
pub fn parse_phone(raw: &str) -> Result<String, DomainError> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let valid =
        digits.starts_with('+') && (9..=16).contains(&digits.len()) && digits[1..].chars().all(|c| c.is_ascii_digit());
    if valid {
        Ok(digits)
    } else {
        Err(DomainError::invalid(
            "phone",
            "must be in international form, like +6281234567890",
        ))
    }
}

/// A validated Instagram-scoped user id (IGSID): 1-64 visible characters.
pub fn parse_instagram_id(raw: &str) -> Result<String, DomainError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(DomainError::invalid("instagram_id", "must be 1-64 visible characters"));
    }
    Ok(id.to_owned())
}

/// Tags: trimmed, lower-cased, unique, sorted; at most 50 of at most 50 characters.
pub fn parse_tags(raw: &[String]) -> Result<Vec<String>, DomainError> {
    let mut tags: Vec<String> = raw
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    if tags.len() > 50 {
        return Err(DomainError::invalid("tags", "at most 50 tags"));
    }
    if tags
        .iter()
        .any(|t| t.chars().count() > 50 || t.chars().any(char::is_control))
    {
        return Err(DomainError::invalid(
            "tags",
            "each tag is at most 50 characters, without control characters",
        ));
    }
    Ok(tags)
}

fn parse_attributes(raw: &BTreeMap<String, Value>) -> Result<BTreeMap<String, Value>, DomainError> {
    if raw.len() > 100 {
        return Err(DomainError::invalid("custom_attributes", "at most 100 attributes"));
    }
    if raw.keys().any(|k| k.trim().is_empty() || k.len() > 100) {
        return Err(DomainError::invalid("custom_attributes", "keys are 1-100 characters"));
    }
    if serde_json::to_string(raw).map_or(0, |s| s.len()) > 16 * 1024 {
        return Err(DomainError::invalid("custom_attributes", "at most 16 KiB in all"));
    }
    Ok(raw.clone())
}

/// A contact's profile as recorded in events; absent fields are unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactProfile {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone in E.164 form (WhatsApp id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Instagram-scoped user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram_id: Option<String>,
    /// Free-form attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: BTreeMap<String, Value>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl ContactProfile {
    /// Validates and normalizes every field.
    pub fn parse(self) -> Result<Self, DomainError> {
        Ok(Self {
            name: self
                .name
                .map(|n| Name::parse("name", &n).map(Name::into_inner))
                .transpose()?,
            phone: self.phone.as_deref().map(parse_phone).transpose()?,
            email: self
                .email
                .as_deref()
                .map(|e| Email::parse(e).map(|e| e.as_str().to_owned()))
                .transpose()?,
            instagram_id: self.instagram_id.as_deref().map(parse_instagram_id).transpose()?,
            custom_attributes: parse_attributes(&self.custom_attributes)?,
            tags: parse_tags(&self.tags)?,
        })
    }

    /// The channel identities: (kind, value) pairs that must be unique in the organization.
    pub fn identities(&self) -> Vec<(&'static str, String)> {
        let mut ids = Vec::new();
        if let Some(phone) = &self.phone {
            ids.push(("phone", phone.clone()));
        }
        if let Some(email) = &self.email {
            ids.push(("email", email.clone()));
        }
        if let Some(ig) = &self.instagram_id {
            ids.push(("instagram", ig.clone()));
        }
        ids
    }
}

/// Event: a contact was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactCreated {
    /// The contact's id.
    pub contact_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The profile.
    pub profile: ContactProfile,
}

/// Event: a contact's profile changed; it carries the whole new profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactUpdated {
    /// The profile after the change.
    pub profile: ContactProfile,
}

/// Event: this contact was merged into another one, which now holds its conversations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactMerged {
    /// The surviving contact.
    pub into_contact_id: Uuid,
}

/// Event: another contact was merged into this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactAbsorbed {
    /// The merged contact.
    pub from_contact_id: Uuid,
    /// The profile after the merge.
    pub profile: ContactProfile,
}

/// Event: a contact was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactDeleted {}

/// Event: a contact's personal data was erased on request (GDPR); its key is destroyed, so
/// the personal fields of every earlier event can no longer be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactErased {}

/// The events of a contact stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ContactEvent {
    /// See [`ContactCreated`].
    ContactCreated(ContactCreated),
    /// See [`ContactUpdated`].
    ContactUpdated(ContactUpdated),
    /// See [`ContactMerged`].
    ContactMerged(ContactMerged),
    /// See [`ContactAbsorbed`].
    ContactAbsorbed(ContactAbsorbed),
    /// See [`ContactDeleted`].
    ContactDeleted(ContactDeleted),
    /// See [`ContactErased`].
    ContactErased(ContactErased),
}

impl DomainEvent for ContactEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ContactEvent::ContactCreated(_) => "ContactCreated",
            ContactEvent::ContactUpdated(_) => "ContactUpdated",
            ContactEvent::ContactMerged(_) => "ContactMerged",
            ContactEvent::ContactAbsorbed(_) => "ContactAbsorbed",
            ContactEvent::ContactDeleted(_) => "ContactDeleted",
            ContactEvent::ContactErased(_) => "ContactErased",
        }
    }
}

/// What can be asked of a contact.
#[derive(Debug, Clone)]
pub enum ContactCommand {
    /// Create it.
    Create {
        /// Its id.
        contact_id: Uuid,
        /// The organization.
        tenant_id: Uuid,
        /// The profile.
        profile: ContactProfile,
    },
    /// Replace the profile (the caller merges partial changes first).
    Update {
        /// The new profile.
        profile: ContactProfile,
    },
    /// Merge this contact into another.
    MergeInto {
        /// The surviving contact.
        into_contact_id: Uuid,
    },
    /// Take in a merged contact's profile (its missing fields fill ours).
    Absorb {
        /// The merged contact.
        from_contact_id: Uuid,
        /// Its profile.
        from_profile: ContactProfile,
    },
    /// Delete it.
    Delete,
    /// Erase its personal data (also after a merge or a delete).
    Erase,
}

/// A contact's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Contact {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The profile.
    pub profile: ContactProfile,
    /// Created and neither merged nor deleted.
    pub active: bool,
    /// Merged into this contact.
    pub merged_into: Option<Uuid>,
    /// Created once (so an id is never reused).
    pub created: bool,
    /// Its personal data was erased.
    pub erased: bool,
}

impl Aggregate for Contact {
    type Command = ContactCommand;
    type Event = ContactEvent;
    const STREAM_PREFIX: &'static str = "contact";
    const NAME: &'static str = "contact";

    fn decide(&self, command: ContactCommand) -> Result<Vec<ContactEvent>, DomainError> {
        match command {
            ContactCommand::Create { .. } if self.created => Err(DomainError::AlreadyExists("contact exists".into())),
            ContactCommand::Create {
                contact_id,
                tenant_id,
                profile,
            } => Ok(vec![ContactEvent::ContactCreated(ContactCreated {
                contact_id,
                tenant_id,
                profile: profile.parse()?,
            })]),
            ContactCommand::Erase if !self.created || self.erased => Err(DomainError::NotFound("contact")),
            ContactCommand::Erase => Ok(vec![ContactEvent::ContactErased(ContactErased {})]),
            _ if !self.active => Err(DomainError::NotFound("contact")),
            ContactCommand::Update { profile } => {
                let profile = profile.parse()?;
                if profile == self.profile {
                    return Ok(vec![]);
                }
                Ok(vec![ContactEvent::ContactUpdated(ContactUpdated { profile })])
            }
            ContactCommand::MergeInto { into_contact_id } if into_contact_id == self.id => Err(DomainError::invalid(
                "into_contact_id",
                "a contact cannot be merged into itself",
            )),
            ContactCommand::MergeInto { into_contact_id } => {
                Ok(vec![ContactEvent::ContactMerged(ContactMerged { into_contact_id })])
            }
            ContactCommand::Absorb {
                from_contact_id,
                from_profile,
            } => {
                let mine = &self.profile;
                let mut attributes = from_profile.custom_attributes.clone();
                attributes.extend(mine.custom_attributes.clone());
                let mut tags = mine.tags.clone();
                tags.extend(from_profile.tags.clone());
                let profile = ContactProfile {
                    name: mine.name.clone().or(from_profile.name),
                    phone: mine.phone.clone().or(from_profile.phone),
                    email: mine.email.clone().or(from_profile.email),
                    instagram_id: mine.instagram_id.clone().or(from_profile.instagram_id),
                    custom_attributes: attributes,
                    tags: parse_tags(&tags)?,
                };
                Ok(vec![ContactEvent::ContactAbsorbed(ContactAbsorbed {
                    from_contact_id,
                    profile,
                })])
            }
            ContactCommand::Delete => Ok(vec![ContactEvent::ContactDeleted(ContactDeleted {})]),
        }
    }

    fn apply(mut self, event: &ContactEvent) -> Self {
        match event {
            ContactEvent::ContactCreated(e) => {
                self.id = e.contact_id;
                self.tenant_id = e.tenant_id;
                self.profile = e.profile.clone();
                self.active = true;
                self.created = true;
            }
            ContactEvent::ContactUpdated(e) => self.profile = e.profile.clone(),
            ContactEvent::ContactAbsorbed(e) => self.profile = e.profile.clone(),
            ContactEvent::ContactMerged(e) => {
                self.active = false;
                self.merged_into = Some(e.into_contact_id);
            }
            ContactEvent::ContactDeleted(_) => self.active = false,
            ContactEvent::ContactErased(_) => {
                self.active = false;
                self.erased = true;
                self.profile = ContactProfile::default();
            }
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

    fn created(profile: ContactProfile) -> ContactEvent {
        ContactEvent::ContactCreated(ContactCreated {
            contact_id: Uuid::from_u128(1),
            tenant_id: Uuid::nil(),
            profile,
        })
    }

    #[test]
    fn profiles_are_normalized() {
        let events = given::<Contact>(&[])
            .when(ContactCommand::Create {
                contact_id: Uuid::from_u128(1),
                tenant_id: Uuid::nil(),
                profile: ContactProfile {
                    name: Some(" Budi ".into()),
                    phone: Some("+62 812-3456-7890".into()),
                    email: Some("Budi@Example.COM".into()),
                    tags: vec!["VIP".into(), "vip".into(), " lead ".into()],
                    ..Default::default()
                },
            })
            .unwrap();
        let ContactEvent::ContactCreated(c) = &events[0] else {
            panic!()
        };
        assert_eq!(c.profile.phone.as_deref(), Some("+6281234567890"));
        assert_eq!(c.profile.email.as_deref(), Some("budi@example.com"));
        assert_eq!(c.profile.tags, vec!["lead", "vip"]);
        assert_eq!(c.profile.identities().len(), 2);
        for bad in ["0812", "+12ab", "+1234567890123456789"] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absorbing_fills_missing_fields_and_keeps_ours() {
        let history = [created(ContactProfile {
            name: Some("Budi".into()),
            tags: vec!["vip".into()],
            ..Default::default()
        })];
        let events = given::<Contact>(&history)
            .when(ContactCommand::Absorb {
                from_contact_id: Uuid::from_u128(2),
                from_profile: ContactProfile {
                    name: Some("B.".into()),
                    phone: Some("+6281234567890".into()),
                    tags: vec!["lead".into()],
                    ..Default::default()
                },
            })
            .unwrap();
        let ContactEvent::ContactAbsorbed(a) = &events[0] else {
            panic!()
        };
        assert_eq!(a.profile.name.as_deref(), Some("Budi"));
        assert_eq!(a.profile.phone.as_deref(), Some("+6281234567890"));
        assert_eq!(a.profile.tags, vec!["lead", "vip"]);
    }

    #[test]
    fn merged_contacts_take_no_more_commands() {
        let history = [
            created(ContactProfile::default()),
            ContactEvent::ContactMerged(ContactMerged {
                into_contact_id: Uuid::from_u128(2),
            }),
        ];
        let refused = given::<Contact>(&history).when(ContactCommand::Delete);
        assert_eq!(refused, Err(DomainError::NotFound("contact")));
        let into_itself = given::<Contact>(&history[..1]).when(ContactCommand::MergeInto {
            into_contact_id: Uuid::from_u128(1),
        });
        assert!(into_itself.is_err());
    }
}
