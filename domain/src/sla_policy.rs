//! SLA policies: an organization's response and resolution targets, the conditions that say
//! which conversations each applies to, and the order they are tried in. All of a tenant's
//! policies live in one stream (a policy book), so a conversation's policy is found by
//! loading one stream.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contact::parse_tags;
use crate::conversation::{Channel, Priority};
use crate::sla::AppliedSla;
use crate::values::Name;
use crate::{Aggregate, DomainError, DomainEvent};

/// Most policies per organization.
pub const MAX_POLICIES: usize = 100;
/// Longest target: a year, in minutes.
pub const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

/// Which conversations a policy applies to; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaConditions {
    /// On one of these channels.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// In one of these divisions.
    #[serde(default)]
    pub division_ids: Vec<Uuid>,
    /// Carrying at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// At one of these priorities.
    #[serde(default)]
    pub priorities: Vec<Priority>,
}

/// A policy as defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicyDefinition {
    /// The policy's id.
    pub policy_id: Uuid,
    /// Its name, unique in the organization.
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it applies to conversations.
    pub enabled: bool,
    /// The order policies are tried in (lowest first; the first that matches applies).
    pub rank: i32,
    /// Minutes to the first reply after the customer's first message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_minutes: Option<u32>,
    /// Minutes to each later reply after the customer writes again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response_minutes: Option<u32>,
    /// Minutes from start (or reopening) to resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_minutes: Option<u32>,
    /// Count working hours only (else calendar time).
    pub business_hours: bool,
    /// Minutes before a due time that a warning fires; none: no warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_minutes: Option<u32>,
    /// Which conversations it applies to.
    pub conditions: SlaConditions,
}

/// Event: a policy was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicyCreated {
    /// The organization.
    pub tenant_id: Uuid,
    /// The policy.
    pub policy: SlaPolicyDefinition,
}

/// Event: a policy changed; it carries the whole new definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicyUpdated {
    /// The organization.
    pub tenant_id: Uuid,
    /// The policy as it is now.
    pub policy: SlaPolicyDefinition,
}

/// Event: a policy was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicyDeleted {
    /// The organization.
    pub tenant_id: Uuid,
    /// The policy.
    pub policy_id: Uuid,
}

/// The events of a policy book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum SlaPolicyEvent {
    /// See [`SlaPolicyCreated`].
    SlaPolicyCreated(SlaPolicyCreated),
    /// See [`SlaPolicyUpdated`].
    SlaPolicyUpdated(SlaPolicyUpdated),
    /// See [`SlaPolicyDeleted`].
    SlaPolicyDeleted(SlaPolicyDeleted),
}

impl DomainEvent for SlaPolicyEvent {
    fn event_type(&self) -> &'static str {
        match self {
            SlaPolicyEvent::SlaPolicyCreated(_) => "SlaPolicyCreated",
            SlaPolicyEvent::SlaPolicyUpdated(_) => "SlaPolicyUpdated",
            SlaPolicyEvent::SlaPolicyDeleted(_) => "SlaPolicyDeleted",
        }
    }
}

/// What can be asked of a policy book.
#[derive(Debug, Clone)]
pub enum SlaPolicyCommand {
    /// Create a policy.
    Create {
        /// The organization.
        tenant_id: Uuid,
        /// The policy.
        policy: SlaPolicyDefinition,
    },
    /// Replace a policy's definition.
    Update {
        /// The organization.
        tenant_id: Uuid,
        /// The policy as it should be.
        policy: SlaPolicyDefinition,
    },
    /// Delete a policy.
    Delete {
        /// The organization.
        tenant_id: Uuid,
        /// The policy.
        policy_id: Uuid,
    },
}

/// An organization's policies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaPolicyBook {
    /// The live policies, in creation order.
    pub policies: Vec<SlaPolicyDefinition>,
}

/// What a conversation offers the conditions.
#[derive(Debug, Clone, Copy)]
pub struct SlaFacts<'a> {
    /// Its channel.
    pub channel: Option<Channel>,
    /// Its division.
    pub division_id: Option<Uuid>,
    /// Its tags.
    pub tags: &'a [String],
    /// Its priority.
    pub priority: Priority,
}

impl SlaConditions {
    fn matches(&self, facts: &SlaFacts<'_>) -> bool {
        (self.channels.is_empty() || facts.channel.is_some_and(|c| self.channels.contains(&c)))
            && (self.division_ids.is_empty() || facts.division_id.is_some_and(|d| self.division_ids.contains(&d)))
            && (self.tags.is_empty() || self.tags.iter().any(|t| facts.tags.contains(t)))
            && (self.priorities.is_empty() || self.priorities.contains(&facts.priority))
    }
}

