//! `kafka`: the read-model pipeline through a Kafka broker next to the PostgreSQL-only path.
//!
//! Each feed gets a fresh database seeded with the same tenants (the inbox seed: contacts,
//! conversations, messages, assignments), then:
//! - store feed: every projection's runner catches up from position 0;
//! - Kafka feed: the relay publishes the whole log (events/s published), then 1 or 2
//!   consumer-group members apply every projection from the topic (events/s projected);
//! - lag: with everything running, probe messages are appended at a steady rate and each is
//!   timed from the append call until the inbox projection's checkpoint passes it.
//!
//! Events are partitioned by tenant, so the seed spreads over several tenants.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use omnistream_api::app;
use omnistream_api::seed::{self, SeedPlan};
use omnistream_domain::conversation::{Channel, ConversationEvent, MessageBody, MessageReceived, MessageType};
use omnistream_domain::Metadata;
use omnistream_kafka::consumer::PgOffsetConsumer;
use omnistream_kafka::projector::{self, ProjectionFeed};
use omnistream_kafka::relay::Relay;
use omnistream_kafka::{topics, KafkaMetrics, KafkaSettings};
use omnistream_projections::runner::Runner;
use omnistream_store::partitioning::partition_of;
use omnistream_store::postgres::PgStoreConfig;
use omnistream_store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, PgEventStore};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::fresh_database;

/// The projection whose lag is timed: the inbox agents read.
const LAG_PROJECTION: &str = "inbox";
/// How often the lag checker reads the checkpoints (the lag figures' resolution).
const CHECK_EVERY: Duration = Duration::from_millis(5);
/// The longest wait for a stage before the run is abandoned.
const STAGE_LIMIT: Duration = Duration::from_secs(1800);

/// Options of `omnistream-bench kafka`.
#[derive(Debug, clap::Args)]
pub struct KafkaPipeline {
    /// The PostgreSQL server (no database name); `omnistream_bench_kafka` is (re)created on it.
    #[arg(long, env = "BENCH_SERVER_URL", default_value = "postgres://postgres@127.0.0.1:5432")]
    server: String,
    /// The Kafka-protocol broker.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    brokers: String,
    /// Partitions of the events topic.
    #[arg(long, default_value_t = 12)]
    partitions: i32,
    /// Tenants seeded (a tenant's events share a partition).
    #[arg(long, default_value_t = 12)]
    tenants: u64,
    /// Conversations per tenant.
    #[arg(long, default_value_t = 1000)]
    conversations: u64,
    /// Messages per conversation.
    #[arg(long, default_value_t = 10)]
    messages: u64,
    /// Probe messages appended per second while the lag is timed.
    #[arg(long, default_value_t = 200)]
    probe_rate: u64,
    /// Seconds of probing.
    #[arg(long, default_value_t = 20)]
    probe_seconds: u64,
    /// Consumer-group sizes measured on the Kafka feed.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    workers: Vec<usize>,
}

/// Where the projections read events from.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Store,
    Kafka { workers: usize },
}

impl Feed {
    fn label(self) -> String {
        match self {
            Feed::Store => "PostgreSQL only (store feed)".into(),
            Feed::Kafka { workers: 1 } => "Kafka, 1 worker".into(),
            Feed::Kafka { workers } => format!("Kafka, {workers} workers"),
        }
    }
}

/// What one feed measured.
struct Figures {
    events: i64,
    published_per_s: Option<f64>,
    projected_per_s: f64,
    lag: LagFigures,
}

