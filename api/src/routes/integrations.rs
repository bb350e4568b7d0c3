//! Integrations tag: channel integrations (enabled, default division, settings) and the
//! provider accounts messages arrive on. Secrets go in, never come out: answers show only
//! their last four characters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use omnistream_commands::integrations::{self as integration_commands, AccountChanges, ClearSecrets, NewAccount};
use omnistream_domain::conversation::Channel;
use omnistream_domain::integration::{AccountAddress, Provider};
use omnistream_domain::Permission;
use omnistream_projections::channels::accounts::{self as account_queries, AccountRow};
use omnistream_projections::channels::integrations::{self as integration_queries, IntegrationRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{ApiTags, DeleteResponse};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// A channel that takes an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum IntegrationChannel {
    /// WhatsApp Cloud API.
    Whatsapp,
    /// Instagram Messaging.
    Instagram,
    /// Inbound e-mail.
    Email,
}

impl IntegrationChannel {
    /// Every channel, in the order lists show them.
    pub const ALL: [IntegrationChannel; 3] = [Self::Whatsapp, Self::Instagram, Self::Email];

    /// The domain's channel.
    pub fn domain(self) -> Channel {
        match self {
            Self::Whatsapp => Channel::Whatsapp,
            Self::Instagram => Channel::Instagram,
            Self::Email => Channel::Email,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "whatsapp" => Self::Whatsapp,
            "instagram" => Self::Instagram,
            _ => Self::Email,
        }
    }

    /// Where the provider posts this channel's deliveries.
    fn webhook_path(self, provider: Provider) -> &'static str {
        match (self, provider) {
            (Self::Whatsapp, _) => "/api/webhooks/whatsapp",
            (Self::Instagram, _) => "/api/webhooks/instagram",
            (Self::Email, Provider::Mailgun) => "/api/webhooks/email/mailgun",
            (Self::Email, Provider::Sendgrid) => "/api/webhooks/email/sendgrid",
            (Self::Email, _) => "/api/webhooks/email/postmark",
        }
    }
}

/// A channel's integration.
#[derive(Debug, Clone, Object)]
pub struct Integration {
    /// The channel.
    pub channel: IntegrationChannel,
    /// Whether the channel takes and sends messages (accounts of a disabled channel are
    /// refused by the webhook receivers and the delivery worker).
    pub enabled: bool,
    /// The division its new conversations start in, unless the account names one.
    #[oai(skip_serializing_if_is_none)]
    pub default_division_id: Option<Uuid>,
    /// Free-form settings.
    pub settings: BTreeMap<String, Value>,
    /// Whether it was ever configured (otherwise these are the defaults).
    pub configured: bool,
    /// Last changed.
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream version (0 when never configured).
    pub version: i64,
}

impl Integration {
    fn from_row(channel: IntegrationChannel, row: Option<IntegrationRow>) -> Self {
        match row {
            Some(row) => Self {
                channel,
                enabled: row.enabled,
                default_division_id: row.default_division_id,
                settings: row.settings.0.into_iter().collect(),
                configured: true,
                updated_at: Some(row.updated_at),
                version: row.version,
            },
            None => Self {
                channel,
                enabled: true,
                default_division_id: None,
                settings: BTreeMap::new(),
                configured: false,
                updated_at: None,
                version: 0,
            },
        }
    }
}

/// A channel's configuration; it replaces the current one.
#[derive(Debug, Clone, Object)]
pub struct UpsertIntegration {
    /// Whether the channel takes and sends messages. Default: true.
    pub enabled: Option<bool>,
    /// The division new conversations start in.
    pub default_division_id: Option<Uuid>,
    /// Free-form settings (at most 50 keys, 16 KiB).
    pub settings: Option<BTreeMap<String, Value>>,
}

/// Who carries an account's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum IntegrationProvider {
    /// Meta: WhatsApp Cloud API and Instagram Messaging.
    Meta,
    /// Postmark inbound e-mail (authenticated by the inbound token, as `?token=` or the
    /// basic-auth password).
    Postmark,
    /// Mailgun routes (signed with the webhook signing key).
    Mailgun,
    /// SendGrid Inbound Parse (authenticated by the inbound token, as for Postmark).
    Sendgrid,
}

