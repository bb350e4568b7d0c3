//! The naive baseline: the same rows OmniStream writes (event with its chained hash, and
//! the stream head), but one transaction per event.

use chrono::Utc;
use omnistream_domain::Metadata;
use omnistream_store::hash::{chain_hash, HashedContent};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{fresh_database, measure, Mode};

async fn insert_one(pool: &PgPool, stream: &str, version: i64, prev: Option<Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    let payload = serde_json::json!({ "name": "Bench Co" });
    let metadata = serde_json::to_value(Metadata::system())?;
    let event_id = Uuid::now_v7();
    let recorded_at = Utc::now();
    let hash = chain_hash(
        prev.as_deref(),
        &HashedContent {
            stream_id: stream,
            version,
            event_id,
            event_type: "OrganizationCreated",
            schema_version: 1,
            tenant_id: None,
            payload: &payload,
            metadata: &metadata,
            recorded_at,
        },
    );
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, payload, metadata, recorded_at, prev_hash, hash) \
         VALUES ($1, $2, $3, 'OrganizationCreated', 1, $4, $5, $6, $7, $8)",
    )
    .bind(stream)
    .bind(version)
    .bind(event_id)
    .bind(&payload)
    .bind(&metadata)
    .bind(recorded_at)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO streams (stream_id, version, last_hash) VALUES ($1, $2, $3) \
         ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, last_hash = EXCLUDED.last_hash",
    )
    .bind(stream)
    .bind(version)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(hash)
}

pub async fn run(server: &str, writers: usize, seconds: u64, mode: Mode) -> anyhow::Result<f64> {
    let url = fresh_database(server, "omnistream_bench_naive").await?;
    let pool = omnistream_api::db::connect(&url, (writers as u32 + 4).min(60)).await?;
    omnistream_api::db::migrate(&pool).await?;
    let worker_pool = pool.clone();
    let rate = measure(writers, seconds, mode, move |writer, n| {
        let pool = worker_pool.clone();
        async move {
            match mode {
                Mode::Single => {
                    insert_one(&pool, &format!("organization-{}", Uuid::now_v7()), 1, None).await?;
                }
                Mode::Batch100 => {
                    let stream = format!("bench-{writer}");
                    let mut prev = None;
                    for i in 0..100 {
                        prev = Some(insert_one(&pool, &stream, n as i64 * 100 + i + 1, prev).await?);
                    }
                }
            }
            Ok(())
        }
    })
    .await?;
    pool.close().await;
    Ok(rate)
}
