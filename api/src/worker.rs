//! `omnistream worker`: projection workers without the API. A worker serves `/metrics`
//! (projection lag and, on the Kafka feed, consumer lag) and `/api/health` on its own
//! address (`OMNISTREAM_WORKER_BIND`), so several workers on one machine do not collide with
//! `serve`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnistream_projections::metrics::ProjectionMetrics;
use omnistream_store::EventStore;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{get, handler, EndpointExt, Route, Server};
use poem_openapi::payload::Json;
use prometheus::Registry;
use tokio::sync::watch;

use crate::app;
use crate::config::{Config, ProjectionSource};
use crate::routes::health::HealthResponse;

/// Runs the projection workers following `source` (default: the configured one) until
/// Ctrl-C or SIGTERM.
pub async fn run(config: Config, source: Option<ProjectionSource>) -> anyhow::Result<()> {
    let source = source.unwrap_or(config.projection_source);
    let (pool, store) = app::connect(&config).await?;
    let events: Arc<dyn EventStore> = app::shredding(&pool, &store);
    app::install_projections(&pool, &events).await?;
    let registry = Registry::new();
    let metrics = ProjectionMetrics::register(&registry)?;
    let kafka = app::KafkaRuntime::from_config(&config, &registry)?;
    let acceptor = TcpListener::bind(config.worker_bind).into_acceptor().await?;
    let address = acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied());
    let (shutdown, receiver) = watch::channel(false);
    app::spawn_projection_workers(
        &pool,
        &events,
        metrics,
        &config.projections,
        source,
        kafka.as_ref(),
        receiver,
    )?;
    tracing::info!(
        ?source,
        metrics = %address.map_or_else(String::new, |a| format!("http://{a}/metrics")),
        "projection workers running; Ctrl-C or SIGTERM stops them"
    );
    let routes = Route::new()
        .at("/metrics", get(metrics_text))
        .at("/api/health", get(health))
        .data(registry)
        .data(Instant::now());
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes, app::shutdown_signal(), Some(Duration::from_secs(5)))
        .await;
    let _ = shutdown.send(true);
    // Let the consumer leave its group, so its partitions move on at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(served?)
}

#[handler]
fn metrics_text(Data(registry): Data<&Registry>) -> String {
    app::encode_metrics(registry)
}

#[handler]
fn health(Data(started): Data<&Instant>) -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: started.elapsed().as_secs(),
        checks: None,
    })
}
