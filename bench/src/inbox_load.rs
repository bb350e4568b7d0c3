//! `omnistream-bench inbox`: concurrent HTTP load on a running service (on loopback), per
//! scenario: the conversation list with filters, text search, a message page, sending a
//! message, and `GET /api/health` as the framework's ceiling. Bounded in time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::{Client, Method};
use serde_json::{json, Value};

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
}

/// One kind of request, repeated by every connection.
pub(crate) struct Scenario {
    /// What the table calls it.
    pub(crate) name: String,
    /// The method.
    pub(crate) method: Method,
    /// Builds the path of request `n`.
    pub(crate) path: Box<dyn Fn(usize) -> String + Send + Sync>,
    /// The JSON body, if any.
    pub(crate) body: Option<Value>,
}

/// What a scenario measured.
pub(crate) struct Measured {
    pub(crate) requests: usize,
    pub(crate) errors: usize,
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

/// Runs `scenario` on `connections` closed-loop connections for `seconds`.
pub(crate) async fn measure(
    client: &Client,
    base: &str,
    token: &str,
    scenario: Arc<Scenario>,
    connections: usize,
    seconds: u64,
) -> Measured {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (client, base, token, scenario) = (client.clone(), base.to_owned(), token.to_owned(), scenario.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut n = worker;
            while Instant::now() < deadline {
                let path = (scenario.path)(n);
                let mut request = client
                    .request(scenario.method.clone(), format!("{base}{path}"))
                    .bearer_auth(&token);
                if let Some(body) = &scenario.body {
                    request = request.json(body);
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
                n += connections;
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mut l, e)) = task.await {
            latencies.append(&mut l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Measured {
        requests: latencies.len(),
        errors,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// Logs the seeded admin in; answers the session token.
pub(crate) async fn login(client: &Client, base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let login: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?
        .error_for_status()
        .context("login failed: seed the tenant first (omnistream seed)")?
        .json()
        .await?;
    Ok(login["token"].as_str().context("no token")?.to_owned())
}

/// Runs every scenario and prints a table.
pub async fn run(options: InboxLoad) -> anyhow::Result<()> {
    let client = Client::builder().pool_max_idle_per_host(options.connections).build()?;
    let base = options.url.trim_end_matches('/').to_owned();
    let token = login(&client, &base, &options.email, &options.password).await?;
    let sample: Value = client
        .get(format!("{base}/api/conversations?per_page=200"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let ids: Arc<Vec<String>> = Arc::new(
        sample["data"]
            .as_array()
            .context("no conversations: seed the tenant first")?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect(),
    );
    anyhow::ensure!(!ids.is_empty(), "no conversations: seed the tenant first");
    let total = sample["total"].as_i64().unwrap_or(0);
    let (messages_ids, send_ids) = (ids.clone(), ids.clone());
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as usize * 7_919);
    let scenarios = vec![
        Scenario {
            name: "GET /api/health (ceiling)".into(),
            method: Method::GET,
            path: Box::new(|_| "/api/health".into()),
            body: None,
        },
        Scenario {
            name: "conversation list, filtered".into(),
            method: Method::GET,
            path: Box::new(|n| {
                [
                    "/api/conversations?status=open&per_page=25",
                    "/api/conversations?assignee=unassigned&per_page=25",
                    "/api/conversations?channel=api&unread=true&per_page=25",
                ][n % 3]
                    .into()
            }),
            body: None,
        },
        Scenario {
            name: "text search, message words".into(),
            method: Method::GET,
            path: Box::new(|n| {
                format!(
                    "/api/conversations?q={}&per_page=25",
                    ["invoice", "refund", "delivery"][n % 3]
                )
            }),
            body: None,
        },
        Scenario {
            name: "text search, contact name or phone".into(),
            method: Method::GET,
            // From a substring shared by 11,111 names to a whole name and a phone number.
            path: Box::new(|n| {
                format!(
                    "/api/conversations?q={}&per_page=25",
                    ["Customer%2042", "Customer%204213", "Customer%20421337", "0000421337"][n % 4]
                )
            }),
            body: None,
        },
        Scenario {
            name: "text search, a different contact number each time (never cached)".into(),
            method: Method::GET,
            // `Customer 1234` matches 111 names; each request asks for another number, and
            // each run starts elsewhere, so no answer can come from the service's cache.
            path: Box::new(move |n| format!("/api/conversations?q=Customer%20{}&per_page=25", (salt + n) % 1_000_000)),
            body: None,
        },
        Scenario {
            name: "message page".into(),
            method: Method::GET,
            path: Box::new(move |n| {
                format!(
                    "/api/conversations/{}/messages?limit=50",
                    messages_ids[n % messages_ids.len()]
                )
            }),
            body: None,
        },
        Scenario {
            name: "send message".into(),
            method: Method::POST,
            path: Box::new(move |n| format!("/api/conversations/{}/messages", send_ids[n % send_ids.len()])),
            body: Some(json!({ "text": "thanks, we are on it" })),
        },
    ];
    println!(
        "inbox load: {} connections, {} s per scenario, tenant of {total} conversations, service at {base}",
        options.connections, options.seconds
    );
    println!(
        "machine: {} logical CPUs (load generator and service share them)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| scenario | requests | errors | req/s | p50 ms | p99 ms | share of health |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut ceiling = 0.0;
    for scenario in scenarios {
        let scenario = Arc::new(scenario);
        let m = measure(
            &client,
            &base,
            &token,
            scenario.clone(),
            options.connections,
            options.seconds,
        )
        .await;
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
