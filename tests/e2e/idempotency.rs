//! Idempotency-Key: a retry returns the first answer and appends nothing.

use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn agents_created(app: &omnistream_tests::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AgentCreated'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_command_returns_the_first_answer_and_appends_nothing() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let body = json!({"name": "Bob", "email": "bob@acme.test", "password": "agent-pass-1", "role": "agent"});
    let send = || {
        app.as_session(Method::POST, "/api/agents", &admin.token)
            .header("Idempotency-Key", "create-bob-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = expect_json(first, StatusCode::CREATED).await;
    let before = agents_created(&app).await;
    let second = send().await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["x-stream-version"], "1");
    let second = expect_json(second, StatusCode::CREATED).await;
    assert_eq!(first, second);
    assert_eq!(agents_created(&app).await, before, "the retry appended nothing");

    // Same key, other request: refused. Same key, other tenant: independent.
    let other_body = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("Idempotency-Key", "create-bob-1")
        .json(&json!({"name": "Eve", "email": "eve@acme.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    expect_error(other_body, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused").await;
    let other = app.register("Other").await;
    let other_tenant = app
        .as_session(Method::POST, "/api/agents", &other.token)
        .header("Idempotency-Key", "create-bob-1")
        .json(&json!({"name": "Bob", "email": "bob@other.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_tenant.status(), StatusCode::CREATED);
    assert!(other_tenant.headers().get("idempotent-replayed").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_requests_are_not_cached_and_bad_keys_are_refused() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let bad = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("Idempotency-Key", "k".repeat(300))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(bad, StatusCode::BAD_REQUEST, "validation_failed").await;
    // An unauthenticated attempt is not remembered: the real one then runs.
    let unauthenticated = app
        .request(Method::POST, "/api/agents")
        .header("Idempotency-Key", "retry-me")
        .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let real = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("Idempotency-Key", "retry-me")
        .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), StatusCode::CREATED);
}