struct LagFigures {
    probes: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// A database seeded for one feed.
struct Seeded {
    pool: PgPool,
    store: PgEventStore,
    events: Arc<dyn EventStore>,
    total: i64,
}

pub async fn run(options: KafkaPipeline) -> anyhow::Result<()> {
    println!(
        "kafka pipeline benchmark: {} tenants x {} conversations x {} messages, {} partitions, broker {}, PostgreSQL at {}",
        options.tenants, options.conversations, options.messages, options.partitions, options.brokers, options.server
    );
    println!(
        "machine: {} logical CPUs; probes: {}/s for {} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.probe_rate,
        options.probe_seconds
    );
    let feeds = std::iter::once(Feed::Store).chain(options.workers.iter().map(|&workers| Feed::Kafka { workers }));
    let mut rows = Vec::new();
    for feed in feeds {
        println!("\n== {} ==", feed.label());
        let figures = run_feed(&options, feed).await?;
        rows.push((feed, figures));
    }
    println!();
    println!("| feed | events | published ev/s | projected ev/s | lag probes | lag p50 ms | lag p99 ms | lag max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (feed, f) in rows {
        let published = f.published_per_s.map_or("-".into(), |r| format!("{r:.0}"));
        println!(
            "| {} | {} | {published} | {:.0} | {} | {:.1} | {:.1} | {:.1} |",
            feed.label(),
            f.events,
            f.projected_per_s,
            f.lag.probes,
            millis(f.lag.p50),
            millis(f.lag.p99),
            millis(f.lag.max)
        );
    }
    Ok(())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run_feed(options: &KafkaPipeline, feed: Feed) -> anyhow::Result<Figures> {
    let seeded = seed_database(options).await?;
    let (stop, stopped) = watch::channel(false);
    let result = match feed {
        Feed::Store => store_feed(&seeded, stopped).await,
        Feed::Kafka { workers } => kafka_feed(options, &seeded, workers, stopped).await,
    };
    let measured = match result {
        Ok((published, projected, partitions)) => time_lag(options, &seeded, partitions)
            .await
            .map(|lag| (published, projected, lag)),
        Err(error) => Err(error),
    };
    let _ = stop.send(true);
    let (published_per_s, projected_per_s, lag) = measured?;
    // Consumer threads leave their group on their own; give them a moment before the drop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    seeded.pool.close().await;
    Ok(Figures {
        events: seeded.total,
        published_per_s,
        projected_per_s,
        lag,
    })
}

async fn seed_database(options: &KafkaPipeline) -> anyhow::Result<Seeded> {
    let url = fresh_database(&options.server, "omnistream_bench_kafka").await?;
    let pool = omnistream_api::db::connect(&url, 40).await?;
    omnistream_api::db::migrate(&pool).await?;
    let store = PgEventStore::start(pool.clone(), PgStoreConfig::default()).await?;
    let events = app::shredding(&pool, &store);
    let reader: Arc<dyn EventStore> = events.clone();
    app::install_projections(&pool, &reader).await?;
    let started = Instant::now();
    for tenant in 0..options.tenants {
        let plan = SeedPlan {
            tenant: format!("Bench Tenant {tenant}"),
            conversations: options.conversations,
            messages_per_conversation: options.messages,
            password: "bench-password-1".into(),
        };
        seed::seed(reader.clone(), &pool, plan).await?;
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;
    println!("seeded {total} events in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Seeded {
        pool,
        store,
        events: reader,
        total,
    })
}

/// Store feed: a runner per projection from position 0. Answers (published, projected
/// events/s, partitions of the lag checker: none).
async fn store_feed(
    seeded: &Seeded,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(Option<f64>, f64, Option<i32>)> {
    let started = Instant::now();
    for projection in omnistream_projections::all() {
        let runner = Runner::new(seeded.events.clone(), seeded.pool.clone(), projection);
        tokio::spawn(runner.run(stopped.clone()));
    }
    wait_for("every projection to catch up", || store_projections_done(&seeded.pool)).await?;
    let rate = seeded.total as f64 / started.elapsed().as_secs_f64();
    println!(
        "projected {} events in {:.1} s",
        seeded.total,
        started.elapsed().as_secs_f64()
    );
    Ok((None, rate, None))
}

async fn store_projections_done(pool: &PgPool) -> anyhow::Result<bool> {
    let behind: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projection_state s \
         WHERE EXISTS (SELECT 1 FROM events e WHERE (e.tx_id, e.position) > (s.tx_id, s.position))",
    )
    .fetch_one(pool)
    .await?;
    Ok(behind == 0)
}

/// Kafka feed: the relay publishes everything, then `workers` group members project it.
async fn kafka_feed(
    options: &KafkaPipeline,
    seeded: &Seeded,
    workers: usize,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(Option<f64>, f64, Option<i32>)> {
    let prefix = format!("bench{}", &Uuid::new_v4().simple().to_string()[..8]);
    let settings = KafkaSettings {
        group: format!("{prefix}-projections"),
        topic_prefix: prefix,
        partitions: options.partitions,
        ..KafkaSettings::for_brokers(&options.brokers)
    };
    topics::ensure_topics(&settings).await?;
    let topic = settings.events_topic();
    let partitions = topics::partition_count(&settings, &topic).await?;

    let started = Instant::now();
    let relay = Relay::new(
        Arc::new(seeded.store.clone()),
        seeded.pool.clone(),
        settings.clone(),
        KafkaMetrics::unregistered(),
    );
    tokio::spawn(relay.run(stopped.clone()));
    let (pool, total, topic) = (&seeded.pool, seeded.total, &topic);
    wait_for("the relay to publish everything", || async move {
        let published: Option<i64> = sqlx::query_scalar("SELECT published FROM event_relay WHERE topic = $1")
            .bind(topic)
            .fetch_optional(pool)
            .await?;
        Ok(published.unwrap_or(0) >= total)
    })
    .await?;
    let published_per_s = total as f64 / started.elapsed().as_secs_f64();
    println!("published {total} events in {:.1} s", started.elapsed().as_secs_f64());

    let projections = omnistream_projections::all();
    projector::take_over(pool, &projections, partitions).await?;
    let started = Instant::now();
    for _ in 0..workers {
        let feed = ProjectionFeed::new(pool.clone(), projections.clone());
        PgOffsetConsumer::new(
            settings.clone(),
            settings.group.clone(),
            settings.events_topic(),
            pool.clone(),
            Arc::new(feed),
            KafkaMetrics::unregistered(),
        )
        .spawn(stopped.clone())?;
    }
    let group = &settings.group;
    wait_for("the workers to project everything", || async move {
        let consumed: i64 =
            sqlx::query_scalar("SELECT coalesce(sum(next_offset), 0)::bigint FROM kafka_offsets WHERE group_id = $1")
                .bind(group)
                .fetch_one(pool)
                .await?;
        Ok(consumed >= total)
    })
    .await?;
    let projected_per_s = total as f64 / started.elapsed().as_secs_f64();
    let used: i64 = sqlx::query_scalar("SELECT count(*) FROM kafka_offsets WHERE group_id = $1")
        .bind(group)
        .fetch_one(pool)
        .await?;
    println!(
        "projected {total} events in {:.1} s ({used} of {partitions} partitions hold events)",
        started.elapsed().as_secs_f64()
    );
    Ok((Some(published_per_s), projected_per_s, Some(partitions)))
}

async fn wait_for<F, Fut>(what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + STAGE_LIMIT;
    while !done().await? {
        anyhow::ensure!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A seeded conversation probes are appended to.
#[derive(Clone)]
struct Target {
    stream_id: String,
    tenant_id: Uuid,
    contact_id: Uuid,
}

/// A probe on its way: its position, the partition that carries it (Kafka feed) and when
/// its append was called.
struct Probe {
    position: i64,
    partition: i32,
    sent: Instant,
}

/// Appends probe messages at the configured rate while the feed runs; times each until the
/// inbox projection's checkpoint (of the probe's partition, on the Kafka feed) passes it.
async fn time_lag(options: &KafkaPipeline, seeded: &Seeded, partitions: Option<i32>) -> anyhow::Result<LagFigures> {
    let targets: Vec<Target> = sqlx::query_as::<_, (String, Uuid, String)>(
        "SELECT stream_id, tenant_id, payload->>'contact_id' FROM events \
         WHERE event_type = 'ConversationStarted' ORDER BY position LIMIT 1000",
    )
    .fetch_all(&seeded.pool)
    .await?
    .into_iter()
    .map(|(stream_id, tenant_id, contact)| {
        Ok(Target {
            stream_id,
            tenant_id,
            contact_id: contact.parse()?,
        })
    })
    .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!targets.is_empty(), "the seed wrote no conversations");

    let (sent_tx, sent_rx) = mpsc::unbounded_channel::<Probe>();
    let checker = tokio::spawn(check_probes(seeded.pool.clone(), partitions.is_some(), sent_rx));
    let count = options.probe_rate * options.probe_seconds;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / options.probe_rate as f64));
    let mut appends = Vec::new();
    for n in 0..count {
        ticks.tick().await;
        let target = targets[n as usize % targets.len()].clone();
        let (store, sent_tx) = (seeded.events.clone(), sent_tx.clone());
        appends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = store.append(vec![probe_request(&target, n)]).await?;
            let position = outcome
                .first()
                .and_then(|o| o.last_position())
                .ok_or_else(|| anyhow::anyhow!("a probe was not written"))?;
            let partition = partitions.map_or(0, |p| partition_of(Some(target.tenant_id), p));
            let _ = sent_tx.send(Probe {
                position,
                partition,
                sent,
            });
            anyhow::Ok(())
        }));
    }
    drop(sent_tx);
    for append in appends {
        append.await??;
    }
    let mut lags = checker.await??;
    anyhow::ensure!(!lags.is_empty(), "no probe was timed");
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len()) - 1];
    let figures = LagFigures {
        probes: lags.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: at(1.0),
    };
    println!(
        "lag of {} probes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        figures.probes,
        millis(figures.p50),
        millis(figures.p99),
        millis(figures.max)
    );
    Ok(figures)
}