impl IntegrationProvider {
    fn domain(self) -> Provider {
        match self {
            Self::Meta => Provider::Meta,
            Self::Postmark => Provider::Postmark,
            Self::Mailgun => Provider::Mailgun,
            Self::Sendgrid => Provider::Sendgrid,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "postmark" => Self::Postmark,
            "mailgun" => Self::Mailgun,
            "sendgrid" => Self::Sendgrid,
            _ => Self::Meta,
        }
    }
}

/// A provider account messages arrive on and leave from.
#[derive(Debug, Clone, Object)]
pub struct IntegrationAccount {
    /// Id.
    pub id: Uuid,
    /// The channel.
    pub channel: IntegrationChannel,
    /// The provider.
    pub provider: IntegrationProvider,
    /// A name for people.
    pub name: String,
    /// WhatsApp: the phone number id deliveries are routed by.
    #[oai(skip_serializing_if_is_none)]
    pub phone_number_id: Option<String>,
    /// WhatsApp: the business account id.
    #[oai(skip_serializing_if_is_none)]
    pub whatsapp_business_account_id: Option<String>,
    /// WhatsApp: the number customers see.
    #[oai(skip_serializing_if_is_none)]
    pub display_phone_number: Option<String>,
    /// Instagram: the professional account's id.
    #[oai(skip_serializing_if_is_none)]
    pub instagram_account_id: Option<String>,
    /// E-mail: the inbox address.
    #[oai(skip_serializing_if_is_none)]
    pub email_address: Option<String>,
    /// Whether it takes and sends messages.
    pub enabled: bool,
    /// Whether its channel's integration is enabled.
    pub channel_enabled: bool,
    /// The division its new conversations start in (its own, else the integration's).
    #[oai(skip_serializing_if_is_none)]
    pub division_id: Option<Uuid>,
    /// The access token's last four characters.
    #[oai(skip_serializing_if_is_none)]
    pub access_token_last4: Option<String>,
    /// The app secret's (signing key's, inbound token's) last four characters.
    #[oai(skip_serializing_if_is_none)]
    pub app_secret_last4: Option<String>,
    /// The verify token's last four characters.
    #[oai(skip_serializing_if_is_none)]
    pub verify_token_last4: Option<String>,
    /// The path the provider must post deliveries to.
    pub webhook_path: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl From<AccountRow> for IntegrationAccount {
    fn from(row: AccountRow) -> Self {
        let channel = IntegrationChannel::of(&row.channel);
        let provider = IntegrationProvider::of(&row.provider);
        let secrets = row.secrets.0;
        Self {
            id: row.id,
            channel,
            provider,
            name: row.name,
            phone_number_id: row.phone_number_id,
            whatsapp_business_account_id: row.whatsapp_business_account_id,
            display_phone_number: row.display_phone_number,
            instagram_account_id: row.instagram_account_id,
            email_address: row.email_address,
            enabled: row.enabled,
            channel_enabled: row.channel_enabled,
            division_id: row.division_id,
            access_token_last4: secrets.access_token.map(|s| s.last4),
            app_secret_last4: secrets.app_secret.map(|s| s.last4),
            verify_token_last4: secrets.verify_token.map(|s| s.last4),
            webhook_path: channel.webhook_path(provider.domain()).to_owned(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A provider account to connect. WhatsApp needs `phone_number_id`, `access_token`,
/// `app_secret` and `verify_token`; Instagram `instagram_account_id` and the same secrets;
/// e-mail `email_address`, `provider` (`postmark`, `mailgun` or `sendgrid`) and `app_secret`
/// (the Postmark or SendGrid inbound token, or the Mailgun signing key).
#[derive(Debug, Clone, Object)]
pub struct CreateIntegrationAccount {
    /// The channel.
    pub channel: IntegrationChannel,
    /// The provider; default `meta` for WhatsApp and Instagram.
    pub provider: Option<IntegrationProvider>,
    /// A name for people (1-200 characters).
    pub name: String,
    /// WhatsApp phone number id (unique across OmniStream).
    pub phone_number_id: Option<String>,
    /// WhatsApp business account id.
    pub whatsapp_business_account_id: Option<String>,
    /// WhatsApp number as customers see it.
    pub display_phone_number: Option<String>,
    /// Instagram account id (unique across OmniStream).
    pub instagram_account_id: Option<String>,
    /// Inbound e-mail address (unique across OmniStream).
    pub email_address: Option<String>,
    /// Graph API access token (write-only).
    #[oai(write_only)]
    pub access_token: Option<String>,
    /// App secret, signing key or inbound token (write-only).
    #[oai(write_only)]
    pub app_secret: Option<String>,
    /// Meta's webhook verify token (write-only).
    #[oai(write_only)]
    pub verify_token: Option<String>,
    /// Whether it takes and sends messages. Default: true.
    pub enabled: Option<bool>,
    /// The division its new conversations start in.
    pub division_id: Option<Uuid>,
}

/// Changes to an account; absent fields stay, secrets present are replaced. The routing
/// identifier (phone number id, Instagram id, e-mail address) cannot change.
#[derive(Debug, Clone, Object)]
pub struct UpdateIntegrationAccount {
    /// New name.
    pub name: Option<String>,
    /// Enabled or not.
    pub enabled: Option<bool>,
    /// The division (null: none).
    pub division_id: Option<Option<Uuid>>,
    /// WhatsApp business account id.
    pub whatsapp_business_account_id: Option<String>,
    /// WhatsApp display number.
    pub display_phone_number: Option<String>,
    /// New access token (write-only).
    #[oai(write_only)]
    pub access_token: Option<String>,
    /// New app secret (write-only).
    #[oai(write_only)]
    pub app_secret: Option<String>,
    /// New verify token (write-only).
    #[oai(write_only)]
    pub verify_token: Option<String>,
}

/// An integration written by a command.
#[derive(ApiResponse)]
pub enum IntegrationWritten {
    /// Configured.
    #[oai(status = 200)]
    Ok(Json<Integration>, #[oai(header = "X-Event-Position")] Option<i64>),
}

/// An account written by a command.
#[derive(ApiResponse)]
pub enum AccountWritten {
    /// Connected.
    #[oai(status = 201)]
    Created(
        Json<IntegrationAccount>,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
    /// Changed.
    #[oai(status = 200)]
    Ok(
        Json<IntegrationAccount>,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// Integration operations.
pub struct IntegrationsApi;

fn admin(auth: &Auth) -> ApiResult<&Principal> {
    auth.principal().require(Permission::IntegrationsManage)
}

async fn account(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    position: Option<i64>,
) -> ApiResult<IntegrationAccount> {
    wait_for_position(state, "channels", position).await?;
    account_queries::get(&state.pool, principal.scope()?, id)
        .await?
        .map(IntegrationAccount::from)
        .ok_or_else(|| ApiError::not_found("integration account"))
}

#[OpenApi(tag = "ApiTags::Integrations")]
impl IntegrationsApi {
    /// Every channel's integration, configured or at its defaults (needs `integrations.manage`).
    #[oai(path = "/api/integrations", method = "get")]
    async fn list(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<Integration>>> {
        let principal = admin(&auth)?;
        let rows = integration_queries::list(&state.pool, principal.scope()?).await?;
        let mut by_channel: BTreeMap<String, IntegrationRow> =
            rows.into_iter().map(|r| (r.channel.clone(), r)).collect();
        Ok(Json(
            IntegrationChannel::ALL
                .into_iter()
                .map(|c| Integration::from_row(c, by_channel.remove(c.domain().as_str())))
                .collect(),
        ))
    }

    /// One channel's integration (needs `integrations.manage`).
    #[oai(path = "/api/integrations/:channel", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        channel: Path<IntegrationChannel>,
    ) -> ApiResult<Json<Integration>> {
        let principal = admin(&auth)?;
        let row = integration_queries::get(&state.pool, principal.scope()?, channel.0.domain().as_str()).await?;
        Ok(Json(Integration::from_row(channel.0, row)))
    }

    /// Configures a channel's integration, replacing its configuration (needs `integrations.manage`).
    #[oai(path = "/api/integrations/:channel", method = "put")]
    async fn upsert(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        channel: Path<IntegrationChannel>,
        body: Json<UpsertIntegration>,
    ) -> ApiResult<IntegrationWritten> {
        let principal = admin(&auth)?;
        let ctx = principal.command_context()?;
        let config = integration_commands::ChannelConfig {
            enabled: body.0.enabled.unwrap_or(true),
            default_division_id: body.0.default_division_id,
            settings: body.0.settings.unwrap_or_default(),
        };
        let executed = integration_commands::configure(&state.bus, &ctx, channel.0.domain(), config).await?;
        wait_for_position(state.0, "channels", executed.position).await?;
        let row = integration_queries::get(&state.pool, principal.scope()?, channel.0.domain().as_str()).await?;
        Ok(IntegrationWritten::Ok(
            Json(Integration::from_row(channel.0, row)),
            executed.position,
        ))
    }

    /// The organization's provider accounts (needs `integrations.manage`).
    #[oai(path = "/api/integration-accounts", method = "get")]
    async fn list_accounts(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only this channel's.
        channel: Query<Option<IntegrationChannel>>,
    ) -> ApiResult<Json<Vec<IntegrationAccount>>> {
        let principal = admin(&auth)?;
        let channel = channel.0.map(|c| c.domain().as_str());
        let rows = account_queries::list(&state.pool, principal.scope()?, channel).await?;
        Ok(Json(rows.into_iter().map(IntegrationAccount::from).collect()))
    }

    /// Connects a provider account (needs `integrations.manage`). Its secrets are sealed with
    /// the instance's key and never shown again.
    #[oai(path = "/api/integration-accounts", method = "post")]
    async fn create_account(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateIntegrationAccount>,
    ) -> ApiResult<AccountWritten> {
        let principal = admin(&auth)?;
        let body = body.0;
        let provider = match (body.channel, body.provider) {
            (_, Some(provider)) => provider,
            (IntegrationChannel::Whatsapp | IntegrationChannel::Instagram, None) => IntegrationProvider::Meta,
            (IntegrationChannel::Email, None) => {
                return Err(ApiError::validation(
                    "provider",
                    "an e-mail account needs its provider: postmark, mailgun or sendgrid",
                ))
            }
        };
        let new = NewAccount {
            channel: body.channel.domain(),
            provider: provider.domain(),
            name: body.name,
            address: AccountAddress {
                phone_number_id: body.phone_number_id,
                whatsapp_business_account_id: body.whatsapp_business_account_id,
                display_phone_number: body.display_phone_number,
                instagram_account_id: body.instagram_account_id,
                email_address: body.email_address,
            },
            secrets: ClearSecrets {
                access_token: body.access_token,
                app_secret: body.app_secret,
                verify_token: body.verify_token,
            },
            enabled: body.enabled.unwrap_or(true),
            division_id: body.division_id,
        };
        let ctx = principal.command_context()?;
        let executed = integration_commands::create_account(&state.bus, &ctx, &state.secrets, new).await?;
        let created = account(state.0, principal, executed.id, executed.position).await?;
        Ok(AccountWritten::Created(Json(created), executed.position))
    }

    /// One provider account (needs `integrations.manage`).
    #[oai(path = "/api/integration-accounts/:id", method = "get")]
    async fn get_account(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<IntegrationAccount>> {
        let principal = admin(&auth)?;
        Ok(Json(account(state.0, principal, id.0, None).await?))
    }

    /// Changes a provider account (needs `integrations.manage`).
    #[oai(path = "/api/integration-accounts/:id", method = "patch")]
    async fn update_account(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateIntegrationAccount>,
    ) -> ApiResult<AccountWritten> {
        let principal = admin(&auth)?;
        account(state.0, principal, id.0, None).await?;
        let body = body.0;
        let changes = AccountChanges {
            name: body.name,
            enabled: body.enabled,
            division_id: body.division_id,
            whatsapp_business_account_id: body.whatsapp_business_account_id,
            display_phone_number: body.display_phone_number,
            secrets: ClearSecrets {
                access_token: body.access_token,
                app_secret: body.app_secret,
                verify_token: body.verify_token,
            },
        };
        let ctx = principal.command_context()?;
        let executed = integration_commands::update_account(&state.bus, &ctx, &state.secrets, id.0, changes).await?;
        let changed = account(state.0, principal, id.0, executed.position).await?;
        Ok(AccountWritten::Ok(Json(changed), executed.position))
    }

    /// Disconnects a provider account (needs `integrations.manage`); its identifier is free
    /// to connect again.
    #[oai(path = "/api/integration-accounts/:id", method = "delete")]
    async fn delete_account(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<DeleteResponse>> {
        let principal = admin(&auth)?;
        account(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = integration_commands::delete_account(&state.bus, &ctx, id.0).await?;
        wait_for_position(state.0, "channels", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }
}
