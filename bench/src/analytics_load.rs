//! `omnistream-bench analytics`: concurrent HTTP load on a running service's reports (on
//! loopback): every Analytics and CSAT endpoint over the last 7, 90 and 365 days, with
//! `GET /api/health` as the framework's ceiling. Bounded in time.

use std::sync::Arc;

use chrono::{Duration, Utc};
use reqwest::Method;

use crate::http_load::{Generator, GeneratorArgs, Paths, Scenario, Target};

/// Options of the reports load test.
#[derive(Debug, clap::Args)]
pub struct AnalyticsLoad {
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
    #[arg(long, default_value_t = 20)]
    connections: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Only the scenarios whose name contains this (say `trends` or `365 days`).
    #[arg(long)]
    only: Option<String>,
    #[command(flatten)]
    generator: GeneratorArgs,
}

/// Runs every report over every range and prints a table.
pub async fn run(options: AnalyticsLoad) -> anyhow::Result<()> {
    let generator = Generator::choose(&options.generator).await;
    let target = Target::login(&options.url, &options.email, &options.password, generator).await?;
    let today = Utc::now().date_naive();
    let overview = target
        .get_json(&format!(
            "/api/analytics/overview?from={}&to={today}",
            today - Duration::days(364)
        ))
        .await?;
    println!(
        "tenant over 365 days: {} conversations started, {} messages in, {} out, {} surveys answered",
        overview["new_conversations"], overview["messages_in"], overview["messages_out"], overview["csat_responses"]
    );
    let mut scenarios = vec![Scenario {
        name: "GET /api/health (ceiling)".into(),
        method: Method::GET,
        paths: Paths::one("/api/health"),
        body: None,
    }];
    let reports = [
        "/api/analytics/overview",
        "/api/analytics/trends",
        "/api/analytics/agents",
        "/api/analytics/channels",
        "/api/csat/analytics",
        "/api/csat/surveys",
    ];
    for days in [7i64, 90, 365] {
        for report in reports {
            let from = today - Duration::days(days - 1);
            let range = if report == "/api/csat/surveys" {
                format!("from={}T00:00:00Z&per_page=50", from)
            } else {
                format!("from={from}&to={today}")
            };
            let path = format!("{report}?{range}");
            scenarios.push(Scenario {
                name: format!("{report} ({days} days)"),
                method: Method::GET,
                paths: Paths::one(path),
                body: None,
            });
        }
    }
    println!(
        "{} connections, {} s per scenario, load generator: {}\n\n| scenario | requests | errors | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|",
        options.connections,
        options.seconds,
        generator.describe()
    );
    let wanted = |s: &Scenario| options.only.as_deref().is_none_or(|only| s.name.contains(only));
    for scenario in scenarios.into_iter().filter(wanted) {
        let scenario = Arc::new(scenario);
        let m = target
            .measure(scenario.clone(), options.connections, options.seconds)
            .await?;
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} |",
            scenario.name, m.requests, m.errors, m.per_second, m.p50_ms, m.p99_ms
        );
    }
    Ok(())
}
