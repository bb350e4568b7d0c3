//! The `omnistream` command line: serve, worker, migrate, projections, admin, replay, schemas.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use omnistream_commands::{registration, CommandBus};
use omnistream_projections::{rebuild, state as projection_state};
use omnistream_store::{audit, EventStore};
use uuid::Uuid;

use crate::app::{self, Application};
use crate::config::{Config, ProjectionSource};
use crate::replay;

/// OmniStream: an event-sourced omnichannel CRM backend.
#[derive(Debug, Parser)]
#[command(name = "omnistream", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the API with in-process projection workers and jobs.
    Serve,
    /// Runs the projection workers alone (scale-out); serves only `/metrics` and `/api/health`
    /// on `OMNISTREAM_WORKER_BIND`.
    Worker {
        /// What they follow: `store` (the event store directly) or `kafka` (the events topic,
        /// in a consumer group: run any number of workers). Default: `OMNISTREAM_PROJECTION_SOURCE`.
        #[arg(long)]
        source: Option<ProjectionSource>,
    },
    /// Runs the webhook receivers and their processor alone (the `webhook-ingestor` service).
    WebhookIngestor,
    /// Creates the database if missing and applies migrations.
    Migrate,
    /// Projection maintenance.
    Projections {
        /// What to do.
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Platform administration.
    Admin {
        /// What to do.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The auditor's view: a stream as of any time, a tenant's log, hash-chain checks.
    Replay {
        /// What to do.
        #[command(subcommand)]
        command: ReplayCommand,
    },
    /// Fills a demo organization with contacts, conversations and messages (for demos and
    /// load tests). The admin's password comes from OMNISTREAM_SEED_PASSWORD (default
    /// `seed-password-1`).
    Seed {
        /// The organization's name.
        #[arg(long, default_value = "demo")]
        tenant: String,
        /// Conversations to add (each with a contact).
        #[arg(long, default_value_t = 1000)]
        conversations: u64,
        /// Messages per conversation.
        #[arg(long, default_value_t = 10)]
        messages_per_conversation: u64,
    },
    /// Prints the OpenAPI document.
    Openapi,
    /// Writes the OpenAPI document and the event JSON Schemas into a folder.
    Schemas {
        /// The folder (`schemas/` of the repository).
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
    },
}

/// Projection maintenance commands.
#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Rebuilds a projection from position 0 into fresh tables and swaps them in.
    Rebuild {
        /// The projection's name (see `status`).
        name: String,
    },
    /// Shows each projection's position and lag.
    Status,
}

/// Platform administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Creates a platform super-admin. The password comes from OMNISTREAM_SUPER_ADMIN_PASSWORD
    /// or, when unset, from the first line of standard input.
    CreateSuperAdmin {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, default_value = "Super Admin")]
        name: String,
    },
}

/// Auditor commands.
#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Prints a stream's events and the entity's state, as of an instant.
    Stream {
        /// The stream id, such as `agent-<uuid>`.
        stream_id: String,
        /// Show it as it was at this instant (RFC 3339).
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
    },
    /// Exports a tenant's events as JSON lines.
    Export {
        /// The organization's id.
        #[arg(long)]
        tenant: Uuid,
        /// Only events recorded up to this instant.
        #[arg(long)]
        until: Option<DateTime<Utc>>,
        /// The file to write (standard output when absent).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Verifies the hash chains of a tenant (or of the platform streams).
    Verify {
        /// The organization's id; absent: the platform streams.
        #[arg(long)]
        tenant: Option<Uuid>,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_json);
    match cli.command {
        Command::Serve => Application::build(config).await?.run_until_stopped().await?,
        Command::Worker { source } => crate::worker::run(config, source).await?,
        Command::WebhookIngestor => {
            Application::build_as(config, app::Role::Ingestor)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            app::connect(&config).await?;
            println!("database ready and migrated");
        }
        Command::Projections { command } => projections(config, command).await?,
        Command::Admin {
            command: AdminCommand::CreateSuperAdmin { email, name },
        } => {
            let password = match std::env::var("OMNISTREAM_SUPER_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    eprint!("password: ");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let (pool, store) = app::connect(&config).await?;
            let bus = CommandBus::new(app::shredding(&pool, &store));
            let id = registration::create_super_admin(&bus, &pool, &name, &email, &password).await?;
            println!("super-admin {id} created for {email}");
        }
        Command::Replay { command } => replay(config, command).await?,
        Command::Seed {
            tenant,
            conversations,
            messages_per_conversation,
        } => {
            let (pool, store) = app::connect(&config).await?;
            let events: Arc<dyn EventStore> = app::shredding(&pool, &store);
            app::install_projections(&pool, &events).await?;
            let password = std::env::var("OMNISTREAM_SEED_PASSWORD").unwrap_or_else(|_| "seed-password-1".into());
            let started = std::time::Instant::now();
            let plan = crate::seed::SeedPlan {
                tenant,
                conversations,
                messages_per_conversation,
                password: password.clone(),
            };
            let seeded = crate::seed::seed(events, &pool, plan).await?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "appended {} events in {seconds:.1} s ({:.0} events/s) to organization {}",
                seeded.events,
                seeded.events as f64 / seconds,
                seeded.tenant_id
            );
            println!("log in as {} / {password}; the service's projections build the read models (omnistream projections status)", seeded.admin_email);
        }
        Command::Openapi => println!("{}", crate::routes::service().spec()),
        Command::Schemas { dir } => write_schemas(&dir)?,
    }
    Ok(())
}

