//! E-mail claims: loading the claim stream of an address.

use omnistream_domain::email_claim::EmailClaim;
use omnistream_domain::values::Email;
use sha2::{Digest, Sha256};

use crate::{CommandBus, CommandError, Loaded, Scope};

/// The claim-stream id suffix of an address: its SHA-256, so ids never show addresses.
pub fn claim_id(email: &Email) -> String {
    hex::encode(Sha256::digest(email.as_str().as_bytes()))
}

/// Loads the claim on an address (a platform stream).
pub async fn load(bus: &CommandBus, email: &Email) -> Result<Loaded<EmailClaim>, CommandError> {
    bus.load::<EmailClaim>(Scope::Platform, &claim_id(email)).await
}
