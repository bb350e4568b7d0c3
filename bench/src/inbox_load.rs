//! `omnistream-bench inbox`: concurrent HTTP load on a running service (on loopback), per
//! scenario: the conversation list with filters, text search, a message page, sending a
//! message, and `GET /api/health` as the framework's ceiling. Bounded in time.

use std::sync::Arc;

use anyhow::Context;
use reqwest::Method;
use serde_json::json;

use crate::http_load::{Generator, GeneratorArgs, Paths, Scenario, Target};

/// Options of the inbox load test.
#[derive(Debug, clap::Args)]
pub struct InboxLoad {
    /// The service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin's login (the seed command prints it).
    #[arg(long, default_value = "admin@demo.seed.omnistream.test")]
    email: String,
    /// The admin's password.
    #[arg(long, env = "OMNISTREAM_SEED_PASSWORD", default_value = "seed-password-1")]
    password: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 200)]
    connections: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Only the scenarios whose name contains this (say `search`); the health check runs
    /// first all the same, as the ceiling.
    #[arg(long)]
    only: Option<String>,
    /// Where the numbered searches start among their numbers: the six-digit one asks for
    /// `Customer 100000` plus this first (so `--start 90000` crosses `Customer 200000`, whose
    /// digits start 100,000 phones' tails). Taken from the clock when absent, so that every
    /// run asks for numbers no earlier run asked for.
    #[arg(long)]
    start: Option<u64>,
    #[command(flatten)]
    generator: GeneratorArgs,
}

/// Runs every scenario and prints a table.
pub async fn run(options: InboxLoad) -> anyhow::Result<()> {
    let generator = Generator::choose(&options.generator).await;
    let target = Target::login(&options.url, &options.email, &options.password, generator).await?;
    let sample = target.get_json("/api/conversations?per_page=200").await?;
    let ids: Vec<String> = sample["data"]
        .as_array()
        .context("no conversations: seed the tenant first")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(!ids.is_empty(), "no conversations: seed the tenant first");
    let total = sample["total"].as_i64().unwrap_or(0);
    let start = options.start.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() * 7_919)
    });
    let cycle = |paths: &[&str]| Paths::Cycle(paths.iter().map(|p| (*p).to_owned()).collect());
    let scenarios = vec![
        Scenario {
            name: "GET /api/health (ceiling)".into(),
            method: Method::GET,
            paths: Paths::one("/api/health"),
            body: None,
        },
        Scenario {
            name: "conversation list, filtered".into(),
            method: Method::GET,
            paths: cycle(&[
                "/api/conversations?status=open&per_page=25",
                "/api/conversations?assignee=unassigned&per_page=25",
                "/api/conversations?channel=api&unread=true&per_page=25",
            ]),
            body: None,
        },
        Scenario {
            name: "text search, message words".into(),
            method: Method::GET,
            paths: cycle(&[
                "/api/conversations?q=invoice&per_page=25",
                "/api/conversations?q=refund&per_page=25",
                "/api/conversations?q=delivery&per_page=25",
            ]),
            body: None,
        },
        Scenario {
            name: "text search, contact name or phone".into(),
            method: Method::GET,
            // From a prefix that starts 111,111 names' numbers (and many phone tails) to a
            // whole name and a phone number.
            paths: cycle(&[
                "/api/conversations?q=Customer%2042&per_page=25",
                "/api/conversations?q=Customer%204213&per_page=25",
                "/api/conversations?q=Customer%20421337&per_page=25",
                "/api/conversations?q=0000421337&per_page=25",
            ]),
            body: None,
        },
        Scenario {
            name: "text search, a different six-digit number each time (never cached)".into(),
            method: Method::GET,
            // `Customer 123456` finds one contact (its name and its phone's tail); each
            // request asks for another number, and each run starts elsewhere among them, so
            // no answer can come from the service's cache.
            paths: Paths::Numbered {
                prefix: "/api/conversations?q=Customer%20".into(),
                first: 100_000,
                count: 900_000,
                start,
                suffix: "&per_page=25".into(),
            },
            body: None,
        },
        Scenario {
            name: "text search, a different five-digit number each time (never cached)".into(),
            method: Method::GET,
            // `Customer 12345` starts eleven names (12345, 123450-123459) and about as many
            // phone tails: a page of about twenty conversations.
            paths: Paths::Numbered {
                prefix: "/api/conversations?q=Customer%20".into(),
                first: 10_000,
                count: 90_000,
                start,
                suffix: "&per_page=25".into(),
            },
            body: None,
        },
        Scenario {
            name: "text search, a phone's first digits, different each time (never cached)".into(),
            method: Method::GET,
            // `12345`, one prefix of phone digits: the same twenty-odd contacts as
            // `Customer 12345` (names and phone tails), with nothing else to check on them.
            paths: Paths::Numbered {
                prefix: "/api/conversations?q=".into(),
                first: 10_000,
                count: 90_000,
                start,
                suffix: "&per_page=25".into(),
            },
            body: None,
        },
        Scenario {
            name: "message page".into(),
            method: Method::GET,
            paths: Paths::Cycle(
                ids.iter()
                    .map(|id| format!("/api/conversations/{id}/messages?limit=50"))
                    .collect(),
            ),
            body: None,
        },
        Scenario {
            name: "send message".into(),
            method: Method::POST,
            paths: Paths::Cycle(
                ids.iter()
                    .map(|id| format!("/api/conversations/{id}/messages"))
                    .collect(),
            ),
            body: Some(json!({ "text": "thanks, we are on it" })),
        },
    ];
    println!(
        "inbox load: {} connections, {} s per scenario, tenant of {total} conversations, service at {}",
        options.connections, options.seconds, target.base
    );
    println!("numbered searches: --start {start} (give it again to ask for the same numbers)");
    println!(
        "machine: {} logical CPUs (load generator and service share them); load generator: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        generator.describe()
    );
    println!();
    println!("| scenario | requests | errors | req/s | p50 ms | p99 ms | share of health |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut ceiling = 0.0;
    let wanted =
        |(i, s): &(usize, Scenario)| *i == 0 || options.only.as_deref().is_none_or(|only| s.name.contains(only));
    for (_, scenario) in scenarios.into_iter().enumerate().filter(wanted) {
        let scenario = Arc::new(scenario);
        let m = target
            .measure(scenario.clone(), options.connections, options.seconds)
            .await?;
        if ceiling == 0.0 {
            ceiling = m.per_second;
        }
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.0} % |",
            scenario.name,
            m.requests,
            m.errors,
            m.per_second,
            m.p50_ms,
            m.p99_ms,
            100.0 * m.per_second / ceiling.max(1.0)
        );
    }
    Ok(())
}
