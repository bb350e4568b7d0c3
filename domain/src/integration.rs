//! Channel integrations: per channel type whether it is enabled and how it behaves
//! ([`Integration`]), and the provider accounts messages arrive on and leave from
//! ([`IntegrationAccount`]): a WhatsApp phone number, an Instagram account, an e-mail inbox.
//!
//! Secrets (access tokens, app secrets, verify tokens) are sealed before they reach a
//! command: events carry the ciphertext and the last four characters, never the clear text.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::conversation::Channel;
use crate::values::{Email, Name};
use crate::{Aggregate, DomainError, DomainEvent};

/// A secret sealed with the instance's secrets key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SealedSecret {
    /// Nonce and ciphertext, base64.
    pub sealed: String,
    /// The last four characters of the clear text, to recognise it by.
    pub last4: String,
}

/// The most settings keys an integration may hold.
pub const MAX_SETTINGS: usize = 50;

/// Event: a channel's integration was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationConfigured {
    /// The organization.
    pub tenant_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// Whether the channel takes and sends messages.
    pub enabled: bool,
    /// The division new conversations of this channel start in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_division_id: Option<Uuid>,
    /// Free-form settings.
    #[serde(default)]
    pub settings: BTreeMap<String, Value>,
}

/// The events of an integration stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum IntegrationEvent {
    /// See [`IntegrationConfigured`].
    IntegrationConfigured(IntegrationConfigured),
}

impl DomainEvent for IntegrationEvent {
    fn event_type(&self) -> &'static str {
        match self {
            IntegrationEvent::IntegrationConfigured(_) => "IntegrationConfigured",
        }
    }
}

/// What can be asked of an integration: configure it (create or replace).
#[derive(Debug, Clone)]
pub struct ConfigureIntegration(pub IntegrationConfigured);

/// A channel's integration.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Integration {
    /// Its configuration, once configured.
    pub config: Option<IntegrationConfigured>,
}

impl Integration {
    /// The stream id of a tenant's integration of a channel.
    pub fn id_for(tenant_id: Uuid, channel: Channel) -> Uuid {
        Uuid::new_v5(&tenant_id, format!("integration:{}", channel.as_str()).as_bytes())
    }
}

fn check_settings(settings: &BTreeMap<String, Value>) -> Result<(), DomainError> {
    if settings.len() > MAX_SETTINGS {
        return Err(DomainError::invalid("settings", format!("at most {MAX_SETTINGS} keys")));
    }
    if let Some(key) = settings.keys().find(|k| k.is_empty() || k.chars().count() > 100) {
        return Err(DomainError::invalid(
            "settings",
            format!("key {key:?} must be 1-100 characters"),
        ));
    }
    let size = serde_json::to_string(settings).map_or(usize::MAX, |s| s.len());
    if size > 16 * 1024 {
        return Err(DomainError::invalid("settings", "must be at most 16 KiB as JSON"));
    }
    Ok(())
}

impl Aggregate for Integration {
    type Command = ConfigureIntegration;
    type Event = IntegrationEvent;
    const STREAM_PREFIX: &'static str = "integration";
    const NAME: &'static str = "integration";

    fn decide(&self, ConfigureIntegration(config): ConfigureIntegration) -> Result<Vec<IntegrationEvent>, DomainError> {
        if config.channel == Channel::Api {
            return Err(DomainError::invalid("channel", "the api channel needs no integration"));
        }
        check_settings(&config.settings)?;
        if self.config.as_ref() == Some(&config) {
            return Ok(vec![]);
        }
        Ok(vec![IntegrationEvent::IntegrationConfigured(config)])
    }

    fn apply(mut self, event: &IntegrationEvent) -> Self {
        match event {
            IntegrationEvent::IntegrationConfigured(config) => self.config = Some(config.clone()),
        }
        self
    }

    fn exists(&self) -> bool {
        self.config.is_some()
    }
}

/// Who carries an account's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Meta (WhatsApp Cloud API, Instagram Messaging).
    Meta,
    /// Postmark inbound e-mail.
    Postmark,
    /// Mailgun routes.
    Mailgun,
    /// SendGrid Inbound Parse.
    Sendgrid,
}

impl Provider {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Meta => "meta",
            Provider::Postmark => "postmark",
            Provider::Mailgun => "mailgun",
            Provider::Sendgrid => "sendgrid",
        }
    }
}

/// An account's sealed secrets; which are required depends on the channel and provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountSecrets {
    /// The token outbound calls authenticate with (Graph API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<SealedSecret>,
    /// What inbound deliveries are signed or authenticated with: Meta's app secret,
    /// Mailgun's signing key, Postmark's inbound token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<SealedSecret>,
    /// The token Meta's verification request must present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<SealedSecret>,
}

