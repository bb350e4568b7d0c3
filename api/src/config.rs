//! Configuration from environment variables, each with a default that works on a developer
//! machine with a local PostgreSQL.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub use omnistream_kafka::KafkaSettings;

/// The service's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: the PostgreSQL database (created if missing, migrated on start).
    pub database_url: String,
    /// `OMNISTREAM_BIND`: the listening address; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `OMNISTREAM_WORKER_BIND`: where `omnistream worker` serves `/metrics` and
    /// `/api/health`; port 0 picks a free port.
    pub worker_bind: SocketAddr,
    /// `OMNISTREAM_DB_MAX_CONNECTIONS`: pool size.
    pub max_connections: u32,
    /// `OMNISTREAM_SEARCH_CONNECTIONS`: the rare searches' plan-once connections, a set of
    /// their own; by default twice the cores (see [`default_search_connections`]).
    pub search_connections: u32,
    /// `OMNISTREAM_SESSION_TTL_HOURS`: how long a login session lasts.
    pub session_ttl: Duration,
    /// `OMNISTREAM_MAX_BODY_BYTES`: the largest request body accepted.
    pub max_body_bytes: usize,
    /// `OMNISTREAM_APPEND_WRITERS`: parallel group-commit writers.
    pub append_writers: usize,
    /// `OMNISTREAM_READ_WAIT_MS`: how long a query waits for read-your-writes.
    pub read_wait: Duration,
    /// `OMNISTREAM_QUERY_CACHE_ENTRIES`: answers kept per query cache (inbox pages, message
    /// pages; five times as many credential holders) while their read models are unchanged;
    /// 0 turns the caches off.
    pub query_cache_entries: usize,
    /// `OMNISTREAM_PROJECTIONS`: the projection workers this process runs: `true` (all),
    /// `false` (none) or a comma-separated list of names.
    pub projections: ProjectionSelection,
    /// `OMNISTREAM_MEDIA_DIR`: where uploaded media are kept on the local disk.
    pub media_dir: std::path::PathBuf,
    /// `OMNISTREAM_MEDIA_STORE`: `s3://bucket[/prefix]` to keep media in an S3-compatible
    /// bucket instead (credentials and endpoint from the `AWS_*` variables).
    pub media_store: Option<String>,
    /// `OMNISTREAM_MEDIA_MAX_BYTES`: the largest upload accepted.
    pub media_max_bytes: usize,
    /// `OMNISTREAM_CSAT_LINK_BASE`: the survey page customers open; a survey's link is this
    /// followed by `/<token>` (the page posts the answer to `POST /api/csat/{token}`).
    pub csat_link_base: String,
    /// `OMNISTREAM_LOG_FORMAT`: `json` or `text`.
    pub log_json: bool,
    /// `OMNISTREAM_SECRETS_KEY`: 64 hex characters sealing integration secrets; unset, a key
    /// is generated and kept in the database (fine locally, not in production).
    pub secrets_key: Option<String>,
    /// `OMNISTREAM_WEBHOOK_PROCESSOR`: process logged webhook deliveries in this process
    /// (`true`/`false`).
    pub run_webhook_processor: bool,
    /// `OMNISTREAM_WEBHOOK_RETENTION_DAYS`: how long processed deliveries are kept.
    pub webhook_retention: Duration,
    /// `OMNISTREAM_DELIVERY_WORKER`: send queued outbound messages from this process.
    pub run_delivery_worker: bool,
    /// `OMNISTREAM_META_GRAPH_URL`: the Graph API's base URL (WhatsApp, Instagram sends).
    pub meta_graph_url: String,
    /// `OMNISTREAM_SMTP_URL`: the SMTP relay e-mail is sent through (`smtp://host:port`,
    /// `smtps://user:password@host`); unset, e-mail replies fail with that reason.
    pub smtp_url: Option<String>,
    /// `OMNISTREAM_DELIVERY_RETRY_BASE_MS`: the first retry's delay; each next one doubles.
    pub delivery_retry_base: Duration,
    /// `OMNISTREAM_DELIVERY_MAX_ATTEMPTS`: attempts before a retryable failure is final.
    pub delivery_max_attempts: u32,
    /// `KAFKA_BROKERS` (with `KAFKA_TOPIC_PREFIX`, `KAFKA_PARTITIONS`,
    /// `KAFKA_REPLICATION_FACTOR`, `KAFKA_CONSUMER_GROUP`): the Kafka bus; unset, nothing
    /// needs Kafka.
    pub kafka: Option<KafkaSettings>,
    /// `OMNISTREAM_PROJECTION_SOURCE`: what in-process projection workers follow, `store` or
    /// `kafka` (the default when `KAFKA_BROKERS` is set).
    pub projection_source: ProjectionSource,
    /// `OMNISTREAM_RELAY`: with Kafka, run the event relay in `serve` (one publishes at a
    /// time; the others stand by).
    pub run_relay: bool,
    /// `KAFKA_INGEST`: with Kafka, receivers write deliveries to the inbound topic rather than
    /// the database (default `true` when `KAFKA_BROKERS` is set).
    pub kafka_ingest: bool,
}

