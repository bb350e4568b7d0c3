//! The per-stream hash chain: each event's SHA-256 covers its canonical content and the
//! previous event's hash, so altering or removing an event breaks every hash after it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The fields of an event that its hash covers.
pub struct HashedContent<'a> {
    /// The stream.
    pub stream_id: &'a str,
    /// Version in the stream.
    pub version: i64,
    /// Event id.
    pub event_id: Uuid,
    /// Stored type name.
    pub event_type: &'a str,
    /// Payload schema version.
    pub schema_version: i32,
    /// Tenant.
    pub tenant_id: Option<Uuid>,
    /// Payload.
    pub payload: &'a Value,
    /// Metadata, as stored.
    pub metadata: &'a Value,
    /// Recording time (microsecond precision, as stored).
    pub recorded_at: DateTime<Utc>,
}

/// The chained hash of an event: SHA-256 over the previous hash and the canonical content.
pub fn chain_hash(prev_hash: Option<&[u8]>, content: &HashedContent<'_>) -> Vec<u8> {
    let mut canonical = String::with_capacity(256);
    write_canonical(
        &mut canonical,
        &serde_json::json!([
            content.stream_id,
            content.version,
            content.event_id.to_string(),
            content.event_type,
            content.schema_version,
            content.tenant_id.map(|t| t.to_string()),
            content.payload,
            content.metadata,
            content.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        ]),
    );
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.unwrap_or(&[0u8; 32]));
    hasher.update(canonical.as_bytes());
    hasher.finalize().to_vec()
}

/// JSON with object keys sorted at every level and no whitespace: the same bytes for the
/// same value, whatever order a map or the database kept its keys in.
pub fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn content<'a>(payload: &'a Value, metadata: &'a Value) -> HashedContent<'a> {
        HashedContent {
            stream_id: "agent-1",
            version: 1,
            event_id: Uuid::nil(),
            event_type: "AgentCreated",
            schema_version: 1,
            tenant_id: None,
            payload,
            metadata,
            recorded_at: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut out = String::new();
        write_canonical(
            &mut out,
            &json!({"b": 1, "a": {"d": [1, {"z": null, "y": "x"}], "c": 1.5}}),
        );
        assert_eq!(out, r#"{"a":{"c":1.5,"d":[1,{"y":"x","z":null}]},"b":1}"#);
    }

    #[test]
    fn the_hash_depends_on_content_and_predecessor() {
        let meta = json!({});
        let a = chain_hash(None, &content(&json!({"x": 1}), &meta));
        assert_eq!(a.len(), 32);
        assert_eq!(a, chain_hash(None, &content(&json!({"x": 1}), &meta)));
        assert_ne!(a, chain_hash(None, &content(&json!({"x": 2}), &meta)));
        assert_ne!(a, chain_hash(Some(&[1u8; 32]), &content(&json!({"x": 1}), &meta)));
    }
}
