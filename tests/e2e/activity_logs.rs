//! Activity Logs tag: every event an entry, filters and paging, a stream as of an instant,
//! and chain verification over HTTP.

use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_an_entry_with_actor_and_request_id() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let created = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .header("X-Request-Id", "req-create-bob")
        .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.headers()["x-request-id"], "req-create-bob");
    let position = created.headers()["x-event-position"].to_str().unwrap().to_owned();
    let bob = expect_json(created, StatusCode::CREATED).await;

    let log = expect_json(
        app.as_session(Method::GET, "/api/activity-logs?action=AgentCreated", &admin.token)
            .header("X-Min-Position", position)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let entries = log["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the admin's creation and Bob's: {log}");
    let newest = &entries[0];
    assert_eq!(newest["entity_id"], bob["id"]);
    assert_eq!(newest["entity_type"], "agent");
    assert_eq!(newest["actor"]["id"], admin.agent_id.to_string());
    assert_eq!(newest["actor"]["kind"], "agent");
    assert_eq!(newest["request_id"], "req-create-bob");

    let by_actor = expect_json(
        app.as_session(
            Method::GET,
            &format!("/api/activity-logs?actor_id={}&per_page=1", admin.agent_id),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(by_actor["total"].as_i64().unwrap() >= 3);
    let cursor = by_actor["next_cursor"].as_str().unwrap();
    let next = expect_json(
        app.as_session(
            Method::GET,
            &format!(
                "/api/activity-logs?actor_id={}&per_page=1&cursor={cursor}",
                admin.agent_id
            ),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(next["data"][0]["id"].as_i64() < by_actor["data"][0]["id"].as_i64());

    let bad_range = app
        .as_session(
            Method::GET,
            "/api/activity-logs?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
            &admin.token,
        )
        .send()
        .await
        .unwrap();
    expect_error(bad_range, StatusCode::BAD_REQUEST, "validation_failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reads_as_of_any_instant_and_chains_verify() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let bob = expect_json(
        app.as_session(Method::POST, "/api/agents", &admin.token)
            .json(&json!({"name": "Bob", "email": "bob@acme.test", "password": "agent-pass-1", "role": "agent"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let id = bob["id"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let renamed = app
        .as_session(Method::PATCH, &format!("/api/agents/{id}"), &admin.token)
        .json(&json!({"name": "Robert"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);

    let stream = format!("agent-{id}");
    let now = expect_json(
        app.as_session(
            Method::GET,
            &format!("/api/activity-logs/streams/{stream}"),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["state"]["name"], "Robert");
    assert_eq!(now["events"][1]["prev_hash"], now["events"][0]["hash"]);
    let as_of = between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let then = expect_json(
        app.as_session(
            Method::GET,
            &format!("/api/activity-logs/streams/{stream}"),
            &admin.token,
        )
        .query(&[("as_of", as_of)])
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(then["version"], 1);
    assert_eq!(then["state"]["name"], "Bob");

    let verified = expect_json(
        app.as_session(Method::GET, "/api/activity-logs/verify", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(verified["ok"], true);
    assert!(verified["events_checked"].as_i64().unwrap() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_log_is_for_supervisors_and_admins() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let supervisor = app.agent_with_role(&admin, "supervisor", None).await;
    for path in ["/api/activity-logs", "/api/activity-logs/verify"] {
        let denied = app.as_session(Method::GET, path, &agent.token).send().await.unwrap();
        expect_error(denied, StatusCode::FORBIDDEN, "forbidden").await;
        let anonymous = app.request(Method::GET, path).send().await.unwrap();
        expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let allowed = app
            .as_session(Method::GET, path, &supervisor.token)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), StatusCode::OK);
    }
    app.refused(
        &admin,
        Method::GET,
        "/api/activity-logs/streams/agent-nobody",
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
