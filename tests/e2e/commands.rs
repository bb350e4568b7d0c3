//! The command side: bounded retries on conflicts, no lost updates.

use std::sync::Arc;

use omnistream_commands::{CommandBus, CommandContext, CommandError, Scope};
use omnistream_domain::agent::{Agent, AgentCommand, AgentStatus, RoleRef};
use omnistream_domain::permission::SystemRole;
use omnistream_domain::Actor;
use omnistream_store::EventStore;
use omnistream_tests::fresh_store;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_retry_and_never_lose_an_update() {
    let (_pool, store) = fresh_store().await;
    let store: Arc<dyn EventStore> = Arc::new(store);
    let bus = CommandBus::new(store.clone());
    let tenant = Uuid::now_v7();
    let ctx = CommandContext::new(Scope::Tenant(tenant), Actor::system(), None);
    let id = Uuid::now_v7();
    let create = AgentCommand::Create {
        agent_id: id,
        tenant_id: tenant,
        name: "Ann".into(),
        email: "ann@example.test".into(),
        role: RoleRef::System {
            role: SystemRole::Agent,
        },
    };
    bus.execute::<Agent>(&ctx, id, create).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..24 {
        let (bus, ctx) = (bus.clone(), ctx.clone());
        let status = if i % 2 == 0 {
            AgentStatus::Online
        } else {
            AgentStatus::Away
        };
        tasks.push(tokio::spawn(async move {
            bus.execute::<Agent>(&ctx, id, AgentCommand::SetStatus(status)).await
        }));
    }
    let mut changed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(executed) if executed.position.is_some() => changed += 1,
            Ok(_) => {}
            Err(CommandError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let stream = store.read_stream(&format!("agent-{id}"), 1).await.unwrap();
    assert_eq!(
        stream.len(),
        1 + changed,
        "every accepted change is stored, nothing else"
    );
    let versions: Vec<i64> = stream.iter().map(|e| e.version).collect();
    assert_eq!(versions, (1..=stream.len() as i64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_aggregate_is_not_found() {
    let (_pool, store) = fresh_store().await;
    let bus = CommandBus::new(Arc::new(store));
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let id = Uuid::now_v7();
    let create = AgentCommand::Create {
        agent_id: id,
        tenant_id: a,
        name: "Ann".into(),
        email: "ann@example.test".into(),
        role: RoleRef::System {
            role: SystemRole::Agent,
        },
    };
    let ctx_a = CommandContext::new(Scope::Tenant(a), Actor::system(), None);
    bus.execute::<Agent>(&ctx_a, id, create).await.unwrap();
    let ctx_b = CommandContext::new(Scope::Tenant(b), Actor::system(), None);
    let result = bus.execute::<Agent>(&ctx_b, id, AgentCommand::Delete).await;
    assert!(
        matches!(
            result,
            Err(CommandError::Domain(omnistream_domain::DomainError::NotFound(_)))
        ),
        "{result:?}"
    );
}
