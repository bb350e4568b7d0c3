//! Meta's delivery envelope (`{"object": ..., "entry": [...]}`, the same for WhatsApp and
//! Instagram) and what can be wrong with a provider's payload.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Why a delivery cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON, or a required field is missing or of the wrong type.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// JSON of another object type than the receiver's.
    #[error("unknown object type {0:?}")]
    UnknownObject(String),
}

impl From<serde_json::Error> for PayloadError {
    fn from(error: serde_json::Error) -> Self {
        PayloadError::Malformed(error.to_string())
    }
}

#[derive(Deserialize)]
#[serde(bound = "E: DeserializeOwned")]
struct Envelope<E> {
    object: String,
    #[serde(default)]
    entry: Vec<E>,
}

/// The entries of a Meta delivery whose `object` must be `expected`.
pub(crate) fn meta_entries<E: DeserializeOwned>(raw_body: &[u8], expected: &str) -> Result<Vec<E>, PayloadError> {
    let envelope: Envelope<E> = serde_json::from_slice(raw_body)?;
    if envelope.object != expected {
        return Err(PayloadError::UnknownObject(envelope.object));
    }
    Ok(envelope.entry)
}