impl AccountSecrets {
    /// These secrets with every secret `changes` holds put in place.
    fn merged(&self, changes: &AccountSecrets) -> AccountSecrets {
        AccountSecrets {
            access_token: changes.access_token.clone().or_else(|| self.access_token.clone()),
            app_secret: changes.app_secret.clone().or_else(|| self.app_secret.clone()),
            verify_token: changes.verify_token.clone().or_else(|| self.verify_token.clone()),
        }
    }
}

/// How a provider account is known to the provider: the values deliveries are routed by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountAddress {
    /// WhatsApp: the phone number id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// WhatsApp: the business account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_business_account_id: Option<String>,
    /// WhatsApp: the number as shown to customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// Instagram: the professional account's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram_account_id: Option<String>,
    /// E-mail: the inbox address (lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
}

impl AccountAddress {
    /// The value deliveries are routed by, unique across OmniStream: (kind, value).
    pub fn routing_key(&self, channel: Channel) -> Option<(&'static str, &str)> {
        match channel {
            Channel::Whatsapp => self.phone_number_id.as_deref().map(|v| ("whatsapp-phone-number", v)),
            Channel::Instagram => self.instagram_account_id.as_deref().map(|v| ("instagram-account", v)),
            Channel::Email => self.email_address.as_deref().map(|v| ("email-inbox", v)),
            Channel::Api => None,
        }
    }
}

/// Event: a provider account was connected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationAccountCreated {
    /// Its id.
    pub account_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// The provider.
    pub provider: Provider,
    /// A name for people.
    pub name: String,
    /// The provider's identifiers.
    pub address: AccountAddress,
    /// The sealed secrets.
    pub secrets: AccountSecrets,
    /// A keyed digest of the verify token, to find the account by the token Meta presents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token_digest: Option<String>,
    /// Whether it takes and sends messages.
    pub enabled: bool,
    /// The division its new conversations start in (else the integration's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
}

/// Event: an account changed; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationAccountUpdated {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Enabled or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The division now (`Some(None)`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Option<Uuid>>,
    /// New display phone number or business account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AccountAddress>,
    /// Secrets replaced (only those present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<AccountSecrets>,
    /// The new verify token's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token_digest: Option<String>,
}

/// Event: an account was disconnected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationAccountDeleted {}

/// The events of an integration-account stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum IntegrationAccountEvent {
    /// See [`IntegrationAccountCreated`].
    IntegrationAccountCreated(IntegrationAccountCreated),
    /// See [`IntegrationAccountUpdated`].
    IntegrationAccountUpdated(IntegrationAccountUpdated),
    /// See [`IntegrationAccountDeleted`].
    IntegrationAccountDeleted(IntegrationAccountDeleted),
}

impl DomainEvent for IntegrationAccountEvent {
    fn event_type(&self) -> &'static str {
        match self {
            IntegrationAccountEvent::IntegrationAccountCreated(_) => "IntegrationAccountCreated",
            IntegrationAccountEvent::IntegrationAccountUpdated(_) => "IntegrationAccountUpdated",
            IntegrationAccountEvent::IntegrationAccountDeleted(_) => "IntegrationAccountDeleted",
        }
    }
}

/// What can be asked of an integration account.
#[derive(Debug, Clone)]
pub enum IntegrationAccountCommand {
    /// Connect it.
    Create(IntegrationAccountCreated),
    /// Change it.
    Update(IntegrationAccountUpdated),
    /// Disconnect it.
    Delete,
}

/// An integration account's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntegrationAccount {
    /// As created, with every update folded in.
    pub account: Option<IntegrationAccountCreated>,
    /// Deleted.
    pub deleted: bool,
}

fn required<'a>(field: &'static str, value: &'a Option<String>) -> Result<&'a str, DomainError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| DomainError::invalid(field, "is required for this channel"))
}

fn identifier(field: &'static str, value: &Option<String>) -> Result<(), DomainError> {
    match value.as_deref() {
        Some(v) if v.is_empty() || v.len() > 100 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Err(DomainError::invalid(
                field,
                "must be 1-100 letters, digits or underscores, as the provider shows it",
            ))
        }
        _ => Ok(()),
    }
}

