//! The projection runner and rebuilds: checkpoint and read model move together, and a
//! rebuilt model equals the incrementally built one, row for row, while the service serves.

use std::sync::Arc;

use omnistream_commands::{CommandBus, CommandContext, Scope};
use omnistream_domain::agent::{Agent, AgentCommand, AgentStatus, RoleRef};
use omnistream_domain::permission::SystemRole;
use omnistream_domain::role::{Role, RoleCommand};
use omnistream_domain::Actor;
use omnistream_projections::{rebuild, state, Runner};
use omnistream_store::EventStore;
use omnistream_tests::{fresh_store, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// Every row of a read-model view, as sorted JSON text, for comparison.
async fn snapshot(pool: &PgPool, view: &str) -> Vec<String> {
    let sql = format!("SELECT to_jsonb(t)::text FROM rm.{view} t ORDER BY 1");
    sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap()
}

/// Rows in which the tab-count rollup (kept by triggers) and a count over the conversations
/// disagree.
async fn rollup_differences(pool: &PgPool) -> i64 {
    let sql = "SELECT count(*) FROM ( \
         (SELECT tenant_id, status, channel, assignee_id, division_id, unread, conversations \
          FROM rm.conversation_counts WHERE conversations <> 0 \
          EXCEPT SELECT tenant_id, status, channel, assignee_id, division_id, unread_count > 0, count(*) \
          FROM rm.conversations GROUP BY 1, 2, 3, 4, 5, 6) \
         UNION ALL \
         (SELECT tenant_id, status, channel, assignee_id, division_id, unread_count > 0, count(*) \
          FROM rm.conversations GROUP BY 1, 2, 3, 4, 5, 6 \
          EXCEPT SELECT tenant_id, status, channel, assignee_id, division_id, unread, conversations \
          FROM rm.conversation_counts WHERE conversations <> 0)) d";
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn seed(bus: &CommandBus, tenant: Uuid, agents: usize) {
    let ctx = CommandContext::new(Scope::Tenant(tenant), Actor::system(), None);
    for i in 0..agents {
        let id = Uuid::now_v7();
        let create = AgentCommand::Create {
            agent_id: id,
            tenant_id: tenant,
            name: format!("Agent {i}"),
            email: format!("agent{i}-{id}@example.test"),
            role: RoleRef::System {
                role: SystemRole::Agent,
            },
        };
        bus.execute::<Agent>(&ctx, id, create).await.unwrap();
        bus.execute::<Agent>(&ctx, id, AgentCommand::SetStatus(AgentStatus::Online))
            .await
            .unwrap();
        if i % 3 == 0 {
            bus.execute::<Agent>(&ctx, id, AgentCommand::Delete).await.unwrap();
        }
    }
    let role_id = Uuid::now_v7();
    let create = RoleCommand::Create {
        role_id,
        tenant_id: tenant,
        name: "Night shift".into(),
        description: "".into(),
        permissions: vec!["messages.send".into()],
    };
    bus.execute::<Role>(&ctx, role_id, create).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_applies_batches_with_their_checkpoint() {
    let (pool, store) = fresh_store().await;
    let store: Arc<dyn EventStore> = Arc::new(store);
    let projection = omnistream_projections::by_name("directory").unwrap();
    state::install(&pool, projection.as_ref()).await.unwrap();
    let bus = CommandBus::new(store.clone());
    let tenant = Uuid::now_v7();
    seed(&bus, tenant, 5).await;
    let head = store.head_position().await.unwrap();

    // Batches of 3: every batch is full, so each one is applied while the next is read.
    let runner = Runner::new(store.clone(), pool.clone(), projection.clone()).with_batch(3);
    // The catch-up fence is cluster-wide: another database's transaction may hold the last
    // events back for a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut applied = runner.catch_up().await.unwrap();
    while (applied as i64) < head && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        applied += runner.catch_up().await.unwrap();
    }
    assert_eq!(applied as i64, head, "every event applied once");
    assert_eq!(runner.run_batch().await.unwrap(), 0, "nothing left");
    let status = state::status(&pool).await.unwrap();
    let directory = status.iter().find(|s| s.name == "directory").unwrap();
    assert_eq!((directory.position, directory.lag), (head, 0));
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM rm.agents WHERE NOT deleted")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(live, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_equals_the_incremental_model_and_swaps_in_while_serving() {
    let app = spawn_app().await;
    let admin = app.register("Rebuild Co").await;
    let store: Arc<dyn EventStore> = app.store.clone();
    let bus = CommandBus::new(store.clone());
    seed(&bus, admin.organization_id, 12).await;
    // Let the live runner catch up, through the API's read-your-writes wait.
    let head = store.head_position().await.unwrap();
    let listed = app
        .as_session(Method::GET, "/api/agents", &admin.token)
        .header("X-Min-Position", head.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let tables = ["organizations", "agents", "roles", "api_keys", "super_admins"];
    let mut incremental = Vec::new();
    for t in tables {
        incremental.push(snapshot(&app.pool, t).await);
    }

    let projection = omnistream_projections::by_name("directory").unwrap();
    let report = rebuild::rebuild(&app.pool, &store, projection.as_ref(), false)
        .await
        .unwrap();
    assert_eq!(report.schema_name, "proj_directory_2");
    assert!(report.events_applied >= head);
    for (t, before) in tables.iter().zip(&incremental) {
        assert_eq!(&snapshot(&app.pool, t).await, before, "{t} differs after rebuild");
    }
    let old_schema: Option<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname = 'proj_directory_1'")
            .fetch_optional(&app.pool)
            .await
            .unwrap();
    assert_eq!(old_schema, None, "the old generation is dropped");

    // The service keeps serving, and the live runner now feeds the new generation.
    let created = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .json(&json!({"name": "After", "email": "after-rebuild@example.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let in_new: i64 =
        sqlx::query_scalar("SELECT count(*) FROM proj_directory_2.agents WHERE email = 'after-rebuild@example.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(in_new, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuilt_inbox_writing_messages_in_runs_equals_the_live_one() {
    let app = spawn_app().await;
    let admin = app.register("Inbox Co").await;
    let mut conversations = Vec::new();
    for i in 0..4 {
        conversations.push(app.conversation(&admin, &format!("Customer {i}")).await);
    }
    // Interleave messages with reads, tag and status changes, so a batch holds runs that
    // must be flushed in the right places.
    for round in 0..3 {
        for (i, id) in conversations.iter().enumerate() {
            app.message(&admin, *id, "inbound", &format!("question {round}-{i}"))
                .await;
            if (round + i) % 2 == 0 {
                app.message(&admin, *id, "outbound", &format!("answer {round}-{i}"))
                    .await;
                app.call(
                    &admin,
                    Method::POST,
                    &format!("/api/conversations/{id}/read"),
                    None,
                    StatusCode::OK,
                )
                .await;
            }
        }
        let first = conversations[round % conversations.len()];
        app.call(
            &admin,
            Method::PUT,
            &format!("/api/conversations/{first}/tags"),
            Some(json!({"add": [format!("round-{round}")]})),
            StatusCode::OK,
        )
        .await;
    }
    app.caught_up("inbox").await;
    assert_eq!(
        rollup_differences(&app.pool).await,
        0,
        "the live rollup equals a recount"
    );
    let tables = [
        "contacts",
        "conversations",
        "conversation_tags",
        "messages",
        "transfers",
        "notes",
    ];
    let mut live = Vec::new();
    for t in tables {
        live.push(snapshot(&app.pool, t).await);
    }
    let store: Arc<dyn EventStore> = omnistream_api::app::shredding(&app.pool, &app.store);
    let inbox = omnistream_projections::by_name("inbox").unwrap();
    rebuild::rebuild(&app.pool, &store, inbox.as_ref(), false)
        .await
        .unwrap();
    for (t, before) in tables.iter().zip(&live) {
        assert_eq!(
            &snapshot(&app.pool, t).await,
            before,
            "{t} differs after the batched rebuild"
        );
    }
    let unread: i64 = sqlx::query_scalar("SELECT sum(unread_count) FROM rm.conversations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(unread > 0, "some conversations still have unread messages");
    assert_eq!(
        rollup_differences(&app.pool).await,
        0,
        "the rebuilt rollup equals a recount"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rebuild_at_a_time_and_stopped_ones_leave_nothing_behind() {
    let (pool, store) = fresh_store().await;
    let store: Arc<dyn EventStore> = Arc::new(store);
    let projection = omnistream_projections::by_name("directory").unwrap();
    state::install(&pool, projection.as_ref()).await.unwrap();
    // What a rebuild stopped half-way leaves: a generation nobody points at.
    sqlx::query("CREATE SCHEMA proj_directory_7")
        .execute(&pool)
        .await
        .unwrap();

    // Another process rebuilding holds the projection's rebuild lock.
    let mut other = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtext('omnistream.rebuild.directory'))")
        .execute(&mut *other)
        .await
        .unwrap();
    let refused = rebuild::rebuild(&pool, &store, projection.as_ref(), false).await;
    assert!(
        matches!(refused, Err(omnistream_projections::ProjectionError::RebuildRunning(_))),
        "{refused:?}"
    );
    sqlx::query("SELECT pg_advisory_unlock(hashtext('omnistream.rebuild.directory'))")
        .execute(&mut *other)
        .await
        .unwrap();

    let report = rebuild::rebuild(&pool, &store, projection.as_ref(), false)
        .await
        .unwrap();
    let generations: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'proj\\_directory\\_%' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        generations,
        vec![report.schema_name],
        "only the live generation is left"
    );
}
