//! Crypto-shredding. Personal fields (as `omnistream_domain::personal_data` names them) are
//! sealed with AES-256-GCM under their subject's key before they are stored, and opened when
//! read. Deleting a subject's key erases those fields from every event at once; the events,
//! and the hash chains over their sealed bytes, stay as they were.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use omnistream_domain::personal_data::{personal_fields, PersonalFields, Subject};
use rand::RngCore;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{AppendOutcome, AppendRequest, Checkpoint, EventStore, RecordedEvent, StoreError};

/// The marker key of a sealed value.
const SEALED: &str = "$sealed";

/// Seals and opens personal fields with per-subject keys kept in `personal_keys`.
#[derive(Clone)]
pub struct Shredder {
    pool: PgPool,
}

fn subject_of(stream_id: &str, payload: &Value, fields: &PersonalFields) -> Option<Uuid> {
    match fields.subject {
        Subject::Stream => stream_id.split_once('-').and_then(|(_, id)| Uuid::parse_str(id).ok()),
        Subject::Field(pointer) => payload
            .pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok()),
    }
}

fn aad(subject: Uuid, pointer: &str) -> Vec<u8> {
    let mut aad = subject.as_bytes().to_vec();
    aad.extend_from_slice(pointer.as_bytes());
    aad
}

impl Shredder {
    /// A shredder over the database holding `personal_keys`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The keys of these subjects, creating the missing ones when `create` is set.
    async fn keys(
        &self,
        subjects: &HashSet<(Uuid, Option<Uuid>)>,
        create: bool,
    ) -> Result<HashMap<Uuid, Vec<u8>>, StoreError> {
        if subjects.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = subjects.iter().map(|(id, _)| *id).collect();
        if create {
            let tenants: Vec<Option<Uuid>> = subjects.iter().map(|(_, tenant)| *tenant).collect();
            let keys: Vec<Vec<u8>> = subjects
                .iter()
                .map(|_| {
                    let mut key = vec![0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut key);
                    key
                })
                .collect();
            sqlx::query(
                "INSERT INTO personal_keys (subject_id, tenant_id, key) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bytea[]) ON CONFLICT (subject_id) DO NOTHING",
            )
            .bind(&ids)
            .bind(&tenants)
            .bind(&keys)
            .execute(&self.pool)
            .await?;
        }
        let rows: Vec<(Uuid, Vec<u8>)> =
            sqlx::query_as("SELECT subject_id, key FROM personal_keys WHERE subject_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Seals the personal fields of the events about to be appended.
    pub async fn seal(&self, requests: &mut [AppendRequest]) -> Result<(), StoreError> {
        let mut subjects = HashSet::new();
        for request in requests.iter() {
            for event in &request.events {
                if let Some(fields) = personal_fields(&event.event_type) {
                    if let Some(subject) = subject_of(&request.stream_id, &event.payload, &fields) {
                        subjects.insert((subject, request.tenant_id));
                    }
                }
            }
        }
        let keys = self.keys(&subjects, true).await?;
        for request in requests.iter_mut() {
            for event in &mut request.events {
                let Some(fields) = personal_fields(&event.event_type) else {
                    continue;
                };
                let Some(subject) = subject_of(&request.stream_id, &event.payload, &fields) else {
                    continue;
                };
                let Some(key) = keys.get(&subject) else { continue };
                let cipher = Aes256Gcm::new_from_slice(key).map_err(|e| StoreError::Crypto(e.to_string()))?;
                for (pointer, _) in fields.fields {
                    let Some(slot) = event.payload.pointer_mut(pointer) else {
                        continue;
                    };
                    if slot.is_null() || slot.get(SEALED).is_some() {
                        continue;
                    }
                    let clear = serde_json::to_vec(slot).map_err(|e| StoreError::Crypto(e.to_string()))?;
                    let mut nonce = [0u8; 12];
                    rand::rngs::OsRng.fill_bytes(&mut nonce);
                    let aad = aad(subject, pointer);
                    let sealed = cipher
                        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &clear, aad: &aad })
                        .map_err(|e| StoreError::Crypto(e.to_string()))?;
                    *slot = json!({ SEALED: { "subject": subject, "nonce": hex::encode(nonce), "data": hex::encode(sealed) } });
                }
            }
        }
        Ok(())
    }

