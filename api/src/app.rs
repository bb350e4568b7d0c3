//! The application: database bootstrap, the event store, projection workers, background
//! jobs and the HTTP server, built from a [`Config`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnistream_commands::media::MediaStore;
use omnistream_commands::secrets::SecretsKey;
use omnistream_commands::{idempotency, CommandBus};
use omnistream_ingest::accounts::Accounts;
use omnistream_ingest::arrivals::Arrivals;
use omnistream_ingest::deliveries::{self, DeliveryLog, DeliverySink};
use omnistream_ingest::outbound::{DeliverySettings, DeliveryWorker};
use omnistream_ingest::processor::Processor;
use omnistream_ingest::receiver::Ingestor;
use omnistream_kafka::consumer::PgOffsetConsumer;
use omnistream_kafka::health::BrokerProbe;
use omnistream_kafka::inbound::{InboundLog, InboundPublisher};
use omnistream_kafka::projector::{self, ProjectionFeed};
use omnistream_kafka::relay::Relay;
use omnistream_kafka::{topics, KafkaMetrics, KafkaSettings};
use omnistream_projections::changes::ChangeFeed;
use omnistream_projections::inbox::search_backend::SearchBackend;
use omnistream_projections::metrics::ProjectionMetrics;
use omnistream_projections::{rebuild, state as projection_state, Runner};
use omnistream_store::postgres::PgStoreConfig;
use omnistream_store::{EventStore, PgEventStore, Shredder, ShreddingStore};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::web::Data;
use poem::{get, handler, EndpointExt, Route, Server};
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::sync::watch;

use crate::auth::holder_cache::HolderCache;
use crate::config::{Config, ProjectionSelection, ProjectionSource};
use crate::middleware::metrics::HttpMetrics;
use crate::middleware::{body_limit, idempotency as idempotency_middleware, read_after_write, request};
use crate::query_cache::{self, QueryCache};
use crate::routes;
use crate::state::{AppState, SharedState};
use crate::window_rules::WindowRules;

/// Credential holders kept per cached page (`OMNISTREAM_QUERY_CACHE_ENTRIES`): a holder is
/// small, and every active session or key has one.
const HOLDERS_PER_CACHED_PAGE: usize = 5;

/// What a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything: the API, the webhook receivers, projection workers and jobs (`serve`).
    Full,
    /// The webhook receivers and their processor only (`webhook-ingestor`): health,
    /// `/api/webhooks/*` and metrics.
    Ingestor,
}

/// The Kafka side of a process, when `KAFKA_BROKERS` is set.
#[derive(Clone)]
pub struct KafkaRuntime {
    /// Where and what.
    pub settings: KafkaSettings,
    /// The relay's and consumers' metrics.
    pub metrics: KafkaMetrics,
    /// Readiness's broker check.
    pub probe: BrokerProbe,
}

impl KafkaRuntime {
    /// The Kafka side for `config`, its metrics registered in `registry`; `None` without
    /// Kafka.
    pub fn from_config(config: &Config, registry: &Registry) -> anyhow::Result<Option<Self>> {
        let Some(settings) = &config.kafka else { return Ok(None) };
        Ok(Some(Self {
            settings: settings.clone(),
            metrics: KafkaMetrics::register(registry)?,
            probe: BrokerProbe::new(settings)?,
        }))
    }
}

/// A built application, bound to its port, not yet serving.
pub struct Application {
    role: Role,
    state: SharedState,
    acceptor: TcpAcceptor,
    port: u16,
    shutdown: watch::Sender<bool>,
}

/// Connects, migrates and starts the event store: what every command of the binary needs.
pub async fn connect(config: &Config) -> anyhow::Result<(sqlx::PgPool, PgEventStore)> {
    crate::db::ensure_database(&config.database_url).await?;
    let pool = crate::db::connect(&config.database_url, config.max_connections).await?;
    crate::db::migrate(&pool).await?;
    let store = PgEventStore::start(
        pool.clone(),
        PgStoreConfig {
            writers: config.append_writers,
            ..PgStoreConfig::default()
        },
    )
    .await?;
    Ok((pool, store))
}

/// The store as everything but the writer sees it: personal fields sealed on the way in and
/// opened on the way out.
pub fn shredding(pool: &sqlx::PgPool, store: &PgEventStore) -> Arc<ShreddingStore> {
    Arc::new(ShreddingStore::new(
        Arc::new(store.clone()),
        Shredder::new(pool.clone()),
    ))
}

