//! The channels read model: integrations per channel, provider accounts (with their sealed
//! secrets, for the ingestor and the delivery worker), WhatsApp templates and chat expiration
//! rules, as the admin
//! screens and the webhook receivers read them.

pub mod accounts;
pub mod expiration_rules;
pub mod integrations;
pub mod templates;

use async_trait::async_trait;
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;

use crate::inbox::{entity_id, tenant};
use crate::{Projection, ProjectionError};

/// The channels projection.
pub struct ChannelsProjection;

const DDL: &str = r#"
CREATE TABLE integrations (
    tenant_id            UUID NOT NULL,
    channel              TEXT NOT NULL,
    enabled              BOOLEAN NOT NULL,
    default_division_id  UUID,
    settings             JSONB NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    version              BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel)
);
CREATE TABLE integration_accounts (
    id                            UUID PRIMARY KEY,
    tenant_id                     UUID NOT NULL,
    channel                       TEXT NOT NULL,
    provider                      TEXT NOT NULL,
    name                          TEXT NOT NULL,
    phone_number_id               TEXT,
    whatsapp_business_account_id  TEXT,
    display_phone_number          TEXT,
    instagram_account_id          TEXT,
    email_address                 TEXT,
    secrets                       JSONB NOT NULL,
    verify_token_digest           TEXT,
    enabled                       BOOLEAN NOT NULL,
    division_id                   UUID,
    deleted                       BOOLEAN NOT NULL DEFAULT false,
    created_at                    TIMESTAMPTZ NOT NULL,
    updated_at                    TIMESTAMPTZ NOT NULL,
    version                       BIGINT NOT NULL
);
CREATE INDEX integration_accounts_tenant ON integration_accounts (tenant_id, id);
CREATE INDEX integration_accounts_phone ON integration_accounts (phone_number_id) WHERE NOT deleted;
CREATE INDEX integration_accounts_instagram ON integration_accounts (instagram_account_id) WHERE NOT deleted;
CREATE INDEX integration_accounts_email ON integration_accounts (email_address) WHERE NOT deleted;
CREATE INDEX integration_accounts_verify ON integration_accounts (verify_token_digest) WHERE NOT deleted;
CREATE TABLE wa_templates (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL,
    account_id     UUID NOT NULL,
    name           TEXT NOT NULL,
    language       TEXT NOT NULL,
    category       TEXT NOT NULL,
    components     JSONB NOT NULL,
    parameters     INT NOT NULL,
    status         TEXT NOT NULL,
    status_reason  TEXT,
    deleted        BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    version        BIGINT NOT NULL
);
CREATE INDEX wa_templates_tenant ON wa_templates (tenant_id, name, language);
CREATE TABLE chat_expiration_rules (
    tenant_id               UUID NOT NULL,
    channel                 TEXT NOT NULL,
    window_hours            INT,
    human_agent_window      BOOLEAN NOT NULL,
    expiry_action           TEXT NOT NULL,
    resolve_after_minutes   INT NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    version                 BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel)
);
"#;

#[async_trait]
impl Projection for ChannelsProjection {
    fn name(&self) -> &'static str {
        "channels"
    }

    fn definition_version(&self) -> i32 {
        3
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "integrations",
            "integration_accounts",
            "wa_templates",
            "chat_expiration_rules",
        ]
    }

    fn ddl(&self) -> &'static str {
        DDL
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        match event.stream_id.split_once('-').map_or("", |(p, _)| p) {
            "integration" => integrations::apply(conn, event, event.decode()?).await,
            "integrationaccount" => {
                accounts::apply(conn, event, entity_id(event)?, tenant(event)?, event.decode()?).await
            }
            "watemplate" => templates::apply(conn, event, entity_id(event)?, event.decode()?).await,
            "chatexpiration" => expiration_rules::apply(conn, event, event.decode()?).await,
            _ => Ok(()),
        }
    }
}
