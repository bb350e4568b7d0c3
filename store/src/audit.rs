//! Hash-chain verification: recomputes every event's hash of a tenant's streams and checks
//! versions run 1..n without gaps and end at the head recorded in `streams`.

use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::hash::{chain_hash, HashedContent};
use crate::StoreError;

/// A break found in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The stream.
    pub stream_id: String,
    /// The version at which the chain breaks (0: the stream's head record).
    pub version: i64,
    /// What is wrong.
    pub problem: String,
}

/// The result of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Streams checked.
    pub streams: i64,
    /// Events checked.
    pub events: i64,
    /// Breaks found; empty when every chain is intact.
    pub breaks: Vec<ChainBreak>,
}

struct Walk {
    stream_id: String,
    expected_version: i64,
    prev_hash: Option<Vec<u8>>,
}

/// Verifies every stream of a tenant (`None`: the platform streams).
#[tracing::instrument(skip(pool), err)]
pub async fn verify_tenant(pool: &PgPool, tenant_id: Option<Uuid>) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut rows = sqlx::query(
        "SELECT stream_id, version, event_id, event_type, schema_version, tenant_id, payload, metadata, \
                recorded_at, prev_hash, hash \
         FROM events WHERE tenant_id IS NOT DISTINCT FROM $1 ORDER BY stream_id, version",
    )
    .bind(tenant_id)
    .fetch(pool);
    let mut walk: Option<Walk> = None;
    let mut heads: Vec<(String, i64, Vec<u8>)> = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let stream_id: String = row.try_get("stream_id")?;
        let version: i64 = row.try_get("version")?;
        if walk.as_ref().is_none_or(|w| w.stream_id != stream_id) {
            if let Some(done) = walk.take() {
                heads.push((
                    done.stream_id,
                    done.expected_version - 1,
                    done.prev_hash.unwrap_or_default(),
                ));
            }
            report.streams += 1;
            walk = Some(Walk {
                stream_id: stream_id.clone(),
                expected_version: 1,
                prev_hash: None,
            });
        }
        let Some(current) = walk.as_mut() else { continue };
        report.events += 1;
        let payload: Value = row.try_get("payload")?;
        let metadata: Value = row.try_get("metadata")?;
        let stored_prev: Option<Vec<u8>> = row.try_get("prev_hash")?;
        let stored_hash: Vec<u8> = row.try_get("hash")?;
        if version != current.expected_version {
            report.breaks.push(ChainBreak {
                stream_id: stream_id.clone(),
                version,
                problem: format!(
                    "expected version {}, found {version}: events are missing",
                    current.expected_version
                ),
            });
        }
        if stored_prev != current.prev_hash {
            report.breaks.push(ChainBreak {
                stream_id: stream_id.clone(),
                version,
                problem: "previous hash does not match the preceding event".into(),
            });
        }
        let recomputed = chain_hash(
            current.prev_hash.as_deref(),
            &HashedContent {
                stream_id: &stream_id,
                version,
                event_id: row.try_get("event_id")?,
                event_type: &row.try_get::<String, _>("event_type")?,
                schema_version: row.try_get("schema_version")?,
                tenant_id: row.try_get("tenant_id")?,
                payload: &payload,
                metadata: &metadata,
                recorded_at: row.try_get("recorded_at")?,
            },
        );
        if recomputed != stored_hash {
            report.breaks.push(ChainBreak {
                stream_id: stream_id.clone(),
                version,
                problem: "content does not match its hash: the event was altered".into(),
            });
        }
        // Continue the chain from the stored hash, so one altered event is reported once.
        current.prev_hash = Some(stored_hash);
        current.expected_version = version + 1;
    }
    drop(rows);
    if let Some(done) = walk.take() {
        heads.push((
            done.stream_id,
            done.expected_version - 1,
            done.prev_hash.unwrap_or_default(),
        ));
    }
    check_heads(pool, tenant_id, &heads, &mut report).await?;
    Ok(report)
}

/// Compares each walked stream's end with the head recorded at append time, which catches
/// events removed from the end of a stream, and finds recorded streams left with no events.
async fn check_heads(
    pool: &PgPool,
    tenant_id: Option<Uuid>,
    walked: &[(String, i64, Vec<u8>)],
    report: &mut VerifyReport,
) -> Result<(), StoreError> {
    let recorded =
        sqlx::query("SELECT stream_id, version, last_hash FROM streams WHERE tenant_id IS NOT DISTINCT FROM $1")
            .bind(tenant_id)
            .fetch_all(pool)
            .await?;
    let walked: std::collections::HashMap<&str, (i64, &[u8])> = walked
        .iter()
        .map(|(s, v, h)| (s.as_str(), (*v, h.as_slice())))
        .collect();
    for row in recorded {
        let stream_id: String = row.try_get("stream_id")?;
        let version: i64 = row.try_get("version")?;
        let last_hash: Vec<u8> = row.try_get("last_hash")?;
        match walked.get(stream_id.as_str()) {
            None => report.breaks.push(ChainBreak {
                stream_id,
                version: 0,
                problem: format!("the stream's {version} events are missing"),
            }),
            Some((walked_version, walked_hash))
                if *walked_version != version || *walked_hash != last_hash.as_slice() =>
            {
                report.breaks.push(ChainBreak {
                    stream_id,
                    version: 0,
                    problem: format!(
                        "the stream ends at version {walked_version} but its head records version {version}"
                    ),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}
