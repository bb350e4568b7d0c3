//! API key commands: a key is generated here, shown once, and only its SHA-256 is recorded.

use chrono::{DateTime, Utc};
use omnistream_domain::api_key::{ApiKey, ApiKeyCommand};
use omnistream_domain::DomainError;
use uuid::Uuid;

use crate::session::{new_secret, secret_sha256};
use crate::{CommandBus, CommandContext, CommandError, Executed};

/// Characters of a key kept in clear as its recognizable prefix.
pub const PREFIX_LEN: usize = 12;

/// A key just issued.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// The command's result.
    pub executed: Executed,
    /// The key, to show once.
    pub key: String,
    /// Its prefix.
    pub prefix: String,
}

/// Issues an API key acting as `agent_id`.
pub async fn create(
    bus: &CommandBus,
    ctx: &CommandContext,
    agent_id: Uuid,
    name: String,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedKey, CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("API keys belong to an organization".into()))?;
    let key = new_secret("osk_");
    let prefix: String = key.chars().take(PREFIX_LEN).collect();
    let api_key_id = Uuid::now_v7();
    let command = ApiKeyCommand::Create {
        api_key_id,
        tenant_id,
        agent_id,
        name,
        prefix: prefix.clone(),
        key_sha256: hex::encode(secret_sha256(&key)),
        expires_at,
        now: Utc::now(),
    };
    let executed = bus.create::<ApiKey>(ctx, api_key_id, command).await?;
    Ok(IssuedKey { executed, key, prefix })
}

/// Revokes an API key.
pub async fn revoke(bus: &CommandBus, ctx: &CommandContext, api_key_id: Uuid) -> Result<Executed, CommandError> {
    let executed = bus.execute::<ApiKey>(ctx, api_key_id, ApiKeyCommand::Revoke).await?;
    Ok(executed)
}
