//! WA Templates tag: WhatsApp message templates of the organization's WhatsApp accounts,
//! their review status, and (in the Messages tag) sending one with its parameters.

use chrono::{DateTime, Utc};
use omnistream_commands::wa_templates::{self as template_commands, NewTemplate};
use omnistream_domain::wa_template::{TemplateCategory, TemplateComponents, TemplateStatus, WaTemplateStatusChanged};
use omnistream_domain::Permission;
use omnistream_projections::channels::templates::{self as template_queries, TemplateRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{ApiTags, DeleteResponse};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// What a template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WaTemplateCategory {
    /// Promotions and offers.
    Marketing,
    /// Updates on an order or account.
    Utility,
    /// One-time passwords.
    Authentication,
}

impl WaTemplateCategory {
    fn domain(self) -> TemplateCategory {
        match self {
            Self::Marketing => TemplateCategory::Marketing,
            Self::Utility => TemplateCategory::Utility,
            Self::Authentication => TemplateCategory::Authentication,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "marketing" => Self::Marketing,
            "authentication" => Self::Authentication,
            _ => Self::Utility,
        }
    }
}

/// Where Meta's review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WaTemplateStatus {
    /// Submitted, not reviewed yet.
    Pending,
    /// May be sent.
    Approved,
    /// May not be sent.
    Rejected,
}

impl WaTemplateStatus {
    fn domain(self) -> TemplateStatus {
        match self {
            Self::Pending => TemplateStatus::Pending,
            Self::Approved => TemplateStatus::Approved,
            Self::Rejected => TemplateStatus::Rejected,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => Self::Pending,
        }
    }
}

/// A template's parts.
#[derive(Debug, Clone, Object)]
pub struct WaTemplateComponents {
    /// A header text (at most 60 characters, no placeholders).
    pub header: Option<String>,
    /// The body (at most 1024 characters) with placeholders `{{1}}`, `{{2}}`, ... numbered
    /// from 1 without gaps.
    pub body: String,
    /// A footer text (at most 60 characters).
    pub footer: Option<String>,
    /// Up to 3 quick-reply button labels.
    pub buttons: Option<Vec<String>>,
}

/// A WhatsApp message template.
#[derive(Debug, Clone, Object)]
pub struct WaTemplate {
    /// Id.
    pub id: Uuid,
    /// The WhatsApp account it belongs to.
    pub account_id: Uuid,
    /// Its name, as Meta knows it.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// Its category.
    pub category: WaTemplateCategory,
    /// Its parts.
    pub components: WaTemplateComponents,
    /// How many body parameters a send needs.
    pub body_parameters: i32,
    /// Meta's review status: only approved templates are sent.
    pub status: WaTemplateStatus,
    /// Meta's reason for a rejection.
    #[oai(skip_serializing_if_is_none)]
    pub status_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl From<TemplateRow> for WaTemplate {
    fn from(row: TemplateRow) -> Self {
        let c = row.components.0;
        Self {
            id: row.id,
            account_id: row.account_id,
            name: row.name,
            language: row.language,
            category: WaTemplateCategory::of(&row.category),
            components: WaTemplateComponents {
                header: c.header,
                body: c.body,
                footer: c.footer,
                buttons: Some(c.buttons),
            },
            body_parameters: row.parameters,
            status: WaTemplateStatus::of(&row.status),
            status_reason: row.status_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A template to submit; it starts `pending` until Meta's review is recorded.
#[derive(Debug, Clone, Object)]
pub struct CreateWaTemplate {
    /// The WhatsApp account.
    pub account_id: Uuid,
    /// Lower-case letters, digits and underscores (unique per account and language).
    pub name: String,
    /// Language code, such as `en_US` or `id`.
    pub language: String,
    /// Category.
    pub category: WaTemplateCategory,
    /// Its parts.
    pub components: WaTemplateComponents,
}

/// Meta's review of a template.
#[derive(Debug, Clone, Object)]
pub struct UpdateWaTemplateStatus {
    /// The status now.
    pub status: WaTemplateStatus,
    /// Meta's reason, for a rejection.
    pub reason: Option<String>,
}

/// A template written by a command.
#[derive(ApiResponse)]
pub enum WaTemplateWritten {
    /// Submitted.
    #[oai(status = 201)]
    Created(Json<WaTemplate>, #[oai(header = "X-Event-Position")] Option<i64>),
    /// Changed.
    #[oai(status = 200)]
    Ok(Json<WaTemplate>, #[oai(header = "X-Event-Position")] Option<i64>),
}

async fn template(state: &AppState, principal: &Principal, id: Uuid, position: Option<i64>) -> ApiResult<WaTemplate> {
    wait_for_position(state, "channels", position).await?;
    template_queries::get(&state.pool, principal.scope()?, id)
        .await?
        .map(WaTemplate::from)
        .ok_or_else(|| ApiError::not_found("template"))
}

/// Template operations.
pub struct WaTemplatesApi;

#[OpenApi(prefix_path = "/api/wa-templates", tag = "ApiTags::WaTemplates")]
impl WaTemplatesApi {
    /// The organization's templates, by name (needs `messages.send`: agents pick them).
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only this WhatsApp account's.
        account_id: Query<Option<Uuid>>,
        /// Only those with this status.
        status: Query<Option<WaTemplateStatus>>,
    ) -> ApiResult<Json<Vec<WaTemplate>>> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        let status = status.0.map(|s| s.domain().as_str());
        let rows = template_queries::list(&state.pool, principal.scope()?, account_id.0, status).await?;
        Ok(Json(rows.into_iter().map(WaTemplate::from).collect()))
    }

    /// Submits a template (needs `wa_templates.manage`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateWaTemplate>,
    ) -> ApiResult<WaTemplateWritten> {
        let principal = auth.principal().require(Permission::WaTemplatesManage)?;
        let body = body.0;
        let new = NewTemplate {
            account_id: body.account_id,
            name: body.name,
            language: body.language,
            category: body.category.domain(),
            components: TemplateComponents {
                header: body.components.header,
                body: body.components.body,
                footer: body.components.footer,
                buttons: body.components.buttons.unwrap_or_default(),
            },
        };
        let ctx = principal.command_context()?;
        let executed = template_commands::create(&state.bus, &ctx, new).await?;
        let created = template(state.0, principal, executed.id, executed.position).await?;
        Ok(WaTemplateWritten::Created(Json(created), executed.position))
    }

    /// One template (needs `messages.send`).
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<WaTemplate>> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        Ok(Json(template(state.0, principal, id.0, None).await?))
    }

    /// Records Meta's review of a template (needs `wa_templates.manage`).
    #[oai(path = "/:id/status", method = "put")]
    async fn set_status(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateWaTemplateStatus>,
    ) -> ApiResult<WaTemplateWritten> {
        let principal = auth.principal().require(Permission::WaTemplatesManage)?;
        template(state.0, principal, id.0, None).await?;
        let change = WaTemplateStatusChanged {
            status: body.0.status.domain(),
            reason: body.0.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()),
        };
        let ctx = principal.command_context()?;
        let executed = template_commands::set_status(&state.bus, &ctx, id.0, change).await?;
        let changed = template(state.0, principal, id.0, executed.position).await?;
        Ok(WaTemplateWritten::Ok(Json(changed), executed.position))
    }

    /// Deletes a template (needs `wa_templates.manage`).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::WaTemplatesManage)?;
        template(state.0, principal, id.0, None).await?;
        let ctx = principal.command_context()?;
        let executed = template_commands::delete(&state.bus, &ctx, id.0).await?;
        wait_for_position(state.0, "channels", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }
}
