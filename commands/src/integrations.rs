//! Integration commands: configuring a channel, and connecting, changing and disconnecting
//! provider accounts. An account's routing identifier is claimed across OmniStream; its
//! secrets are sealed here, before any event holds them.

use std::collections::BTreeMap;

use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::conversation::Channel;
use omnistream_domain::integration::{
    AccountAddress, AccountSecrets, ConfigureIntegration, Integration, IntegrationAccount, IntegrationAccountCommand,
    IntegrationAccountCreated, IntegrationAccountUpdated, IntegrationConfigured, Provider,
};
use omnistream_domain::DomainError;
use serde_json::Value;
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::conversations::check_division;
use crate::secrets::SecretsKey;
use crate::{claims, CommandBus, CommandContext, CommandError, Executed, Scope};

/// The longest secret accepted.
const MAX_SECRET_CHARS: usize = 2048;

fn tenant_of(ctx: &CommandContext) -> Result<Uuid, CommandError> {
    Ok(ctx.scope.require_tenant("integrations")?)
}

/// A channel's configuration.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Whether it takes and sends messages.
    pub enabled: bool,
    /// The division its new conversations start in.
    pub default_division_id: Option<Uuid>,
    /// Free-form settings.
    pub settings: BTreeMap<String, Value>,
}

/// Configures (creates or replaces) a channel's integration.
pub async fn configure(
    bus: &CommandBus,
    ctx: &CommandContext,
    channel: Channel,
    config: ChannelConfig,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    if let Some(division_id) = config.default_division_id {
        check_division(bus, ctx, division_id).await?;
    }
    let id = Integration::id_for(tenant_id, channel);
    let command = ConfigureIntegration(IntegrationConfigured {
        tenant_id,
        channel,
        enabled: config.enabled,
        default_division_id: config.default_division_id,
        settings: config.settings,
    });
    bus.execute::<Integration>(ctx, id, command).await
}

/// Secrets in clear text, as a request carries them.
#[derive(Debug, Clone, Default)]
pub struct ClearSecrets {
    /// Graph API access token.
    pub access_token: Option<String>,
    /// App secret, signing key or inbound token.
    pub app_secret: Option<String>,
    /// Meta's verify token.
    pub verify_token: Option<String>,
}

impl ClearSecrets {
    /// Seals every present secret; the digest of the verify token comes along.
    fn seal(&self, key: &SecretsKey) -> Result<(AccountSecrets, Option<String>), CommandError> {
        let seal = |field: &'static str, value: &Option<String>| -> Result<_, DomainError> {
            match value.as_deref().map(str::trim) {
                None => Ok(None),
                Some("") => Err(DomainError::invalid(field, "must not be empty")),
                Some(v) if v.chars().count() > MAX_SECRET_CHARS => Err(DomainError::invalid(
                    field,
                    format!("must be at most {MAX_SECRET_CHARS} characters"),
                )),
                Some(v) if v.chars().any(char::is_control) => {
                    Err(DomainError::invalid(field, "must not hold control characters"))
                }
                Some(v) => Ok(Some(key.seal(v))),
            }
        };
        let secrets = AccountSecrets {
            access_token: seal("access_token", &self.access_token)?,
            app_secret: seal("app_secret", &self.app_secret)?,
            verify_token: seal("verify_token", &self.verify_token)?,
        };
        let digest = self.verify_token.as_deref().map(|t| key.digest(t.trim()));
        Ok((secrets, digest))
    }
}

/// An account to connect.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The channel.
    pub channel: Channel,
    /// The provider.
    pub provider: Provider,
    /// A name for people.
    pub name: String,
    /// The provider's identifiers.
    pub address: AccountAddress,
    /// Its secrets.
    pub secrets: ClearSecrets,
    /// Whether it takes and sends messages.
    pub enabled: bool,
    /// The division its new conversations start in.
    pub division_id: Option<Uuid>,
}

fn normalized(mut address: AccountAddress) -> AccountAddress {
    let clean = |v: Option<String>| v.map(|v| v.trim().to_owned());
    address.phone_number_id = clean(address.phone_number_id);
    address.whatsapp_business_account_id = clean(address.whatsapp_business_account_id);
    address.display_phone_number = clean(address.display_phone_number);
    address.instagram_account_id = clean(address.instagram_account_id);
    address.email_address = address.email_address.map(|e| e.trim().to_lowercase());
    address
}

