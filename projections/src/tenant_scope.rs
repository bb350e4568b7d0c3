//! The one door to tenant data on the read side: every read-model query of tenant data takes
//! a [`TenantScope`] and binds its id, so no query can forget the tenant filter.

use uuid::Uuid;

/// The tenant a read is allowed to see. Built by the API from an authenticated principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: Uuid,
}

impl TenantScope {
    /// A scope for one tenant.
    pub fn new(tenant_id: Uuid) -> Self {
        Self { tenant_id }
    }

    /// The tenant's id, to bind into queries.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }
}
