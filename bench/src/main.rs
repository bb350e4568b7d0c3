//! `omnistream-bench`: benchmarks run as commands, never as timed tests.
//!
//! `append` measures appends per second with 1, 8 and 32 concurrent writers, for
//! single-event commands (each on a stream of its own) and for 100-event batches, on three
//! systems sharing one PostgreSQL server: OmniStream's store (group commit), the naive
//! baseline (the same inserts, one transaction per event) and cqrs-es with postgres-es.
//! `inbox` puts HTTP load on a running service's inbox, `analytics` on its reports; `ingest` sends it signed WhatsApp
//! webhooks and checks that every message reaches the inbox exactly once; `kafka` measures
//! the read-model pipeline through a Kafka broker next to the PostgreSQL-only path.

mod analytics_load;
mod cqrs_baseline;
mod http_load;
mod inbox_load;
mod ingest_load;
mod kafka_pipeline;
mod naive;
mod omnistream;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

/// Benchmarks of OmniStream.
#[derive(Debug, Parser)]
#[command(name = "omnistream-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Append throughput: OmniStream vs one transaction per event vs postgres-es.
    Append {
        /// The PostgreSQL server (no database name); three databases are (re)created on it.
        #[arg(long, env = "BENCH_SERVER_URL", default_value = "postgres://postgres@127.0.0.1:5432")]
        server: String,
        /// Seconds each measurement runs.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Parallel group-commit writers of OmniStream's store.
        #[arg(long, default_value_t = 2)]
        append_writers: usize,
        /// Writer counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        writers: Vec<usize>,
    },
    /// HTTP load on a running service's inbox (seed it first with `omnistream seed`).
    Inbox(inbox_load::InboxLoad),
    /// HTTP load on a running service's Analytics and CSAT reports over 7, 90 and 365 days.
    Analytics(analytics_load::AnalyticsLoad),
    /// Signed WhatsApp webhooks on a running service's receivers; checks nothing is lost.
    Ingest(ingest_load::IngestLoad),
    /// Relay and projection throughput through a Kafka broker (1 and 2 workers) and the lag
    /// from append to read model, next to the PostgreSQL-only path.
    Kafka(kafka_pipeline::KafkaPipeline),
}

/// What one writer does per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A command that appends one event to a new stream.
    Single,
    /// 100 events appended to one stream at once.
    Batch100,
}

impl Mode {
    fn events(self) -> u64 {
        match self {
            Mode::Single => 1,
            Mode::Batch100 => 100,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Single => "single-event commands",
            Mode::Batch100 => "100-event batches",
        }
    }
}

/// Runs `op` from `writers` tasks until `seconds` pass; answers events per second.
pub async fn measure<F, Fut>(writers: usize, seconds: u64, mode: Mode, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let events = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let (op, events) = (op.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                op(writer, n).await?;
                n += 1;
                events.fetch_add(mode.events(), Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(events.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (server, seconds, writers, append_writers) = match Cli::parse().command {
        Command::Append {
            server,
            seconds,
            writers,
            append_writers,
        } => (server, seconds, writers, append_writers),
        Command::Inbox(load) => return inbox_load::run(load).await,
        Command::Analytics(load) => return analytics_load::run(load).await,
        Command::Ingest(load) => return ingest_load::run(load).await,
        Command::Kafka(options) => return kafka_pipeline::run(options).await,
    };
    println!("append benchmark: {seconds} s per measurement, PostgreSQL at {server}");
    println!(
        "machine: {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| mode | writers | OmniStream ev/s | naive ev/s | postgres-es ev/s | vs naive | vs postgres-es |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for mode in [Mode::Single, Mode::Batch100] {
        for &w in &writers {
            let ours = omnistream::run(&server, w, seconds, mode, append_writers).await?;
            let naive = naive::run(&server, w, seconds, mode).await?;
            let cqrs = cqrs_baseline::run(&server, w, seconds, mode).await?;
            println!(
                "| {} | {w} | {ours:.0} | {naive:.0} | {cqrs:.0} | {:.1}x | {:.1}x |",
                mode.label(),
                ours / naive,
                ours / cqrs
            );
        }
    }
    Ok(())
}

/// Drops and creates a database; answers its URL.
pub async fn fresh_database(server: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    Ok(format!("{server}/{name}"))
}