impl SlaPolicyBook {
    /// The stream id of an organization's book.
    pub fn id_for(tenant_id: Uuid) -> Uuid {
        Uuid::new_v5(&tenant_id, b"sla-policies")
    }

    /// A policy by id.
    pub fn get(&self, policy_id: Uuid) -> Option<&SlaPolicyDefinition> {
        self.policies.iter().find(|p| p.policy_id == policy_id)
    }

    /// The policy a conversation falls under: the enabled policy of lowest rank whose
    /// conditions match (the older one on a tie).
    pub fn matching(&self, facts: &SlaFacts<'_>) -> Option<AppliedSla> {
        self.policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.enabled && p.conditions.matches(facts))
            .min_by_key(|(created, p)| (p.rank, *created))
            .map(|(_, p)| AppliedSla::of(p))
    }

    fn check(&self, policy: SlaPolicyDefinition) -> Result<SlaPolicyDefinition, DomainError> {
        let name = Name::parse("name", &policy.name)?.into_inner();
        if self
            .policies
            .iter()
            .any(|p| p.policy_id != policy.policy_id && p.name.eq_ignore_ascii_case(&name))
        {
            return Err(DomainError::AlreadyExists(format!("an SLA policy named {name} exists")));
        }
        let description = policy
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
            return Err(DomainError::invalid("description", "must be at most 1000 characters"));
        }
        let targets = [
            ("first_response_minutes", policy.first_response_minutes),
            ("next_response_minutes", policy.next_response_minutes),
            ("resolution_minutes", policy.resolution_minutes),
        ];
        for (field, minutes) in targets {
            if minutes.is_some_and(|m| m == 0 || m > MAX_TARGET_MINUTES) {
                return Err(DomainError::invalid(
                    field,
                    format!("must be 1-{MAX_TARGET_MINUTES} minutes"),
                ));
            }
        }
        if targets.iter().all(|(_, m)| m.is_none()) {
            return Err(DomainError::invalid(
                "first_response_minutes",
                "a policy needs at least one target",
            ));
        }
        if policy.warning_minutes.is_some_and(|w| w == 0 || w > MAX_TARGET_MINUTES) {
            return Err(DomainError::invalid(
                "warning_minutes",
                format!("must be 1-{MAX_TARGET_MINUTES} minutes"),
            ));
        }
        let mut conditions = policy.conditions;
        conditions.tags = parse_tags(&conditions.tags)?;
        for list_len in [
            conditions.channels.len(),
            conditions.division_ids.len(),
            conditions.priorities.len(),
        ] {
            if list_len > 50 {
                return Err(DomainError::invalid("conditions", "at most 50 values per condition"));
            }
        }
        conditions.channels.dedup();
        conditions.division_ids.dedup();
        conditions.priorities.dedup();
        Ok(SlaPolicyDefinition {
            name,
            description,
            conditions,
            ..policy
        })
    }
}

impl Aggregate for SlaPolicyBook {
    type Command = SlaPolicyCommand;
    type Event = SlaPolicyEvent;
    const STREAM_PREFIX: &'static str = "slapolicies";
    const NAME: &'static str = "SLA policy";

    fn decide(&self, command: SlaPolicyCommand) -> Result<Vec<SlaPolicyEvent>, DomainError> {
        match command {
            SlaPolicyCommand::Create { tenant_id, policy } => {
                if self.get(policy.policy_id).is_some() {
                    return Ok(vec![]);
                }
                if self.policies.len() >= MAX_POLICIES {
                    return Err(DomainError::Rule(format!("at most {MAX_POLICIES} SLA policies")));
                }
                let policy = self.check(policy)?;
                Ok(vec![SlaPolicyEvent::SlaPolicyCreated(SlaPolicyCreated {
                    tenant_id,
                    policy,
                })])
            }
            SlaPolicyCommand::Update { tenant_id, policy } => {
                let current = self.get(policy.policy_id).ok_or(DomainError::NotFound(Self::NAME))?;
                let policy = self.check(policy)?;
                if *current == policy {
                    return Ok(vec![]);
                }
                Ok(vec![SlaPolicyEvent::SlaPolicyUpdated(SlaPolicyUpdated {
                    tenant_id,
                    policy,
                })])
            }
            SlaPolicyCommand::Delete { tenant_id, policy_id } => {
                self.get(policy_id).ok_or(DomainError::NotFound(Self::NAME))?;
                Ok(vec![SlaPolicyEvent::SlaPolicyDeleted(SlaPolicyDeleted {
                    tenant_id,
                    policy_id,
                })])
            }
        }
    }

