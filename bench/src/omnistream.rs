//! OmniStream's side: commands through the command bus (load, decide, append with the
//! expected version) over the group-commit store; batches straight through the store.

use std::sync::Arc;

use omnistream_commands::{CommandBus, CommandContext, Scope};
use omnistream_domain::organization::{Organization, OrganizationCommand};
use omnistream_domain::{Actor, Metadata};
use omnistream_store::postgres::PgStoreConfig;
use omnistream_store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, PgEventStore};
use uuid::Uuid;

use crate::{fresh_database, measure, Mode};

pub async fn run(server: &str, writers: usize, seconds: u64, mode: Mode, append_writers: usize) -> anyhow::Result<f64> {
    let url = fresh_database(server, "omnistream_bench_ours").await?;
    let pool = omnistream_api::db::connect(&url, (writers as u32 + 8).min(60)).await?;
    omnistream_api::db::migrate(&pool).await?;
    let config = PgStoreConfig {
        writers: append_writers,
        ..PgStoreConfig::default()
    };
    let store = PgEventStore::start(pool.clone(), config).await?;
    let bus = CommandBus::new(Arc::new(store.clone()));
    let rate = match mode {
        Mode::Single => {
            measure(writers, seconds, mode, move |_, _| {
                let bus = bus.clone();
                async move {
                    let tenant = Uuid::now_v7();
                    let ctx = CommandContext::new(Scope::Tenant(tenant), Actor::system(), None);
                    let command = OrganizationCommand::Create {
                        organization_id: tenant,
                        name: "Bench Co".into(),
                    };
                    bus.create::<Organization>(&ctx, tenant, command).await?;
                    Ok(())
                }
            })
            .await?
        }
        Mode::Batch100 => {
            measure(writers, seconds, mode, move |writer, n| {
                let store = store.clone();
                async move {
                    let stream = format!("bench-{writer}");
                    let events = (0..100)
                        .map(|i| NewEvent {
                            event_id: Uuid::now_v7(),
                            event_type: "OrganizationRenamed".into(),
                            schema_version: 1,
                            payload: serde_json::json!({ "name": format!("Bench Co {i}") }),
                            metadata: Metadata::system(),
                            recorded_at: None,
                        })
                        .collect();
                    let request = AppendRequest {
                        stream_id: stream,
                        tenant_id: None,
                        expected: ExpectedVersion::Exact(n as i64 * 100),
                        events,
                    };
                    store.append(vec![request]).await?;
                    Ok(())
                }
            })
            .await?
        }
    };
    pool.close().await;
    Ok(rate)
}
