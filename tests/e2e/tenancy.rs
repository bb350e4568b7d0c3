//! Tenant isolation: another organization's data is not found, whatever id is guessed.

use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_ids_answer_not_found() {
    let app = spawn_app().await;
    let acme = app.register("Acme").await;
    let globex = app.register("Globex").await;
    let acme_key = app.api_key(&acme).await;
    let role = expect_json(
        app.as_session(Method::POST, "/api/roles", &acme.token)
            .json(&json!({"name": "Acme only", "permissions": []}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let role_id = role["id"].as_str().unwrap();
    let keys = expect_json(
        app.as_session(Method::GET, "/api/api-keys", &acme.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let key_id = keys["data"][0]["id"].as_str().unwrap();
    let acme_agent = acme.agent_id;

    let g = &globex.token;
    for (method, path) in [
        (Method::GET, format!("/api/agents/{acme_agent}")),
        (Method::PATCH, format!("/api/agents/{acme_agent}")),
        (Method::DELETE, format!("/api/agents/{acme_agent}")),
        (Method::PUT, format!("/api/agents/{acme_agent}/status")),
        (Method::GET, format!("/api/roles/{role_id}")),
        (Method::PATCH, format!("/api/roles/{role_id}")),
        (Method::DELETE, format!("/api/roles/{role_id}")),
        (Method::DELETE, format!("/api/api-keys/{key_id}")),
        (Method::GET, format!("/api/activity-logs/streams/agent-{acme_agent}")),
    ] {
        let body = match method {
            Method::PUT => json!({"status": "online"}),
            _ => json!({"name": "Hijacked"}),
        };
        let response = app
            .as_session(method.clone(), &path, g)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Lists show only the caller's organization.
    let agents = expect_json(
        app.as_session(Method::GET, "/api/agents", g).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(agents["total"], 1);
    let keys = expect_json(
        app.as_session(Method::GET, "/api/api-keys", g).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(keys["total"], 0);
    let log = expect_json(
        app.as_session(Method::GET, "/api/activity-logs?per_page=200", g)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(log["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["entity_id"] != acme_agent.to_string()));
    // Acme's key still works and nothing of Acme changed.
    let me = expect_json(
        app.as_key(Method::GET, "/api/auth/me", &acme_key).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["agent"]["name"], "Admin");
}