    fn apply(mut self, event: &SlaPolicyEvent) -> Self {
        match event {
            SlaPolicyEvent::SlaPolicyCreated(e) => self.policies.push(e.policy.clone()),
            SlaPolicyEvent::SlaPolicyUpdated(e) => {
                if let Some(policy) = self.policies.iter_mut().find(|p| p.policy_id == e.policy.policy_id) {
                    *policy = e.policy.clone();
                }
            }
            SlaPolicyEvent::SlaPolicyDeleted(e) => self.policies.retain(|p| p.policy_id != e.policy_id),
        }
        self
    }

    fn exists(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    pub(crate) fn policy(id: u128, name: &str, rank: i32, conditions: SlaConditions) -> SlaPolicyDefinition {
        SlaPolicyDefinition {
            policy_id: Uuid::from_u128(id),
            name: name.into(),
            description: None,
            enabled: true,
            rank,
            first_response_minutes: Some(30),
            next_response_minutes: None,
            resolution_minutes: Some(24 * 60),
            business_hours: false,
            warning_minutes: Some(5),
            conditions,
        }
    }

    fn create(policy: SlaPolicyDefinition) -> SlaPolicyCommand {
        SlaPolicyCommand::Create {
            tenant_id: Uuid::nil(),
            policy,
        }
    }

    fn book(policies: Vec<SlaPolicyDefinition>) -> Vec<SlaPolicyEvent> {
        policies
            .into_iter()
            .map(|policy| {
                SlaPolicyEvent::SlaPolicyCreated(SlaPolicyCreated {
                    tenant_id: Uuid::nil(),
                    policy,
                })
            })
            .collect()
    }

    #[test]
    fn the_enabled_policy_of_lowest_rank_that_matches_applies() {
        let vip = SlaConditions {
            tags: vec!["vip".into()],
            ..Default::default()
        };
        let whatsapp = SlaConditions {
            channels: vec![Channel::Whatsapp],
            ..Default::default()
        };
        let mut disabled = policy(4, "Urgent", 0, Default::default());
        disabled.enabled = false;
        let history = book(vec![
            policy(1, "Default", 100, Default::default()),
            policy(2, "VIP", 10, vip),
            policy(3, "WhatsApp", 20, whatsapp),
            disabled,
        ]);
        let book = SlaPolicyBook::replay(&history);
        let facts = |channel, tags: &'static [String]| SlaFacts {
            channel: Some(channel),
            division_id: None,
            tags,
            priority: Priority::Normal,
        };
        static VIP: [String; 0] = [];
        let tags = vec!["vip".to_owned()];
        let applied = book
            .matching(&SlaFacts {
                tags: &tags,
                ..facts(Channel::Whatsapp, &VIP)
            })
            .expect("a policy");
        assert_eq!(applied.name, "VIP");
        assert_eq!(
            book.matching(&facts(Channel::Whatsapp, &VIP)).expect("one").name,
            "WhatsApp"
        );
        assert_eq!(
            book.matching(&facts(Channel::Email, &VIP)).expect("one").name,
            "Default"
        );
    }

    #[test]
    fn policies_are_validated_and_names_unique() {
        let history = book(vec![policy(1, "Default", 1, Default::default())]);
        assert!(matches!(
            given::<SlaPolicyBook>(&history).when(create(policy(2, "default", 1, Default::default()))),
            Err(DomainError::AlreadyExists(_))
        ));
        let mut no_targets = policy(3, "Empty", 1, Default::default());
        no_targets.first_response_minutes = None;
        no_targets.resolution_minutes = None;
        assert!(matches!(
            given::<SlaPolicyBook>(&[]).when(create(no_targets)),
            Err(DomainError::Invalid { .. })
        ));
        let mut zero = policy(4, "Zero", 1, Default::default());
        zero.first_response_minutes = Some(0);
        assert!(matches!(
            given::<SlaPolicyBook>(&[]).when(create(zero)),
            Err(DomainError::Invalid {
                field: "first_response_minutes",
                ..
            })
        ));
        assert!(matches!(
            given::<SlaPolicyBook>(&history).when(SlaPolicyCommand::Delete {
                tenant_id: Uuid::nil(),
                policy_id: Uuid::from_u128(9)
            }),
            Err(DomainError::NotFound(_))
        ));
    }
}
