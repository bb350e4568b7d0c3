//! cqrs-es with postgres-es doing the same commands: create an aggregate with one event, or
//! one command that emits 100 events.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use postgres_es::postgres_cqrs;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{fresh_database, measure, Mode};

/// The schema postgres-es expects (from its `db/init.sql`).
const SCHEMA: &str = "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
     sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, event_version text NOT NULL, \
     payload json NOT NULL, metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence)); \
     CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
     last_sequence bigint CHECK (last_sequence >= 0) NOT NULL, current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, \
     payload json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence));";

#[derive(Debug, Default, Serialize, Deserialize)]
struct BenchOrganization {
    renames: u64,
}

enum BenchCommand {
    Create,
    Rename100,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum BenchEvent {
    OrganizationCreated { name: String },
    OrganizationRenamed { name: String },
}

impl DomainEvent for BenchEvent {
    fn event_type(&self) -> String {
        match self {
            BenchEvent::OrganizationCreated { .. } => "OrganizationCreated".into(),
            BenchEvent::OrganizationRenamed { .. } => "OrganizationRenamed".into(),
        }
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

/// The benchmark's commands never fail; cqrs-es still wants an error type.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

impl std::error::Error for Refused {}

impl Aggregate for BenchOrganization {
    const TYPE: &'static str = "organization";
    type Command = BenchCommand;
    type Event = BenchEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(&mut self, command: BenchCommand, _: &(), sink: &EventSink<Self>) -> Result<(), Refused> {
        match command {
            BenchCommand::Create => {
                sink.write(
                    BenchEvent::OrganizationCreated {
                        name: "Bench Co".into(),
                    },
                    self,
                )
                .await;
            }
            BenchCommand::Rename100 => {
                for i in 0..100 {
                    sink.write(
                        BenchEvent::OrganizationRenamed {
                            name: format!("Bench Co {i}"),
                        },
                        self,
                    )
                    .await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: BenchEvent) {
        if let BenchEvent::OrganizationRenamed { .. } = event {
            self.renames += 1;
        }
    }
}

pub async fn run(server: &str, writers: usize, seconds: u64, mode: Mode) -> anyhow::Result<f64> {
    let url = fresh_database(server, "omnistream_bench_cqrs").await?;
    let pool = omnistream_api::db::connect(&url, (writers as u32 + 4).min(60)).await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    let cqrs = std::sync::Arc::new(postgres_cqrs::<BenchOrganization>(pool.clone(), vec![], ()));
    let rate = measure(writers, seconds, mode, move |_, _| {
        let cqrs = cqrs.clone();
        async move {
            // A fresh aggregate per command: cqrs-es loads the whole stream before each
            // command, and a growing stream would measure that instead of the append.
            let command = match mode {
                Mode::Single => BenchCommand::Create,
                Mode::Batch100 => BenchCommand::Rename100,
            };
            let id = Uuid::now_v7().to_string();
            cqrs.execute(&id, command).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        }
    })
    .await?;
    pool.close().await;
    Ok(rate)
}