/// Which projection workers a process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectionSelection {
    /// Every projection.
    All,
    /// None.
    None,
    /// These, by name (to split projections over worker processes).
    Only(Vec<String>),
}

impl ProjectionSelection {
    /// Whether the projection `name` runs here.
    pub fn runs(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::None => false,
            Self::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

impl std::str::FromStr for ProjectionSelection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "true" => return Ok(Self::All),
            "false" => return Ok(Self::None),
            _ => {}
        }
        let names: Vec<String> = s.split(',').map(|n| n.trim().to_owned()).collect();
        let known: Vec<String> = omnistream_projections::all()
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        match names.iter().find(|n| !known.contains(n)) {
            Some(unknown) => Err(format!(
                "expected true, false or projection names among {}; {unknown:?} is none of them",
                known.join(", ")
            )),
            None => Ok(Self::Only(names)),
        }
    }
}

/// What projection workers follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionSource {
    /// The event store's catch-up read.
    Store,
    /// The Kafka events topic, in a consumer group.
    Kafka,
}

impl std::str::FromStr for ProjectionSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "store" => Ok(Self::Store),
            "kafka" => Ok(Self::Kafka),
            _ => Err("expected store or kafka".into()),
        }
    }
}

/// The database a fresh checkout uses.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/omnistream";

/// Where survey links point unless configured.
pub const DEFAULT_CSAT_LINK_BASE: &str = "http://127.0.0.1:8080/csat";

/// Answers kept per query cache unless `OMNISTREAM_QUERY_CACHE_ENTRIES` says otherwise.
pub const DEFAULT_QUERY_CACHE_ENTRIES: usize = 2_000;

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    name: &'static str,
    message: String,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            message: format!("cannot use {raw:?}: {e}"),
        }),
    }
}

fn kafka_from_env() -> Result<Option<KafkaSettings>, ConfigError> {
    let Some(brokers) = var("KAFKA_BROKERS") else {
        return Ok(None);
    };
    let defaults = KafkaSettings::for_brokers(&brokers);
    let settings = KafkaSettings {
        topic_prefix: var("KAFKA_TOPIC_PREFIX").unwrap_or(defaults.topic_prefix.clone()),
        partitions: parsed("KAFKA_PARTITIONS", defaults.partitions)?,
        replication: parsed("KAFKA_REPLICATION_FACTOR", defaults.replication)?,
        group: var("KAFKA_CONSUMER_GROUP").unwrap_or(defaults.group.clone()),
        ..defaults
    };
    if settings.partitions < 1 || settings.replication < 1 {
        return Err(ConfigError {
            name: "KAFKA_PARTITIONS",
            message: "partitions and replication factor must be at least 1".into(),
        });
    }
    Ok(Some(settings))
}

