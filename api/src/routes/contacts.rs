//! Contacts tag: contacts with channel identities unique per organization, custom attributes,
//! tags, and merges that carry conversations along.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use omnistream_commands::contacts::{self as contact_commands, ContactChanges};
use omnistream_domain::contact::ContactProfile;
use omnistream_domain::Permission;
use omnistream_ingest::deliveries;
use omnistream_projections::inbox::contacts::{self as contact_queries, ContactFilter, ContactRow};
use omnistream_projections::TenantScope;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::consistency::{wait_for_position, wait_for_version};
use super::{page_request, paginated, ApiTags, DeleteResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// A contact: a customer reachable on channels.
#[derive(Debug, Clone, Object)]
pub struct Contact {
    /// Id.
    pub id: Uuid,
    /// Name.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Phone in international form (the WhatsApp id).
    #[oai(skip_serializing_if_is_none)]
    pub phone: Option<String>,
    /// E-mail.
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// Instagram-scoped user id.
    #[oai(skip_serializing_if_is_none)]
    pub instagram_id: Option<String>,
    /// Free-form attributes.
    pub custom_attributes: BTreeMap<String, serde_json::Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            phone: row.phone,
            email: row.email,
            instagram_id: row.instagram_id,
            custom_attributes: serde_json::from_value(row.custom_attributes).unwrap_or_default(),
            tags: row.tags,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

paginated!(
    /// A page of contacts.
    ContactList,
    Contact
);

/// A new contact; at least one of name, phone, e-mail or Instagram id.
#[derive(Debug, Clone, Object)]
pub struct CreateContact {
    /// Name.
    pub name: Option<String>,
    /// Phone in international form, like +6281234567890.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Instagram-scoped user id.
    pub instagram_id: Option<String>,
    /// Free-form attributes (at most 100, 16 KiB).
    pub custom_attributes: Option<BTreeMap<String, serde_json::Value>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

/// Changes to a contact: absent fields stay, an empty string clears one, an attribute set
/// to null is removed, `tags` replaces the set.
#[derive(Debug, Clone, Object)]
pub struct UpdateContact {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Instagram-scoped user id.
    pub instagram_id: Option<String>,
    /// Attributes to set or (with null) remove.
    pub custom_attributes: Option<BTreeMap<String, serde_json::Value>>,
    /// The full new set of tags.
    pub tags: Option<Vec<String>>,
}

/// Merges another contact into this one.
#[derive(Debug, Clone, Object)]
pub struct MergeContactsRequest {
    /// The contact that disappears; its conversations and missing fields move here.
    pub source_contact_id: Uuid,
}

/// A contact written by a command.
#[derive(ApiResponse)]
pub enum ContactWritten {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<Contact>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
    /// Changed.
    #[oai(status = 200)]
    Ok(
        Json<Contact>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// Contact operations.
pub struct ContactsApi;

impl ContactsApi {
    async fn read(state: &AppState, scope: TenantScope, id: Uuid, position: Option<i64>) -> ApiResult<Contact> {
        wait_for_position(state, "inbox", position).await?;
        let row = contact_queries::get(&state.pool, scope, id).await?;
        row.map(Contact::from).ok_or_else(|| ApiError::not_found("contact"))
    }
}

#[OpenApi(prefix_path = "/api/contacts", tag = "ApiTags::Contacts")]
impl ContactsApi {
    /// Lists contacts, by creation (needs `contacts.view`).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Words of the name, e-mail or Instagram id (the last may be the start of one), or
        /// digits of the phone (`3456`, `+62 812`).
        search: Query<Option<String>>,
        /// Only contacts with this tag.
        tag: Query<Option<String>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the list includes the write at this position.
        #[oai(name = "X-Min-Position")]
        min_position: Header<Option<i64>>,
    ) -> ApiResult<Json<ContactList>> {
        let scope = auth.principal().require(Permission::ContactsView)?.scope()?;
        let request = page_request(page.0, per_page.0, cursor.0)?;
        wait_for_position(state.0, "inbox", min_position.0).await?;
        let filter = ContactFilter {
            search: search.0.filter(|s| !s.trim().is_empty()),
            tag: tag.0,
        };
        let page = contact_queries::list(&state.pool, scope, &filter, &request).await?;
        Ok(Json(ContactList::from_page(page, Contact::from)))
    }

    /// Creates a contact; phone, e-mail and Instagram id are unique in the organization (needs `contacts.manage`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateContact>,
    ) -> ApiResult<ContactWritten> {
        let principal = auth.principal().require(Permission::ContactsManage)?;
        let body = body.0;
        if body.name.is_none() && body.phone.is_none() && body.email.is_none() && body.instagram_id.is_none() {
            return Err(ApiError::validation(
                "name",
                "give at least a name, phone, email or instagram_id",
            ));
        }
        let profile = ContactProfile {
            name: body.name,
            phone: body.phone,
            email: body.email,
            instagram_id: body.instagram_id,
            custom_attributes: body.custom_attributes.unwrap_or_default(),
            tags: body.tags.unwrap_or_default(),
        };
        let ctx = principal.command_context()?;
        let executed = contact_commands::create(&state.bus, &ctx, profile).await?;
        let contact = Self::read(state.0, principal.scope()?, executed.id, executed.position).await?;
        Ok(ContactWritten::Created(
            Json(contact),
            executed.version,
            executed.position,
        ))
    }

    /// Reads a contact (needs `contacts.view`).
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        /// Wait until the contact has reached this stream version.
        min_version: Query<Option<i64>>,
    ) -> ApiResult<Json<Contact>> {
        let scope = auth.principal().require(Permission::ContactsView)?.scope()?;
        let pool = &state.pool;
        wait_for_version(state.0, min_version.0, || async move {
            Ok(contact_queries::get(pool, scope, id.0).await?.map(|c| c.version))
        })
        .await?;
        Ok(Json(Self::read(state.0, scope, id.0, None).await?))
    }

    /// Changes a contact (needs `contacts.manage`).
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateContact>,
    ) -> ApiResult<ContactWritten> {
        let principal = auth.principal().require(Permission::ContactsManage)?;
        let body = body.0;
        let changes = ContactChanges {
            name: body.name,
            phone: body.phone,
            email: body.email,
            instagram_id: body.instagram_id,
            custom_attributes: body.custom_attributes,
            tags: body.tags,
        };
        let ctx = principal.command_context()?;
        let executed = contact_commands::update(&state.bus, &ctx, id.0, changes).await?;
        let contact = Self::read(state.0, principal.scope()?, id.0, executed.position).await?;
        Ok(ContactWritten::Ok(Json(contact), executed.version, executed.position))
    }

    /// Deletes a contact; its identities are free again (needs `contacts.manage`).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::ContactsManage)?;
        let ctx = principal.command_context()?;
        let executed = contact_commands::delete(&state.bus, &ctx, id.0).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }

    /// Erases a contact's personal data on request (GDPR): its events stay for the audit
    /// trail, but their personal fields become unreadable for good (its key is destroyed),
    /// the read models drop them, and the raw webhook deliveries that carried its messages
    /// are deleted (needs `contacts.manage`).
    #[oai(path = "/:id/erase", method = "post")]
    async fn erase(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::ContactsManage)?;
        let ctx = principal.command_context()?;
        let executed = contact_commands::erase(&state.bus, state.events.shredder(), &ctx, id.0).await?;
        deliveries::forget_subject(&state.pool, principal.scope()?.tenant_id(), id.0).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }

    /// Merges `source_contact_id` into this contact: its missing fields, identities and
    /// conversations move here, as events (needs `contacts.manage`).
    #[oai(path = "/:id/merge", method = "post")]
    async fn merge(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<MergeContactsRequest>,
    ) -> ApiResult<ContactWritten> {
        let principal = auth.principal().require(Permission::ContactsManage)?;
        let scope = principal.scope()?;
        let source = body.0.source_contact_id;
        if contact_queries::get(&state.pool, scope, source).await?.is_none() {
            return Err(ApiError::not_found("contact"));
        }
        let conversations = contact_queries::conversation_ids(&state.pool, scope, source).await?;
        let ctx = principal.command_context()?;
        let executed = contact_commands::merge(&state.bus, &ctx, source, id.0, &conversations).await?;
        let contact = Self::read(state.0, scope, id.0, executed.position).await?;
        Ok(ContactWritten::Ok(Json(contact), executed.version, executed.position))
    }
}