/// The secrets key: the configured one, else the one kept in the database.
pub async fn secrets_key(config: &Config, pool: &sqlx::PgPool) -> anyhow::Result<SecretsKey> {
    match &config.secrets_key {
        Some(hex_key) => Ok(SecretsKey::from_hex(hex_key).map_err(|e| anyhow::anyhow!("OMNISTREAM_SECRETS_KEY: {e}"))?),
        None => {
            tracing::warn!(
                "OMNISTREAM_SECRETS_KEY is not set: integration secrets are sealed with a key kept in the database"
            );
            Ok(SecretsKey::stored(pool).await?)
        }
    }
}

/// The webhook receivers' state: account lookups and the delivery log; with the processor
/// of logged deliveries, the outbound delivery worker and the retention purge running, as
/// configured.
///
/// With Kafka-first ingest the receivers write to the inbound topic, and wherever the
/// processor runs a consumer copies the topic into the delivery log.
pub fn start_ingest(
    config: &Config,
    pool: &sqlx::PgPool,
    bus: &CommandBus,
    secrets: &SecretsKey,
    media: &MediaStore,
    kafka: Option<&KafkaRuntime>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Ingestor> {
    let accounts = Accounts::new(pool.clone(), secrets.clone());
    let arrivals = Arc::new(Arrivals::default());
    let kafka_ingest = kafka.filter(|_| config.kafka_ingest);
    let log: Arc<dyn DeliverySink> = match kafka_ingest {
        Some(kafka) => Arc::new(InboundPublisher::new(&kafka.settings, kafka.metrics.clone())?),
        None => Arc::new(DeliveryLog::start(pool.clone(), 2)),
    };
    if config.run_webhook_processor {
        let processor = Processor::new(pool.clone(), bus.clone(), accounts.clone(), arrivals.clone());
        tokio::spawn(processor.run(shutdown.clone()));
        if let Some(kafka) = kafka_ingest {
            let settings = &kafka.settings;
            PgOffsetConsumer::new(
                settings.clone(),
                settings.inbound_group(),
                settings.inbound_topic(),
                pool.clone(),
                Arc::new(InboundLog::new(arrivals.clone())),
                kafka.metrics.clone(),
            )
            .spawn(shutdown.clone())?;
        }
    }
    if config.run_delivery_worker {
        let settings = DeliverySettings {
            graph_url: config.meta_graph_url.clone(),
            smtp_url: config.smtp_url.clone(),
            retry_base: config.delivery_retry_base,
            max_attempts: config.delivery_max_attempts,
        };
        let worker = DeliveryWorker::new(
            pool.clone(),
            bus.clone(),
            accounts.clone(),
            Some(media.clone()),
            settings,
        )?;
        tokio::spawn(worker.run(shutdown.clone()));
    }
    let (pool, retention, mut shutdown) = (pool.clone(), config.webhook_retention, shutdown);
    tokio::spawn(async move {
        loop {
            match deliveries::purge(&pool, retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "webhook deliveries past retention deleted"),
                Err(error) => tracing::warn!(%error, "webhook delivery purge failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
    Ok(Ingestor::new(accounts, log, arrivals))
}

/// Installs every projection, rebuilding those whose definition changed since they were built.
pub async fn install_projections(pool: &sqlx::PgPool, store: &Arc<dyn EventStore>) -> anyhow::Result<()> {
    for projection in omnistream_projections::all() {
        if projection_state::install(pool, projection.as_ref()).await? {
            tracing::info!(projection = projection.name(), "definition changed; rebuilding");
            rebuild::rebuild(pool, store, projection.as_ref(), false).await?;
        }
    }
    Ok(())
}

/// Starts the projection workers; they stop when `shutdown` turns true. From the store: a
/// runner per projection. From Kafka: one consumer-group member applying every projection,
/// once the projections are moved over to the topic (retried until the broker answers).
pub fn spawn_projection_workers(
    pool: &sqlx::PgPool,
    store: &Arc<dyn EventStore>,
    metrics: ProjectionMetrics,
    selection: &ProjectionSelection,
    source: ProjectionSource,
    kafka: Option<&KafkaRuntime>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if source == ProjectionSource::Kafka && *selection != ProjectionSelection::All {
        anyhow::bail!("projections fed from Kafka run together: OMNISTREAM_PROJECTIONS may only be true or false");
    }
    match (source, kafka) {
        (ProjectionSource::Store, _) => {
            let selected = omnistream_projections::all()
                .into_iter()
                .filter(|p| selection.runs(p.name()));
            for projection in selected {
                let runner = Runner::new(store.clone(), pool.clone(), projection).with_metrics(metrics.clone());
                tokio::spawn(runner.run(shutdown.clone()));
            }
        }
        (ProjectionSource::Kafka, Some(kafka)) => {
            let (pool, kafka, mut shutdown) = (pool.clone(), kafka.clone(), shutdown);
            tokio::spawn(async move {
                loop {
                    match take_over_projections(&pool, &kafka.settings).await {
                        Ok(()) => break,
                        Err(error) => tracing::warn!(%error, "projections cannot move to Kafka yet; retrying"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = shutdown.changed() => return,
                    }
                }
                let feed = ProjectionFeed::new(pool.clone(), omnistream_projections::all());
                let settings = &kafka.settings;
                let member = PgOffsetConsumer::new(
                    settings.clone(),
                    settings.group.clone(),
                    settings.events_topic(),
                    pool.clone(),
                    Arc::new(feed),
                    kafka.metrics.clone(),
                );
                if let Err(error) = member.spawn(shutdown) {
                    tracing::error!(%error, "projection consumer thread failed to start");
                }
            });
        }
        (ProjectionSource::Kafka, None) => anyhow::bail!("projections from Kafka need KAFKA_BROKERS"),
    }
    Ok(())
}

async fn take_over_projections(pool: &sqlx::PgPool, settings: &KafkaSettings) -> anyhow::Result<()> {
    topics::ensure_topics(settings).await?;
    let partitions = topics::partition_count(settings, &settings.events_topic()).await?;
    projector::take_over(pool, &omnistream_projections::all(), partitions).await?;
    Ok(())
}

/// Starts the event relay (it waits as a standby while another process's relay leads).
pub fn spawn_relay(pool: &sqlx::PgPool, store: &PgEventStore, kafka: &KafkaRuntime, shutdown: watch::Receiver<bool>) {
    let relay = Relay::new(
        Arc::new(store.clone()),
        pool.clone(),
        kafka.settings.clone(),
        kafka.metrics.clone(),
    );
    tokio::spawn(relay.run(shutdown));
}

impl Application {
    /// Builds the whole application: database, migrations, store, projections, listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_as(config, Role::Full).await
    }

    /// Builds the application for a role.
    pub async fn build_as(config: Config, role: Role) -> anyhow::Result<Self> {
        let (pool, store) = connect(&config).await?;
        let events = shredding(&pool, &store);
        let reader: Arc<dyn EventStore> = events.clone();
        if role == Role::Full {
            install_projections(&pool, &reader).await?;
        }
        let secrets = secrets_key(&config, &pool).await?;
        let registry = Registry::new();
        let http = HttpMetrics::register(&registry)?;
        let projection_metrics = ProjectionMetrics::register(&registry)?;
        let kafka = KafkaRuntime::from_config(&config, &registry)?;
        let cache_requests = query_cache::register_metrics(&registry)?;
        // Only the API's queries are cached; the ingestor needs no announcements.
        let changes = match role {
            Role::Full => ChangeFeed::listen(pool.clone()),
            Role::Ingestor => ChangeFeed::idle(),
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shutdown_rx_ingest = shutdown_rx.clone();
        if role == Role::Full {
            if let Some(kafka) = kafka.as_ref().filter(|_| config.run_relay) {
                spawn_relay(&pool, &store, kafka, shutdown_rx.clone());
            }
            if config.projections != ProjectionSelection::None {
                spawn_projection_workers(
                    &pool,
                    &reader,
                    projection_metrics,
                    &config.projections,
                    config.projection_source,
                    kafka.as_ref(),
                    shutdown_rx.clone(),
                )?;
            }
            spawn_idempotency_purge(pool.clone(), shutdown_rx.clone());
            let job_bus = CommandBus::new(reader.clone());
            let job_settings = omnistream_commands::jobs::JobSettings {
                csat_link_base: config.csat_link_base.clone(),
            };
            tokio::spawn(omnistream_commands::jobs::work(
                job_bus,
                pool.clone(),
                job_settings,
                Duration::from_millis(500),
                shutdown_rx,
            ));
        }
        let acceptor = TcpListener::bind(config.bind).into_acceptor().await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(|s| s.port()))
            .unwrap_or_default();
        tracing::info!(address = %format!("{}:{port}", config.bind.ip()), "listening");
        let bus = CommandBus::new(reader.clone());
        let media = match &config.media_store {
            Some(url) => MediaStore::s3(url)?,
            None => MediaStore::local(&config.media_dir)?,
        };
        let ingest = start_ingest(
            &config,
            &pool,
            &bus,
            &secrets,
            &media,
            kafka.as_ref(),
            shutdown_rx_ingest,
        )?;
        let state = Arc::new(AppState {
            pool,
            store,
            events,
            bus,
            ingest,
            window_rules: WindowRules::new(changes.clone()),
            holders: HolderCache::new(
                changes.clone(),
                config.query_cache_entries.saturating_mul(HOLDERS_PER_CACHED_PAGE),
            ),
            inbox_pages: QueryCache::new(
                "inbox_pages",
                changes.clone(),
                &["inbox", "directory", "channels"],
                config.query_cache_entries,
                cache_requests.clone(),
            ),
            message_pages: QueryCache::new(
                "message_pages",
                changes.clone(),
                &["inbox"],
                config.query_cache_entries,
                cache_requests,
            ),
            search: SearchBackend::new(crate::db::connect_planned_once(
                &config.database_url,
                config.search_connections,
            )?),
            changes,
            secrets,
            media,
            config,
            registry,
            http,
            kafka,
            role,
            started: Instant::now(),
        });
        Ok(Self {
            role,
            state,
            acceptor,
            port,
            shutdown,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests use its pool).
    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// Serves until Ctrl-C (or SIGTERM), then stops the workers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let server = Server::new_with_acceptor(self.acceptor);
        let grace = Some(Duration::from_secs(10));
        let result = match self.role {
            Role::Full => {
                server
                    .run_with_graceful_shutdown(routes_for(self.state.clone()), shutdown_signal(), grace)
                    .await
            }
            Role::Ingestor => {
                server
                    .run_with_graceful_shutdown(ingestor_routes_for(self.state.clone()), shutdown_signal(), grace)
                    .await
            }
        };
        let _ = self.shutdown.send(true);
        result
    }
}

/// Every route with the middleware stack.
pub fn routes_for(state: SharedState) -> impl poem::Endpoint {
    let api = routes::service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let limits = body_limit::Limits {
        default: state.config.max_body_bytes,
        // Uploads carry files; the multipart envelope needs a little room on top.
        uploads: state.config.media_max_bytes + 64 * 1024,
    };
    Route::new()
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .at("/metrics", get(prometheus_metrics))
        .nest("/", api)
        .around(idempotency_middleware::around)
        .around(read_after_write::around)
        .around(move |next, req| body_limit::limit(next, req, limits))
        .around(request::around)
        .data(state)
}

/// The webhook-ingestor's routes: health, the receivers and metrics.
pub fn ingestor_routes_for(state: SharedState) -> impl poem::Endpoint {
    let limits = body_limit::Limits {
        default: state.config.max_body_bytes,
        // E-mails carry their attachments.
        uploads: state.config.media_max_bytes + 64 * 1024,
    };
    Route::new()
        .at("/metrics", get(prometheus_metrics))
        .nest("/", routes::ingestor_service())
        .around(move |next, req| body_limit::limit(next, req, limits))
        .around(request::around)
        .data(state)
}

#[handler]
fn prometheus_metrics(Data(state): Data<&SharedState>) -> String {
    let mut text = encode_metrics(&state.registry);
    text.push_str(&format!(
        "# HELP omnistream_events_appended_total Events appended by this process\n\
         # TYPE omnistream_events_appended_total counter\n\
         omnistream_events_appended_total {}\n",
        state.store.events_appended()
    ));
    text
}

/// A registry's metrics in Prometheus's text format.
pub fn encode_metrics(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        tracing::warn!(%error, "metrics encoding failed");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

fn spawn_idempotency_purge(pool: sqlx::PgPool, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            match idempotency::purge_expired(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
                Err(error) => tracing::warn!(%error, "idempotency purge failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