/// Twice the cores this process may use, at least 2. A rare search is one statement that
/// keeps a core busy for a fraction of a millisecond; more of them at once than the cores can
/// run only wait for each other inside PostgreSQL (ten on two cores answered 7-30 % fewer
/// searches per second than four, with a longer p99: the README's performance section).
pub fn default_search_connections() -> NonZeroU32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    NonZeroU32::new(u32::try_from(2 * cores).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

impl Config {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let kafka = kafka_from_env()?;
        let source_default = if kafka.is_some() {
            ProjectionSource::Kafka
        } else {
            ProjectionSource::Store
        };
        let projection_source = parsed("OMNISTREAM_PROJECTION_SOURCE", source_default)?;
        if projection_source == ProjectionSource::Kafka && kafka.is_none() {
            return Err(ConfigError {
                name: "OMNISTREAM_PROJECTION_SOURCE",
                message: "kafka needs KAFKA_BROKERS".into(),
            });
        }
        let kafka_ingest = parsed("KAFKA_INGEST", kafka.is_some())? && kafka.is_some();
        Ok(Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            bind: parsed("OMNISTREAM_BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            worker_bind: parsed("OMNISTREAM_WORKER_BIND", SocketAddr::from(([127, 0, 0, 1], 9464)))?,
            max_connections: parsed("OMNISTREAM_DB_MAX_CONNECTIONS", 20)?,
            search_connections: parsed("OMNISTREAM_SEARCH_CONNECTIONS", default_search_connections())?.get(),
            session_ttl: Duration::from_secs(3600 * parsed::<u64>("OMNISTREAM_SESSION_TTL_HOURS", 12)?),
            max_body_bytes: parsed("OMNISTREAM_MAX_BODY_BYTES", 1024 * 1024)?,
            append_writers: parsed("OMNISTREAM_APPEND_WRITERS", 2)?,
            read_wait: Duration::from_millis(parsed("OMNISTREAM_READ_WAIT_MS", 5000)?),
            query_cache_entries: parsed("OMNISTREAM_QUERY_CACHE_ENTRIES", DEFAULT_QUERY_CACHE_ENTRIES)?,
            projections: parsed("OMNISTREAM_PROJECTIONS", ProjectionSelection::All)?,
            media_dir: var("OMNISTREAM_MEDIA_DIR")
                .unwrap_or_else(|| "data/media".to_owned())
                .into(),
            media_store: var("OMNISTREAM_MEDIA_STORE"),
            media_max_bytes: parsed("OMNISTREAM_MEDIA_MAX_BYTES", 16 * 1024 * 1024)?,
            csat_link_base: var("OMNISTREAM_CSAT_LINK_BASE").unwrap_or_else(|| DEFAULT_CSAT_LINK_BASE.to_owned()),
            log_json: var("OMNISTREAM_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
            secrets_key: var("OMNISTREAM_SECRETS_KEY"),
            run_webhook_processor: parsed("OMNISTREAM_WEBHOOK_PROCESSOR", true)?,
            webhook_retention: Duration::from_secs(86_400 * parsed::<u64>("OMNISTREAM_WEBHOOK_RETENTION_DAYS", 30)?),
            run_delivery_worker: parsed("OMNISTREAM_DELIVERY_WORKER", true)?,
            meta_graph_url: var("OMNISTREAM_META_GRAPH_URL")
                .unwrap_or_else(|| omnistream_ingest::outbound::graph::DEFAULT_GRAPH_URL.to_owned()),
            smtp_url: var("OMNISTREAM_SMTP_URL"),
            delivery_retry_base: Duration::from_millis(parsed("OMNISTREAM_DELIVERY_RETRY_BASE_MS", 2000)?),
            delivery_max_attempts: parsed("OMNISTREAM_DELIVERY_MAX_ATTEMPTS", 6)?,
            run_relay: parsed("OMNISTREAM_RELAY", true)?,
            kafka,
            projection_source,
            kafka_ingest,
        })
    }

    /// The configuration for a database URL with every other setting at its default.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            worker_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_connections: 10,
            search_connections: default_search_connections().get(),
            session_ttl: Duration::from_secs(12 * 3600),
            max_body_bytes: 1024 * 1024,
            append_writers: 2,
            read_wait: Duration::from_secs(5),
            query_cache_entries: DEFAULT_QUERY_CACHE_ENTRIES,
            projections: ProjectionSelection::All,
            media_dir: std::env::temp_dir().join("omnistream-media"),
            media_store: None,
            media_max_bytes: 16 * 1024 * 1024,
            csat_link_base: DEFAULT_CSAT_LINK_BASE.to_owned(),
            log_json: false,
            secrets_key: None,
            run_webhook_processor: true,
            webhook_retention: Duration::from_secs(30 * 86_400),
            run_delivery_worker: true,
            meta_graph_url: omnistream_ingest::outbound::graph::DEFAULT_GRAPH_URL.to_owned(),
            smtp_url: None,
            delivery_retry_base: Duration::from_millis(2000),
            delivery_max_attempts: 6,
            kafka: None,
            projection_source: ProjectionSource::Store,
            run_relay: true,
            kafka_ingest: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_are_all_none_or_named() {
        assert_eq!("true".parse(), Ok(ProjectionSelection::All));
        assert_eq!("FALSE".parse(), Ok(ProjectionSelection::None));
        let some: ProjectionSelection = "inbox, directory".parse().expect("names");
        assert!(some.runs("inbox") && some.runs("directory") && !some.runs("sla"));
        let unknown = "inbox,inbx".parse::<ProjectionSelection>().expect_err("unknown name");
        assert!(unknown.contains("\"inbx\""), "{unknown}");
        assert!("".parse::<ProjectionSelection>().is_err());
    }
}
