//! API Keys tag: created from a session only, shown once, usable as X-API-Key, revocable.

use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_work_until_revoked() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let created = app
        .as_session(Method::POST, "/api/api-keys", &admin.token)
        .json(&json!({"name": "CRM sync"}))
        .send()
        .await
        .unwrap();
    let body = expect_json(created, StatusCode::CREATED).await;
    let key = body["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(body["api_key"]["prefix"].as_str().unwrap()));
    let id = body["api_key"]["id"].as_str().unwrap().to_owned();
    // Only a hash is stored.
    let leaked: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE payload::text LIKE '%' || $1 || '%'")
        .bind(&key)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(leaked, 0);

    let me = expect_json(
        app.as_key(Method::GET, "/api/auth/me", &key).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["authenticated_by"], "api_key");
    assert_eq!(me["agent"]["id"], admin.agent_id.to_string());
    // A key cannot mint keys: that needs a login session.
    let minted = app
        .as_key(Method::POST, "/api/api-keys", &key)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(minted, StatusCode::FORBIDDEN, "forbidden").await;
    // Writes through a key are attributed to it.
    let agent = app
        .as_key(Method::POST, "/api/agents", &key)
        .json(&json!({"name": "Via key", "email": "via-key@acme.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(agent.status(), StatusCode::CREATED);
    let kind: String = sqlx::query_scalar("SELECT metadata->'actor'->>'kind' FROM events WHERE event_type = 'AgentCreated' ORDER BY position DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kind, "api_key");

    let listed = expect_json(
        app.as_session(Method::GET, "/api/api-keys", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["total"], 1);
    assert!(
        listed["data"][0]["last_used_at"].is_string(),
        "last_used_at is kept: {listed}"
    );
    assert!(listed["data"][0].get("key").is_none());

    let revoked = app
        .as_session(Method::DELETE, &format!("/api/api-keys/{id}"), &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let refused = app.as_key(Method::GET, "/api/auth/me", &key).send().await.unwrap();
    expect_error(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_need_developer_access_and_valid_input() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    app.refused(
        &agent,
        Method::POST,
        "/api/api-keys",
        Some(json!({"name": "mine"})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let anonymous = app
        .request(Method::POST, "/api/api-keys")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let error = app
        .refused(
            &admin,
            Method::POST,
            "/api/api-keys",
            Some(json!({"name": "old", "expires_at": "2001-01-01T00:00:00Z"})),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
    assert_eq!(error["details"]["field"], "expires_at");
    app.refused(
        &admin,
        Method::POST,
        "/api/api-keys",
        Some(json!({"name": "  "})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}