impl IntegrationAccountCreated {
    fn check(&self) -> Result<(), DomainError> {
        Name::parse("name", &self.name)?;
        let a = &self.address;
        identifier("phone_number_id", &a.phone_number_id)?;
        identifier("whatsapp_business_account_id", &a.whatsapp_business_account_id)?;
        identifier("instagram_account_id", &a.instagram_account_id)?;
        let s = &self.secrets;
        let need = |field: &'static str, secret: &Option<SealedSecret>| {
            if secret.is_none() {
                return Err(DomainError::invalid(field, "is required for this channel"));
            }
            Ok(())
        };
        match (self.channel, self.provider) {
            (Channel::Whatsapp, Provider::Meta) => {
                required("phone_number_id", &a.phone_number_id)?;
            }
            (Channel::Instagram, Provider::Meta) => {
                required("instagram_account_id", &a.instagram_account_id)?;
            }
            (Channel::Email, Provider::Postmark | Provider::Mailgun | Provider::Sendgrid) => {
                let address = required("email_address", &a.email_address)?;
                if Email::parse(address).ok().as_ref().map(Email::as_str) != Some(address) {
                    return Err(DomainError::invalid(
                        "email_address",
                        "must be a lower-case e-mail address like support@example.com",
                    ));
                }
            }
            (Channel::Api, _) => return Err(DomainError::invalid("channel", "the api channel needs no account")),
            (channel, provider) => {
                return Err(DomainError::invalid(
                    "provider",
                    format!("{} does not carry {}", provider.as_str(), channel.as_str()),
                ))
            }
        }
        if self.provider == Provider::Meta {
            need("access_token", &s.access_token)?;
            need("verify_token", &s.verify_token)?;
        }
        need("app_secret", &s.app_secret)
    }
}

impl Aggregate for IntegrationAccount {
    type Command = IntegrationAccountCommand;
    type Event = IntegrationAccountEvent;
    const STREAM_PREFIX: &'static str = "integrationaccount";
    const NAME: &'static str = "integration account";

    fn decide(&self, command: IntegrationAccountCommand) -> Result<Vec<IntegrationAccountEvent>, DomainError> {
        use IntegrationAccountCommand as C;
        use IntegrationAccountEvent as E;
        match (command, &self.account) {
            (C::Create(_), Some(_)) => Err(DomainError::AlreadyExists("integration account exists".into())),
            (C::Create(created), None) => {
                created.check()?;
                Ok(vec![E::IntegrationAccountCreated(created)])
            }
            (_, None) => Err(DomainError::NotFound("integration account")),
            (_, Some(_)) if self.deleted => Err(DomainError::NotFound("integration account")),
            (C::Update(update), Some(current)) => {
                let mut changed = IntegrationAccountUpdated {
                    name: update.name.filter(|n| *n != current.name),
                    enabled: update.enabled.filter(|e| *e != current.enabled),
                    division_id: update.division_id.filter(|d| *d != current.division_id),
                    address: update.address.filter(|a| *a != current.address),
                    secrets: update.secrets.filter(|s| current.secrets.merged(s) != current.secrets),
                    verify_token_digest: update
                        .verify_token_digest
                        .filter(|d| Some(d) != current.verify_token_digest.as_ref()),
                };
                if let Some(name) = &changed.name {
                    changed.name = Some(Name::parse("name", name)?.into_inner());
                }
                if let Some(address) = &changed.address {
                    if address.routing_key(current.channel) != current.address.routing_key(current.channel) {
                        return Err(DomainError::invalid(
                            "address",
                            "the routing identifier cannot change: connect a new account instead",
                        ));
                    }
                    identifier("whatsapp_business_account_id", &address.whatsapp_business_account_id)?;
                }
                if changed == IntegrationAccountUpdated::default() {
                    return Ok(vec![]);
                }
                Ok(vec![E::IntegrationAccountUpdated(changed)])
            }
            (C::Delete, Some(_)) => Ok(vec![E::IntegrationAccountDeleted(IntegrationAccountDeleted {})]),
        }
    }

    fn apply(mut self, event: &IntegrationAccountEvent) -> Self {
        match event {
            IntegrationAccountEvent::IntegrationAccountCreated(e) => self.account = Some(e.clone()),
            IntegrationAccountEvent::IntegrationAccountUpdated(u) => {
                if let Some(account) = self.account.as_mut() {
                    if let Some(name) = &u.name {
                        account.name = name.clone();
                    }
                    if let Some(enabled) = u.enabled {
                        account.enabled = enabled;
                    }
                    if let Some(division_id) = u.division_id {
                        account.division_id = division_id;
                    }
                    if let Some(address) = &u.address {
                        account.address = address.clone();
                    }
                    if let Some(secrets) = &u.secrets {
                        account.secrets = account.secrets.merged(secrets);
                    }
                    if let Some(digest) = &u.verify_token_digest {
                        account.verify_token_digest = Some(digest.clone());
                    }
                }
            }
            IntegrationAccountEvent::IntegrationAccountDeleted(_) => self.deleted = true,
        }
        self
    }