fn probe_request(target: &Target, n: u64) -> AppendRequest {
    let message = ConversationEvent::MessageReceived(MessageReceived {
        message_id: Uuid::now_v7(),
        contact_id: target.contact_id,
        body: MessageBody {
            message_type: MessageType::Text,
            text: Some(format!("probe {n}")),
            ..MessageBody::default()
        },
        provider_message_id: None,
        received_at: Utc::now(),
        channel: Some(Channel::Api),
    });
    AppendRequest {
        stream_id: target.stream_id.clone(),
        tenant_id: Some(target.tenant_id),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent::from_domain(&message, Metadata::system())],
    }
}

/// Every few milliseconds, finds which pending probes the lag projection has applied;
/// answers each probe's lag once the sender is done and nothing is pending.
async fn check_probes(
    pool: PgPool,
    partitioned: bool,
    mut sent: mpsc::UnboundedReceiver<Probe>,
) -> anyhow::Result<Vec<Duration>> {
    let mut pending: HashMap<i64, Probe> = HashMap::new();
    let mut lags = Vec::new();
    let mut open = true;
    let mut deadline = Instant::now() + STAGE_LIMIT;
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    while open || !pending.is_empty() {
        ticks.tick().await;
        while let Ok(probe) = sent.try_recv() {
            pending.insert(probe.position, probe);
        }
        if open && sent.is_closed() && sent.is_empty() {
            open = false;
            deadline = Instant::now() + Duration::from_secs(120);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} probes never reached the read model",
            pending.len()
        );
        if pending.is_empty() {
            continue;
        }
        let positions: Vec<i64> = pending.keys().copied().collect();
        let applied: Vec<i64> = if partitioned {
            let partitions: Vec<i32> = positions.iter().map(|p| pending[p].partition).collect();
            sqlx::query_scalar(
                "SELECT e.position FROM unnest($2::bigint[], $3::int[]) AS q(position, partition) \
                 JOIN events e ON e.position = q.position \
                 JOIN projection_partitions p ON p.projection = $1 AND p.partition = q.partition \
                 WHERE (e.tx_id, e.position) <= (p.tx_id, p.position)",
            )
            .bind(LAG_PROJECTION)
            .bind(&positions)
            .bind(&partitions)
            .fetch_all(&pool)
            .await?
        } else {
            sqlx::query_scalar(
                "SELECT e.position FROM events e JOIN projection_state s ON s.name = $1 \
                 WHERE e.position = ANY($2) AND (e.tx_id, e.position) <= (s.tx_id, s.position)",
            )
            .bind(LAG_PROJECTION)
            .bind(&positions)
            .fetch_all(&pool)
            .await?
        };
        let now = Instant::now();
        for position in applied {
            if let Some(probe) = pending.remove(&position) {
                lags.push(now - probe.sent);
            }
        }
    }
    Ok(lags)
}
