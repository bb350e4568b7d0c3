//! What every handler shares: pools, the store, the command bus, metrics, configuration.

use std::sync::Arc;
use std::time::Instant;

use omnistream_commands::media::MediaStore;
use omnistream_commands::secrets::SecretsKey;
use omnistream_commands::CommandBus;
use omnistream_ingest::receiver::Ingestor;
use omnistream_projections::changes::ChangeFeed;
use omnistream_projections::inbox::search_backend::SearchBackend;
use omnistream_store::{PgEventStore, ShreddingStore};
use prometheus::Registry;
use sqlx::PgPool;

use crate::app::{KafkaRuntime, Role};
use crate::auth::holder_cache::HolderCache;
use crate::config::Config;
use crate::middleware::metrics::HttpMetrics;
use crate::query_cache::QueryCache;
use crate::routes::conversations::ConversationList;
use crate::routes::direct_json::SerializedJson;
use crate::routes::messages::MessageListResponse;
use crate::window_rules::WindowRules;

/// Shared application state.
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The event store's PostgreSQL backend (the writer, wake-ups, counters).
    pub store: PgEventStore,
    /// The event store as commands and readers use it: personal fields sealed and opened.
    pub events: Arc<ShreddingStore>,
    /// Runs commands against the store.
    pub bus: CommandBus,
    /// The webhook receivers.
    pub ingest: Ingestor,
    /// The tenants' window rules, as the inbox applies them.
    pub window_rules: WindowRules,
    /// Which tenants' read models changed (the query caches' validity).
    pub changes: ChangeFeed,
    /// Who holds the credentials presented, while unchanged.
    pub holders: HolderCache,
    /// Inbox pages (`GET /api/conversations`), serialized, while the inbox, the directory
    /// (assignee names) and the channels (window rules) are unchanged and no window shown
    /// has opened or closed.
    pub inbox_pages: QueryCache<SerializedJson<ConversationList>>,
    /// Message pages, serialized (`None`: the conversation is not visible), while the inbox
    /// is unchanged.
    pub message_pages: QueryCache<Option<SerializedJson<MessageListResponse>>>,
    /// What text searches need: how common their words are (which way a search starts) and
    /// the connections that plan the rare searches' statements once.
    pub search: SearchBackend,
    /// Seals integration secrets.
    pub secrets: SecretsKey,
    /// Where uploaded media are kept.
    pub media: MediaStore,
    /// The configuration.
    pub config: Config,
    /// Prometheus metrics.
    pub registry: Registry,
    /// HTTP metrics.
    pub http: HttpMetrics,
    /// The Kafka side, when configured.
    pub kafka: Option<KafkaRuntime>,
    /// What this process serves.
    pub role: Role,
    /// When the service started.
    pub started: Instant,
}

/// The state as handlers hold it.
pub type SharedState = Arc<AppState>;