    /// Opens the sealed fields of events read back; a field whose key is gone reads as its
    /// erased value.
    pub async fn open(&self, events: &mut [RecordedEvent]) -> Result<(), StoreError> {
        let mut subjects = HashSet::new();
        for event in events.iter() {
            let Some(fields) = personal_fields(&event.event_type) else {
                continue;
            };
            for (pointer, _) in fields.fields {
                if let Some(subject) = event
                    .payload
                    .pointer(pointer)
                    .and_then(|v| v.get(SEALED))
                    .and_then(|s| s["subject"].as_str())
                    .and_then(|s| Uuid::parse_str(s).ok())
                {
                    subjects.insert((subject, None));
                }
            }
        }
        let keys = self.keys(&subjects, false).await?;
        for event in events.iter_mut() {
            let Some(fields) = personal_fields(&event.event_type) else {
                continue;
            };
            for (pointer, erased) in fields.fields {
                let Some(slot) = event.payload.pointer_mut(pointer) else {
                    continue;
                };
                let Some(sealed) = slot.get(SEALED).cloned() else {
                    continue;
                };
                *slot = open_one(&sealed, pointer, &keys)
                    .unwrap_or_else(|| serde_json::from_str(erased).unwrap_or(Value::Null));
            }
        }
        Ok(())
    }

    /// Destroys a subject's key; answers whether there was one.
    pub async fn destroy(&self, subject_id: Uuid) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM personal_keys WHERE subject_id = $1")
            .bind(subject_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }
}

/// The clear value of one sealed field, if its key exists and it authenticates.
fn open_one(sealed: &Value, pointer: &str, keys: &HashMap<Uuid, Vec<u8>>) -> Option<Value> {
    let subject = Uuid::parse_str(sealed["subject"].as_str()?).ok()?;
    let key = keys.get(&subject)?;
    let nonce = hex::decode(sealed["nonce"].as_str()?).ok()?;
    let data = hex::decode(sealed["data"].as_str()?).ok()?;
    if nonce.len() != 12 {
        return None;
    }
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    let aad = aad(subject, pointer);
    match cipher.decrypt(Nonce::from_slice(&nonce), Payload { msg: &data, aad: &aad }) {
        Ok(clear) => serde_json::from_slice(&clear).ok(),
        Err(_) => {
            tracing::error!(%subject, pointer, "a sealed field does not authenticate: it was altered");
            None
        }
    }
}

/// An event store that seals personal fields on the way in and opens them on the way out.
#[derive(Clone)]
pub struct ShreddingStore {
    inner: Arc<dyn EventStore>,
    shredder: Shredder,
}

impl ShreddingStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn EventStore>, shredder: Shredder) -> Self {
        Self { inner, shredder }
    }

    /// The shredder, to erase subjects or open events read elsewhere.
    pub fn shredder(&self) -> &Shredder {
        &self.shredder
    }
}

#[async_trait]
impl EventStore for ShreddingStore {
    async fn append(&self, mut requests: Vec<AppendRequest>) -> Result<Vec<AppendOutcome>, StoreError> {
        self.shredder.seal(&mut requests).await?;
        self.inner.append(requests).await
    }

    async fn read_stream(&self, stream_id: &str, from_version: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_stream(stream_id, from_version).await?;
        self.shredder.open(&mut events).await?;
        Ok(events)
    }

    async fn read_all(&self, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.inner.read_all(after, limit).await?;
        self.shredder.open(&mut events).await?;
        Ok(events)
    }

    async fn read_all_sealed(&self, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn head_position(&self) -> Result<i64, StoreError> {
        self.inner.head_position().await
    }

    fn wake_ups(&self) -> watch::Receiver<u64> {
        self.inner.wake_ups()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_subject_and_place() {
        let subject = Uuid::from_u128(7);
        let key = vec![9u8; 32];
        let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
        let nonce = [1u8; 12];
        let clear = serde_json::to_vec(&json!("Budi")).unwrap();
        let data = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &clear,
                    aad: &aad(subject, "/body/text"),
                },
            )
            .unwrap();
        let sealed = json!({ "subject": subject, "nonce": hex::encode(nonce), "data": hex::encode(data) });
        let keys: HashMap<Uuid, Vec<u8>> = [(subject, key)].into_iter().collect();
        assert_eq!(open_one(&sealed, "/body/text", &keys), Some(json!("Budi")));
        assert_eq!(open_one(&sealed, "/profile", &keys), None, "bound to its place");
        assert_eq!(
            open_one(&sealed, "/body/text", &HashMap::new()),
            None,
            "no key, no value"
        );
    }
}