    fn exists(&self) -> bool {
        self.account.is_some() && !self.deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn sealed(last4: &str) -> Option<SealedSecret> {
        Some(SealedSecret {
            sealed: format!("sealed-{last4}"),
            last4: last4.into(),
        })
    }

    fn whatsapp() -> IntegrationAccountCreated {
        IntegrationAccountCreated {
            account_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            channel: Channel::Whatsapp,
            provider: Provider::Meta,
            name: "Support line".into(),
            address: AccountAddress {
                phone_number_id: Some("106540352242922".into()),
                ..AccountAddress::default()
            },
            secrets: AccountSecrets {
                access_token: sealed("tokn"),
                app_secret: sealed("secr"),
                verify_token: sealed("vrfy"),
            },
            verify_token_digest: Some("digest".into()),
            enabled: true,
            division_id: None,
        }
    }

    #[test]
    fn an_account_needs_its_channels_identifier_and_secrets() {
        let mut missing = whatsapp();
        missing.address.phone_number_id = None;
        let err = given::<IntegrationAccount>(&[])
            .when(IntegrationAccountCommand::Create(missing))
            .unwrap_err();
        assert!(err.to_string().contains("phone_number_id"), "{err}");

        let mut no_token = whatsapp();
        no_token.secrets.verify_token = None;
        let err = given::<IntegrationAccount>(&[])
            .when(IntegrationAccountCommand::Create(no_token))
            .unwrap_err();
        assert!(err.to_string().contains("verify_token"), "{err}");

        let mut wrong = whatsapp();
        wrong.provider = Provider::Mailgun;
        assert!(given::<IntegrationAccount>(&[])
            .when(IntegrationAccountCommand::Create(wrong))
            .is_err());

        let mut odd = whatsapp();
        odd.address.phone_number_id = Some("1065 4035".into());
        assert!(given::<IntegrationAccount>(&[])
            .when(IntegrationAccountCommand::Create(odd))
            .is_err());
    }

    #[test]
    fn an_update_records_only_what_changes_and_keeps_the_routing_identifier() {
        let created = IntegrationAccountEvent::IntegrationAccountCreated(whatsapp());
        let same = IntegrationAccountUpdated {
            name: Some("Support line".into()),
            secrets: Some(AccountSecrets {
                access_token: sealed("tokn"),
                ..AccountSecrets::default()
            }),
            ..IntegrationAccountUpdated::default()
        };
        assert_eq!(
            given::<IntegrationAccount>(std::slice::from_ref(&created))
                .when(IntegrationAccountCommand::Update(same))
                .unwrap(),
            vec![]
        );
        let rotate = IntegrationAccountUpdated {
            secrets: Some(AccountSecrets {
                access_token: sealed("new1"),
                ..AccountSecrets::default()
            }),
            ..IntegrationAccountUpdated::default()
        };
        let events = given::<IntegrationAccount>(std::slice::from_ref(&created))
            .when(IntegrationAccountCommand::Update(rotate))
            .unwrap();
        let state = IntegrationAccount::replay([&created].into_iter().chain(&events));
        let secrets = &state.account.unwrap().secrets;
        assert_eq!(secrets.access_token.as_ref().unwrap().last4, "new1");
        assert_eq!(secrets.app_secret.as_ref().unwrap().last4, "secr");

        let moved = IntegrationAccountUpdated {
            address: Some(AccountAddress {
                phone_number_id: Some("999".into()),
                ..AccountAddress::default()
            }),
            ..IntegrationAccountUpdated::default()
        };
        assert!(given::<IntegrationAccount>(&[created])
            .when(IntegrationAccountCommand::Update(moved))
            .is_err());
    }

    #[test]
    fn an_integration_refuses_the_api_channel_and_oversized_settings() {
        let config = |channel, settings| {
            ConfigureIntegration(IntegrationConfigured {
                tenant_id: Uuid::nil(),
                channel,
                enabled: true,
                default_division_id: None,
                settings,
            })
        };
        assert!(given::<Integration>(&[])
            .when(config(Channel::Api, BTreeMap::new()))
            .is_err());
        let many = (0..=MAX_SETTINGS)
            .map(|i| (format!("k{i}"), Value::Bool(true)))
            .collect();
        assert!(given::<Integration>(&[]).when(config(Channel::Email, many)).is_err());
        let events = given::<Integration>(&[])
            .when(config(Channel::Email, BTreeMap::new()))
            .unwrap();
        assert_eq!(
            given::<Integration>(&events)
                .when(config(Channel::Email, BTreeMap::new()))
                .unwrap(),
            vec![]
        );
    }
}