/// Connects a provider account, claiming its routing identifier.
pub async fn create_account(
    bus: &CommandBus,
    ctx: &CommandContext,
    key: &SecretsKey,
    new: NewAccount,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    if let Some(division_id) = new.division_id {
        check_division(bus, ctx, division_id).await?;
    }
    let (secrets, verify_token_digest) = new.secrets.seal(key)?;
    let account_id = Uuid::now_v7();
    let created = IntegrationAccountCreated {
        account_id,
        tenant_id,
        channel: new.channel,
        provider: new.provider,
        name: new.name,
        address: normalized(new.address),
        secrets,
        verify_token_digest,
        enabled: new.enabled,
        division_id: new.division_id,
    };
    retry_on_conflict(|| async {
        let account = bus.fresh::<IntegrationAccount>(ctx.scope, account_id);
        let mut requests: Vec<_> = account
            .decide(ctx, IntegrationAccountCommand::Create(created.clone()))?
            .into_iter()
            .collect();
        if let Some((kind, value)) = created.address.routing_key(created.channel) {
            let claim = claims::routing_key(bus, kind, value).await?;
            let decided = claim
                .decide(
                    &ctx.in_scope(Scope::Platform),
                    ClaimCommand::Claim { owner_id: account_id },
                )
                .map_err(|e| match e {
                    CommandError::Domain(DomainError::AlreadyExists(_)) => CommandError::Domain(
                        DomainError::AlreadyExists(format!("this {kind} is already connected to an account")),
                    ),
                    other => other,
                })?;
            requests.extend(decided);
        }
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(account_id, &account.stream_id, 1, &outcomes))
    })
    .await
}

/// Changes to an account; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// New name.
    pub name: Option<String>,
    /// Enabled or not.
    pub enabled: Option<bool>,
    /// The division (`Some(None)`: none).
    pub division_id: Option<Option<Uuid>>,
    /// WhatsApp business account id.
    pub whatsapp_business_account_id: Option<String>,
    /// WhatsApp display number.
    pub display_phone_number: Option<String>,
    /// Secrets to replace.
    pub secrets: ClearSecrets,
}

/// Changes an account (name, state, division, secrets, descriptive identifiers).
pub async fn update_account(
    bus: &CommandBus,
    ctx: &CommandContext,
    key: &SecretsKey,
    id: Uuid,
    changes: AccountChanges,
) -> Result<Executed, CommandError> {
    if let Some(Some(division_id)) = changes.division_id {
        check_division(bus, ctx, division_id).await?;
    }
    let (secrets, verify_token_digest) = changes.secrets.seal(key)?;
    retry_on_conflict(|| async {
        let loaded = bus
            .load::<IntegrationAccount>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        let current = loaded.state.account.clone().expect("an existing account");
        let address = if changes.whatsapp_business_account_id.is_some() || changes.display_phone_number.is_some() {
            Some(normalized(AccountAddress {
                whatsapp_business_account_id: changes
                    .whatsapp_business_account_id
                    .clone()
                    .or(current.address.whatsapp_business_account_id.clone()),
                display_phone_number: changes
                    .display_phone_number
                    .clone()
                    .or(current.address.display_phone_number.clone()),
                ..current.address.clone()
            }))
        } else {
            None
        };
        let update = IntegrationAccountUpdated {
            name: changes.name.clone(),
            enabled: changes.enabled,
            division_id: changes.division_id,
            address,
            secrets: Some(secrets.clone()).filter(|s| *s != AccountSecrets::default()),
            verify_token_digest: verify_token_digest.clone(),
        };
        let request = loaded.decide(ctx, IntegrationAccountCommand::Update(update))?;
        let outcomes = bus.commit(request.into_iter().collect()).await?;
        Ok(Executed::of(id, &loaded.stream_id, loaded.version, &outcomes))
    })
    .await
}

/// Disconnects an account, releasing its routing identifier.
pub async fn delete_account(bus: &CommandBus, ctx: &CommandContext, id: Uuid) -> Result<Executed, CommandError> {
    retry_on_conflict(|| async {
        let loaded = bus
            .load::<IntegrationAccount>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        let current = loaded.state.account.clone().expect("an existing account");
        let mut requests: Vec<_> = loaded
            .decide(ctx, IntegrationAccountCommand::Delete)?
            .into_iter()
            .collect();
        if let Some((kind, value)) = current.address.routing_key(current.channel) {
            let claim = claims::routing_key(bus, kind, value).await?;
            requests.extend(claim.decide(&ctx.in_scope(Scope::Platform), ClaimCommand::Release { owner_id: id })?);
        }
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(id, &loaded.stream_id, loaded.version, &outcomes))
    })
    .await
}
