//! `omnistream-bench ingest`: signed WhatsApp webhooks against a running service (on
//! loopback): many customers, 1-5 messages per delivery, 10 % redeliveries, status reports
//! out of order. Reports accepted deliveries and messages per second with latencies, then
//! waits until every message is in the inbox and checks that none was lost or duplicated
//! (by counting in the read model). Bounded: a fixed number of deliveries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use reqwest::Client;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

/// Options of the ingest load test.
#[derive(Debug, clap::Args)]
pub struct IngestLoad {
    /// The service (its receivers: `omnistream serve` or `webhook-ingestor`).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The service's database, to count what the deliveries became.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/omnistream"
    )]
    database_url: String,
    /// Deliveries to send in all.
    #[arg(long, default_value_t = 30_000)]
    deliveries: usize,
    /// Distinct customers.
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to wait for the inbox to show everything.
    #[arg(long, default_value_t = 600)]
    settle_seconds: u64,
}

const APP_SECRET: &str = "bench-app-secret";

/// One prepared delivery.
struct Delivery {
    body: Vec<u8>,
    signature: String,
    /// Messages it carries (0 for status reports).
    messages: usize,
    /// Whether it repeats an earlier delivery.
    duplicate: bool,
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn envelope(number: &str, value: Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550000000", "phone_number_id": number});
    serde_json::to_vec(&json!({"object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}))
    .expect("json")
}

/// The deliveries, in sending order: new messages, every tenth a redelivery of an earlier
/// one, every twentieth a status report with `read` before `delivered`.
fn prepare(options: &IngestLoad, number: &str, run: &str) -> Vec<Delivery> {
    let now = chrono::Utc::now().timestamp();
    let mut deliveries: Vec<Delivery> = Vec::with_capacity(options.deliveries);
    for i in 0..options.deliveries {
        if i % 10 == 9 {
            let original = &deliveries[(i.wrapping_mul(2_654_435_761) >> 5) % i];
            deliveries.push(Delivery {
                body: original.body.clone(),
                signature: original.signature.clone(),
                messages: original.messages,
                duplicate: true,
            });
            continue;
        }
        if i % 20 == 4 {
            let wamid = format!("wamid.{run}.out.{i}");
            let body = envelope(
                number,
                json!({"statuses": [
                    {"id": wamid, "status": "read", "timestamp": (now + 2).to_string(), "recipient_id": "1"},
                    {"id": wamid, "status": "delivered", "timestamp": (now + 1).to_string(), "recipient_id": "1"}
                ]}),
            );
            let signature = sign(&body);
            deliveries.push(Delivery {
                body,
                signature,
                messages: 0,
                duplicate: false,
            });
            continue;
        }
        let customer = 6_280_000_000_000u64 + (i % options.customers) as u64;
        let count = 1 + (i * 31) % 5;
        let messages: Vec<Value> = (0..count)
            .map(|j| {
                json!({"from": customer.to_string(), "id": format!("wamid.{run}.{i}.{j}"), "timestamp": now.to_string(),
                       "type": "text", "text": {"body": format!("Halo, pesanan nomor {i}-{j} sudah dikirim? 🙏")}})
            })
            .collect();
        let body = envelope(
            number,
            json!({"contacts": [{"profile": {"name": format!("Pelanggan {customer}")}, "wa_id": customer.to_string()}],
                   "messages": messages}),
        );
        let signature = sign(&body);
        deliveries.push(Delivery {
            body,
            signature,
            messages: count,
            duplicate: false,
        });
    }
    deliveries
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Runs the ingest load test.
pub async fn run(options: IngestLoad) -> anyhow::Result<()> {
    let client = Client::builder().pool_max_idle_per_host(options.connections).build()?;
    let base = options.url.trim_end_matches('/').to_owned();
    let run = Uuid::now_v7().simple().to_string()[20..].to_owned();
    let email = format!("bench-{run}@ingest.bench.test");
    let registered: Value = client
        .post(format!("{base}/api/auth/register"))
        .json(
            &json!({"organization_name": format!("Ingest bench {run}"), "name": "Bench Admin",
                      "email": email, "password": "bench-password-1"}),
        )
        .send()
        .await
        .context("is the service running? (scripts/serve)")?
        .error_for_status()?
        .json()
        .await?;
    let token = registered["token"]
        .as_str()
        .context("registration answers a token")?
        .to_owned();
    let tenant = Uuid::parse_str(registered["organization_id"].as_str().context("an organization id")?)?;
    let number = format!("9{}", &u128::from_str_radix(&run, 16)?.to_string()[..12]);
    client
        .post(format!("{base}/api/integration-accounts"))
        .bearer_auth(&token)
        .json(
            &json!({"channel": "whatsapp", "name": "Bench line", "phone_number_id": number,
                      "access_token": "bench-token", "app_secret": APP_SECRET, "verify_token": format!("bench-{run}")}),
        )
        .send()
        .await?
        .error_for_status()
        .context("connecting the bench's WhatsApp account")?;

    let deliveries = Arc::new(prepare(&options, &number, &run));
    let unique_messages: usize = deliveries.iter().filter(|d| !d.duplicate).map(|d| d.messages).sum();
    let duplicates = deliveries.iter().filter(|d| d.duplicate).count();
    let statuses = deliveries.iter().filter(|d| d.messages == 0 && !d.duplicate).count();
    println!(
        "ingest load: {} deliveries ({} redeliveries, {} status reports) carrying {} distinct messages from {} customers; \
         {} connections; service at {base}",
        deliveries.len(),
        duplicates,
        statuses,
        unique_messages,
        options.customers,
        options.connections
    );
    println!(
        "machine: {} logical CPUs (load generator and service share them)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.connections {
        let (client, deliveries, next, url) = (
            client.clone(),
            deliveries.clone(),
            next.clone(),
            format!("{base}/api/webhooks/whatsapp"),
        );
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut failed, mut messages) = (Vec::new(), 0usize, 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(delivery) = deliveries.get(i) else { break };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", &delivery.signature)
                    .body(delivery.body.clone())
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        messages += delivery.messages;
                    }
                    _ => failed += 1,
                }
            }
            (latencies, failed, messages)
        }));
    }
    let (mut latencies, mut failed, mut messages) = (Vec::new(), 0, 0);
    for task in tasks {
        let (l, f, m) = task.await?;
        latencies.extend(l);
        failed += f;
        messages += m;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    println!();
    println!("| accepted deliveries | refused | deliveries/s | messages/s (redeliveries included) | p50 ms | p99 ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.0} | {:.0} | {:.1} | {:.1} |",
        latencies.len(),
        failed,
        latencies.len() as f64 / elapsed,
        messages as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
    if failed > 0 {
        bail!("{failed} deliveries were refused");
    }

    let pool = PgPool::connect(&options.database_url).await?;
    let settle = Instant::now();
    let deadline = settle + Duration::from_secs(options.settle_seconds);
    let mut processed_after = None;
    let (stored, distinct) = loop {
        if processed_after.is_none() {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 AND state = 'pending'",
            )
            .bind(tenant)
            .fetch_one(&pool)
            .await?;
            if pending == 0 {
                processed_after = Some(settle.elapsed().as_secs_f64());
            }
        }
        let (stored, distinct): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(DISTINCT provider_message_id) FROM rm.messages \
             WHERE tenant_id = $1 AND direction = 'inbound'",
        )
        .bind(tenant)
        .fetch_one(&pool)
        .await?;
        if stored as usize >= unique_messages || Instant::now() > deadline {
            break (stored, distinct);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let visible_after = settle.elapsed().as_secs_f64();
    let (processed, outcome_duplicates): (i64, Option<i64>) = sqlx::query_as(
        "SELECT count(*), sum((outcome->>'duplicates')::bigint)::bigint FROM webhook_deliveries \
         WHERE tenant_id = $1 AND state = 'processed'",
    )
    .bind(tenant)
    .fetch_one(&pool)
    .await?;
    println!();
    println!(
        "inbox: {stored} messages stored ({distinct} distinct provider ids) of {unique_messages} sent; every delivery \
         processed (events appended) {:.1} s and every message visible {visible_after:.1} s after the last delivery \
         was accepted ({:.0} messages/s end to end); {processed} deliveries processed, {} redelivered messages recognised",
        processed_after.unwrap_or(visible_after),
        unique_messages as f64 / (elapsed + visible_after),
        outcome_duplicates.unwrap_or_default()
    );
    if stored as usize != unique_messages || distinct != stored {
        bail!("lost or duplicated: {stored} stored, {distinct} distinct, {unique_messages} sent");
    }
    println!("zero lost, zero duplicated");
    Ok(())
}
