//! Claims on unique values: the claim stream of a value is named by a digest, so stream ids
//! never show e-mail addresses or phone numbers.

use omnistream_domain::claim::ValueClaim;
use omnistream_domain::values::Email;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{CommandBus, CommandError, Loaded, Scope};

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

/// Loads the claim on a login e-mail (unique across OmniStream: a platform stream).
pub async fn login_email(bus: &CommandBus, email: &Email) -> Result<Loaded<ValueClaim>, CommandError> {
    bus.load::<ValueClaim>(Scope::Platform, &digest(&["login-email", email.as_str()]))
        .await
}

/// Loads the claim on a provider identifier deliveries are routed by (a WhatsApp phone
/// number id, an Instagram account id, an inbound e-mail address): unique across
/// OmniStream, since a delivery names no tenant.
pub async fn routing_key(bus: &CommandBus, kind: &str, value: &str) -> Result<Loaded<ValueClaim>, CommandError> {
    bus.load::<ValueClaim>(Scope::Platform, &digest(&["routing", kind, value]))
        .await
}

/// The claim-stream id of a value unique within an organization (for bulk loaders that
/// append claims without loading them).
pub fn tenant_value_stream(tenant_id: Uuid, kind: &str, value: &str) -> String {
    use omnistream_domain::Aggregate;
    ValueClaim::stream_id(digest(&["tenant-value", &tenant_id.to_string(), kind, value]))
}

/// Loads the claim on a value unique within an organization: a contact's channel identity
/// (`phone`, `email`, `instagram`) or a quick reply's shortcut (`shortcut`).
pub async fn tenant_value(
    bus: &CommandBus,
    tenant_id: Uuid,
    kind: &str,
    value: &str,
) -> Result<Loaded<ValueClaim>, CommandError> {
    let tenant = tenant_id.to_string();
    bus.load::<ValueClaim>(
        Scope::Tenant(tenant_id),
        &digest(&["tenant-value", &tenant, kind, value]),
    )
    .await
}
