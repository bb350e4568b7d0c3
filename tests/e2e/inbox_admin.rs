//! Transfers, notes, quick replies and divisions.

use omnistream_tests::client::expect_error;
use omnistream_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_move_conversations_and_keep_a_history() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let division = app
        .call(
            &admin,
            Method::POST,
            "/api/divisions",
            Some(json!({"name": "Sales"})),
            StatusCode::CREATED,
        )
        .await;
    let id = app.conversation(&admin, "Budi").await;
    let moved = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/conversations/{id}/transfer"),
            Some(json!({"agent_id": agent.agent_id, "division_id": division["division"]["id"], "reason": "speaks Javanese"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(moved["assignee"]["id"], agent.agent_id.to_string());
    assert_eq!(moved["division_id"], division["division"]["id"]);
    let history = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/transfers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(history["total"], 1);
    assert_eq!(history["data"][0]["reason"], "speaks Javanese");
    assert_eq!(history["data"][0]["transferred_by"], admin.agent_id.to_string());
    let tenant_wide = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/transfers?agent_id={}", agent.agent_id),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(tenant_wide["total"], 1);
    app.refused(
        &admin,
        Method::POST,
        &format!("/api/conversations/{id}/transfer"),
        Some(json!({"agent_id": agent.agent_id, "reason": "again"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    app.refused(
        &admin,
        Method::POST,
        &format!("/api/conversations/{id}/transfer"),
        Some(json!({"agent_id": Uuid::now_v7()})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_changed_by_their_author_or_a_supervisor() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let author = app.agent_with_role(&admin, "agent", None).await;
    let other = app.agent_with_role(&admin, "agent", None).await;
    let id = app.conversation(&admin, "Budi").await;
    let note = app
        .call(
            &author,
            Method::POST,
            &format!("/api/conversations/{id}/notes"),
            Some(json!({"content": "called him"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(note["author_agent_id"], author.agent_id.to_string());
    let note_id = note["id"].as_str().unwrap();
    app.refused(
        &other,
        Method::PATCH,
        &format!("/api/notes/{note_id}"),
        Some(json!({"content": "not mine"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    let edited = app
        .call(
            &author,
            Method::PATCH,
            &format!("/api/notes/{note_id}"),
            Some(json!({"content": "called him twice"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(edited["content"], "called him twice");
    app.refused(
        &author,
        Method::POST,
        &format!("/api/conversations/{id}/notes"),
        Some(json!({"content": "  "})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let notes = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/notes"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(notes["data"].as_array().unwrap().len(), 1);
    app.call(
        &admin,
        Method::DELETE,
        &format!("/api/notes/{note_id}"),
        None,
        StatusCode::OK,
    )
    .await;
    let notes = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/notes"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(notes["data"].as_array().unwrap().is_empty());
    // Notes are never messages.
    let messages = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/conversations/{id}/messages"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(messages["data"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_replies_are_personal_or_shared_with_unique_shortcuts() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let mine = app
        .call(
            &agent,
            Method::POST,
            "/api/quick-replies",
            Some(json!({"shortcut": "bye", "content": "Bye!"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(mine["personal"], true);
    app.refused(
        &agent,
        Method::POST,
        "/api/quick-replies",
        Some(json!({"shortcut": "hello", "content": "Hello!", "personal": false})),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.call(
        &admin,
        Method::POST,
        "/api/quick-replies",
        Some(json!({"shortcut": "hello", "content": "Hello {{contact.name}}!", "personal": false})),
        StatusCode::CREATED,
    )
    .await;
    app.refused(
        &admin,
        Method::POST,
        "/api/quick-replies",
        Some(json!({"shortcut": "BYE", "content": "x"})),
        StatusCode::CONFLICT,
        "already_exists",
    )
    .await;
    app.refused(
        &admin,
        Method::POST,
        "/api/quick-replies",
        Some(json!({"shortcut": "x", "content": "{{contact.secret}}"})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let agent_sees = app
        .call(&agent, Method::GET, "/api/quick-replies", None, StatusCode::OK)
        .await;
    assert_eq!(agent_sees.as_array().unwrap().len(), 2);
    let admin_sees = app
        .call(&admin, Method::GET, "/api/quick-replies", None, StatusCode::OK)
        .await;
    assert_eq!(
        admin_sees.as_array().unwrap().len(),
        1,
        "personal replies stay personal"
    );
    let hidden = app
        .as_session(
            Method::DELETE,
            &format!("/api/quick-replies/{}", mine["id"].as_str().unwrap()),
            &admin.token,
        )
        .send()
        .await
        .unwrap();
    expect_error(hidden, StatusCode::NOT_FOUND, "not_found").await;
    let renamed = app
        .call(
            &agent,
            Method::PATCH,
            &format!("/api/quick-replies/{}", mine["id"].as_str().unwrap()),
            Some(json!({"shortcut": "ciao"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(renamed["shortcut"], "ciao");
    // The old shortcut is free again.
    app.call(
        &admin,
        Method::POST,
        "/api/quick-replies",
        Some(json!({"shortcut": "bye", "content": "Goodbye"})),
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn divisions_have_members_and_counts_and_are_for_supervisors() {
    let app = spawn_app().await;
    let admin = app.register("Acme").await;
    let agent = app.agent_with_role(&admin, "agent", None).await;
    let supervisor = app.agent_with_role(&admin, "supervisor", None).await;
    let division = app
        .call(
            &supervisor,
            Method::POST,
            "/api/divisions",
            Some(json!({"name": "Support", "agent_ids": [agent.agent_id]})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(division["agent_count"], 1);
    let id = division["division"]["id"].as_str().unwrap().to_owned();
    let conversation = app.conversation(&admin, "Budi").await;
    app.call(
        &admin,
        Method::POST,
        &format!("/api/conversations/{conversation}/transfer"),
        Some(json!({"division_id": id, "reason": "support"})),
        StatusCode::OK,
    )
    .await;
    let listed = app
        .call(&supervisor, Method::GET, "/api/divisions", None, StatusCode::OK)
        .await;
    assert_eq!(listed[0]["open_conversations"], 1);
    let members = app
        .call(
            &supervisor,
            Method::PUT,
            &format!("/api/divisions/{id}/members"),
            Some(json!({"agent_ids": [agent.agent_id, supervisor.agent_id]})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(members["agent_count"], 2);
    let renamed = app
        .call(
            &supervisor,
            Method::PATCH,
            &format!("/api/divisions/{id}"),
            Some(json!({"name": "Care"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(renamed["division"]["name"], "Care");
    app.refused(
        &agent,
        Method::GET,
        "/api/divisions",
        None,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.refused(
        &supervisor,
        Method::PUT,
        &format!("/api/divisions/{id}/members"),
        Some(json!({"agent_ids": [Uuid::now_v7()]})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.refused(
        &supervisor,
        Method::POST,
        "/api/divisions",
        Some(json!({"name": ""})),
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    app.call(
        &supervisor,
        Method::DELETE,
        &format!("/api/divisions/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    app.refused(
        &supervisor,
        Method::GET,
        &format!("/api/divisions/{id}"),
        None,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
