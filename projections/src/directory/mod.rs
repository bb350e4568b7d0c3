//! The directory read model: organizations, agents, custom roles, API keys and super-admins,
//! as authentication and the admin screens read them.

mod queries;

use async_trait::async_trait;
use omnistream_domain::agent::{AgentEvent, RoleRef};
use omnistream_domain::api_key::ApiKeyEvent;
use omnistream_domain::organization::OrganizationEvent;
use omnistream_domain::role::RoleEvent;
use omnistream_domain::super_admin::SuperAdminEvent;
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError};

pub use queries::*;

/// The directory projection.
pub struct DirectoryProjection;

const DDL: &str = r#"
CREATE TABLE organizations (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL
);
CREATE TABLE agents (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    custom_role_id  UUID,
    status          TEXT NOT NULL,
    deleted         BOOLEAN NOT NULL DEFAULT false,
    last_login_at   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX agents_tenant ON agents (tenant_id, id);
CREATE INDEX agents_email ON agents (email) WHERE NOT deleted;
CREATE TABLE roles (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    permissions  TEXT[] NOT NULL,
    deleted      BOOLEAN NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX roles_tenant ON roles (tenant_id, id);
CREATE TABLE api_keys (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    agent_id    UUID NOT NULL,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_sha256  TEXT NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);
CREATE INDEX api_keys_hash ON api_keys (key_sha256);
CREATE TABLE super_admins (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
"#;

fn role_columns(role: &RoleRef) -> (String, Option<Uuid>) {
    match role {
        RoleRef::System { role } => (role.name().to_owned(), None),
        RoleRef::Custom { role_id } => ("custom".to_owned(), Some(*role_id)),
    }
}

fn entity_id(event: &RecordedEvent) -> Result<Uuid, ProjectionError> {
    event
        .stream_id
        .split_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            ProjectionError::Store(omnistream_store::StoreError::Corrupt {
                position: event.position,
                reason: format!("stream id {} has no uuid", event.stream_id),
            })
        })
}

impl DirectoryProjection {
    async fn apply_agent(
        &self,
        conn: &mut PgConnection,
        event: &RecordedEvent,
        e: AgentEvent,
    ) -> Result<(), ProjectionError> {
        let id = entity_id(event)?;
        let at = event.recorded_at;
        let version = event.version;
        let query = match e {
            AgentEvent::AgentCreated(c) => {
                let (role, custom) = role_columns(&c.role);
                sqlx::query(
                    "INSERT INTO agents (id, tenant_id, name, email, role, custom_role_id, status, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'offline', $7, $7, $8) ON CONFLICT (id) DO NOTHING",
                )
                .bind(id)
                .bind(c.tenant_id)
                .bind(c.name)
                .bind(c.email)
                .bind(role)
                .bind(custom)
                .bind(at)
                .bind(version)
            }
            AgentEvent::AgentUpdated(u) => {
                let (role, custom) = u.role.as_ref().map(role_columns).unzip();
                sqlx::query(
                    "UPDATE agents SET name = coalesce($2, name), email = coalesce($3, email), \
                     role = coalesce($4, role), custom_role_id = CASE WHEN $4 IS NULL THEN custom_role_id ELSE $5 END, \
                     updated_at = $6, version = $7 WHERE id = $1",
                )
                .bind(id)
                .bind(u.name)
                .bind(u.email)
                .bind(role)
                .bind(custom.flatten())
                .bind(at)
                .bind(version)
            }
            AgentEvent::AgentStatusChanged(s) => {
                sqlx::query("UPDATE agents SET status = $2, updated_at = $3, version = $4 WHERE id = $1")
                    .bind(id)
                    .bind(s.status.as_str())
                    .bind(at)
                    .bind(version)
            }
            AgentEvent::AgentLoggedIn(_) => {
                sqlx::query("UPDATE agents SET last_login_at = $2, version = $3 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .bind(version)
            }
            AgentEvent::AgentDeleted(_) => sqlx::query(
                "UPDATE agents SET deleted = true, status = 'offline', updated_at = $2, version = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(version),
            AgentEvent::AgentPasswordChanged(_) | AgentEvent::AgentLoggedOut(_) => {
                sqlx::query("UPDATE agents SET version = $2 WHERE id = $1")
                    .bind(id)
                    .bind(version)
            }
        };
        query.execute(&mut *conn).await?;
        Ok(())
    }

    async fn apply_role(
        &self,
        conn: &mut PgConnection,
        event: &RecordedEvent,
        e: RoleEvent,
    ) -> Result<(), ProjectionError> {
        let id = entity_id(event)?;
        let (at, version) = (event.recorded_at, event.version);
        let query = match e {
            RoleEvent::RoleCreated(c) => sqlx::query(
                "INSERT INTO roles (id, tenant_id, name, description, permissions, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(c.tenant_id)
            .bind(c.name)
            .bind(c.description)
            .bind(c.permissions)
            .bind(at)
            .bind(version),
            RoleEvent::RoleUpdated(u) => sqlx::query(
                "UPDATE roles SET name = coalesce($2, name), description = coalesce($3, description), \
                 permissions = coalesce($4, permissions), updated_at = $5, version = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(u.name)
            .bind(u.description)
            .bind(u.permissions)
            .bind(at)
            .bind(version),
            RoleEvent::RoleDeleted(_) => {
                sqlx::query("UPDATE roles SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .bind(version)
            }
        };
        query.execute(&mut *conn).await?;
        Ok(())
    }

    async fn apply_api_key(
        &self,
        conn: &mut PgConnection,
        event: &RecordedEvent,
        e: ApiKeyEvent,
    ) -> Result<(), ProjectionError> {
        let id = entity_id(event)?;
        let query = match e {
            ApiKeyEvent::ApiKeyCreated(c) => sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, agent_id, name, prefix, key_sha256, expires_at, created_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(c.tenant_id)
            .bind(c.agent_id)
            .bind(c.name)
            .bind(c.prefix)
            .bind(c.key_sha256)
            .bind(c.expires_at)
            .bind(event.recorded_at)
            .bind(event.version),
            ApiKeyEvent::ApiKeyRevoked(_) => sqlx::query("UPDATE api_keys SET revoked_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(event.recorded_at)
                .bind(event.version),
        };
        query.execute(&mut *conn).await?;
        Ok(())
    }
}

#[async_trait]
impl Projection for DirectoryProjection {
    fn name(&self) -> &'static str {
        "directory"
    }

    /// Agents, roles, keys and organizations: none of their events carry personal fields.
    fn needs_personal_data(&self) -> bool {
        false
    }

    fn definition_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["organizations", "agents", "roles", "api_keys", "super_admins"]
    }

    fn ddl(&self) -> &'static str {
        DDL
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let prefix = event.stream_id.split_once('-').map_or("", |(p, _)| p);
        match prefix {
            "organization" => match event.decode::<OrganizationEvent>()? {
                OrganizationEvent::OrganizationCreated(c) => {
                    sqlx::query(
                        "INSERT INTO organizations (id, name, created_at, updated_at, version) VALUES ($1, $2, $3, $3, $4) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(c.organization_id)
                    .bind(c.name)
                    .bind(event.recorded_at)
                    .bind(event.version)
                    .execute(&mut *conn)
                    .await?;
                }
                OrganizationEvent::OrganizationRenamed(r) => {
                    sqlx::query("UPDATE organizations SET name = $2, updated_at = $3, version = $4 WHERE id = $1")
                        .bind(entity_id(event)?)
                        .bind(r.name)
                        .bind(event.recorded_at)
                        .bind(event.version)
                        .execute(&mut *conn)
                        .await?;
                }
            },
            "agent" => self.apply_agent(conn, event, event.decode()?).await?,
            "role" => self.apply_role(conn, event, event.decode()?).await?,
            "apikey" => self.apply_api_key(conn, event, event.decode()?).await?,
            "superadmin" => match event.decode::<SuperAdminEvent>()? {
                SuperAdminEvent::SuperAdminCreated(c) => {
                    sqlx::query(
                        "INSERT INTO super_admins (id, name, email, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(c.super_admin_id)
                    .bind(c.name)
                    .bind(c.email)
                    .bind(event.recorded_at)
                    .execute(&mut *conn)
                    .await?;
                }
            },
            _ => {}
        }
        Ok(())
    }
}
