//! The auditor's offline views (`omnistream replay`): a tenant's log exported as JSON lines,
//! a stream as of an instant.

use omnistream_api::replay;
use omnistream_tests::client::expect_json;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_log_exports_as_json_lines_and_streams_replay_as_of() {
    let app = spawn_app().await;
    let acme = app.register("Acme").await;
    let other = app.register("Other").await;
    let bob = expect_json(
        app.as_session(Method::POST, "/api/agents", &acme.token)
            .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "agent-pass-1", "role": "agent"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let created_at = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let renamed = app
        .as_session(
            Method::PATCH,
            &format!("/api/agents/{}", bob["id"].as_str().unwrap()),
            &acme.token,
        )
        .json(&json!({"name": "Robert"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);

    let mut out = Vec::new();
    let count = replay::export_tenant(&app.pool, acme.organization_id, None, &mut out)
        .await
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, count);
    assert!(
        lines.iter().all(|l| l["tenant_id"] == acme.organization_id.to_string()),
        "only Acme's events"
    );
    assert!(lines
        .windows(2)
        .all(|w| w[0]["position"].as_i64() < w[1]["position"].as_i64()));
    let types: Vec<&str> = lines.iter().map(|l| l["event_type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        vec!["OrganizationCreated", "AgentCreated", "AgentCreated", "AgentUpdated"]
    );
    assert!(lines.iter().all(|l| l["hash"].as_str().is_some_and(|h| h.len() == 64)));
    let mut until = Vec::new();
    let before = replay::export_tenant(&app.pool, acme.organization_id, Some(created_at), &mut until)
        .await
        .unwrap();
    assert_eq!(before, 3);
    let mut theirs = Vec::new();
    assert_eq!(
        replay::export_tenant(&app.pool, other.organization_id, None, &mut theirs)
            .await
            .unwrap(),
        2
    );

    let stream = format!("agent-{}", bob["id"].as_str().unwrap());
    let then = replay::stream_as_of(app.store.as_ref(), &stream, Some(created_at))
        .await
        .unwrap();
    assert_eq!(
        (then["version"].as_i64(), then["state"]["name"].as_str()),
        (Some(1), Some("Bob"))
    );
    let now = replay::stream_as_of(app.store.as_ref(), &stream, None).await.unwrap();
    assert_eq!(
        (now["version"].as_i64(), now["state"]["name"].as_str()),
        (Some(2), Some("Robert"))
    );
}
