//! Health tag: liveness and readiness.

use std::time::Duration;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::app::Role;
use crate::state::SharedState;

/// The service's health.
#[derive(Debug, Clone, Object)]
pub struct HealthResponse {
    /// `ok`, `ready` or `unavailable`.
    pub status: String,
    /// The service version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Each dependency's state (readiness only): `ok` or what failed.
    #[oai(skip_serializing_if_is_none)]
    pub checks: Option<std::collections::BTreeMap<String, String>>,
}

/// Readiness answers.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// Every dependency is reachable.
    #[oai(status = 200)]
    Ready(Json<HealthResponse>),
    /// A dependency is down.
    #[oai(status = 503)]
    Unavailable(Json<HealthResponse>),
}

/// Health operations.
pub struct HealthApi;

#[OpenApi(prefix_path = "/api/health", tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process is up (no dependency is checked).
    #[oai(path = "/", method = "get")]
    async fn health(&self, state: Data<&SharedState>) -> Json<HealthResponse> {
        Json(HealthResponse {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_seconds: state.0.started.elapsed().as_secs(),
            checks: None,
        })
    }

    /// Readiness: the database answers and the projections are installed; with Kafka, a
    /// broker answers too (a Kafka-first webhook-ingestor needs only the broker).
    #[oai(path = "/ready", method = "get")]
    async fn ready(&self, state: Data<&SharedState>) -> ReadyResponse {
        let mut checks = std::collections::BTreeMap::new();
        let database = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM projection_state")
            .fetch_one(&state.0.pool)
            .await;
        let ok = match database {
            Ok(n) if n > 0 => {
                checks.insert("database".into(), "ok".into());
                true
            }
            Ok(_) => {
                checks.insert("database".into(), "projections not installed".into());
                false
            }
            Err(error) => {
                tracing::warn!(%error, "readiness: database unreachable");
                checks.insert("database".into(), "unreachable".into());
                false
            }
        };
        // Kafka-first receivers keep taking webhooks while the database is away.
        let database_required = !(state.0.role == Role::Ingestor && state.0.config.kafka_ingest);
        let mut ok = ok || !database_required;
        if let Some(kafka) = &state.0.kafka {
            match kafka.probe.check(Duration::from_secs(2)).await {
                Ok(()) => {
                    checks.insert("kafka".into(), "ok".into());
                }
                Err(error) => {
                    tracing::warn!(%error, "readiness: Kafka unreachable");
                    checks.insert("kafka".into(), "unreachable".into());
                    ok = false;
                }
            }
        }
        let body = HealthResponse {
            status: if ok { "ready" } else { "unavailable" }.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_seconds: state.0.started.elapsed().as_secs(),
            checks: Some(checks),
        };
        if ok {
            ReadyResponse::Ready(Json(body))
        } else {
            ReadyResponse::Unavailable(Json(body))
        }
    }
}