async fn projections(config: Config, command: ProjectionsCommand) -> anyhow::Result<()> {
    let (pool, store) = app::connect(&config).await?;
    let events: Arc<dyn EventStore> = app::shredding(&pool, &store);
    match command {
        ProjectionsCommand::Rebuild { name } => {
            let projection = omnistream_projections::by_name(&name).ok_or_else(|| {
                let known: Vec<_> = omnistream_projections::all().iter().map(|p| p.name()).collect();
                anyhow::anyhow!("no projection named {name}; known: {}", known.join(", "))
            })?;
            let started = std::time::Instant::now();
            let report = rebuild::rebuild(&pool, &events, projection.as_ref(), true).await?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{name}: rebuilt {} events into {} in {seconds:.1} s ({:.0} events/s)",
                report.events_applied,
                report.schema_name,
                report.events_applied as f64 / seconds
            );
        }
        ProjectionsCommand::Status => {
            app::install_projections(&pool, &events).await?;
            let head = store.head_position().await?;
            println!("head position: {head}");
            println!(
                "{:<16} {:>6} {:>12} {:>10} {:>14}  schema",
                "projection", "feed", "position", "lag", "applied"
            );
            for s in projection_state::status(&pool).await? {
                println!(
                    "{:<16} {:>6} {:>12} {:>10} {:>14}  {}",
                    s.name, s.source, s.position, s.lag, s.events_applied, s.schema_name
                );
            }
        }
    }
    Ok(())
}

async fn replay(config: Config, command: ReplayCommand) -> anyhow::Result<()> {
    let (pool, store) = app::connect(&config).await?;
    match command {
        ReplayCommand::Stream { stream_id, as_of } => {
            let view = replay::stream_as_of(app::shredding(&pool, &store).as_ref(), &stream_id, as_of).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
        ReplayCommand::Export { tenant, until, output } => {
            let mut sink: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            let count = replay::export_tenant(&pool, tenant, until, &mut sink).await?;
            eprintln!("exported {count} events of tenant {tenant}");
        }
        ReplayCommand::Verify { tenant } => {
            let report = audit::verify_tenant(&pool, tenant).await?;
            println!("streams checked: {}, events checked: {}", report.streams, report.events);
            if report.breaks.is_empty() {
                println!("every hash chain is intact");
            } else {
                for b in &report.breaks {
                    println!("BREAK {} v{}: {}", b.stream_id, b.version, b.problem);
                }
                anyhow::bail!("{} break(s) found", report.breaks.len());
            }
        }
    }
    Ok(())
}

/// Writes `openapi.json` and `events/<EventType>.json` into `dir`.
pub fn write_schemas(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("events"))?;
    std::fs::write(dir.join("openapi.json"), openapi_json()? + "\n")?;
    for (event_type, schema) in omnistream_domain::event_schemas::all() {
        let text = serde_json::to_string_pretty(&schema)? + "\n";
        std::fs::write(dir.join("events").join(format!("{event_type}.json")), text)?;
    }
    println!("schemas written to {}", dir.display());
    Ok(())
}

/// The OpenAPI document, pretty-printed with stable key order.
pub fn openapi_json() -> anyhow::Result<String> {
    let value: serde_json::Value = serde_json::from_str(&crate::routes::service().spec())?;
    Ok(serde_json::to_string_pretty(&value)?)
}
