//! Agents tag: CRUD, status, permissions, validation, read-your-writes.

use omnistream_tests::client::{expect_error, expect_json};
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_created_listed_updated_and_deleted() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let created = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .json(&json!({"name": "Bob", "email": "Bob@Example.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.headers()["x-stream-version"], "1");
    let bob = expect_json(created, StatusCode::CREATED).await;
    assert_eq!(bob["email"], "bob@example.test");
    assert_eq!(bob["status"], "offline");
    assert!(bob.get("password").is_none());
    let id = bob["id"].as_str().unwrap().to_owned();

    let list = expect_json(
        app.as_session(Method::GET, "/api/agents?role=agent&search=bo", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], id.as_str());

    let updated = app
        .as_session(Method::PATCH, &format!("/api/agents/{id}"), &admin.token)
        .json(&json!({"name": "Robert", "role": "supervisor"}))
        .send()
        .await
        .unwrap();
    let updated = expect_json(updated, StatusCode::OK).await;
    assert_eq!(
        (
            updated["name"].as_str(),
            updated["role"].as_str(),
            updated["version"].as_i64()
        ),
        (Some("Robert"), Some("supervisor"), Some(2))
    );
    let read = expect_json(
        app.as_session(Method::GET, &format!("/api/agents/{id}?min_version=2"), &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["name"], "Robert");

    let status = app
        .as_session(Method::PUT, &format!("/api/agents/{id}/status"), &admin.token)
        .json(&json!({"status": "online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(status, StatusCode::OK).await["status"], "online");

    let deleted = app
        .as_session(Method::DELETE, &format!("/api/agents/{id}"), &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(deleted, StatusCode::OK).await["deleted"], true);
    app.refused(
        &admin,
        Method::GET,
        &format!("/api/agents/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The deleted agent's address is free again.
    let reused = app
        .as_session(Method::POST, "/api/agents", &admin.token)
        .json(&json!({"name": "Bob 2", "email": "bob@example.test", "password": "agent-pass-1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_need_credentials_and_permissions() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let anonymous = app.request(Method::GET, "/api/agents").send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Agents may look, not manage.
    let list = app
        .as_session(Method::GET, "/api/agents", &agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let error = app
        .refused(
            &agent,
            Method::POST,
            "/api/agents",
            Some(json!({"name": "Eve", "email": "eve@example.test", "password": "agent-pass-1", "role": "admin"})),
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    assert!(error["message"].as_str().unwrap().contains("agents.manage"));
    // Everybody may set their own status, not others'.
    let own = app
        .as_session(
            Method::PUT,
            &format!("/api/agents/{}/status", agent.agent_id),
            &agent.token,
        )
        .json(&json!({"status": "away"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let others = app
        .as_session(
            Method::PUT,
            &format!("/api/agents/{}/status", admin.agent_id),
            &agent.token,
        )
        .json(&json!({"status": "away"}))
        .send()
        .await
        .unwrap();
    expect_error(others, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_agent_input_gets_clear_errors_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let cases = [
        (
            json!({"name": "", "email": "a@b.test", "password": "agent-pass-1", "role": "agent"}),
            "name",
        ),
        (
            json!({"name": "A", "email": "nope", "password": "agent-pass-1", "role": "agent"}),
            "email",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": "x", "role": "agent"}),
            "password",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": "agent-pass-1", "role": "custom"}),
            "custom_role_id",
        ),
        (
            json!({"name": "A", "email": "a@b.test", "password": "agent-pass-1", "role": "custom", "custom_role_id": Uuid::now_v7()}),
            "custom_role_id",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .as_session(Method::POST, "/api/agents", &admin.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(error["details"]["field"], field, "{body}");
    }
    app.refused(
        &admin,
        Method::POST,
        "/api/agents",
        Some(json!({"name": "A", "email": "a@b.test", "password": "agent-pass-1", "role": "overlord"})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &admin,
        Method::POST,
        "/api/agents",
        Some(json!({"name": "A", "email": admin.email, "password": "agent-pass-1", "role": "agent"})),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    app.refused(
        &admin,
        Method::GET,
        "/api/agents/not-a-uuid",
        None,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &admin,
        Method::GET,
        "/api/agents?per_page=1000",
        None,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &admin,
        Method::GET,
        "/api/agents?cursor=xyz",
        None,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after, "refused requests append nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_lists_page_by_number_and_by_cursor() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    for i in 0..4 {
        let response = app
            .as_session(Method::POST, "/api/agents", &admin.token)
            .json(&json!({"name": format!("Agent {i}"), "email": format!("agent{i}@acme.test"), "password": "agent-pass-1", "role": "agent"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let first = expect_json(
        app.as_session(Method::GET, "/api/agents?per_page=2", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (first["total"].as_i64(), first["data"].as_array().unwrap().len()),
        (Some(5), 2)
    );
    let mut seen: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = expect_json(
            app.as_session(Method::GET, &format!("/api/agents?per_page=2&cursor={c}"), &admin.token)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 5);
    assert_eq!(sorted, seen, "cursor pages are ordered and never repeat");
    let page3 = expect_json(
        app.as_session(Method::GET, "/api/agents?per_page=2&page=3", &admin.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(page3["data"].as_array().unwrap().len(), 1);
    assert!(page3.get("next_cursor").is_none());
}
